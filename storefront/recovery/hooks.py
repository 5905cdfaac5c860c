"""Recovery's part in the layers below it, registered by the app factory (``install``):

- checkout's ``order_completed``: the order converts the attempts of its cart, email or
  phone and is attributed to the message whose link was used (``restore.order_placed``;
  a real-time save still waiting for its outcome is BOUGHT);
- notifications' ``opted_out``: a STOP or a "no more calls" cancels that channel's
  pending messages to that number at that merchant;
- notifications' ``status_changed``: the provider's outcome (delivered, no-answer, busy...)
  is copied onto the message's ``provider_response``;
- the call's Gather (``hooks.gather["recovery"]``): 1 texts the cart link and code, 2
  withdraws consent to calls;
- leads' ``erasure.erased``: erasing a lead cancels its attempts and scrubs its messages.
"""
from __future__ import annotations

from sqlalchemy import or_, select

from storefront.checkout import hooks as checkout_hooks
from storefront.extensions import db
from storefront.leads import erasure
from storefront.notifications import hooks as notification_hooks
from storefront.notifications.consent import withdraw
from storefront.notifications.models import VOICE
from storefront.notifications.records import scrub_recipient
from storefront.notifications.sms import send_sms
from storefront.recovery.delivery import GATHER_HOOK
from storefront.recovery.messages import restore_url
from storefront.recovery.models import EXPIRED, OPEN_ATTEMPT, CartIntervention, CartSaveAttempt
from storefront.recovery.restore import order_placed
from storefront.recovery.services import cancel_pending, finish_attempt
from storefront.types import utcnow


def _intervention_of(message) -> CartIntervention | None:
    if not (message.idempotency_key or "").startswith("recovery-"):
        return None
    return db.session.execute(select(CartIntervention).where(
        CartIntervention.message_key == message.idempotency_key)).scalar_one_or_none()


def opted_out(company_id: int, phone: str, channel: str) -> None:
    """Cancel the pending ``channel`` messages of this merchant's running attempts to
    ``phone``. Does not commit (the webhook does)."""
    now = utcnow()
    attempts = db.session.execute(select(CartSaveAttempt.id).where(
        CartSaveAttempt.company_id == company_id, CartSaveAttempt.phone == phone,
        CartSaveAttempt.status.in_(OPEN_ATTEMPT))).scalars().all()
    for attempt_id in attempts:
        cancel_pending(attempt_id, f"the shopper opted out of {channel}", now, channel=channel)


def status_changed(message) -> None:
    """Copy a provider's outcome onto the recovery message it belongs to."""
    intervention = _intervention_of(message)
    if intervention is not None:
        intervention.provider_response = {**(intervention.provider_response or {}), "status": message.status,
                                          "outcome_at": utcnow().isoformat(), "error": message.error}


def gathered(message, digit: str) -> str | None:
    """A key pressed during a recovery call: 1 texts the cart link (and code), 2 means no
    more calls from this merchant. Returns the sentence said back."""
    intervention = _intervention_of(message)
    if intervention is None:
        return None
    attempt = intervention.attempt
    if digit == "1":
        body = f"Your cart: {restore_url(intervention)}"
        if intervention.offer_code:
            body += f" Code {intervention.offer_code}."
        body += " Reply STOP to opt out."
        sent = send_sms(attempt.company_id, f"recovery-{intervention.id}-gather", attempt.phone, body)
        if sent.status in ("SENT", "DELIVERED"):
            return "We've texted you the link to your cart. Goodbye."
        return "We couldn't text this number. You'll find your cart at our shop. Goodbye."
    if digit == "2":
        withdraw(attempt.company_id, message.recipient, "VOICE_KEYPAD", channel=VOICE)
        notification_hooks.call(notification_hooks.opted_out, attempt.company_id, message.recipient, VOICE)
        return "You won't get any more calls from us. Goodbye."
    return None


def lead_erased(lead, email: str | None, phone: str | None) -> None:
    """A lead erased: its attempts (by lead, or by its email or phone at that merchant) end
    EXPIRED with their pending messages cancelled, forget the contacts, and the messages
    sent to them are scrubbed (``records.scrub_recipient``). Does not commit."""
    now = utcnow()
    who = [CartSaveAttempt.lead_id == lead.id]
    if email:
        who.append(CartSaveAttempt.email == email.strip().lower())
    if phone:
        who.append(CartSaveAttempt.phone == phone)
    attempts = db.session.execute(select(CartSaveAttempt).where(
        CartSaveAttempt.company_id == lead.company_id, or_(*who)).order_by(CartSaveAttempt.id)
        .with_for_update()).scalars().all()
    recipients = {value for value in (email and email.strip().lower(), phone) if value}
    for attempt in attempts:
        recipients.update(value for value in (attempt.email, attempt.phone) if value)
        finish_attempt(attempt, EXPIRED, now, "the lead was erased")
        attempt.email = attempt.phone = None
    for recipient in recipients:
        scrub_recipient(lead.company_id, recipient)


def install() -> None:
    """Register recovery's reactions (idempotent: the factory may build several apps)."""
    checkout_hooks.register(checkout_hooks.order_completed, order_placed)
    notification_hooks.register(notification_hooks.opted_out, opted_out)
    notification_hooks.register(notification_hooks.status_changed, status_changed)
    notification_hooks.register_gather(GATHER_HOOK, gathered)
    if lead_erased not in erasure.erased:
        erasure.erased.append(lead_erased)
