"""Previews of recovery messages for the merchant: what a message says, composed from the
cart as it is now (``messages.compose``), without sending anything or issuing a code."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from storefront.accounts.models import Company
from storefront.cart.models import Cart
from storefront.extensions import db
from storefront.notifications.email import render_email
from storefront.recovery import messages
from storefront.recovery.models import CartIntervention, CartSaveAttempt

SAMPLE_CODE = "SAVE-XXXXXXXX"


@dataclass(frozen=True)
class Preview:
    """``channel``, ``subject`` (email), ``text`` (the email's plain text, the SMS, or the
    call's script and prompt), or ``empty`` when nothing in the cart is in stock."""

    intervention: CartIntervention
    channel: str
    subject: str
    text: str
    empty: bool = False


def preview(attempt: CartSaveAttempt, intervention_id: int) -> Preview | None:
    """The preview of message ``intervention_id`` of ``attempt``; None when it is not one
    of its messages. A code not issued yet shows as SAVE-XXXXXXXX."""
    intervention = db.session.execute(select(CartIntervention).where(
        CartIntervention.id == intervention_id, CartIntervention.attempt_id == attempt.id)).scalar_one_or_none()
    if intervention is None:
        return None
    cart = db.session.get(Cart, attempt.cart_id)
    company = db.session.get(Company, attempt.company_id)
    issued = intervention.offer_code
    if intervention.offer_percent and not issued:
        intervention.offer_code = SAMPLE_CODE  # shown only; rolled back below
    try:
        with db.session.no_autoflush:  # the sample code never reaches the database
            content = messages.compose(intervention, cart, company, attempt.email)
        if content is None:
            return Preview(intervention, intervention.channel, "", "", empty=True)
        if intervention.channel == "EMAIL":
            text, _html = render_email("emails/recovery", **content.context,
                                       unsubscribe_url=messages.unsubscribe_for(company.id, attempt.email))
            return Preview(intervention, "EMAIL", content.subject, text)
        if intervention.channel == "SMS":
            return Preview(intervention, "SMS", "", content.text)
        return Preview(intervention, "VOICE", "", f"{content.script}\n\n{content.prompt}")
    finally:
        db.session.rollback()
