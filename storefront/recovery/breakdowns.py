"""The recovery report's breakdowns (issue 11, "Breakdowns: by channel, stage, abandonment
reason and landing page or campaign"), each one grouped in the database over the
attempts started in the period: ``company_id`` leads every filter, so the statements run
on ``ix_cart_save_attempts_company_status`` and ``ix_cart_interventions_attempt``; the
landing page and campaign come from the cart's visit (``Cart.visit_id``), the page from
``Cart.landing_page_id``.

Definitions are the report's (``reports``):

- an attempt counts when its cart was abandoned: it has a message (EMAIL, SMS, VOICE) or
  is running or ended without an order; the in-page save alone (REALTIME, channel PAGE,
  an attempt still PENDING) does not;
- **recovered**: CONVERTED by an order, with a message sent before; **running**: ACTIVE;
  **lost**: EXHAUSTED or EXPIRED; rate = recovered ÷ (recovered + running + lost);
- per message (channel, stage): sent, opened (an open or a click: a click proves the
  email was read), clicked, and the orders placed through its link with what they paid.

Amounts are integer cents of the merchant's currency.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import and_, case, exists, func, or_, select
from sqlalchemy.orm import aliased

from storefront.cart.models import Cart
from storefront.extensions import db
from storefront.landing.models import LandingPage
from storefront.recovery.models import (
    ACTIVE,
    CONVERTED,
    EXHAUSTED,
    EXPIRED,
    CartIntervention,
    CartSaveAttempt,
)
from storefront.recovery.stages import STAGE_LABELS, STAGE_NAMES
from storefront.visits.models import Visit

MESSAGE_CHANNELS = ("EMAIL", "SMS", "VOICE")
NO_PAGE, NO_CAMPAIGN = "No landing page", "No campaign"


@dataclass
class MessageRow:
    """Messages of one channel or stage: counts, and link orders with their cents."""

    key: str
    label: str
    scheduled: int = 0
    sent: int = 0
    opened: int = 0
    clicked: int = 0
    link_orders: int = 0
    link_revenue_cents: int = 0

    @property
    def click_rate(self) -> float | None:
        """Clicked ÷ sent, None before any was sent."""
        return self.clicked / self.sent if self.sent else None


@dataclass
class AttemptRow:
    """Attempts of one reason, landing page or campaign."""

    key: str
    label: str
    attempts: int = 0
    value_cents: int = 0
    recovered: int = 0
    recovered_cents: int = 0
    running: int = 0
    lost: int = 0

    @property
    def rate(self) -> float | None:
        """recovered ÷ (recovered + running + lost), None without any."""
        base = self.recovered + self.running + self.lost
        return self.recovered / base if base else None


@dataclass
class Breakdowns:
    """The four breakdowns of a period, each a list of rows, largest first."""

    channels: list[MessageRow] = field(default_factory=list)
    stages: list[MessageRow] = field(default_factory=list)
    reasons: list[AttemptRow] = field(default_factory=list)
    landing_pages: list[AttemptRow] = field(default_factory=list)
    campaigns: list[AttemptRow] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.channels or self.reasons)


def _in_period(company_id: int, since: datetime, until: datetime):
    inner = aliased(CartIntervention)  # the outer statement may group the messages themselves
    message = exists().where(inner.attempt_id == CartSaveAttempt.id, inner.channel.in_(MESSAGE_CHANNELS))
    return and_(CartSaveAttempt.company_id == company_id, CartSaveAttempt.started_at >= since,
                CartSaveAttempt.started_at < until,
                or_(message, CartSaveAttempt.status.in_((ACTIVE, EXHAUSTED, EXPIRED))))


def _message_rows(company_id: int, since: datetime, until: datetime, column) -> list[tuple]:
    count = lambda condition: func.sum(case((condition, 1), else_=0))  # noqa: E731
    linked = and_(CartIntervention.order_id.is_not(None), CartIntervention.order_cents.is_not(None))
    return db.session.execute(
        select(column, func.count(CartIntervention.id), count(CartIntervention.sent_at.is_not(None)),
               count(or_(CartIntervention.opened_at.is_not(None), CartIntervention.clicked_at.is_not(None))),
               count(CartIntervention.clicked_at.is_not(None)), count(linked),
               func.coalesce(func.sum(case((linked, CartIntervention.order_cents), else_=0)), 0))
        .join(CartSaveAttempt, CartSaveAttempt.id == CartIntervention.attempt_id)
        .where(CartIntervention.company_id == company_id, CartIntervention.channel.in_(MESSAGE_CHANNELS),
               _in_period(company_id, since, until))
        .group_by(column)).all()


def _attempt_rows(company_id: int, since: datetime, until: datetime, key, label, joins=()) -> list[tuple]:
    sent = exists().where(CartIntervention.attempt_id == CartSaveAttempt.id, CartIntervention.sent_at.is_not(None))
    recovered = and_(CartSaveAttempt.status == CONVERTED, CartSaveAttempt.order_id.is_not(None), sent)
    count = lambda condition: func.sum(case((condition, 1), else_=0))  # noqa: E731
    statement = select(key, label, func.count(CartSaveAttempt.id),
                       func.coalesce(func.sum(CartSaveAttempt.cart_value_cents), 0), count(recovered),
                       func.coalesce(func.sum(case((recovered, CartSaveAttempt.recovered_cents), else_=0)), 0),
                       count(CartSaveAttempt.status == ACTIVE),
                       count(CartSaveAttempt.status.in_((EXHAUSTED, EXPIRED))))
    statement = statement.select_from(CartSaveAttempt)
    for target, on in joins:
        statement = statement.outerjoin(target, on)
    return db.session.execute(statement.where(_in_period(company_id, since, until)).group_by(key, label)).all()


def _messages(rows, labels) -> list[MessageRow]:
    made = [MessageRow(key, labels(key), scheduled, int(sent or 0), int(opened or 0), int(clicked or 0),
                       int(orders or 0), int(cents or 0))
            for key, scheduled, sent, opened, clicked, orders, cents in rows]
    return made


def _attempts(rows, fallback: str) -> list[AttemptRow]:
    made = [AttemptRow(str(key) if key is not None else "", label or fallback, attempts, int(value or 0),
                       int(recovered or 0), int(cents or 0), int(running or 0), int(lost or 0))
            for key, label, attempts, value, recovered, cents, running, lost in rows]
    return sorted(made, key=lambda row: (-row.attempts, row.label))


def breakdowns(company_id: int, since: datetime, until: datetime) -> Breakdowns:
    """The breakdowns of attempts started from ``since`` (inclusive) to ``until``
    (exclusive) at merchant ``company_id``: five grouped statements."""
    channel_order = {name: index for index, name in enumerate(MESSAGE_CHANNELS)}
    stage_order = {name: index for index, name in enumerate(STAGE_NAMES)}
    channels = _messages(_message_rows(company_id, since, until, CartIntervention.channel),
                         lambda key: {"EMAIL": "Email", "SMS": "SMS", "VOICE": "Voice"}.get(key, key))
    stages = _messages(_message_rows(company_id, since, until, CartIntervention.stage),
                       lambda key: STAGE_LABELS.get(key, key))
    reason = func.coalesce(CartSaveAttempt.reason, "UNKNOWN")
    reasons = _attempts(_attempt_rows(company_id, since, until, reason, reason), "Unknown")
    for row in reasons:
        row.label = row.label.replace("_", " ").capitalize()
    cart_join = (Cart, Cart.id == CartSaveAttempt.cart_id)
    pages = _attempts(_attempt_rows(
        company_id, since, until, LandingPage.id, LandingPage.title,
        (cart_join, (LandingPage, and_(LandingPage.id == Cart.landing_page_id,
                                       LandingPage.company_id == company_id)))), NO_PAGE)
    campaigns = _attempts(_attempt_rows(
        company_id, since, until, Visit.utm_campaign, Visit.utm_campaign,
        (cart_join, (Visit, and_(Visit.id == Cart.visit_id, Visit.company_id == company_id)))), NO_CAMPAIGN)
    return Breakdowns(channels=sorted(channels, key=lambda r: channel_order.get(r.key, 99)),
                      stages=sorted(stages, key=lambda r: stage_order.get(r.key, 99)),
                      reasons=reasons, landing_pages=pages, campaigns=campaigns)
