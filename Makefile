# Two commands do all the set-up: `make run` (the demo) and `make test` (the suite).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# The app comes from .flaskenv (FLASK_APP=storefront).
FLASK := $(BIN)/flask
STAMP := $(VENV)/.installed-stamp
# axe-core (npm) for the browser tests' accessibility checks, pinned.
AXE_VERSION := 4.14.1
AXE := $(VENV)/node/node_modules/axe-core/axe.min.js
TEST_DATABASE_URL ?= postgresql://postgres@127.0.0.1:5432/storefront_test
TEST_REDIS_URL ?= redis://127.0.0.1:6379/15

.PHONY: install run test test-fast bench lint clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

$(AXE):
	npm install --prefix $(VENV)/node --no-save --no-audit --no-fund --silent axe-core@$(AXE_VERSION)

## The demo on the embedded defaults: SQLite in instance/, localstripe, outbox emails.
run: install
	$(FLASK) db upgrade
	$(FLASK) demo seed
	REDIS_URL=$${REDIS_URL-redis://127.0.0.1:6379/0} $(FLASK) run-demo

## The whole suite, on PostgreSQL and Redis.
test: install $(AXE)
	AXE_CORE_JS=$(CURDIR)/$(AXE) TEST_DATABASE_URL=$(TEST_DATABASE_URL) TEST_REDIS_URL=$(TEST_REDIS_URL) $(BIN)/python -m pytest -q

## The suite on SQLite (no browser, no PostgreSQL-only tests).
test-fast: install
	TEST_DATABASE_URL= $(BIN)/python -m pytest -q -m "not browser and not postgres"

bench: install
	TEST_DATABASE_URL=$(TEST_DATABASE_URL) $(BIN)/python tests/perf/bench.py
	$(BIN)/python tests/perf/bench_billing.py
	$(BIN)/python tests/perf/bench_billing_tick.py
	$(BIN)/python tests/perf/bench_images.py
	TEST_DATABASE_URL=$(TEST_DATABASE_URL) $(BIN)/python tests/perf/bench_analytics.py
	TEST_DATABASE_URL=$(TEST_DATABASE_URL) TEST_REDIS_URL=$(TEST_REDIS_URL) $(BIN)/python tests/perf/bench_recovery.py

lint: install
	$(BIN)/ruff check storefront tests worker.py

clean:
	rm -rf $(VENV) instance/storefront.db instance/outbox
