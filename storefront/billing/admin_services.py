"""What the billing admin screens ask of billing: plans (create, update, delete or archive),
the subscriptions list and one subscription's invoices and attempts, and the dashboard's
figures (MRR, active subscribers, failed and recovered payments, recovery rate by strategy,
churn), read from billing's own tables through indexed queries and scoped to the merchant.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Select, func, select

from storefront.accounts.scoping import scoped
from storefront.billing.models import Invoice, PaymentAttempt, Subscription, SubscriptionPlan
from storefront.billing.upsell_models import UpsellOffer
from storefront.catalog.models import Product, Variant
from storefront.checkout.models import Customer
from storefront.extensions import db
from storefront.landing.services import clear_section_cache
from storefront.types import utcnow

# Months per interval unit, as a fraction (numerator, denominator), for MRR.
PER_MONTH = {"DAILY": (365, 12), "WEEKLY": (52, 12), "MONTHLY": (1, 1), "YEARLY": (1, 12)}
LIVE = ("ACTIVE", "PAST_DUE", "TRIALING")


def variant_choices(company_id: int) -> list[tuple[int, str]]:
    """(variant id, "Product (variant)") of the merchant's catalogue, for the plan form."""
    rows = db.session.execute(
        select(Variant.id, Product.title, Variant.title).join(Product, Product.id == Variant.product_id)
        .where(Variant.company_id == company_id).order_by(Product.title, Variant.position)
    ).all()
    return [(vid, title if variant in ("", "Default Title") else f"{title} ({variant})") for vid, title, variant in rows]


def list_plans() -> list[SubscriptionPlan]:
    """The signed-in merchant's plans, active first, then by name."""
    return list(db.session.execute(scoped(SubscriptionPlan).order_by(SubscriptionPlan.status, SubscriptionPlan.name)).scalars())


def save_plan(company, plan: SubscriptionPlan | None, values: dict) -> SubscriptionPlan:
    """Create (``plan`` None) or update a plan of ``company`` from PlanForm.fields(). The
    variant must be the merchant's (the form's choices are). Commits. Raises PlanError."""
    variant = db.session.get(Variant, values["variant_id"])
    if plan is None:
        plan = SubscriptionPlan(company_id=company.id, currency=company.currency)
        db.session.add(plan)
    plan.product_id = variant.product_id
    # The model checks each write against the plan's other values: widen the retry window
    # before moving it, and lengthen the days to retry before the schedule uses them.
    window = {k: values.pop(k) for k in ("retry_window_start", "retry_window_end", "fixed_schedule_days",
                                          "max_days_to_retry")}
    for name, value in values.items():
        setattr(plan, name, value)
    if plan.retry_window_start is not None and window["retry_window_start"] >= (plan.retry_window_end or 0):
        plan.retry_window_end = window.pop("retry_window_end")
    if plan.max_days_to_retry is not None and window["max_days_to_retry"] > plan.max_days_to_retry:
        plan.max_days_to_retry = window.pop("max_days_to_retry")
    for name, value in window.items():
        setattr(plan, name, value)
    db.session.commit()
    # Landing pages offer the plan as "subscribe and save": show the change at once.
    clear_section_cache()
    return plan


def delete_plan(plan: SubscriptionPlan) -> str:
    """Delete a plan nobody subscribes to; archive one with subscriptions (their renewals go
    on, it is no longer sold). Returns "deleted" or "archived". Commits."""
    used = db.session.execute(select(func.count(Subscription.id)).where(Subscription.plan_id == plan.id)).scalar_one()
    if used:
        plan.status = "ARCHIVED"
        db.session.commit()
        clear_section_cache()
        return "archived"
    db.session.delete(plan)
    db.session.commit()
    clear_section_cache()
    return "deleted"


def upsell_offer(company_id: int) -> UpsellOffer | None:
    """The merchant's one-click upsell offer, if they set one."""
    return db.session.execute(select(UpsellOffer).filter_by(company_id=company_id)).scalar_one_or_none()


def upsell_values(offer: UpsellOffer) -> dict:
    """The upsell form's values for ``offer``."""
    return {"variant": offer.variant_id, "headline": offer.headline, "active": offer.active}


def save_upsell_offer(company_id: int, variant_id: int, headline: str, active: bool) -> UpsellOffer:
    """Set the merchant's one-click upsell (one row per merchant). ``variant_id`` must be
    the merchant's own (the form's choices are). Commits."""
    variant = db.session.get(Variant, variant_id)
    if variant is None or variant.company_id != company_id:
        raise LookupError("not this merchant's variant")
    offer = upsell_offer(company_id) or UpsellOffer(company_id=company_id)
    offer.variant_id, offer.headline, offer.active = variant.id, headline, active
    db.session.add(offer)
    db.session.commit()
    return offer


