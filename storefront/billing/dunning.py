"""Dunning: what the customer is told while a renewal fails, through the shared notification
channels (``notifications.email.send_templated_email``, ``notifications.sms.send_sms``).

Notices, each sent at most once per invoice (the channel's key is
``dunning-<invoice id>-<notice>``, with ``-sms`` for the text):

- ``first_failure``: the first declined charge; email, and an SMS when the plan's
  ``sendSMSReminder`` is on and the customer consented (the SMS channel checks consent and
  quiet hours). It carries the secure card-update link.
- ``card_needed``: a hard decline or a bank asking for authentication: no retry until the
  customer saves a card through the link.
- ``final_reminder``: when the last retry is scheduled, with its date.
- ``final_notice``: after the last retry, saying what the plan's after-max-retries action
  did (cancelled, paused, kept for review, or the save offer).
- ``recovered``: the invoice was paid after a failure.

The customer is always told what happened. No outside AI service writes these words:
with the plan's ``useMIGeneratedContent`` on, ``message_variants.choose`` picks among the
merchant's own variants by notice, decline class and the customer's history (the email's
subject and paragraphs, and the SMS's first paragraph); with none matching, or the setting
off, the built-in words below are sent. The attempt records the variant it sent.
"""
from __future__ import annotations

import logging
from datetime import datetime

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from rq import Retry
from sqlalchemy import select

from storefront.accounts.models import Company
from storefront.billing import declines, message_variants
from storefront.billing.models import Invoice, PaymentAttempt, Subscription
from storefront.billing.queries import attempts_of
from storefront.checkout.models import Customer
from storefront.extensions import db
from storefront.money import format_money
from storefront.notifications.email import send_templated_email
from storefront.notifications.quiet_hours import OutsideSendingWindow
from storefront.notifications.sms import send_sms
from storefront.queue import enqueue

log = logging.getLogger(__name__)

CARD_LINK_SALT = "billing-card-update"
CARD_LINK_MAX_AGE = 61 * 24 * 3600  # seconds: outlives the longest retry window a plan allows (60 days)
NOTICES = ("first_failure", "card_needed", "final_reminder", "final_notice", "recovered")


class BadCardLink(ValueError):
    """A card-update link that is tampered with, expired or not this subscription's."""


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=CARD_LINK_SALT)


def card_link_token(sub: Subscription) -> str:
    """A signed, timestamped token naming the subscription and its merchant."""
    return _serializer().dumps({"s": sub.id, "c": sub.company_id})


def card_link(sub: Subscription) -> str:
    """The absolute card-update address: PUBLIC_URL/billing/card/<token>."""
    return f"{current_app.config['PUBLIC_URL']}/billing/card/{card_link_token(sub)}"


def account_url(company: Company) -> str:
    """The customer portal's sign-in page at this merchant (``/account/<slug>/sign-in``):
    dunning emails carry it, so a customer can pause, skip or take the save offer."""
    return f"{current_app.config['PUBLIC_URL']}/account/{company.slug}/sign-in"


def read_card_link(token: str, max_age: int = CARD_LINK_MAX_AGE) -> Subscription:
    """The subscription a card-update token names. Raises BadCardLink when the token is
    tampered with, older than ``max_age`` seconds, or names no live subscription."""
    try:
        data = _serializer().loads(token, max_age=max_age)
    except SignatureExpired as error:
        raise BadCardLink("This link has expired. Ask for a new one from the shop.") from error
    except BadSignature as error:
        raise BadCardLink("This link is not valid.") from error
    sub = db.session.get(Subscription, data.get("s")) if isinstance(data, dict) and isinstance(data.get("s"), int) else None
    if sub is None or sub.company_id != data.get("c") or sub.status == "CANCELED":
        raise BadCardLink("This link is not valid.")
    return sub


def notice_for(outcome: str, attempt: PaymentAttempt, invoice: Invoice, attempts: list[PaymentAttempt]) -> str | None:
    """Which notice (if any) a settled attempt calls for: ``outcome`` is ``engine.settle``'s."""
    failed = [a for a in attempts if a.status in ("FAILED", "REQUIRES_ACTION")]
    if outcome == "paid":
        return "recovered" if failed else None
    if outcome == "final_failed":
        return "final_notice"
    if outcome == "action_required":
        return "card_needed"
    if outcome != "failed" or attempt.decline_class == declines.NETWORK:
        return None
    if len([a for a in failed if a.decline_class != declines.NETWORK]) == 1:
        return "first_failure"
    scheduled = [a for a in attempts if a.status == "SCHEDULED" and a.kind == "RETRY"]
    retries = len([a for a in attempts if a.kind == "RETRY" and a.decline_class != declines.NETWORK])
    sub = db.session.get(Subscription, invoice.subscription_id)
    if scheduled and retries >= sub.plan.max_retries:
        return "final_reminder"
    return None


def queue_notice(attempt_id: int, outcome: str, clock: datetime | None = None) -> None:
    """After ``engine.settle`` committed: queue the dunning job (retried on transient faults
    and quiet hours). An injected clock travels with the job."""
    args = (attempt_id, outcome) if clock is None else (attempt_id, outcome, clock)
    enqueue(send_notice, *args, retry=Retry(max=4, interval=[900, 3600, 3 * 3600, 8 * 3600]))


