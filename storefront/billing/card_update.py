"""A new card for a subscription, as the card-update pages take it: the dunning link's
(``/billing/card/<token>``) and the customer portal's (``/account/subscriptions/<id>/card``).

The page shows a Card Element on a fresh SetupIntent (``usage=off_session``); Stripe.js
confirms it in the browser (card numbers never reach our server) and the page posts the
SetupIntent id back. Saving checks Stripe's copy (this Customer's, succeeded), keeps the
card on the subscription and retries an owed invoice at once (``services.replace_card``).
"""
from __future__ import annotations

import re

from storefront.billing.models import Invoice, Subscription
from storefront.billing.services import (
    BillingError,
    begin_card_setup,
    finish_card_setup,
    replace_card,
)
from storefront.extensions import db
from storefront.payments.gateway import PaymentError

SETUP_ID = re.compile(r"seti_[A-Za-z0-9]{1,64}")


def owed_invoice(sub: Subscription) -> Invoice | None:
    """The subscription's oldest OPEN invoice (what a new card pays at once), or None."""
    return db.session.execute(
        db.select(Invoice).filter_by(subscription_id=sub.id, status="OPEN").order_by(Invoice.period_start).limit(1)
    ).scalar_one_or_none()


def save_from_setup(sub: Subscription, setup_id: str) -> str | None:
    """Keep the card of a posted SetupIntent id; returns None when saved, else the words
    for the customer (an id that is not a SetupIntent's, one not confirmed or not this
    Customer's, or Stripe failing)."""
    if not SETUP_ID.fullmatch(setup_id or ""):
        return "The card could not be read. Please try again."
    try:
        replace_card(sub.id, finish_card_setup(setup_id, sub.stripe_customer_id))
    except (BillingError, PaymentError) as failure:
        return str(failure)
    return None


def new_setup(sub: Subscription) -> tuple[str | None, str | None]:
    """(client secret of a fresh SetupIntent for the page's Card Element, None), or (None,
    the reason) when Stripe did not answer."""
    try:
        return begin_card_setup(sub.stripe_customer_id, sub.id).client_secret, None
    except PaymentError as failure:
        return None, str(failure)
