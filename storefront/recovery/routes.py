"""The shopper's restore link: ``GET /recover/<token>`` brings the cart back in any browser
(no cookie needed), sets the cart cookie and answers 303 to the cart (with htmx:
``HX-Redirect``). A malformed, unknown, used-up or expired link gets a friendly page.
``GET /recover/<token>/open.gif`` is the email's open image (``tracking``)."""
from __future__ import annotations

from flask import Response, flash, make_response, redirect, render_template, request, url_for

from storefront.cookies import set_cart_cookie
from storefront.recovery.restore import RestoreError, restore
from storefront.recovery.tracking import PIXEL, UnknownOpen, mark_opened
from storefront.routing import Routes

routes = Routes()


@routes.get("/recover/<token>")
def recover(token: str) -> Response:
    """Restore the cart of a recovery message and go to it."""
    try:
        restored = restore(token)
    except RestoreError as error:
        response = make_response(render_template("errors/error.html", status=404, title=error.title,
                                                 message=str(error)), 404)
        response.headers["Cache-Control"] = "no-store"
        return response
    flash(restored.note, "success")
    target = url_for("cart.show")
    if request.headers.get("HX-Request") == "true":
        response = make_response("", 200)
        response.headers["HX-Redirect"] = target
    else:
        response = redirect(target, 303)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"  # the token stays out of other sites' logs
    return set_cart_cookie(response, restored.cart.token)


@routes.get("/recover/<token>/open.gif")
def opened(token: str) -> Response:
    """The open image of a recovery email: records the first open (a replay changes
    nothing) and answers a 1×1 GIF; 404 for a token no email of ours carries. Not cached,
    so a later open reaches us; no cookie is read or set."""
    try:
        mark_opened(token)
    except UnknownOpen:
        response = make_response("", 404)
    else:
        response = make_response(PIXEL, 200)
        response.mimetype = "image/gif"
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response
