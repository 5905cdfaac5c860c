"""The sign-in limit when the shared rate-limit store is away.

Flask-Limiter keeps its counts in Redis (``RATELIMIT_STORAGE_URI``). When Redis does not
answer, or no Redis is configured (the embedded default), its in-memory fallback counts per
web process: with two gunicorn workers an attacker gets twice ``RATELIMIT_LOGIN``. So the
sign-in form then also counts in the database, which every process shares: one row per key
and fixed window (``LoginThrottle``), incremented by an upsert. The keys are the client's
IP and the submitted email, each as an HMAC with the server's IP_HASH_SECRET (neither is
stored in the clear). The limits are ``RATELIMIT_LOGIN`` ("10/minute;50/hour").
Old windows are deleted by ``prune`` (a periodic job in ``storefront/cron.py``).
"""
from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime, timedelta

from flask import current_app
from limits import parse_many
from limits.storage import MemoryStorage
from sqlalchemy import delete
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from storefront.accounts.models import LoginThrottle
from storefront.extensions import db, limiter
from storefront.types import utcnow

KEEP = timedelta(days=2)


def shared_store_up() -> bool:
    """True when Flask-Limiter counts in a store all processes share and it answers."""
    try:
        storage = limiter.storage
    except AssertionError:  # not initialised
        return False
    if isinstance(storage, MemoryStorage):
        return False
    try:
        return bool(storage.check())
    except Exception:  # the store's client raised instead of answering False
        return False


def _key(kind: str, value: str) -> str:
    secret = current_app.config["IP_HASH_SECRET"].encode()
    return f"{kind}:" + hmac.new(secret, value.encode(), hashlib.sha256).hexdigest()


def _window(now: datetime, seconds: int) -> datetime:
    start = int(now.timestamp()) // seconds * seconds
    return datetime.fromtimestamp(start, UTC)


def hit(ip: str, email: str, now: datetime | None = None) -> bool:
    """Count one sign-in attempt for ``ip`` and ``email`` against every RATELIMIT_LOGIN limit.

    Returns False when any count is now over its limit (the attempt must be refused with
    429), True otherwise. Commits (the count must stand whether or not sign-in succeeds).
    """
    now = now or utcnow()
    keys = [_key("ip", ip or "-"), _key("account", (email or "").strip().lower()[:254])]
    allowed = True
    for item in parse_many(current_app.config["RATELIMIT_LOGIN"]):
        seconds = item.get_expiry()
        start = _window(now, seconds)
        for key in keys:
            if _increment(key, start, seconds) > item.amount:
                allowed = False
    db.session.commit()
    return allowed


def _increment(key: str, start: datetime, seconds: int) -> int:
    insert = pg_insert if db.session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = insert(LoginThrottle).values(key=key, window_start=start, window_seconds=seconds, hits=1)
    statement = statement.on_conflict_do_update(
        index_elements=["key", "window_start", "window_seconds"],
        set_={"hits": LoginThrottle.hits + 1},
    ).returning(LoginThrottle.hits)
    return db.session.execute(statement).scalar_one()


def prune(now: datetime | None = None) -> int:
    """Delete windows that ended over two days ago; returns how many rows. Commits."""
    cutoff = (now or utcnow()) - KEEP
    result = db.session.execute(delete(LoginThrottle).where(LoginThrottle.window_start < cutoff))
    db.session.commit()
    return result.rowcount
