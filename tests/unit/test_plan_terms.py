"""The subscribe-and-save terms the shop reads through ``catalog.plan_terms``: the columns it
names exist on billing's plan table, and the words and percentages it shows."""
from __future__ import annotations

from datetime import UTC, datetime

from storefront.billing.models import SubscriptionPlan
from storefront.catalog.plan_terms import (
    PLANS,
    add_interval,
    describe_interval,
    first_renewal,
    save_percent,
)


def test_every_column_the_shop_reads_is_a_column_of_the_plans_table():
    table = SubscriptionPlan.__table__
    assert PLANS.name == table.name
    for column in PLANS.c:
        assert column.name in table.c, column.name
        assert column.type._type_affinity is table.c[column.name].type._type_affinity, column.name


def test_interval_words_and_savings():
    assert describe_interval("MONTHLY", 1) == "every month"
    assert describe_interval("WEEKLY", 2) == "every 2 weeks"
    assert describe_interval(None, 1) == "" and describe_interval("HOURLY", 1) == ""
    assert save_percent(2000, 1800) == 10
    assert save_percent(2999, 2700) == 9  # rounded down: never claims more than it saves
    assert save_percent(2000, 2000) == 0 and save_percent(2000, 2100) == 0 and save_percent(0, 10) == 0


def test_first_renewal_is_one_interval_on_with_month_ends_clamped():
    jan31 = datetime(2027, 1, 31, 12, tzinfo=UTC)
    assert first_renewal("MONTHLY", 1, jan31) == datetime(2027, 2, 28, 12, tzinfo=UTC)
    assert first_renewal("WEEKLY", 2, jan31) == datetime(2027, 2, 14, 12, tzinfo=UTC)
    assert add_interval(jan31, "YEARLY", 1) == datetime(2028, 1, 31, 12, tzinfo=UTC)
