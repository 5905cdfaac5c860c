"""load_config in production: it refuses to start without real Stripe keys and a webhook
secret, naming each missing or unusable setting (without the secret, anyone who knows the
public localstripe secret could sign webhooks)."""
from __future__ import annotations

import pytest

from storefront.config import load_config

BASE = {"STOREFRONT_ENV": "production", "SECRET_KEY": "s" * 40, "IP_HASH_SECRET": "i" * 40,
        "DATABASE_URL": "postgresql://shop@db.internal/shop"}
STRIPE = {"STRIPE_SECRET_KEY": "sk_live_51AbCdEf", "STRIPE_PUBLISHABLE_KEY": "pk_live_51AbCdEf",
          "STRIPE_WEBHOOK_SECRET": "whsec_9f8e7d6c"}
ALL_KEYS = [*BASE, *STRIPE, "STRIPE_API_BASE"]


@pytest.fixture()
def environ(monkeypatch):
    """Set exactly the given settings (every other one this module cares about unset)."""
    def use(**values):
        for name in ALL_KEYS:
            monkeypatch.delenv(name, raising=False)
        for name, value in values.items():
            monkeypatch.setenv(name, value)
    return use


def test_production_with_real_keys_starts(environ):
    environ(**BASE, **STRIPE)

    config = load_config()

    assert config["PRODUCTION"] and not config["STRIPE_LOCAL"] and not config["STRIPE_TEST_MODE"]
    assert config["STRIPE_WEBHOOK_SECRET"] == "whsec_9f8e7d6c" and config["STRIPE_API_BASE"] == ""


def test_production_with_test_mode_keys_starts_in_test_mode(environ):
    environ(**BASE, STRIPE_SECRET_KEY="sk_test_51AbC", STRIPE_PUBLISHABLE_KEY="pk_test_51AbC",
            STRIPE_WEBHOOK_SECRET="whsec_abc")

    assert load_config()["STRIPE_TEST_MODE"] is True


@pytest.mark.parametrize("missing", list(STRIPE))
def test_production_refuses_to_start_without_each_stripe_setting(environ, missing):
    environ(**BASE, **{k: v for k, v in STRIPE.items() if k != missing})

    with pytest.raises(RuntimeError, match=f"{missing} is not set"):
        load_config()


def test_production_without_any_stripe_setting_names_all_three(environ):
    environ(**BASE)

    with pytest.raises(RuntimeError) as raised:
        load_config()

    message = str(raised.value)
    assert message.startswith("STOREFRONT_ENV=production refuses to start")
    for name in STRIPE:
        assert f"{name} is not set" in message


@pytest.mark.parametrize(("name", "value", "reason"), [
    ("STRIPE_WEBHOOK_SECRET", "whsec_localstripe", "is the public localstripe test key"),
    ("STRIPE_SECRET_KEY", "sk_test_localstripe", "is the public localstripe test key"),
    ("STRIPE_PUBLISHABLE_KEY", "pk_test_localstripe", "is the public localstripe test key"),
    ("STRIPE_WEBHOOK_SECRET", "secret", "does not start with whsec_"),
    ("STRIPE_SECRET_KEY", "pk_live_51AbCdEf", "does not start with sk_ or rk_"),
    ("STRIPE_PUBLISHABLE_KEY", "sk_live_51AbCdEf", "does not start with pk_"),
    ("STRIPE_WEBHOOK_SECRET", "   ", "is not set"),
])
def test_production_refuses_placeholder_or_misplaced_keys(environ, name, value, reason):
    environ(**BASE, **{**STRIPE, name: value})

    with pytest.raises(RuntimeError, match=f"{name} {reason}"):
        load_config()


def test_production_refuses_a_live_key_beside_a_test_key(environ):
    environ(**BASE, **{**STRIPE, "STRIPE_PUBLISHABLE_KEY": "pk_test_51AbCdEf"})

    with pytest.raises(RuntimeError, match="not both live or both test keys"):
        load_config()


def test_other_missing_secrets_are_named_in_the_same_message(environ):
    environ(STOREFRONT_ENV="production", DATABASE_URL=BASE["DATABASE_URL"], STRIPE_SECRET_KEY="sk_live_x")

    with pytest.raises(RuntimeError) as raised:
        load_config()

    message = str(raised.value)
    assert "SECRET_KEY is not set" in message and "IP_HASH_SECRET is not set" in message
    assert "STRIPE_WEBHOOK_SECRET is not set" in message and "STRIPE_SECRET_KEY" not in message


def test_development_still_starts_on_the_embedded_localstripe_keys(environ):
    environ()

    config = load_config()

    assert not config["PRODUCTION"] and config["STRIPE_LOCAL"]
    assert config["STRIPE_WEBHOOK_SECRET"] == "whsec_localstripe"
