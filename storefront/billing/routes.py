"""The card-update page a dunning message links to: /billing/card/<token>.

GET shows a Card Element on a fresh SetupIntent (``usage=off_session``); Stripe.js confirms
it in the browser (card numbers never reach our server) and the page posts the SetupIntent
id back. POST checks Stripe's copy (this Customer's, succeeded), saves the card on the
subscription and retries the open invoice at once, then answers 303 to the page (htmx gets
the page's block). A tampered or expired link answers 404 with the reason.
"""
from __future__ import annotations

from flask import abort, current_app, flash, redirect, request, url_for

from storefront.billing.card_update import new_setup, owed_invoice, save_from_setup
from storefront.billing.dunning import BadCardLink, read_card_link
from storefront.htmx import render
from storefront.routing import Routes

routes = Routes()


def _subscription(token: str):
    try:
        return read_card_link(token)
    except BadCardLink as error:
        abort(404, description=str(error))


@routes.route("/billing/card/<token>", methods=["GET", "POST"])
def update_card(token: str):
    sub = _subscription(token)
    owed = owed_invoice(sub)
    error = None
    if request.method == "POST":
        error = save_from_setup(sub, request.form.get("setup_intent", ""))
        if error is None:
            flash("Your new card is saved." + (" We're taking the payment now." if owed else ""))
            return redirect(url_for(request.endpoint, token=token), code=303)
    client_secret, unavailable = new_setup(sub)
    if unavailable:
        return render("billing/card.html", "card", 503, sub=sub, owed=owed, error=unavailable, client_secret=None)
    return render("billing/card.html", "card", 422 if error else 200, sub=sub, owed=owed, error=error,
                  client_secret=client_secret, stripe_js_url=current_app.config["STRIPE_JS_URL"],
                  stripe_publishable_key=current_app.config["STRIPE_PUBLISHABLE_KEY"])
