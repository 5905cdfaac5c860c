"""The analytics dashboard's figures, all read from the hourly rollups (never the event log):
a date range in the merchant's timezone and the period before it, KPIs, the funnel, the
time series and the tables per landing page and per UTM source / medium / campaign.

Rates are fractions 0..1 (None when their denominator is 0); money is integer cents of the
merchant's currency. "Visitors" sums each hour's distinct visitors per rollup key, so a
visitor seen in several hours counts in each.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from storefront.analytics import breakdowns, spans
from storefront.analytics.models import COUNTERS, HourlyRollup
from storefront.dates import merchant_zone
from storefront.extensions import db
from storefront.landing.models import LandingPage

PRESETS = {"today": ("Today", 1), "7d": ("Last 7 days", 7), "30d": ("Last 30 days", 30)}
MAX_DAYS = 731  # two years
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
# The plan's funnel targets, as fractions of visits (ISSUE seeds: 25-35 % add to cart, 18 %
# checkout, 12 % order); drawn as reference marks on the funnel.
TARGETS = {"add_to_cart_visits": (0.25, 0.35), "checkout_starts": (0.18, 0.18), "orders": (0.12, 0.12)}
FUNNEL = (("visits", "Viewed the page"), ("add_to_cart_visits", "Added to cart"), ("checkout_starts", "Started checkout"),
          ("payments_submitted", "Submitted payment"), ("orders", "Ordered"))


class RangeError(ValueError):
    """A date range that cannot be read: the message says why, for the merchant."""


@dataclass(frozen=True)
class DateRange:
    """Local days ``first``..``last`` (inclusive) in ``zone``; ``preset`` is today / 7d / 30d /
    custom. ``start``/``end`` are the UTC instants of the first day's midnight and the day
    after the last's."""

    preset: str
    first: date
    last: date
    zone: ZoneInfo

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    @property
    def start(self) -> datetime:
        return datetime.combine(self.first, time.min, tzinfo=self.zone).astimezone(UTC)

    @property
    def end(self) -> datetime:
        return datetime.combine(self.last + timedelta(days=1), time.min, tzinfo=self.zone).astimezone(UTC)

    @property
    def label(self) -> str:
        if self.preset in PRESETS:
            return PRESETS[self.preset][0]
        return f"{self.first:%Y-%m-%d} to {self.last:%Y-%m-%d}"

    def previous(self) -> DateRange:
        """The same number of days just before this range."""
        return DateRange("custom", self.first - timedelta(days=self.days), self.first - timedelta(days=1), self.zone)

    def args(self) -> dict[str, str]:
        """The query string that names this range."""
        if self.preset in PRESETS:
            return {"range": self.preset}
        return {"range": "custom", "start": self.first.isoformat(), "end": self.last.isoformat()}


def _read_date(text: str | None, name: str) -> date:
    text = (text or "").strip()
    if not _DATE.fullmatch(text):
        raise RangeError(f"Enter the {name} date as YYYY-MM-DD.")
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise RangeError(f"The {name} date {text} does not exist.") from exc


def read_range(args: Mapping[str, str], timezone: str | None, now: datetime) -> DateRange:
    """The range a query string names (``range`` = today / 7d / 30d / custom with ``start``
    and ``end`` as YYYY-MM-DD local dates); 7d when absent. Raises RangeError: an unknown
    preset, dates that are not dates, end before start, more than two years (MAX_DAYS)."""
    zone = merchant_zone(timezone)
    today = now.astimezone(zone).date()
    preset = (args.get("range") or "7d").strip()
    if preset in PRESETS:
        return DateRange(preset, today - timedelta(days=PRESETS[preset][1] - 1), today, zone)
    if preset != "custom":
        raise RangeError("Choose today, the last 7 days, the last 30 days or a custom range.")
    first, last = _read_date(args.get("start"), "start"), _read_date(args.get("end"), "end")
    if last < first:
        raise RangeError("The end date is before the start date.")
    if (last - first).days + 1 > MAX_DAYS:
        raise RangeError(f"A range covers at most {MAX_DAYS} days (two years).")
    return DateRange("custom", first, last, zone)


def _rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


@dataclass(frozen=True)
class Figures:
    """Summed rollup counters (``COUNTERS``) with the KPIs derived from them."""

    counts: dict[str, int]

    def __getattr__(self, name: str) -> int:
        if name in COUNTERS:
            return self.counts[name]
        raise AttributeError(name)

    @property
    def add_to_cart_rate(self) -> float | None:
        return _rate(self.counts["add_to_cart_visits"], self.counts["visits"])

    @property
    def checkout_rate(self) -> float | None:
        return _rate(self.counts["checkout_starts"], self.counts["visits"])

    @property
    def conversion_rate(self) -> float | None:
        return _rate(self.counts["orders"], self.counts["visits"])

    @property
    def revenue_per_visitor_cents(self) -> int | None:
        visitors = self.counts["unique_visitors"]
        return round(self.counts["revenue_cents"] / visitors) if visitors else None

    @property
    def aov_cents(self) -> int | None:
        orders = self.counts["orders"]
        return round(self.counts["revenue_cents"] / orders) if orders else None

    @property
    def abandonment_rate(self) -> float | None:
        """Abandoned carts ÷ (orders + abandoned carts)."""
        abandoned = self.counts["abandoned_carts"]
        return _rate(abandoned, self.counts["orders"] + abandoned)


