"""Rate limits of the shopper's and merchant's forms: the keys and the limits, in one place.

Limits come from the app's config (``RATELIMIT_CART``, ``RATELIMIT_CAPTURE``,
``RATELIMIT_CHECKOUT``, ``RATELIMIT_EVENTS``, ``RATELIMIT_LOGIN``, see README) and are
counted by Flask-Limiter in Redis. A shopper's action is limited per IP and per visit (a
shared IP, such as an office, still lets each visitor act); the sign-in form per IP and per
account.
"""
from __future__ import annotations

from collections.abc import Callable

from flask import current_app, request

from storefront.cookies import VISIT_COOKIE
from storefront.extensions import limiter


def setting(name: str) -> Callable[[], str]:
    """The limit configured under ``name`` (read at request time, so tests may change it)."""
    return lambda: current_app.config[name]


def visit_key() -> str:
    """Per visit (the visit cookie), falling back to the IP for a shopper without one."""
    return "visit:" + (request.cookies.get(VISIT_COOKIE) or request.remote_addr or "-")


def account_key() -> str:
    """Per account, from the submitted email (whether or not it exists)."""
    return "login:" + (request.form.get("email") or "").strip().lower()[:254]


def per_ip_and_visit(name: str) -> Callable:
    """Decorate a shopper's view with the limit ``name`` per IP and per visit."""
    limit = setting(name)

    def decorate(view):
        return limiter.limit(limit)(limiter.limit(limit, key_func=visit_key)(view))

    return decorate


def per_ip_and_account(name: str, methods: list[str]) -> Callable:
    """Decorate the sign-in view with the limit ``name`` per IP and per account, for
    ``methods`` only (a GET of the form is free)."""
    limit = setting(name)

    def decorate(view):
        return limiter.limit(limit, methods=methods)(
            limiter.limit(limit, key_func=account_key, methods=methods)(view))

    return decorate
