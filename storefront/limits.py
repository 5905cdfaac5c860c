"""Rate limits of the shopper's and merchant's forms: the keys and the limits, in one place.

Limits come from the app's config (``RATELIMIT_CART``, ``RATELIMIT_CAPTURE``,
``RATELIMIT_CHECKOUT``, ``RATELIMIT_EVENTS``, ``RATELIMIT_LOGIN``, see README) and are
counted in Flask-Limiter's storage (Redis). A shopper's action is limited per IP and per
visit (a shared IP, such as an office, still lets each visitor act); the sign-in form per IP
and per account.

A shopper's two counters are taken in one hit (``hit_per_ip_and_visit``): with the fixed
window strategy (Flask-Limiter's default) on Redis, one script increments both in one round
trip; any other strategy or storage counts each through Flask-Limiter's strategy. Both keys
are Flask-Limiter's own (``RATELIMIT_KEY_PREFIX``, the endpoint as scope), so ``limiter.reset()``
clears them. When Redis does not answer and ``RATELIMIT_IN_MEMORY_FALLBACK_ENABLED`` is on,
this process counts in memory for ``RETRY_AFTER_SECONDS`` before trying Redis again, as
Flask-Limiter's own fallback does.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from functools import wraps

from flask import abort, current_app, request
from flask_limiter.util import get_remote_address
from limits import RateLimitItem, parse_many
from limits.storage import MemoryStorage, RedisStorage
from limits.strategies import FixedWindowRateLimiter

from storefront.cookies import VISIT_COOKIE
from storefront.extensions import limiter

RETRY_AFTER_SECONDS = 5.0
# Every key's counter goes up by one; a new window's key gets its expiry (limits'
# incr_expire script, for several keys at once).
_INCR_ALL = """
local counts = {}
for i, key in ipairs(KEYS) do
  local current = redis.call("incrby", key, 1)
  if current == 1 then redis.call("expire", key, ARGV[i]) end
  counts[i] = current
end
return counts
"""
_parsed: dict[str, list[RateLimitItem]] = {}
_scripts: dict[int, object] = {}
_memory = {"limiter": FixedWindowRateLimiter(MemoryStorage()), "until": 0.0}


def setting(name: str) -> Callable[[], str]:
    """The limit configured under ``name`` (read at request time, so tests may change it)."""
    return lambda: current_app.config[name]


def visit_key() -> str:
    """Per visit (the visit cookie), falling back to the IP for a shopper without one."""
    return "visit:" + (request.cookies.get(VISIT_COOKIE) or request.remote_addr or "-")


def account_key() -> str:
    """Per account, from the submitted email (whether or not it exists)."""
    return "login:" + (request.form.get("email") or "").strip().lower()[:254]


def _items(name: str) -> list[RateLimitItem]:
    text = current_app.config[name]
    items = _parsed.get(text)
    if items is None:
        items = _parsed[text] = parse_many(text)
    return items


def _incr_all(storage: RedisStorage, keys: list[str], expiries: list[int]) -> list[int]:
    script = _scripts.get(id(storage))
    if script is None:
        script = _scripts[id(storage)] = storage.get_connection().register_script(_INCR_ALL)
    return [int(n) for n in script([storage.prefixed_key(k) for k in keys], expiries)]


def hit_per_ip_and_visit(name: str) -> bool:
    """Count one request against the limit ``name`` (config, e.g. "60/minute"; several
    separated by ";") per IP and per visit; True while every counter is within its limit.

    Raises Flask-Limiter's storage errors only when the in-memory fallback is off."""
    if not limiter.enabled:
        return True
    items = _items(name)
    scope = request.endpoint or ""
    prefix = current_app.config.get("RATELIMIT_KEY_PREFIX") or ""
    identities = [get_remote_address(), visit_key()]
    pairs = [(item, (prefix, who, scope) if prefix else (who, scope)) for item in items for who in identities]
    strategy = limiter.limiter
    if time.monotonic() < _memory["until"]:
        strategy = _memory["limiter"]
    if strategy is not _memory["limiter"] and isinstance(strategy, FixedWindowRateLimiter) \
            and isinstance(strategy.storage, RedisStorage):
        try:
            counts = _incr_all(strategy.storage, [item.key_for(*ids) for item, ids in pairs],
                               [item.get_expiry() for item, _ids in pairs])
        except strategy.storage.base_exceptions:
            if not current_app.config.get("RATELIMIT_IN_MEMORY_FALLBACK_ENABLED"):
                raise
            current_app.logger.warning("Rate limit storage unreachable: counting in memory")
            _memory["until"] = time.monotonic() + RETRY_AFTER_SECONDS
            strategy = _memory["limiter"]
        else:
            return all(n <= item.amount for n, (item, _ids) in zip(counts, pairs, strict=True))
    # Every counter is taken, even past a refused one, as two separate limits would.
    return all([strategy.hit(item, *ids) for item, ids in pairs])


def per_ip_and_visit(name: str) -> Callable:
    """Decorate a shopper's view with the limit ``name`` per IP and per visit: 429 (the
    app's friendly page or fragment) once either counter is past its limit."""

    def decorate(view):
        @wraps(view)
        def limited(*args, **kwargs):
            if not hit_per_ip_and_visit(name):
                abort(429)
            return view(*args, **kwargs)

        return limited

    return decorate


def skip_app_wide_check(app) -> None:
    """Take Flask-Limiter's before-request check off every request of ``app`` when no
    app-wide limit is configured (``RATELIMIT_DEFAULT``, ``RATELIMIT_APPLICATION``): every
    limit here is on its own view, checked there, so that check finds nothing to count on
    every landing page, drawer and asset, and costs about 0.3 ms of CPU each time."""
    if app.config.get("RATELIMIT_DEFAULT") or app.config.get("RATELIMIT_APPLICATION"):
        return
    hooks = app.before_request_funcs.get(None, [])
    if limiter._check_request_limit in hooks:
        hooks.remove(limiter._check_request_limit)


def per_ip_and_account(name: str, methods: list[str]) -> Callable:
    """Decorate the sign-in view with the limit ``name`` per IP and per account, for
    ``methods`` only (a GET of the form is free)."""
    limit = setting(name)

    def decorate(view):
        return limiter.limit(limit, methods=methods)(
            limiter.limit(limit, key_func=account_key, methods=methods)(view))

    return decorate
