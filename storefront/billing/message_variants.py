"""Dunning message variants the merchant writes, and the rule that picks one
(the plan setting ``useMIGeneratedContent``). No outside AI service is called: every word
sent is the merchant's own, chosen by the rules below.

A variant is for one dunning ``notice`` (``dunning.NOTICES``), a decline class
(``declines.HARD``/``SOFT``/``NETWORK`` or ``ANY``), a customer history (``FIRST``: this
customer has no earlier failed invoice at this merchant; ``REPEAT``: they have; ``ANY``) and
one plan or all plans (``plan_id`` None). Its subject and body are plain text with the
placeholders of ``PLACEHOLDERS``; anything else in braces is refused when saved, and a final
notice's body must carry ``{what_happened}`` (``REQUIRED``), so the customer is always told.

Selection (``choose``, a pure function): among the active variants that match the notice,
the decline class, the history and the plan, the most specific wins (one point each for a
named plan, a named decline class and a named history). Ties are broken by rotating on the
invoice id over the tied variants in id order, so one invoice always gets the same variant
and the merchant's variants are sent in turn across invoices and can be compared. With none
matching, the built-in words are sent. The attempt whose notice was sent records the variant
(``PaymentAttempt.message_variant_id``).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, String, Text, func, select
from sqlalchemy.orm import Mapped, mapped_column

from storefront.billing import declines
from storefront.extensions import db
from storefront.types import UTCDateTime, utcnow

ANY = "ANY"
FIRST = "FIRST"
REPEAT = "REPEAT"
NOTICE_LABELS = {
    "first_failure": "First failed payment",
    "card_needed": "Card must be replaced (hard decline or authentication)",
    "final_reminder": "Reminder before the last try",
    "final_notice": "Final notice after the last try",
    "recovered": "Payment recovered",
}
DECLINE_LABELS = {ANY: "Any decline reason", declines.SOFT: "Soft decline (e.g. insufficient funds)",
                  declines.HARD: "Hard decline (e.g. lost or stolen card)",
                  declines.NETWORK: "Network or processing error"}
HISTORY_LABELS = {ANY: "Any customer", FIRST: "First failed payment at this shop",
                  REPEAT: "Has had a failed payment here before"}
PLACEHOLDERS = {
    "customer_name": "the customer's first name (or \"there\")",
    "amount": "the amount due, e.g. $18.00",
    "plan": "the plan's name",
    "shop": "your shop's name",
    "next_try": "the next try's date, when one is scheduled",
    "update_link": "the secure card-update link",
    "what_happened": "the built-in explanation of this notice (a final notice must carry it: it says whether "
                     "the subscription was cancelled, paused or kept for review)",
}
# A final notice tells the customer what happened to their subscription (Subscribie #1308):
# the merchant's words for it must include the built-in explanation.
REQUIRED = {"final_notice": "what_happened"}
SUBJECT_MAX = 150
BODY_MAX = 2000
_TOKEN = re.compile(r"\{([^{}]*)\}")


class MessageVariant(db.Model):
    """A merchant-written dunning message: ``subject`` (one line) and ``body`` (paragraphs
    split by blank lines), for ``notice`` / ``decline_class`` / ``history`` on ``plan_id``
    (None: every plan). Only ``active`` variants are chosen."""

    __tablename__ = "dunning_message_variants"

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id"), index=True)
    plan_id: Mapped[int | None] = mapped_column(ForeignKey("subscription_plans.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(80))
    notice: Mapped[str] = mapped_column(String(16))
    decline_class: Mapped[str] = mapped_column(String(8), default=ANY)
    history: Mapped[str] = mapped_column(String(8), default=ANY)
    subject: Mapped[str] = mapped_column(String(SUBJECT_MAX))
    body: Mapped[str] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


def placeholder_errors(text: str) -> str | None:
    """Why ``text`` cannot be a message (an unknown placeholder, or a brace that opens or
    closes none), or None. Placeholders are ``{name}`` with a name of PLACEHOLDERS."""
    unknown = [name for name in _TOKEN.findall(text) if name not in PLACEHOLDERS]
    if unknown:
        return (f"Unknown placeholder {{{unknown[0][:40]}}}: use "
                + ", ".join(f"{{{name}}}" for name in PLACEHOLDERS) + ".")
    if "{" in _TOKEN.sub("", text) or "}" in _TOKEN.sub("", text):
        return "A brace opens or closes no placeholder: write placeholders as {amount}."
    return None


def missing_required(notice: str, body: str) -> str | None:
    """Why ``body`` cannot be the words of ``notice`` (a placeholder it must carry is
    absent: ``REQUIRED``), or None."""
    name = REQUIRED.get(notice)
    if name and f"{{{name}}}" not in body:
        return f"A final notice must say what happened to the subscription: include {{{name}}}."
    return None


def fill(text: str, values: dict[str, str | None]) -> str:
    """``text`` with each known placeholder replaced by its value ("" when None), in one pass:
    a value that itself holds ``{...}`` (a customer's name) is not expanded again. Unknown
    names are left as typed (saving refuses them)."""
    return _TOKEN.sub(lambda m: (values.get(m.group(1)) or "") if m.group(1) in PLACEHOLDERS else m.group(0), text)


@dataclass(frozen=True)
class Situation:
    """What the choice depends on: the ``notice``, the decline class of the failure (None
    when there was none, e.g. a recovered payment: only ANY variants fit), whether the
    customer ``failed_before`` this invoice, the ``plan_id`` and the ``invoice_id``."""

    notice: str
    decline_class: str | None
    failed_before: bool
    plan_id: int
    invoice_id: int


def _score(variant, situation: Situation) -> int | None:
    """The variant's specificity for ``situation`` (0..3), None when it does not fit."""
    history = REPEAT if situation.failed_before else FIRST
    if not variant.active or variant.notice != situation.notice:
        return None
    if missing_required(variant.notice, variant.body):  # saved some other way: never leave the customer untold
        return None
    if variant.decline_class not in (ANY, situation.decline_class):
        return None
    if variant.history not in (ANY, history) or variant.plan_id not in (None, situation.plan_id):
        return None
    return (variant.plan_id is not None) + (variant.decline_class != ANY) + (variant.history != ANY)


def choose(variants, situation: Situation):
    """The variant to send (see the module docstring), or None for the built-in words.
    ``variants``: any objects with the MessageVariant attributes (one merchant's)."""
    scored = [(score, v) for v in variants if (score := _score(v, situation)) is not None]
    if not scored:
        return None
    best = max(score for score, _v in scored)
    tied = sorted((v for score, v in scored if score == best), key=lambda v: v.id)
    return tied[situation.invoice_id % len(tied)]


def words(variant, values: dict[str, str | None]) -> tuple[str, list[str]]:
    """The variant's subject (one line: line breaks become spaces) and paragraphs, filled."""
    subject = " ".join(fill(variant.subject, values).split())[:SUBJECT_MAX * 2]
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", fill(variant.body, values)) if p.strip()]
    return subject, paragraphs or [subject]


# ----------------------------------------------------------------------------- admin


def variants_query(company_id: int):
    """(rows, count) Selects of the merchant's variants, by notice then name, each row
    (variant, plan name or None, times sent)."""
    from storefront.billing.models import PaymentAttempt, SubscriptionPlan

    sent = (select(func.count(PaymentAttempt.id)).where(PaymentAttempt.message_variant_id == MessageVariant.id)
            .correlate(MessageVariant).scalar_subquery())
    rows = (select(MessageVariant, SubscriptionPlan.name, sent)
            .outerjoin(SubscriptionPlan, SubscriptionPlan.id == MessageVariant.plan_id)
            .where(MessageVariant.company_id == company_id).order_by(MessageVariant.notice, MessageVariant.name,
                                                                     MessageVariant.id))
    count = select(func.count(MessageVariant.id)).where(MessageVariant.company_id == company_id)
    return rows, count


def save_variant(company_id: int, variant: MessageVariant | None, values: dict) -> MessageVariant:
    """Create (``variant`` None) or update a variant of ``company_id`` from
    MessageVariantForm.fields() (already checked, plan among the merchant's). Commits."""
    if variant is None:
        variant = MessageVariant(company_id=company_id)
        db.session.add(variant)
    for name, value in values.items():
        setattr(variant, name, value)
    db.session.commit()
    return variant


def delete_variant(variant: MessageVariant) -> None:
    """Delete a variant; attempts that sent it keep a null reference. Commits."""
    db.session.delete(variant)
    db.session.commit()


def for_company(company_id: int) -> list[MessageVariant]:
    """The merchant's active variants (what ``choose`` picks from)."""
    return list(db.session.execute(select(MessageVariant).where(
        MessageVariant.company_id == company_id, MessageVariant.active.is_(True))).scalars())


def names_of(company_id: int, ids) -> dict[int, str]:
    """{variant id: name} of the merchant's variants among ``ids`` (the subscription
    timeline shows which one each attempt's notice sent)."""
    wanted = {i for i in ids if i}
    if not wanted:
        return {}
    return dict(db.session.execute(select(MessageVariant.id, MessageVariant.name).where(
        MessageVariant.company_id == company_id, MessageVariant.id.in_(wanted))).all())
