"""Settings from the environment, with the embedded defaults of ARCHITECTURE §1.

Secrets have no production default: with ``STOREFRONT_ENV=production`` a missing
``SECRET_KEY``, ``IP_HASH_SECRET`` or ``DATABASE_URL``, or Stripe settings that are not
real keys (``stripe_problems``), raise ``RuntimeError`` at start-up.
"""
from __future__ import annotations

import os
import secrets
from pathlib import Path

INSTANCE_DIR = Path(__file__).resolve().parent.parent / "instance"

# The test-mode Stripe (localstripe) listens here when no STRIPE_SECRET_KEY is set.
LOCALSTRIPE_DEFAULT_BASE = "http://127.0.0.1:8420"
# The embedded localstripe keys: public, so anyone could sign webhooks with them.
LOCALSTRIPE_KEYS = {"sk_test_localstripe", "pk_test_localstripe", "whsec_localstripe"}
# The local Twilio-compatible server (storefront.notifications.twilio_server) listens here,
# with these public credentials, when no TWILIO_ACCOUNT_SID is set.
LOCAL_TWILIO_DEFAULT_BASE = "http://127.0.0.1:8421"
LOCAL_TWILIO_SID = "AC" + "0" * 32
LOCAL_TWILIO_TOKEN = "local_twilio_auth_token"
LOCAL_TWILIO_FROM = "+15005550006"


def _int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value else default


def _dev_secret(name: str) -> str:
    """A per-instance secret kept in ``instance/`` so sessions survive restarts in dev."""
    INSTANCE_DIR.mkdir(exist_ok=True)
    path = INSTANCE_DIR / f".{name.lower()}"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(48))
    return path.read_text().strip()


def stripe_problems(env) -> list[str]:
    """What keeps ``env``'s Stripe settings from being real keys, one phrase each (empty
    when they are). Production needs all three: STRIPE_SECRET_KEY (``sk_`` or restricted
    ``rk_``), STRIPE_PUBLISHABLE_KEY (``pk_``) and STRIPE_WEBHOOK_SECRET (``whsec_``), none
    of them the embedded localstripe keys, both API keys in the same mode (live or test).
    Without the webhook secret anyone who knows the public test secret could sign events.
    """
    shapes = {"STRIPE_SECRET_KEY": ("sk_", "rk_"), "STRIPE_PUBLISHABLE_KEY": ("pk_",),
              "STRIPE_WEBHOOK_SECRET": ("whsec_",)}
    problems = []
    for name, prefixes in shapes.items():
        value = (env.get(name) or "").strip()
        if not value:
            problems.append(f"{name} is not set")
        elif value in LOCALSTRIPE_KEYS:
            problems.append(f"{name} is the public localstripe test key")
        elif not value.startswith(prefixes):
            problems.append(f"{name} does not start with {' or '.join(prefixes)}")
    secret, publishable = env.get("STRIPE_SECRET_KEY") or "", env.get("STRIPE_PUBLISHABLE_KEY") or ""
    if not problems and ("_live_" in secret) != ("_live_" in publishable):
        problems.append("STRIPE_SECRET_KEY and STRIPE_PUBLISHABLE_KEY are not both live or both test keys")
    return problems