def _words(notice: str, sub: Subscription, invoice: Invoice, attempt: PaymentAttempt, company: Company,
           next_at: datetime | None) -> tuple[str, list[str]]:
    amount = format_money(invoice.amount_cents, invoice.currency)
    plan = sub.plan.name
    when = f"{next_at:%A %d %B} (UTC)" if next_at else None
    if notice == "first_failure":
        return (f"Your {plan} payment didn't go through",
                [f"We couldn't take {amount} for your {plan} subscription.",
                 declines.customer_words(attempt.decline_class or declines.SOFT)
                 + (f" Next try: {when}." if when else "")])
    if notice == "card_needed":
        return (f"Please update your card for {plan}",
                [f"Your bank declined {amount} for your {plan} subscription and the card can't be charged again.",
                 "Add a new card with the link below and we'll take the payment at once."])
    if notice == "final_reminder":
        return (f"Last try for your {plan} payment",
                [f"We'll try {amount} one last time on {when}.",
                 "Update your card now to keep your subscription going."])
    if notice == "recovered":
        return (f"Payment received for {plan}", [f"Thanks: we received {amount}. Your subscription continues."])
    action = sub.plan.after_max_retries_action
    outcome = {
        "CANCEL": "so your subscription has been cancelled. You won't be charged again.",
        "PAUSE": "so your subscription is paused. Nothing ships and nothing is charged until you resume it.",
        "MANUAL_REVIEW": f"so our team will look at your subscription and write to you from {company.support_email or 'the shop'}.",
        "SAVE_FLOW": "but we'd like to keep you: update your card, or sign in to your account to take a discount "
                     "on your next delivery, skip it or pause instead.",
    }[action]
    return (f"Your {plan} subscription", [f"We couldn't take {amount} after several tries, {outcome}"])


def _failed_before(sub: Subscription, invoice: Invoice) -> bool:
    """True when this customer had a failed payment on another invoice at this merchant."""
    return db.session.execute(
        select(Invoice.id).join(Subscription, Subscription.id == Invoice.subscription_id)
        .where(Subscription.company_id == sub.company_id, Subscription.customer_id == sub.customer_id,
               Invoice.id != invoice.id, Invoice.first_failed_at.is_not(None)).limit(1)
    ).first() is not None


def _variant(notice: str, sub: Subscription, invoice: Invoice, attempt: PaymentAttempt,
             attempts: list[PaymentAttempt]):
    """The merchant's variant for this notice (``message_variants.choose``), or None. The
    decline class is the attempt's, else the latest failed attempt's (a recovered payment
    or a final notice speaks of the failure that came before)."""
    failed = [a.decline_class for a in attempts if a.decline_class and a.status in ("FAILED", "REQUIRES_ACTION")]
    decline_class = attempt.decline_class or (failed[-1] if failed else None)
    situation = message_variants.Situation(notice, decline_class, _failed_before(sub, invoice), sub.plan_id,
                                           invoice.id)
    return message_variants.choose(message_variants.for_company(sub.company_id), situation)


def send_notice(attempt_id: int, outcome: str, now: datetime | None = None) -> str | None:
    """Send the dunning notice an attempt's outcome calls for, once; returns its name or
    None. Raises records.TransientSendError (RQ retries) or OutsideSendingWindow when the SMS
    must wait for the customer's daytime (the email, already sent, is not sent again)."""
    attempt = db.session.get(PaymentAttempt, attempt_id)
    if attempt is None:
        return None
    invoice = db.session.get(Invoice, attempt.invoice_id)
    attempts = attempts_of(invoice.id)
    notice = notice_for(outcome, attempt, invoice, attempts)
    if notice is None:
        return None
    sub = db.session.get(Subscription, invoice.subscription_id)
    customer = db.session.get(Customer, sub.customer_id)
    company = db.session.get(Company, sub.company_id)
    next_at = min((a.scheduled_at for a in attempts if a.status == "SCHEDULED"), default=None)
    heading, paragraphs = _words(notice, sub, invoice, attempt, company, next_at)
    wants_card = notice in ("first_failure", "card_needed", "final_reminder", "final_notice")
    link = card_link(sub) if wants_card and sub.status != "CANCELED" else None
    if sub.plan.use_mi_generated_content:
        variant = _variant(notice, sub, invoice, attempt, attempts)
        if variant is not None:
            heading, paragraphs = message_variants.words(variant, {
                "customer_name": customer.first_name or "there", "plan": sub.plan.name, "shop": company.name,
                "amount": format_money(invoice.amount_cents, invoice.currency),
                "next_try": f"{next_at:%A %d %B} (UTC)" if next_at else None, "update_link": link,
                "what_happened": " ".join(paragraphs)})
            if attempt.message_variant_id != variant.id:
                attempt.message_variant_id = variant.id
                db.session.commit()
    if sub.plan.send_failure_email or notice == "final_notice":
        send_templated_email(
            company.id, f"dunning-{invoice.id}-{notice}", customer.email, heading, "emails/notification",
            {"heading": heading, "paragraphs": paragraphs, "action_url": link,
             "action_label": "Update my card" if link else None, "company": company,
             "account_url": account_url(company)},
            from_name=company.name, reply_to=company.support_email,
        )
    if sub.plan.send_sms_reminder and sub.phone and notice in ("first_failure", "card_needed", "final_reminder"):
        # A merchant's words may already carry the link ({update_link}): not twice in one text.
        body = f"{company.name}: {paragraphs[0]}" + (
            f" Update your card: {link}" if link and link not in paragraphs[0] else "")
        try:
            send_sms(company.id, f"dunning-{invoice.id}-{notice}-sms", sub.phone, body[:1600],
                     now=now, fallback_zone=sub.plan.timezone)
        except OutsideSendingWindow:
            log.info("dunning SMS for invoice %s waits for the customer's daytime", invoice.id)
            raise
    return notice
