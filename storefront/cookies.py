"""The shopper's cookies: their names, lifetimes and the one way they are set.

Every shopper cookie is HttpOnly (no script reads it), SameSite=Lax (sent on a top-level
arrival from an ad or email, not on cross-site posts) and Secure in production.
"""
from __future__ import annotations

from datetime import timedelta

from flask import Response, current_app

VISIT_COOKIE = "sf_visit"        # the visit's 256-bit token
VISITOR_COOKIE = "sf_vid"        # the long-lived returning-visitor id
CART_COOKIE = "sf_cart"          # the cart's 256-bit token
SAVED_HINT_COOKIE = "sf_saved"   # "this shopper may have saved items" (saves a query)
VISIT_COOKIE_AGE = timedelta(days=30)
VISITOR_COOKIE_AGE = timedelta(days=730)
CART_COOKIE_AGE = timedelta(days=30)


def set_shopper_cookie(response: Response, name: str, value: str, max_age: timedelta) -> Response:
    """Set a shopper cookie with the shop's flags (see the module docstring)."""
    response.set_cookie(name, value, max_age=int(max_age.total_seconds()), httponly=True, samesite="Lax",
                        secure=current_app.config["PRODUCTION"])
    return response


def delete_shopper_cookie(response: Response, name: str) -> Response:
    """Remove a shopper cookie (same flags, so the browser matches it)."""
    response.delete_cookie(name, httponly=True, samesite="Lax", secure=current_app.config["PRODUCTION"])
    return response


def set_cart_cookie(response: Response, token: str | None) -> Response:
    """Point the shopper's cart cookie at the cart with ``token`` (nothing when None)."""
    if token:
        set_shopper_cookie(response, CART_COOKIE, token, CART_COOKIE_AGE)
    return response
