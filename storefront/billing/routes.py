"""The card-update page a dunning message links to: /billing/card/<token>.

GET shows a Card Element on a fresh SetupIntent (``usage=off_session``); Stripe.js confirms
it in the browser (card numbers never reach our server) and the page posts the SetupIntent
id back. POST checks Stripe's copy (this Customer's, succeeded), saves the card on the
subscription and retries the open invoice at once, then answers 303 to the page (htmx gets
the page's block). A tampered or expired link answers 404 with the reason.
"""
from __future__ import annotations

import re

from flask import abort, current_app, flash, redirect, request, url_for

from storefront.billing.dunning import BadCardLink, read_card_link
from storefront.billing.models import Invoice
from storefront.billing.services import (
    BillingError,
    begin_card_setup,
    finish_card_setup,
    replace_card,
)
from storefront.extensions import db
from storefront.htmx import render
from storefront.payments.gateway import PaymentError
from storefront.routing import Routes

routes = Routes()
SETUP_ID = re.compile(r"seti_[A-Za-z0-9]{1,64}")


def _subscription(token: str):
    try:
        return read_card_link(token)
    except BadCardLink as error:
        abort(404, description=str(error))


@routes.route("/billing/card/<token>", methods=["GET", "POST"])
def update_card(token: str):
    sub = _subscription(token)
    owed = db.session.execute(
        db.select(Invoice).filter_by(subscription_id=sub.id, status="OPEN").order_by(Invoice.period_start).limit(1)
    ).scalar_one_or_none()
    error = None
    if request.method == "POST":
        setup_id = request.form.get("setup_intent", "")
        if not SETUP_ID.fullmatch(setup_id):
            error = "The card could not be read. Please try again."
        else:
            try:
                method = finish_card_setup(setup_id, sub.stripe_customer_id)
                replace_card(sub.id, method)
            except (BillingError, PaymentError) as failure:
                error = str(failure)
            else:
                flash("Your new card is saved." + (" We're taking the payment now." if owed else ""))
                return redirect(url_for(request.endpoint, token=token), code=303)
    try:
        setup = begin_card_setup(sub.stripe_customer_id, sub.id)
    except PaymentError as failure:
        return render("billing/card.html", "card", 503, sub=sub, owed=owed, error=str(failure), client_secret=None)
    return render("billing/card.html", "card", 422 if error else 200, sub=sub, owed=owed, error=error,
                  client_secret=setup.client_secret, stripe_js_url=current_app.config["STRIPE_JS_URL"],
                  stripe_publishable_key=current_app.config["STRIPE_PUBLISHABLE_KEY"])
