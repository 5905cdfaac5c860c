"""The shopper's restore link: ``GET /recover/<token>`` brings the cart back in any browser
(no cookie needed), sets the cart cookie and answers 303 to the cart (with htmx:
``HX-Redirect``). A malformed, unknown, used-up or expired link gets a friendly page."""
from __future__ import annotations

from flask import Response, flash, make_response, redirect, render_template, request, url_for

from storefront.cookies import set_cart_cookie
from storefront.recovery.restore import RestoreError, restore
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
