"""The recovery report (issue "Recovery reports"): read from the recovery tables through
the (company, status) index and the attempts of the period; small by nature.

Definitions, as CartFlows gives them and the issue asks:

- **abandoned**: attempts started in the period (carts that became ABANDONED), and their
  value (cents);
- **recovered**: attempts CONVERTED by an order (same cart, email or phone) placed after a
  message was sent, within 7 days of the last message; revenue is what those orders paid
  (cents). This drives the rate and the alerts;
- **through a restore link**: separately, the orders placed after a message's link was
  used (its intervention EXECUTED);
- **running**: attempts still ACTIVE; **lost**: EXHAUSTED or EXPIRED without an order;
- **recovery rate** = recovered ÷ (recovered + running + lost).

Also: the average time from abandonment to the recovered order, offer acceptance (codes
used by an order ÷ codes sent) and call completion (answered ÷ placed).

Per stage and channel: messages scheduled, sent, clicked, UNKNOWN (stopped mid-send, never
re-sent), failed, cancelled, and the recovered orders and revenue credited to the last
message sent before the order.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select

from storefront.extensions import db
from storefront.pricing.models import PromotionCode
from storefront.recovery.churn_report import ChurnFigures, churn_figures
from storefront.recovery.models import (
    ACTIVE,
    CONVERTED,
    DELIVERED_INTERVENTION,
    EXECUTED,
    FAILED,
    UNKNOWN,
    CartIntervention,
    CartSaveAttempt,
)
from storefront.recovery.stages import STAGE_LABELS

LOW_RATE = 0.20  # alert: recovery rate under 20 %
VOICE_FAILURES = 0.10  # alert: over 10 % of calls failed, busy or unanswered
BAD_CALL_OUTCOMES = ("FAILED", "BUSY", "NO_ANSWER")


@dataclass
class StageRow:
    """One stage and channel of the report. Amounts in cents."""

    stage: str
    channel: str
    scheduled: int = 0
    sent: int = 0
    clicked: int = 0
    unknown: int = 0
    failed: int = 0
    cancelled: int = 0
    recovered: int = 0
    revenue_cents: int = 0
    link_orders: int = 0
    link_revenue_cents: int = 0

    @property
    def label(self) -> str:
        return STAGE_LABELS.get(self.stage, self.stage)


@dataclass
class Report:
    """The figures of a period (see the module docstring); amounts in cents of ``currency``."""

    currency: str
    abandoned: int = 0
    abandoned_cents: int = 0
    recoverable_cents: int = 0
    recovered: int = 0
    recovered_cents: int = 0
    running: int = 0
    lost: int = 0
    link_orders: int = 0
    link_revenue_cents: int = 0
    calls: int = 0
    bad_calls: int = 0
    answered_calls: int = 0
    offers_sent: int = 0
    offers_used: int = 0
    conversion_seconds: list[float] = field(default_factory=list)
    rows: list[StageRow] = field(default_factory=list)
    reasons: dict[str, int] = field(default_factory=dict)
    churn: ChurnFigures = field(default_factory=ChurnFigures)

    @property
    def rate(self) -> float | None:
        """recovered ÷ (recovered + running + lost), None before any attempt ended or ran."""
        base = self.recovered + self.running + self.lost
        return self.recovered / base if base else None

    @property
    def average_hours_to_order(self) -> float | None:
        """Mean hours from the start of a recovered attempt to its order, None without one."""
        times = self.conversion_seconds
        return sum(times) / len(times) / 3600 if times else None

    @property
    def offer_acceptance(self) -> float | None:
        """Codes used by an order ÷ codes sent, None before any was sent."""
        return self.offers_used / self.offers_sent if self.offers_sent else None

    @property
    def call_completion(self) -> float | None:
        """Calls answered (COMPLETED) ÷ calls placed, None before any."""
        return self.answered_calls / self.calls if self.calls else None

    @property
    def alerts(self) -> list[str]:
        """The banners of the monitoring rules (rate under 20 %, calls failing over 10 %,
        churn false positives over 30 %: ``churn_report``)."""
        found = []
        if self.rate is not None and self.recovered + self.lost >= 1 and self.rate < LOW_RATE:
            found.append(f"Recovery rate is {self.rate:.0%}, under {LOW_RATE:.0%}: check your messages and offers.")
        if self.calls and self.bad_calls / self.calls > VOICE_FAILURES:
            found.append(f"{self.bad_calls} of {self.calls} recovery calls failed, were busy or went unanswered "
                         f"(over {VOICE_FAILURES:.0%}).")
        if self.churn.alert:
            found.append(self.churn.alert)
        return found


def _abandoned(attempt: CartSaveAttempt) -> bool:
    events = {entry.get("event") for entry in attempt.stage_history or []}
    return "STARTED" in events or "REALTIME" not in events


def report(company_id: int, currency: str, since: datetime, until: datetime) -> Report:
    """The report of attempts started from ``since`` (inclusive) to ``until`` (exclusive)
    at merchant ``company_id``."""
    attempts = db.session.execute(select(CartSaveAttempt).where(
        CartSaveAttempt.company_id == company_id, CartSaveAttempt.started_at >= since,
        CartSaveAttempt.started_at < until)).scalars().all()
    # A real-time save on checkout makes an attempt before any abandonment (REALTIME in its
    # history); it is the flow's only once its cart was abandoned (STARTED).
    attempts = [a for a in attempts if _abandoned(a)]
    result = Report(currency=currency, churn=churn_figures(company_id, since, until))
    if not attempts:
        return result
    by_attempt: dict[int, list[CartIntervention]] = defaultdict(list)
    for row in db.session.execute(select(CartIntervention).where(
            CartIntervention.company_id == company_id,
            CartIntervention.attempt_id.in_([a.id for a in attempts]))).scalars():
        by_attempt[row.attempt_id].append(row)
    rows: dict[tuple[str, str], StageRow] = {}
    reasons: dict[str, int] = defaultdict(int)
    offered: list[str] = []
    for attempt in attempts:
        result.abandoned += 1
        result.abandoned_cents += attempt.cart_value_cents
        reasons[attempt.reason or "UNKNOWN"] += 1
        messages = by_attempt.get(attempt.id, [])
        sent = [m for m in messages if m.status in DELIVERED_INTERVENTION and m.sent_at]
        for message in messages:
            row = rows.setdefault((message.stage, message.channel), StageRow(message.stage, message.channel))
            row.scheduled += 1
            row.sent += message in sent
            row.clicked += message.clicked_at is not None
            row.unknown += message.status == UNKNOWN
            row.failed += message.status == FAILED
            row.cancelled += message.status == "CANCELLED"
            if message.status == EXECUTED and message.order_cents is not None:
                row.link_orders += 1
                row.link_revenue_cents += message.order_cents
                result.link_orders += 1
                result.link_revenue_cents += message.order_cents
            if message.channel == "VOICE" and message in sent:
                outcome = (message.provider_response or {}).get("status")
                result.calls += 1
                result.bad_calls += outcome in BAD_CALL_OUTCOMES
                result.answered_calls += outcome == "COMPLETED"
            if message.offer_code and message in sent:
                offered.append(message.offer_code)
        if attempt.status == CONVERTED and attempt.order_id and sent:
            result.recovered += 1
            if attempt.completed_at:
                result.conversion_seconds.append((attempt.completed_at - attempt.started_at).total_seconds())
            result.recovered_cents += attempt.recovered_cents or 0
            before = [m for m in sent if attempt.completed_at is None or m.sent_at <= attempt.completed_at]
            last = max(before or sent, key=lambda m: m.sent_at)
            credited = rows[(last.stage, last.channel)]
            credited.recovered += 1
            credited.revenue_cents += attempt.recovered_cents or 0
        elif attempt.status == ACTIVE:
            result.running += 1
            result.recoverable_cents += attempt.cart_value_cents
        elif attempt.status != CONVERTED:
            result.lost += 1
    result.offers_sent = len(offered)
    if offered:
        result.offers_used = db.session.execute(select(func.count(PromotionCode.id)).where(
            PromotionCode.company_id == company_id, PromotionCode.code.in_(offered),
            PromotionCode.used_at.is_not(None))).scalar_one()
    order = {name: index for index, name in enumerate(STAGE_LABELS)}
    result.rows = sorted(rows.values(), key=lambda r: (order.get(r.stage, 99), r.channel))
    result.reasons = dict(sorted(reasons.items(), key=lambda item: -item[1]))
    return result
