"""The billing admin's forms (storefront.forms): a subscription plan with its retry settings,
the one-click upsell offer, and the merchant's dunning message variants.

Each input is checked on its own, then the plan's cross-field rules (``plans.check_field``,
the same rules the model applies on every write) are reported on the input they concern,
so the merchant sees every problem field by field and nothing is stored half-valid.
Build it with ``PlanForm.of(company, data)``; the variant choices are the merchant's own.
"""
from __future__ import annotations

import re

from storefront.billing.message_variants import (
    ANY,
    BODY_MAX,
    DECLINE_LABELS,
    HISTORY_LABELS,
    NOTICE_LABELS,
    SUBJECT_MAX,
    missing_required,
    placeholder_errors,
)
from storefront.billing.plans import (
    INTERVALS,
    MAX_INTERVAL_COUNT,
    MAX_RETRIES,
    MAX_RETRY_DAYS,
    MAX_TRIAL_DAYS,
    PLAN_STATUSES,
    PlanError,
    check_schedule_days,
    valid_zone,
)
from storefront.forms import AdminForm, Choice, Flag, Money, Paragraphs, Text, WholeNumber, to_id

STRATEGY_LABELS = {
    "MI_OPTIMIZED": "MI optimized: payday, best weekday and best hour learned from payment history",
    "FIXED": "Fixed: the retry days below",
    "AGGRESSIVE": "Aggressive: days 1, 2, 3, 4, 5, 7 and 10",
    "CONSERVATIVE": "Conservative: days 3, 7 and 14",
}
ACTION_LABELS = {
    "SAVE_FLOW": "Save flow: offer to update the card, skip or pause",
    "CANCEL": "Cancel the subscription",
    "PAUSE": "Pause the subscription",
    "MANUAL_REVIEW": "Keep it past due for manual review",
}
INTERVAL_LABELS = {"DAILY": "Day(s)", "WEEKLY": "Week(s)", "MONTHLY": "Month(s)", "YEARLY": "Year(s)"}
_DAYS = re.compile(r"\s*\d{1,3}(\s*,\s*\d{1,3})*\s*")


def _days(text: str) -> list[int]:
    if not _DAYS.fullmatch(text):
        raise ValueError("Retry days are whole numbers separated by commas, e.g. 1, 3, 5, 7.")
    return [int(part) for part in text.split(",")]


class PlanForm(AdminForm):
    """A subscription plan: what renews, its price and rhythm, and its retry settings."""

    name = Text("Name", required=True, max_length=120)
    description = Paragraphs("Description", max_length=2000)
    variant = Choice("Product", required=True, coerce=to_id)
    price = Money("Price per delivery", required=True, positive=True)
    interval = Choice("Every", choices=[(v, INTERVAL_LABELS[v]) for v in INTERVALS], default="MONTHLY")
    interval_count = WholeNumber("Interval count", low=1, high=MAX_INTERVAL_COUNT, default=1, required=True)
    trial_days = WholeNumber("Trial days", low=0, high=MAX_TRIAL_DAYS, default=0)
    status = Choice("Status", choices=[(v, v.title()) for v in PLAN_STATUSES], default="ACTIVE")
    retry_strategy = Choice("Retry strategy (retryStrategy)", choices=list(STRATEGY_LABELS.items()),
                            default="MI_OPTIMIZED")
    fixed_schedule_days = Text("Retry days (fixedScheduleDays)", max_length=120, default="1, 3, 5, 7", required=True)
    max_retries = WholeNumber("Max retries (maxRetries)", low=1, high=MAX_RETRIES, default=4, required=True)
    max_days_to_retry = WholeNumber("Days to retry (maxDaysToRetry)", low=1, high=MAX_RETRY_DAYS, default=14,
                                    required=True)
    enable_payday_detection = Flag("Retry on the customer's payday (enablePaydayDetection)", default=True)
    enable_time_optimization = Flag("Retry at the customer's best hour (enableTimeOptimization)", default=True)
    enable_day_of_week_optimization = Flag("Retry on the customer's best weekday (enableDayOfWeekOptimization)",
                                           default=True)
    retry_window_start = WholeNumber("Retry window from (hour, retryWindowStart)", low=0, high=23, default=9,
                                     required=True)
    retry_window_end = WholeNumber("Retry window until (hour, retryWindowEnd)", low=1, high=24, default=18,
                                   required=True)
    timezone = Text("Timezone (timezone)", max_length=64, default="UTC", required=True)
    send_failure_email = Flag("Email the customer when a payment fails (sendFailureEmail)", default=True)
    send_sms_reminder = Flag("Text the customer too, with their consent (sendSMSReminder)")
    use_mi_generated_content = Flag("Choose among my message variants by decline reason (useMIGeneratedContent)")
    after_max_retries_action = Choice("After the last retry (afterMaxRetriesAction)",
                                      choices=list(ACTION_LABELS.items()), default="CANCEL")
    allow_mi_billing_date_optimization = Flag(
        "Let customers move their billing date to their payday (allowMIBillingDateOptimization)")

    SETTINGS = ("interval", "interval_count", "trial_days", "status", "retry_strategy", "fixed_schedule_days",
                "max_retries", "max_days_to_retry", "enable_payday_detection", "enable_time_optimization",
                "enable_day_of_week_optimization", "retry_window_start", "retry_window_end", "timezone",
                "send_failure_email", "send_sms_reminder", "use_mi_generated_content", "after_max_retries_action",
                "allow_mi_billing_date_optimization")

    @classmethod
    def stored(cls, plan) -> dict:
        """The form's values for ``plan``."""
        values = {name: getattr(plan, name) for name in cls.SETTINGS}
        values["fixed_schedule_days"] = ", ".join(str(day) for day in plan.fixed_schedule_days)
        values.update(name=plan.name, description=plan.description, variant=plan.variant_id, price=plan.price_cents)
        return values

    def check(self) -> None:
        if self.ok("timezone") and self.timezone.data and not valid_zone(self.timezone.data):
            self.fail("timezone", "Give an IANA timezone such as America/Chicago.")
        if self.ok("retry_window_start", "retry_window_end") and None not in (
                self.retry_window_start.data, self.retry_window_end.data) and \
                self.retry_window_start.data >= self.retry_window_end.data:
            self.fail("retry_window_end", "The retry window is empty: its end must be after its start.")
        self.days: list[int] = []
        if self.ok("fixed_schedule_days", "max_days_to_retry") and self.fixed_schedule_days.data:
            try:
                self.days = check_schedule_days(_days(self.fixed_schedule_days.data), self.max_days_to_retry.data)
            except (PlanError, ValueError) as error:
                self.fail("fixed_schedule_days", str(error))

    def fields(self) -> dict:
        """The SubscriptionPlan columns of a valid form (``variant_id``; the service sets
        ``product_id`` and ``currency``)."""
        values = {name: self[name].data for name in self.SETTINGS}
        values["fixed_schedule_days"] = self.days
        values.update(name=self.name.data, description=self.description.data or "", variant_id=self.variant.data,
                      price_cents=self.price.data)
        return values




