"""Shopper-side lead routes: field-event batches and the capture opt-out.

- ``POST /checkout/events``: a batch from ``static/js/field-events.js`` (JSON sent as
  text/plain or application/json, by ``navigator.sendBeacon`` or a debounced ``fetch``).
  sendBeacon cannot set headers, so the CSRF token travels in the body and is checked here
  with ``flask_wtf.csrf.validate_csrf`` (the view is exempt from the header/form check).
  Answers 204 when stored (or ignored after an opt-out); 400 ``{"error": ...}`` for a
  malformed batch, 403 for a bad CSRF token, a foreign Origin, or a page rendered for a
  cart that is not the shopper's current cart; 429 over ``RATELIMIT_EVENTS`` per IP and per
  visit. Nothing is stored unless the whole batch is valid.
- ``POST /checkout/consent``: "Don't save my details". A plain form answers 303 to
  /checkout with a flash message; htmx gets the consent block re-rendered, and a toast.
"""
from __future__ import annotations

import hmac
from urllib.parse import urlsplit

from flask import flash, jsonify, make_response, redirect, request, url_for
from flask_wtf.csrf import ValidationError, validate_csrf

from storefront.cart.services import current_cart
from storefront.extensions import csrf
from storefront.htmx import no_store, render, toast, wants_fragment
from storefront.leads.consent import is_opted_out, opt_out
from storefront.leads.event_store import store_batch
from storefront.leads.field_events import (
    MAX_BODY_BYTES,
    EventBatchError,
    checkout_ref,
    parse_batch,
)
from storefront.limits import per_ip_and_visit
from storefront.routing import Routes

routes = Routes()
ACCEPTED_TYPES = frozenset({"application/json", "text/plain"})
# Reading past this to answer 413 politely is not worth it: a bigger body is hostile.
DRAIN_LIMIT = 4 * 1024 * 1024
OPTED_OUT_MESSAGE = "We won't save your details as you type. Your order still goes through as usual."




def _refuse(message: str, status: int = 400):
    return no_store(make_response(jsonify(error=message), status))


def _too_large():
    """413 for a batch over MAX_BODY_BYTES. The rest of the body is read and dropped first
    (up to DRAIN_LIMIT): a server that answers while the client is still sending closes the
    connection, and the client then sees a reset instead of this answer."""
    stream, left = request.stream, DRAIN_LIMIT
    while left > 0 and (chunk := stream.read(min(65536, left))):
        left -= len(chunk)
    return _refuse(f"batch too large: at most {MAX_BODY_BYTES // 1024} KB", 413)


def _foreign_origin() -> bool:
    # Hosts only: behind a TLS-terminating proxy the app may see http while the page is
    # https. The CSRF token in the body is the real check; this refuses cross-site posts early.
    origin = request.headers.get("Origin")
    if not origin or origin == "null":
        return False
    return urlsplit(origin).netloc.lower() != request.host.lower()


@routes.post("/checkout/events")
@per_ip_and_visit("RATELIMIT_EVENTS")
def events():
    """Store a batch of field events for the shopper's current cart (see the module doc)."""
    if request.mimetype not in ACCEPTED_TYPES:
        return _refuse("send the batch as JSON")
    if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
        return _too_large()
    if _foreign_origin():
        return _refuse("foreign origin", 403)
    body = request.stream.read(MAX_BODY_BYTES + 1)
    if len(body) > MAX_BODY_BYTES:
        return _too_large()
    try:
        batch = parse_batch(body)
    except EventBatchError as error:
        return _refuse(str(error))
    try:
        validate_csrf(batch.csrf)
    except ValidationError:
        return _refuse("bad CSRF token", 403)
    cart = current_cart()
    if cart is None or not hmac.compare_digest(checkout_ref(cart), batch.ref):
        return _refuse("no checkout in progress for this page", 403)
    store_batch(cart, batch)
    return no_store(make_response("", 204))


csrf.exempt(events)


@routes.post("/checkout/consent")
@per_ip_and_visit("RATELIMIT_CHECKOUT")
def consent():
    """"Don't save my details": stop capture for this visit and delete what it captured."""
    cart = current_cart()
    if cart is None:
        if wants_fragment():
            return no_store(render("checkout/_expired.html", "expired", status=409))
        flash("Your cart is empty.", "info")
        return no_store(redirect(url_for("cart.show"), code=303))
    opt_out(cart)
    if wants_fragment():
        response = render("checkout/_consent.html", "consent", opted_out=True)
        return no_store(toast(response, "Your details won't be saved."))
    flash(OPTED_OUT_MESSAGE, "success")
    return no_store(redirect(url_for("checkout.show"), code=303))


@routes.app_template_global()
def capture_opted_out(cart) -> bool:
    """For the checkout template: did the cart's visit opt out of capture?"""
    return is_opted_out(cart)


@routes.app_template_global()
def field_events_ref(cart) -> str:
    """For the checkout template: the page's cart reference for field events."""
    return checkout_ref(cart)