def load_config() -> dict:
    """Build the Flask config dict from ``os.environ``.

    Keys read: DATABASE_URL, REDIS_URL, SECRET_KEY, IP_HASH_SECRET, STRIPE_SECRET_KEY,
    STRIPE_PUBLISHABLE_KEY, STRIPE_WEBHOOK_SECRET, STRIPE_API_BASE, SMTP_HOST, SMTP_PORT,
    MAIL_FROM, OUTBOX_DIR, TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN, TWILIO_FROM,
    TWILIO_API_BASE, RATELIMIT_* and STOREFRONT_ENV.
    """
    production = os.environ.get("STOREFRONT_ENV") == "production"
    if production:
        problems = [f"{k} is not set" for k in ("SECRET_KEY", "IP_HASH_SECRET", "DATABASE_URL")
                    if not os.environ.get(k)] + stripe_problems(os.environ)
        if os.environ.get("TWILIO_ACCOUNT_SID"):  # SMS and calls are optional, but whole
            problems += [f"{k} is not set" for k in ("TWILIO_AUTH_TOKEN", "TWILIO_FROM") if not os.environ.get(k)]
        if problems:
            raise RuntimeError("STOREFRONT_ENV=production refuses to start: " + "; ".join(problems) + ".")

    stripe_key = os.environ.get("STRIPE_SECRET_KEY", "")
    test_mode = not stripe_key or stripe_key.startswith("sk_test_")
    localstripe = not stripe_key
    api_base = os.environ.get("STRIPE_API_BASE") or (LOCALSTRIPE_DEFAULT_BASE if localstripe else "")
    INSTANCE_DIR.mkdir(exist_ok=True)
    database_url = os.environ.get("DATABASE_URL") or f"sqlite:///{INSTANCE_DIR / 'storefront.db'}"
    if database_url.startswith("postgres://"):
        database_url = "postgresql://" + database_url[len("postgres://"):]
    if database_url.startswith("postgresql://"):
        database_url = "postgresql+psycopg://" + database_url[len("postgresql://"):]
    twilio_sid = os.environ.get("TWILIO_ACCOUNT_SID", "")
    # Without an account the local Twilio-compatible server takes SMS and calls, except in
    # production, where SMS and calls are then off (sends are recorded FAILED).
    twilio_local = not twilio_sid and not production

    return {
        "PRODUCTION": production,
        "SECRET_KEY": os.environ.get("SECRET_KEY") or _dev_secret("SECRET_KEY"),
        "IP_HASH_SECRET": os.environ.get("IP_HASH_SECRET") or _dev_secret("IP_HASH_SECRET"),
        "SQLALCHEMY_DATABASE_URI": database_url,
        # Recycle instead of pinging before every checkout (a round trip per request).
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_recycle": 1800},
        "REDIS_URL": os.environ.get("REDIS_URL", ""),
        "STRIPE_SECRET_KEY": stripe_key or "sk_test_localstripe",
        "STRIPE_PUBLISHABLE_KEY": os.environ.get("STRIPE_PUBLISHABLE_KEY") or "pk_test_localstripe",
        "STRIPE_WEBHOOK_SECRET": os.environ.get("STRIPE_WEBHOOK_SECRET") or "whsec_localstripe",
        "STRIPE_API_BASE": api_base,
        "STRIPE_LOCAL": localstripe,
        "STRIPE_TEST_MODE": test_mode,
        "STRIPE_JS_URL": (api_base + "/js.stripe.com/v3/") if localstripe else "https://js.stripe.com/v3/",
        "SMTP_HOST": os.environ.get("SMTP_HOST", ""),
        "SMTP_PORT": _int("SMTP_PORT", 25),
        "MAIL_FROM": os.environ.get("MAIL_FROM", "orders@storefront.test"),
        # The mailto: of List-Unsubscribe; the unsubscribe token rides in its subject.
        "MAIL_UNSUBSCRIBE": os.environ.get("MAIL_UNSUBSCRIBE", ""),
        "TWILIO_ACCOUNT_SID": twilio_sid or (LOCAL_TWILIO_SID if twilio_local else ""),
        "TWILIO_AUTH_TOKEN": os.environ.get("TWILIO_AUTH_TOKEN") or (LOCAL_TWILIO_TOKEN if twilio_local else ""),
        "TWILIO_FROM": os.environ.get("TWILIO_FROM") or (LOCAL_TWILIO_FROM if twilio_local else ""),
        "TWILIO_LOCAL": twilio_local,
        # Where the Twilio REST API is: Twilio's own hosts unless local (or set for a proxy).
        "TWILIO_API_BASE": os.environ.get("TWILIO_API_BASE") or (LOCAL_TWILIO_DEFAULT_BASE if twilio_local else ""),
        # A send still SENDING this long after it started is reported UNKNOWN (never re-sent).
        "SEND_UNKNOWN_AFTER_MINUTES": _int("SEND_UNKNOWN_AFTER_MINUTES", 15),
        # Where shoppers reach the shop; links in emails are built on it.
        "PUBLIC_URL": os.environ.get("PUBLIC_URL", "http://127.0.0.1:5000").rstrip("/"),
        "OUTBOX_DIR": os.environ.get("OUTBOX_DIR") or str(INSTANCE_DIR / "outbox"),
        "SESSION_COOKIE_SECURE": production,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "WTF_CSRF_TIME_LIMIT": None,
        "RATELIMIT_STORAGE_URI": os.environ.get("REDIS_URL") or "memory://",
        # No X-RateLimit headers: htmx ignores them and they cost a Redis round trip.
        "RATELIMIT_HEADERS_ENABLED": False,
        "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": True,
        "RATELIMIT_KEY_PREFIX": "storefront",
        # Real catalogue exports used by the demo seed; shared/ sits beside the repo.
        "CATALOG_DATA_DIR": os.environ.get("CATALOG_DATA_DIR") or str(INSTANCE_DIR.parent.parent / "shared" / "data" / "catalog"),
        # Per IP and per visit; raise them for the benchmark.
        "RATELIMIT_CART": os.environ.get("RATELIMIT_CART", "60/minute"),
        "RATELIMIT_CAPTURE": os.environ.get("RATELIMIT_CAPTURE", "240/minute"),
        "RATELIMIT_CHECKOUT": os.environ.get("RATELIMIT_CHECKOUT", "20/minute"),
        "RATELIMIT_LOGIN": os.environ.get("RATELIMIT_LOGIN", "10/minute;50/hour"),
        "RATELIMIT_EVENTS": os.environ.get("RATELIMIT_EVENTS", "120/minute"),
        # The portal's emailed sign-in link: each request sends an email, so fewer than a password form.
        "RATELIMIT_PORTAL": os.environ.get("RATELIMIT_PORTAL", "5/minute;20/hour"),
        # A lead or visit idle this long gets its abandonment analysis.
        "ABANDON_IDLE_MINUTES": _int("ABANDON_IDLE_MINUTES", 30),
        # Open carts with a captured email or phone, unchanged this long, are ABANDONED;
        # carts unchanged this many days are EXPIRED.
        "CART_ABANDON_MINUTES": _int("CART_ABANDON_MINUTES", 20),
        "CART_EXPIRE_DAYS": _int("CART_EXPIRE_DAYS", 30),
        "SECTION_CACHE_SECONDS": _int("SECTION_CACHE_SECONDS", 15),
        # Landing-page visits and views through a Redis stream (storefront.visits.buffer):
        # auto (only into a Redis with appendfsync always), on, or off (direct writes).
        "VISIT_BUFFER": os.environ.get("VISIT_BUFFER", "auto"),
        # Pay holds the cart's tracked stock this long, so no one else buys it meanwhile.
        "STOCK_RESERVATION_MINUTES": _int("STOCK_RESERVATION_MINUTES", 10),
        # Product images: originals and derivatives under MEDIA_ROOT, served at MEDIA_URL.
        "MEDIA_ROOT": os.environ.get("MEDIA_ROOT") or str(INSTANCE_DIR / "media"),
        "MEDIA_URL": os.environ.get("MEDIA_URL", "/media"),
        # The trusted proxy header carrying the visitor's country (e.g. CF-IPCountry); unset: off.
        "COUNTRY_HEADER": os.environ.get("COUNTRY_HEADER", "").strip(),
        # Only tests set this (never from the environment): lets the image fetcher reach
        # 127.0.0.1; private and link-local addresses stay refused either way.
        "MEDIA_FETCH_ALLOW_LOOPBACK": False,
    }