class UpsellOfferForm(AdminForm):
    """The one-click upsell the order confirmation page offers: one of the merchant's
    variants (the choices are their own), a headline, and whether it is offered."""

    variant = Choice("Product offered", required=True, coerce=to_id)
    headline = Text("Headline", required=True, max_length=120, default="Add this to your order")
    active = Flag("Offer it on the order confirmation page", default=True)


class UpsellBuyForm(AdminForm):
    """The shopper's one click: the variant the page showed (``choices``: the one offered
    now), so a stale or tampered page is refused rather than charged for something else.
    CSRF is checked by CSRFProtect before the view, as for every POST."""

    variant = Choice("Offer", required=True, coerce=to_id)


class MessageVariantForm(AdminForm):
    """A dunning message the merchant writes (``message_variants.MessageVariant``): what it
    is for (the notice, the decline reason, the customer's history, one plan or all) and its
    words. Subject and body may use only the placeholders of ``message_variants.PLACEHOLDERS``;
    anything else in braces is refused on the input it is in. The plan choices are the
    merchant's own ("" is all plans)."""

    name = Text("Name (for you)", required=True, max_length=80)
    notice = Choice("Sent as", required=True, choices=list(NOTICE_LABELS.items()))
    decline_class = Choice("Decline reason", choices=list(DECLINE_LABELS.items()), default=ANY)
    history = Choice("Customer history", choices=list(HISTORY_LABELS.items()), default=ANY)
    plan = Choice("Plan", default=0, coerce=lambda text: 0 if text == "0" else to_id(text))
    subject = Text("Subject", required=True, max_length=SUBJECT_MAX)
    body = Paragraphs("Message", required=True, max_length=BODY_MAX)
    active = Flag("Active: may be chosen", default=True)

    FIELDS = ("name", "notice", "decline_class", "history", "subject", "body", "active")

    @classmethod
    def stored(cls, variant) -> dict:
        """The form's values for ``variant``."""
        return {**{name: getattr(variant, name) for name in cls.FIELDS}, "plan": variant.plan_id or 0}

    def check(self) -> None:
        for name in ("subject", "body"):
            if self.ok(name) and self[name].data and (problem := placeholder_errors(self[name].data)):
                self.fail(name, problem)
        if self.ok("notice", "body") and self.body.data and (problem := missing_required(self.notice.data,
                                                                                          self.body.data)):
            self.fail("body", problem)

    def fields(self) -> dict:
        """The MessageVariant columns of a valid form (``plan_id`` None: all plans)."""
        return {**{name: self[name].data for name in self.FIELDS}, "plan_id": self.plan.data or None}
