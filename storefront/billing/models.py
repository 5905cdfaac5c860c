"""Billing's tables: SubscriptionPlan, Subscription, Invoice and PaymentAttempt.

Money is integer minor units of ``currency``; times are timezone-aware UTC. Subscriptions,
invoices and retry timing are ours; Stripe only charges (ARCHITECTURE §6).

A plan's retry settings carry the seed's names (``retryStrategy`` is ``retry_strategy``,
``fixedScheduleDays`` is ``fixed_schedule_days``, and so on: ``plans.SEED_NAMES``); every
write goes through ``plans.check_retry_settings`` (a ``@validates`` hook below), so a plan
with an empty retry window or over 60 retry days is never stored.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from storefront.extensions import db
from storefront.types import JSONType, UTCDateTime, utcnow


class SubscriptionPlan(db.Model):
    """What a subscriber renews: one variant, ``quantity`` of it per period, at
    ``price_cents`` (per unit) every ``interval_count`` ``interval``s, after ``trial_days``.

    Status is ACTIVE (sold) or ARCHIVED (kept for its subscribers, no longer sold).
    """

    __tablename__ = "subscription_plans"

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), index=True)
    variant_id: Mapped[int | None] = mapped_column(ForeignKey("variants.id"))
    name: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(Text, default="")
    price_cents: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3))
    interval: Mapped[str] = mapped_column(String(8), default="MONTHLY")
    interval_count: Mapped[int] = mapped_column(Integer, default=1)
    trial_days: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(16), default="ACTIVE")
    # Retry settings (the seed's names in plans.SEED_NAMES).
    retry_strategy: Mapped[str] = mapped_column(String(16), default="MI_OPTIMIZED")
    fixed_schedule_days: Mapped[list] = mapped_column(JSONType, default=lambda: [1, 3, 5, 7])
    max_retries: Mapped[int] = mapped_column(Integer, default=4)
    max_days_to_retry: Mapped[int] = mapped_column(Integer, default=14)
    enable_payday_detection: Mapped[bool] = mapped_column(Boolean, default=True)
    enable_time_optimization: Mapped[bool] = mapped_column(Boolean, default=True)
    enable_day_of_week_optimization: Mapped[bool] = mapped_column(Boolean, default=True)
    retry_window_start: Mapped[int] = mapped_column(Integer, default=9)
    retry_window_end: Mapped[int] = mapped_column(Integer, default=18)
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    send_failure_email: Mapped[bool] = mapped_column(Boolean, default=True)
    send_sms_reminder: Mapped[bool] = mapped_column(Boolean, default=False)
    use_mi_generated_content: Mapped[bool] = mapped_column(Boolean, default=False)
    after_max_retries_action: Mapped[str] = mapped_column(String(16), default="CANCEL")
    allow_mi_billing_date_optimization: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    @validates(
        "interval", "interval_count", "trial_days", "price_cents", "currency", "status",
        "retry_strategy", "fixed_schedule_days", "max_retries", "max_days_to_retry",
        "retry_window_start", "retry_window_end", "timezone", "after_max_retries_action",
    )
    def _check(self, key, value):
        from storefront.billing.plans import check_field

        return check_field(self, key, value)


class Subscription(db.Model):
    """A customer's subscription to a plan.

    Status: TRIALING, ACTIVE, PAST_DUE (an invoice is in dunning), PAUSED, CANCELED. The
    current period is [current_period_start, current_period_end); ``next_billing_at`` is
    when the due-subscriptions tick makes the next period's Invoice (None when PAUSED or
    CANCELED). The saved card is ``payment_method_id`` on the Stripe Customer
    ``stripe_customer_id``; ``billing_country`` (ISO 3166 alpha-2) and ``phone`` (E.164)
    choose the customer's timezone and bank-holiday calendar.
    """

    __tablename__ = "subscriptions"
    __table_args__ = (Index("ix_subscriptions_status_next_billing", "status", "next_billing_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id"), index=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("subscription_plans.id"), index=True)
    quantity: Mapped[int] = mapped_column(Integer, default=1)
    status: Mapped[str] = mapped_column(String(16), default="ACTIVE")
    current_period_start: Mapped[datetime] = mapped_column(UTCDateTime)
    current_period_end: Mapped[datetime] = mapped_column(UTCDateTime)
    next_billing_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    stripe_customer_id: Mapped[str | None] = mapped_column(String(255))
    payment_method_id: Mapped[str | None] = mapped_column(String(255))
    billing_country: Mapped[str | None] = mapped_column(String(2))
    phone: Mapped[str | None] = mapped_column(String(32))
    shipping_address: Mapped[dict] = mapped_column(JSONType, default=dict)
    # The order the subscription was sold in (attribution of its renewals).
    first_order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"))
    cancel_reason: Mapped[str | None] = mapped_column(String(500))
    # A save offer's discount (whole percent) taken off the next invoice only, then reset.
    next_discount_percent: Mapped[int] = mapped_column(Integer, default=0)
    canceled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    plan: Mapped[SubscriptionPlan] = relationship()


class Invoice(db.Model):
    """One period's bill: unique per (subscription, period_start), so the tick that runs
    twice makes it once. ``amount_cents`` of ``currency``.

    Status: OPEN (being charged or in dunning), PAID, UNCOLLECTIBLE (retries over).
    ``order_id`` is the renewal's Order (unique: a paid invoice makes one order).
    ``dunning_deadline`` is the first failure plus the plan's ``max_days_to_retry``.
    """

    __tablename__ = "invoices"
    __table_args__ = (
        UniqueConstraint("subscription_id", "period_start"),
        Index("ix_invoices_status_deadline", "status", "dunning_deadline"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id"), index=True)
    subscription_id: Mapped[int] = mapped_column(ForeignKey("subscriptions.id"), index=True)
    period_start: Mapped[datetime] = mapped_column(UTCDateTime)
    period_end: Mapped[datetime] = mapped_column(UTCDateTime)
    amount_cents: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(16), default="OPEN")
    attempt_count: Mapped[int] = mapped_column(Integer, default=0)
    first_failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    dunning_deadline: Mapped[datetime | None] = mapped_column(UTCDateTime)
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    payment_intent_id: Mapped[str | None] = mapped_column(String(255))
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    attempts: Mapped[list[PaymentAttempt]] = relationship(order_by="PaymentAttempt.number")


class PaymentAttempt(db.Model):
    """One try at charging an invoice, scheduled before it runs.

    ``number`` counts from 1 per invoice; ``idempotency_key`` is ``invoice-<id>-attempt-<n>``
    (the Stripe idempotency key and the PaymentIntent's metadata). Status: SCHEDULED,
    CLAIMED (a job is queued), CHARGING (the charge may have reached Stripe), SUCCEEDED,
    FAILED, REQUIRES_ACTION, SKIPPED (the invoice was settled another way first).
    ``kind``: RENEWAL, RETRY, CARD_UPDATE. ``reason`` says why it runs at ``scheduled_at``.
    ``decline_class``: HARD, SOFT or NETWORK (``declines.classify``).
    """

    __tablename__ = "payment_attempts"
    __table_args__ = (
        UniqueConstraint("invoice_id", "number"),
        Index("ix_payment_attempts_status_scheduled", "status", "scheduled_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id"), index=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    idempotency_key: Mapped[str] = mapped_column(String(80), unique=True)
    kind: Mapped[str] = mapped_column(String(16), default="RENEWAL")
    strategy: Mapped[str | None] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="SCHEDULED")
    scheduled_at: Mapped[datetime] = mapped_column(UTCDateTime)
    reason: Mapped[str] = mapped_column(Text, default="")
    payment_intent_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    outcome: Mapped[str | None] = mapped_column(String(24))
    decline_code: Mapped[str | None] = mapped_column(String(64))
    decline_class: Mapped[str | None] = mapped_column(String(8))
    failure_message: Mapped[str | None] = mapped_column(String(500))
    # The merchant's message variant the dunning notice of this attempt sent (None: the
    # built-in words, or no notice); message_variants.choose picked it.
    message_variant_id: Mapped[int | None] = mapped_column(
        ForeignKey("dunning_message_variants.id", ondelete="SET NULL"))
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SaveOffer(db.Model):
    """One attempt of the subscription save flow (a subscription has no cart, so it has its
    own attempt type): a discount on the next charge, skipping a cycle, or pausing, offered
    when the customer cancels in the portal (``trigger`` CANCEL) or when the retries are over
    and the plan's ``afterMaxRetriesAction`` is SAVE_FLOW (``trigger`` DUNNING, with the
    invoice).

    ``key`` is unique: ``cancel-<subscription id>`` (a cancel meets a save offer once) or
    ``dunning-<invoice id>``. Status: OFFERED, ACCEPTED (``choice`` DISCOUNT, SKIP or PAUSE),
    DECLINED (the customer cancelled anyway). ``discount_percent`` is what was offered.
    """

    __tablename__ = "subscription_save_offers"

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id"), index=True)
    subscription_id: Mapped[int] = mapped_column(ForeignKey("subscriptions.id"), index=True)
    invoice_id: Mapped[int | None] = mapped_column(ForeignKey("invoices.id"))
    key: Mapped[str] = mapped_column(String(80), unique=True)
    trigger: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="OFFERED")
    choice: Mapped[str | None] = mapped_column(String(16))
    discount_percent: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