def _sums(source):
    return [func.coalesce(func.sum(source.c[name]), 0) for name in COUNTERS]


def totals(company_id: int, start: datetime, end: datetime, page_id: int | None = None) -> Figures:
    """Every counter summed over [start, end): one query on the whole UTC days' daily rows
    and the edge hours' hourly rows (``spans.rows``)."""
    source = spans.rows(company_id, start, end, page_id)
    row = db.session.execute(select(*_sums(source))).one()
    return Figures(dict(zip(COUNTERS, (int(v) for v in row), strict=True)))


@dataclass(frozen=True)
class Row:
    """A table row: its ``label`` parts and its figures."""

    label: tuple
    figures: Figures


def grouped(company_id: int, start: datetime, end: datetime, by: tuple, page_id: int | None = None) -> list[Row]:
    """Counters summed per value of the rollup columns ``by`` (names), most visits first."""
    source = spans.rows(company_id, start, end, page_id)
    columns = [source.c[name] for name in by]
    statement = (select(*columns, *_sums(source))
                 .group_by(*columns).order_by(func.sum(source.c.visits).desc(), *columns))
    return [Row(tuple(r[:len(by)]), Figures(dict(zip(COUNTERS, (int(v) for v in r[len(by):]), strict=True))))
            for r in db.session.execute(statement)]


@dataclass(frozen=True)
class Point:
    """One bucket of the time series: its ``label`` (local day or hour), visits, orders, revenue (cents)."""

    label: str
    visits: int
    orders: int
    revenue_cents: int


def series(company_id: int, span: DateRange, page_id: int | None = None) -> list[Point]:
    """Visits, orders and revenue per local day (per local hour for a one-day range), every
    bucket present (zeros included). One query: per local day, the whole UTC days' daily rows
    corrected by the few hours of each on another local date (``spans.local_days``); per
    hour, the hourly rows."""
    if span.days > 1:
        buckets = {(span.first + timedelta(days=n)).isoformat(): [0, 0, 0] for n in range(span.days)}
        for day, values in spans.local_days(company_id, span.start, span.end, span.zone, page_id).items():
            bucket = buckets.setdefault(day.isoformat(), [0, 0, 0])
            for i, value in enumerate(values):
                bucket[i] += value
        return [Point(label, *values) for label, values in buckets.items()]
    h = HourlyRollup
    conditions = [h.company_id == company_id, h.hour >= span.start, h.hour < span.end]
    if page_id is not None:
        conditions.append(h.landing_page_id == page_id)
    statement = (select(h.hour, func.sum(h.visits), func.sum(h.orders), func.sum(h.revenue_cents))
                 .where(*conditions).group_by(h.hour))
    buckets = {}
    moment = span.start
    while moment < span.end:
        buckets.setdefault(f"{moment.astimezone(span.zone):%H}:00", [0, 0, 0])
        moment += timedelta(hours=1)
    for hour, visits, orders, revenue in db.session.execute(statement):
        bucket = buckets.setdefault(f"{hour.astimezone(span.zone):%H}:00", [0, 0, 0])
        bucket[0] += int(visits or 0)
        bucket[1] += int(orders or 0)
        bucket[2] += int(revenue or 0)
    return [Point(label, *values) for label, values in buckets.items()]


@dataclass(frozen=True)
class Step:
    """A funnel step: how many, the share of visits, the drop-off from the step before
    (0..1, None for the first) and the plan's target range as shares of visits, if any."""

    key: str
    label: str
    count: int
    of_visits: float | None
    drop_off: float | None
    target: tuple[float, float] | None


def funnel(figures: Figures) -> list[Step]:
    """view → add to cart → checkout → payment → order, with drop-offs and targets."""
    steps: list[Step] = []
    previous: int | None = None
    for key, label in FUNNEL:
        count = figures.counts[key]
        drop = 1 - count / previous if previous else None
        steps.append(Step(key, label, count, _rate(count, figures.counts["visits"]), drop, TARGETS.get(key)))
        previous = count
    return steps


def page_titles(company_id: int) -> dict[int, str]:
    """The merchant's landing page titles by id."""
    rows = db.session.execute(select(LandingPage.id, LandingPage.title).where(LandingPage.company_id == company_id))
    return dict(rows.all())