def subscriptions_query(status: str | None) -> tuple[Select, Select]:
    """(rows, count) of the merchant's subscriptions, newest first, optionally by status:
    each row is (Subscription, customer email, plan name)."""
    rows = (scoped(Subscription, Subscription, Customer.email, SubscriptionPlan.name)
            .join(Customer, Customer.id == Subscription.customer_id)
            .join(SubscriptionPlan, SubscriptionPlan.id == Subscription.plan_id)
            .order_by(Subscription.id.desc()))
    count = scoped(Subscription, func.count(Subscription.id))
    if status:
        rows, count = rows.where(Subscription.status == status), count.where(Subscription.status == status)
    return rows, count


def customer_of(sub: Subscription) -> Customer:
    """The subscription's customer (same merchant: the subscription was scoped)."""
    return db.session.get(Customer, sub.customer_id)


def timeline(sub: Subscription) -> list[tuple[Invoice, list[PaymentAttempt]]]:
    """The subscription's invoices, newest first, each with its attempts in order."""
    invoices = list(db.session.execute(
        select(Invoice).where(Invoice.subscription_id == sub.id).order_by(Invoice.period_start.desc())).scalars())
    attempts: dict[int, list[PaymentAttempt]] = defaultdict(list)
    if invoices:
        for attempt in db.session.execute(
                select(PaymentAttempt).where(PaymentAttempt.invoice_id.in_([i.id for i in invoices]))
                .order_by(PaymentAttempt.number)).scalars():
            attempts[attempt.invoice_id].append(attempt)
    return [(invoice, attempts[invoice.id]) for invoice in invoices]


def monthly_cents(price_cents: int, quantity: int, interval: str, count: int) -> int:
    """A subscription's monthly recurring revenue in cents (rounded half up):
    price × quantity × periods per month."""
    num, den = PER_MONTH[interval]
    total, divisor = price_cents * quantity * num, den * count
    return (2 * total + divisor) // (2 * divisor)


@dataclass(frozen=True)
class Dashboard:
    """The billing dashboard's figures. Money by currency (cents); rates in basis points
    (None when there is nothing to divide)."""

    mrr: dict[str, int]
    active: int
    failed_invoices: int
    recovered: dict[str, int]
    recovered_invoices: int
    by_strategy: list[tuple[str, int, int, int | None]]  # (strategy, failed, recovered, rate bp)
    involuntary_churn: int
    voluntary_churn: int
    since: datetime


def dashboard(company_id: int, days: int = 30, now: datetime | None = None) -> Dashboard:
    """Figures for the merchant over the last ``days`` days (MRR and subscribers: now).

    Failed invoices had a first failure in the period; recovered ones were then paid.
    Involuntary churn: subscriptions cancelled by a failed payment in the period;
    voluntary: cancelled for another reason.
    """
    now = now or utcnow()
    since = now - timedelta(days=days)
    live = db.session.execute(
        select(SubscriptionPlan.price_cents, SubscriptionPlan.currency, SubscriptionPlan.interval,
               SubscriptionPlan.interval_count, Subscription.quantity)
        .join(SubscriptionPlan, SubscriptionPlan.id == Subscription.plan_id)
        .where(Subscription.company_id == company_id, Subscription.status.in_(("ACTIVE", "PAST_DUE")))
    ).all()
    mrr: dict[str, int] = defaultdict(int)
    for price, currency, interval, count, quantity in live:
        mrr[currency] += monthly_cents(price, quantity, interval, count)
    active = db.session.execute(select(func.count(Subscription.id)).where(
        Subscription.company_id == company_id, Subscription.status.in_(LIVE))).scalar_one()
    failed = db.session.execute(
        select(Invoice.id, Invoice.status, Invoice.amount_cents, Invoice.currency)
        .where(Invoice.company_id == company_id, Invoice.first_failed_at >= since)
    ).all()
    recovered: dict[str, int] = defaultdict(int)
    for _id, status, amount, currency in failed:
        if status == "PAID":
            recovered[currency] += amount
    strategy_of = dict(db.session.execute(
        select(PaymentAttempt.invoice_id, func.max(PaymentAttempt.strategy))
        .where(PaymentAttempt.invoice_id.in_([row[0] for row in failed] or [0]))
        .group_by(PaymentAttempt.invoice_id)
    ).all())
    tally: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for invoice_id, status, _amount, _currency in failed:
        key = strategy_of.get(invoice_id) or "no retry"
        tally[key][0] += 1
        tally[key][1] += status == "PAID"
    by_strategy = [(name, n, ok, (ok * 10000 // n) if n else None) for name, (n, ok) in sorted(tally.items())]
    churn = db.session.execute(
        select(Subscription.cancel_reason).where(Subscription.company_id == company_id,
                                                 Subscription.status == "CANCELED", Subscription.canceled_at >= since)
    ).scalars().all()
    involuntary = sum(1 for reason in churn if reason == "payment failed after every retry")
    return Dashboard(dict(mrr), active, len(failed), dict(recovered), sum(1 for row in failed if row[1] == "PAID"),
                     by_strategy, involuntary, len(churn) - involuntary, since)
