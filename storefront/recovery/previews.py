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
    of its messages, or the in-page save (PAGE: it is no message). A code not issued yet
    shows as SAVE-XXXXXXXX."""
    intervention = db.session.execute(select(CartIntervention).where(
        CartIntervention.id == intervention_id, CartIntervention.attempt_id == attempt.id)).scalar_one_or_none()
    if intervention is None or intervention.channel == "PAGE":
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


class NoSample(LookupError):
    """No cart of this merchant can serve as the sample of a test message yet."""


def send_test_email(company_id: int, stage: str, to: str):
    """Email ``to`` (the signed-in merchant) a test of ``stage``'s message, composed from
    the merchant's most recent recovery cart, with the sample code SAVE-XXXXXXXX (no code
    is issued) and a restore link that answers "doesn't work" (no message row exists).
    Sent under a new key each time (a test is not a recovery message). Returns the
    OutboundMessage. Raises NoSample without a cart to show, ValueError for a stage that
    is not an email stage."""
    from storefront.notifications.email import send_templated_email
    from storefront.recovery.services import settings_for
    from storefront.recovery.stages import STAGE_TYPES
    from storefront.types import new_token

    settings = settings_for(company_id)
    config = settings.stage(stage) if stage in STAGE_TYPES and stage != "REALTIME" else None
    if config is None or config["channel"] != "EMAIL":
        raise ValueError("Choose an email stage to test.")
    attempt = db.session.execute(select(CartSaveAttempt).where(CartSaveAttempt.company_id == company_id)
                                 .order_by(CartSaveAttempt.id.desc()).limit(1)).scalar_one_or_none()
    cart = db.session.get(Cart, attempt.cart_id) if attempt else None
    company = db.session.get(Company, company_id)
    sample = CartIntervention(stage=stage, channel="EMAIL", type=STAGE_TYPES[stage], angle=attempt.reason if attempt
                              else "UNKNOWN", offer_percent=config["offer_percent"], token=new_token(),
                              offer_code=SAMPLE_CODE if config["offer_percent"] else None)
    content = messages.compose(sample, cart, company, to) if cart else None
    if content is None:
        raise NoSample("There is no abandoned cart with items in stock to show in a test yet.")
    return send_templated_email(company_id, f"recovery-test-{new_token()[:24]}", to, f"[Test] {content.subject}",
                                "emails/recovery", content.context, from_name=company.name,
                                reply_to=company.support_email)