@dataclass
class Dashboard:
    """Everything the screen shows for one range (and optional landing page filter)."""

    span: DateRange
    page_id: int | None
    current: Figures
    previous: Figures
    steps: list[Step]
    points: list[Point]
    pages: list[Row]
    campaigns: list[Row]
    titles: dict[int, str] = field(default_factory=dict)
    commerce: breakdowns.Breakdowns | None = None


def _rolled_up(rows: list[Row], positions: tuple[int, ...]) -> list[Row]:
    """``rows`` (keyed by page and UTM) summed per the label parts at ``positions``, most
    visits first."""
    sums: dict[tuple, dict[str, int]] = {}
    for row in rows:
        label = tuple(row.label[i] for i in positions)
        into = sums.setdefault(label, dict.fromkeys(COUNTERS, 0))
        for name in COUNTERS:
            into[name] += row.figures.counts[name]
    ordered = sorted(sums.items(), key=lambda item: (-item[1]["visits"], tuple(str(part) for part in item[0])))
    return [Row(label, Figures(counts)) for label, counts in ordered]


def build(company_id: int, span: DateRange, page_id: int | None = None) -> Dashboard:
    """The dashboard for ``span``: three queries on the hourly rollups (the range per page
    and UTM, from which the totals and both tables are summed; the time series; the period
    before's totals), one for page titles, and the commerce tables (``breakdowns.build``:
    three on the commerce rollups, two for names)."""
    keyed = grouped(company_id, span.start, span.end,
                    ("landing_page_id", "utm_source", "utm_medium", "utm_campaign"), page_id)
    current = _rolled_up(keyed, ())
    current = current[0].figures if current else Figures(dict.fromkeys(COUNTERS, 0))
    before = span.previous()
    return Dashboard(
        span=span, page_id=page_id, current=current,
        previous=totals(company_id, before.start, before.end, page_id),
        steps=funnel(current), points=series(company_id, span, page_id),
        pages=_rolled_up(keyed, (0,)), campaigns=_rolled_up(keyed, (1, 2, 3)),
        titles=page_titles(company_id), commerce=breakdowns.build(company_id, span.start, span.end),
    )


TABLE_HEADERS = ("Visits", "Visitors", "Page views", "Add-to-cart rate", "Checkout rate", "Conversion rate",
                 "Orders", "Revenue (cents)", "Revenue per visitor (cents)", "AOV (cents)", "Abandoned carts",
                 "Cart abandonment rate", "New leads")


def table_cells(figures: Figures) -> list:
    """A table row's figures in TABLE_HEADERS order; rates as fractions rounded to 4 places."""
    rate = lambda value: "" if value is None else round(value, 4)  # noqa: E731
    money = lambda value: "" if value is None else value  # noqa: E731
    return [figures.visits, figures.unique_visitors, figures.page_views, rate(figures.add_to_cart_rate),
            rate(figures.checkout_rate), rate(figures.conversion_rate), figures.orders, figures.revenue_cents,
            money(figures.revenue_per_visitor_cents), money(figures.aov_cents), figures.abandoned_carts,
            rate(figures.abandonment_rate), figures.new_leads]


def export_rows(board: Dashboard, table: str) -> list[list]:
    """The rows (header first) of one of the dashboard's tables as CSV cells: ``pages``,
    ``campaigns``, ``series``, ``funnel``, or a commerce table (``products``, ``sources``,
    ``categories``: ``breakdowns.export_rows``). Raises KeyError for another name."""
    if table == "pages":
        return [["Landing page id", "Landing page", *TABLE_HEADERS]] + [
            [r.label[0] or "", board.titles.get(r.label[0], "(no landing page)"), *table_cells(r.figures)]
            for r in board.pages]
    if table == "campaigns":
        return [["UTM source", "UTM medium", "UTM campaign", *TABLE_HEADERS]] + [
            [*r.label, *table_cells(r.figures)] for r in board.campaigns]
    if table == "series":
        return [["Period", "Visits", "Orders", "Revenue (cents)"]] + [
            [p.label, p.visits, p.orders, p.revenue_cents] for p in board.points]
    if table == "funnel":
        return [["Step", "Count", "Share of visits", "Drop-off from previous step", "Target low", "Target high"]] + [
            [s.label, s.count, "" if s.of_visits is None else round(s.of_visits, 4),
             "" if s.drop_off is None else round(s.drop_off, 4), *(s.target or ("", ""))] for s in board.steps]
    if board.commerce is not None:
        return breakdowns.export_rows(board.commerce, table)
    raise KeyError(table)


def change(now: float | int | None, before: float | int | None) -> float | None:
    """The relative change from ``before`` to ``now`` (0.25 = +25 %); None without a base."""
    if now is None or before in (None, 0):
        return None
    return (now - before) / before
