"""The recovery tick and email sending, measured on PostgreSQL and Redis. It prints figures
and asserts nothing (issue "Benchmark").

    TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/storefront_test \\
    TEST_REDIS_URL=redis://127.0.0.1:6379/15 .venv/bin/python tests/perf/bench_recovery.py

1. Drops and recreates ``storefront_bench_recovery`` (BENCH_DATABASE overrides it) beside
   TEST_DATABASE_URL, runs the migrations, and bulk-inserts 20,000 abandoned carts with one
   line each, their attempts, and 100,000 SCHEDULED interventions of which 2,000 are due.
2. Prints the EXPLAIN of the claim query (it should use ix_cart_interventions_status_scheduled)
   and times ``delivery.claim_due``: claiming the 2,000 due rows (FOR UPDATE SKIP LOCKED),
   marking them QUEUED and enqueuing one RQ job each on the Redis of TEST_REDIS_URL.
3. Runs 300 of those jobs with one RQ worker (burst, in this process) against a local aiosmtpd
   server and prints emails per second.
"""
from __future__ import annotations

import os
import sys
import time
from datetime import timedelta
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
BENCH_DATABASE = os.environ.get("BENCH_DATABASE", "storefront_bench_recovery")
CARTS, PER_ATTEMPT, DUE = 20_000, 5, 2_000
EMAILS = 300  # sent by the worker for the emails-per-second figure

SEED = """
INSERT INTO carts (token, company_id, source_type, status, currency, version, checkout_fields, created_at, updated_at)
SELECT 'bench-cart-' || g, :company, 'DIRECT', 'ABANDONED', 'USD', 1,
       json_build_object('email', 'shopper' || g || '@example.com'), :left, :left
FROM generate_series(1, :carts) AS g;
INSERT INTO line_items (cart_id, variant_id, quantity, unit_price_cents, created_at)
SELECT id, :variant, 1 + id % 3, 2000, :left FROM carts;
INSERT INTO cart_save_attempts (company_id, cart_id, email, status, reason, risk_score, stage_history,
                                cart_value_cents, currency, last_activity_at, started_at, updated_at)
SELECT :company, id, checkout_fields->>'email', 'ACTIVE', 'UNKNOWN', 50, '[]'::json, 4000, 'USD', :left, :left, :left
FROM carts;
INSERT INTO cart_interventions (company_id, attempt_id, stage, channel, type, offer_percent, status, token,
                                scheduled_at, provider_response, created_at, updated_at)
SELECT :company, a.id, 'REMINDER_EMAIL', 'EMAIL', 'REMINDER', 0, 'SCHEDULED', 'bench-' || a.id || '-' || s,
       CASE WHEN s = 1 AND a.id <= :due THEN :now - interval '1 minute'
            ELSE :now + (s || ' hours')::interval + (a.id || ' seconds')::interval END,
       '{}'::json, :left, :left
FROM cart_save_attempts a, generate_series(1, :per) AS s;
"""


def bench_url() -> str:
    raw = os.environ.get("TEST_DATABASE_URL")
    if not raw:
        sys.exit("Set TEST_DATABASE_URL to a PostgreSQL server (the bench database is created beside it).")
    url = make_url(raw).set(drivername="postgresql+psycopg")
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{BENCH_DATABASE}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{BENCH_DATABASE}"'))
    admin.dispose()
    return url.set(database=BENCH_DATABASE).render_as_string(hide_password=False)


def main() -> None:
    from aiosmtpd.controller import Controller
    from flask_migrate import upgrade
    from rq import Queue, SimpleWorker
    from sqlalchemy import select

    from storefront import create_app
    from storefront.accounts.models import Company
    from storefront.catalog.models import Product, Variant
    from storefront.extensions import db
    from storefront.queue import redis_connection
    from storefront.recovery import delivery
    from storefront.recovery.models import SCHEDULED, CartIntervention
    from storefront.types import utcnow

    redis_url = os.environ.get("TEST_REDIS_URL")
    if not redis_url:
        sys.exit("Set TEST_REDIS_URL: the tick enqueues on Redis.")

    class Inbox:
        count = 0

        async def handle_DATA(self, server, session, envelope):
            Inbox.count += 1
            return "250 OK"

    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    smtp = Controller(Inbox(), hostname="127.0.0.1", port=port)
    smtp.start()
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": bench_url(), "REDIS_URL": redis_url,
                      "SMTP_HOST": "127.0.0.1", "SMTP_PORT": port, "SECTION_CACHE_SECONDS": 0})
    with app.app_context():
        upgrade()
        company = Company(name="Bench Shop", slug="bench", currency="USD", support_email="help@bench.test")
        db.session.add(company)
        db.session.commit()
        product = Product(company_id=company.id, handle="tee", title="Classic Tee", option_names=[])
        product.variants.append(Variant(company_id=company.id, sku="tee-1", title="Default Title", options={},
                                        price_cents=2000, track_inventory=False, stock=0, position=1))
        db.session.add(product)
        db.session.commit()
        now = utcnow()
        started = time.perf_counter()
        for statement in SEED.strip().split(";\n"):
            db.session.execute(text(statement), {"company": company.id, "variant": product.variants[0].id,
                                                 "left": now - timedelta(hours=2), "now": now, "carts": CARTS,
                                                 "due": DUE, "per": PER_ATTEMPT})
        db.session.commit()
        db.session.execute(text("ANALYZE"))
        db.session.commit()
        total = db.session.execute(text("SELECT count(*) FROM cart_interventions")).scalar_one()
        print(f"seeded {total:,} scheduled interventions ({DUE:,} due) in {time.perf_counter() - started:.1f} s")

        claim = (select(CartIntervention.id).where(CartIntervention.status == SCHEDULED,
                                                   CartIntervention.scheduled_at <= now)
                 .order_by(CartIntervention.scheduled_at).limit(delivery.CLAIM_BATCH).with_for_update(skip_locked=True))
        compiled = claim.compile(db.engine, compile_kwargs={"literal_binds": True})
        plan = db.session.execute(text(f"EXPLAIN (ANALYZE, BUFFERS) {compiled}")).scalars().all()
        db.session.rollback()
        print("claim query plan:\n  " + "\n  ".join(plan))
        uses_index = any("ix_cart_interventions_status_scheduled" in line for line in plan)
        print(f"plan uses ix_cart_interventions_status_scheduled: {uses_index}")

        conn = redis_connection()
        queue = Queue("default", connection=conn)
        queue.empty()
        started = time.perf_counter()
        claimed = delivery.claim_due(now)
        elapsed = time.perf_counter() - started
        print(f"claim and enqueue: {len(claimed):,} due of {total:,} in {elapsed * 1000:.0f} ms "
              f"({len(claimed) / elapsed:,.0f} per second); queue length {queue.count:,}")

        started = time.perf_counter()
        SimpleWorker([queue], connection=conn).work(burst=True, logging_level="WARNING", max_jobs=EMAILS)
        elapsed = time.perf_counter() - started
        sent = db.session.execute(text("SELECT count(*) FROM cart_interventions WHERE status = 'SENT'")).scalar_one()
        print(f"one worker: {Inbox.count:,} emails received by SMTP ({sent:,} SENT) in {elapsed:.1f} s: "
              f"{Inbox.count / elapsed:,.1f} emails per second")
        queue.empty()
    smtp.stop()


if __name__ == "__main__":
    main()
