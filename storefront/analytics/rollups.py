"""The hourly rollup refresh: whole hours rewritten since a watermark, idempotent, one at a time.

Umami's PostgreSQL rollups are the model: a run rewrites whole hours (delete the hour's
rows, insert them again from the source tables), so running it twice gives the same rows,
and a run killed half-way leaves the old rows (everything happens in one transaction).

Which hours a run rewrites:

- **the window**: every hour from the watermark (``RollupState.refreshed_until``) minus the
  grace period (``ANALYTICS_GRACE_MINUTES``, default 180) up to the current hour, for every
  merchant. The grace covers rows that change after their hour without a new row: a cart
  is marked ABANDONED an hour (``CART_ABANDON_MINUTES``) after its last change;
- **late rows**: the hours of visits, events, orders and leads whose id is above the highest
  id the last run saw (less ``ID_SLACK``, for inserts that committed out of id order). A
  buffered event flushed a day late is found this way, so every event is counted once, in
  its own hour, however late it arrives;
- **dirty hours**: ``DirtyHour`` rows (``mark_dirty``): a cart that converts after its hour
  was counted abandoned, data erased.

Late and dirty hours before the instant up to which their merchant's events were purged
(``analytics.retention``) are left alone: their events may be gone, and their rows already
hold the counts.

On PostgreSQL a transaction-scoped advisory lock (``pg_try_advisory_xact_lock``) makes a
second run that starts while one is running return at once without doing anything. SQLite
(the demo) has no advisory locks: its writes are serialised by the database file's lock.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from flask import current_app
from sqlalchemy import (
    BigInteger,
    and_,
    case,
    cast,
    delete,
    func,
    insert,
    literal_column,
    or_,
    select,
    text,
)

from storefront.analytics import commerce
from storefront.analytics.models import (
    COUNTERS,
    DailyRollup,
    DirtyHour,
    Experiment,
    ExperimentExposure,
    HourlyRollup,
    RollupState,
)
from storefront.analytics.retention import horizons
from storefront.analytics.sql import (
    _as_hour,
    _companies,
    _hour,
    _in,
    _postgres,
    abandoned_cart,
    sum_days,
)
from storefront.cart.models import Cart
from storefront.checkout.models import Order
from storefront.extensions import db
from storefront.leads.models import Lead
from storefront.types import utcnow
from storefront.visits.models import Visit, VisitEvent

HOUR = timedelta(hours=1)
DEFAULT_GRACE_MINUTES = 180
# Ids are handed out at INSERT and become visible at COMMIT, so a row may appear below an id
# already seen; rescanning this many ids below the last seen catches them (cheaply: a
# primary-key range). The visit flush commits events and visits in batches of 500; orders
# and leads commit one per request, so far fewer are ever in flight at once.
# ``ANALYTICS_ID_SLACK`` overrides the first (and scales the others by a tenth).
ID_SLACK = 1000
# Late hours closer together than this are rewritten as one range (fewer, larger statements).
MERGE_GAP = timedelta(hours=12)
# "SFRU": the advisory lock's key, one for the whole refresh.
LOCK_KEY = 0x53465255
KEY_PARTS = ("company_id", "landing_page_id", "variant_id", "utm_source", "utm_medium", "utm_campaign", "hour")


@dataclass
class RefreshResult:
    """What a run did: ``ran`` False when another run held the lock; ``ranges`` the
    (start, end, company ids or None for all) rewritten; ``rows`` rollup rows written."""

    ran: bool
    ranges: list[tuple[datetime, datetime, frozenset[int] | None]] = field(default_factory=list)
    rows: int = 0


def floor_hour(moment: datetime) -> datetime:
    """``moment`` (aware) truncated to its UTC hour."""
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def grace() -> timedelta:
    """How far behind the watermark each run starts again (``ANALYTICS_GRACE_MINUTES``)."""
    return timedelta(minutes=int(current_app.config.get("ANALYTICS_GRACE_MINUTES", DEFAULT_GRACE_MINUTES)))


def _exposed():
    """Each exposure with its experiment's page and running window, to key a visit by the
    variant its visitor was given: a visit of that page started while it ran. Experiments
    of one page never run at the same time, so a visit matches one exposure at most."""
    return (
        select(ExperimentExposure.visitor_id, ExperimentExposure.variant_id, Experiment.landing_page_id,
               Experiment.started_at, Experiment.stopped_at)
        .join(Experiment, Experiment.id == ExperimentExposure.experiment_id)
        .subquery("exposed")
    )


def _exposure_of_visit(exposed):
    return and_(exposed.c.visitor_id == Visit.visitor_id, exposed.c.landing_page_id == Visit.landing_page_id,
                Visit.started_at >= exposed.c.started_at,
                or_(exposed.c.stopped_at.is_(None), Visit.started_at < exposed.c.stopped_at))


def _dims(page, utm_from, exposed, variant=None):
    """The key columns after the company: landing page (0: none), variant (0: none; the
    visitor's exposure unless ``variant`` is given), UTM source, medium and campaign ("":
    none). Constants as SQL text, as in ``_hour``."""
    variant = exposed.c.variant_id if variant is None else variant
    return (func.coalesce(page, literal_column("0")), func.coalesce(variant, literal_column("0")),
            *(func.coalesce(getattr(utm_from, f"utm_{part}"), literal_column("''"))
              for part in ("source", "medium", "campaign")))


def _grouped(*columns):
    """``columns`` without constants: GROUP BY 0 would name the first column."""
    return [c for c in columns if not isinstance(c, type(literal_column("0")))]


def _count_if(condition):
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _sources(start: datetime, end: datetime, companies: frozenset[int] | None):
    """(statement, counter names) pairs: each statement returns the key columns in
    KEY_PARTS order, then its counters, aggregated over [start, end)."""
    exposed = _exposed()
    seen = _exposure_of_visit(exposed)
    dims = _dims(Visit.landing_page_id, Visit, exposed)
    visits = (
        select(Visit.company_id, *dims, _hour(Visit.started_at), func.count(Visit.id),
               func.count(func.distinct(Visit.visitor_id)))
        .outerjoin(exposed, seen)
        .where(_in(Visit.started_at, start, end), _companies(Visit.company_id, companies))
        .group_by(*_grouped(Visit.company_id, *dims, _hour(Visit.started_at)))
    )
    kinds = ("page_view", "checkout_started", "payment_submitted")
    events = (
        select(Visit.company_id, *dims, _hour(VisitEvent.created_at),
               *(_count_if(VisitEvent.type == kind) for kind in kinds))
        .join(Visit, Visit.id == VisitEvent.visit_id)
        .outerjoin(exposed, seen)
        .where(_in(VisitEvent.created_at, start, end), VisitEvent.type.in_(kinds),
               _companies(VisitEvent.company_id, companies))
        .group_by(*_grouped(Visit.company_id, *dims, _hour(VisitEvent.created_at)))
    )
    # A visit's add-to-cart counts once, in the hour of its first add_to_cart.
    added = (
        select(VisitEvent.visit_id)
        .where(VisitEvent.type == "add_to_cart", _in(VisitEvent.created_at, start, end),
               _companies(VisitEvent.company_id, companies))
    )
    firsts = (
        select(VisitEvent.visit_id.label("visit_id"), func.min(VisitEvent.created_at).label("first_at"))
        .where(VisitEvent.type == "add_to_cart", VisitEvent.visit_id.in_(added))
        .group_by(VisitEvent.visit_id)
        .subquery()
    )
    adds = (
        select(Visit.company_id, *dims, _hour(firsts.c.first_at), func.count())
        .select_from(firsts).join(Visit, Visit.id == firsts.c.visit_id)
        .outerjoin(exposed, seen)
        .where(_in(firsts.c.first_at, start, end))
        .group_by(*_grouped(Visit.company_id, *dims, _hour(firsts.c.first_at)))
    )
    paid = cast(Order.amount_paid_cents, BigInteger)
    # The variant the order recorded when it was placed; the exposure for older orders.
    order_dims = _dims(Order.landing_page_id, Order, exposed,
                       func.coalesce(Order.experiment_variant_id, exposed.c.variant_id))
    orders = (
        select(Order.company_id, *order_dims, _hour(Order.created_at), func.count(Order.id),
               func.coalesce(func.sum(Order.amount_paid_cents), 0), func.coalesce(func.sum(paid * paid), 0))
        .outerjoin(Visit, Visit.id == Order.visit_id)
        .outerjoin(exposed, seen)
        .where(_in(Order.created_at, start, end), _companies(Order.company_id, companies))
        .group_by(*_grouped(Order.company_id, *order_dims, _hour(Order.created_at)))
    )
    cart_dims = _dims(Cart.landing_page_id, Visit, exposed)
    carts = (
        select(Cart.company_id, *cart_dims, _hour(Cart.updated_at), func.count(Cart.id))
        .outerjoin(Visit, Visit.id == Cart.visit_id)
        .outerjoin(exposed, seen)
        .where(_in(Cart.updated_at, start, end), _companies(Cart.company_id, companies),
               abandoned_cart())
        .group_by(*_grouped(Cart.company_id, *cart_dims, _hour(Cart.updated_at)))
    )
    lead_dims = _dims(Lead.landing_page_id, Visit, exposed)
    leads = (
        select(Lead.company_id, *lead_dims, _hour(Lead.created_at), func.count(Lead.id),
               _count_if(Lead.email.is_not(None)), _count_if(Lead.phone.is_not(None)),
               _count_if(Lead.first_name.is_not(None)),
               _count_if(Lead.address["address1"].as_string().is_not(None)))
        .outerjoin(Visit, Visit.id == Lead.visit_id)
        .outerjoin(exposed, seen)
        .where(_in(Lead.created_at, start, end), _companies(Lead.company_id, companies))
        .group_by(*_grouped(Lead.company_id, *lead_dims, _hour(Lead.created_at)))
    )
    return (
        (visits, ("visits", "unique_visitors")),
        (events, ("page_views", "checkout_starts", "payments_submitted")),
        (adds, ("add_to_cart_visits",)),
        (orders, ("orders", "revenue_cents", "revenue_sq_cents")),
        (carts, ("abandoned_carts",)),
        (leads, ("new_leads", "leads_with_email", "leads_with_phone", "leads_with_name", "leads_with_address")),
    )


def rollup_rows(start: datetime, end: datetime, companies: frozenset[int] | None = None) -> list[dict]:
    """The rollup rows for the hours [start, end) (aware, whole hours), of ``companies``
    (None: all), computed from the source tables: one dict per key with every counter."""
    merged: dict[tuple, dict] = defaultdict(lambda: dict.fromkeys(COUNTERS, 0))
    for statement, names in _sources(start, end, companies):
        for row in db.session.execute(statement):
            key = (*row[:6], _as_hour(row[6]))
            counters = merged[key]
            for name, value in zip(names, row[7:], strict=True):
                counters[name] += int(value or 0)
    return [{**dict(zip(KEY_PARTS, key, strict=True)), **counters} for key, counters in merged.items()]


def _rewrite(start: datetime, end: datetime, companies: frozenset[int] | None) -> int:
    rows = rollup_rows(start, end, companies)
    db.session.execute(
        delete(HourlyRollup)
        .where(_in(HourlyRollup.hour, start, end), _companies(HourlyRollup.company_id, companies))
        .execution_options(synchronize_session=False)
    )
    if rows:
        db.session.execute(insert(HourlyRollup), rows)
    rewrite_days(start, end, companies)
    # The product, source type and category rollups: same hours, same transaction.
    commerce.rewrite(start, end, companies)
    return len(rows)


def rewrite_days(start: datetime, end: datetime, companies: frozenset[int] | None = None) -> int:
    """Rewrite ``DailyRollup`` for every UTC day touching the hours [start, end) of
    ``companies`` (None: all) from the hourly rows (``sql.sum_days``). Idempotent; called
    by ``_rewrite`` in the refresh's transaction, after the hours. Returns the rows written."""
    return sum_days(HourlyRollup, DailyRollup, KEY_PARTS[1:-1], COUNTERS, start, end, companies)


def _late_hours(state: RollupState) -> tuple[set[tuple[int, datetime]], dict[str, int]]:
    """(company id, hour) pairs of rows above the last seen ids, and the new highest ids."""
    slack = int(current_app.config.get("ANALYTICS_ID_SLACK", ID_SLACK))
    slacks = {"last_event_id": slack, "last_visit_id": slack, "last_order_id": slack // 10, "last_lead_id": slack // 10}
    pairs: set[tuple[int, datetime]] = set()
    highest: dict[str, int] = {}
    sources = (
        ("last_event_id", VisitEvent, VisitEvent.company_id, VisitEvent.created_at),
        ("last_visit_id", Visit, Visit.company_id, Visit.started_at),
        ("last_order_id", Order, Order.company_id, Order.created_at),
        ("last_lead_id", Lead, Lead.company_id, Lead.created_at),
    )
    for name, model, company, moment in sources:
        since = max(0, (getattr(state, name) or 0) - slacks[name])
        top = db.session.execute(select(func.max(model.id))).scalar()
        highest[name] = max(top or 0, getattr(state, name) or 0)
        if top is None or top <= since:
            continue
        found = db.session.execute(
            select(company, _hour(moment)).where(model.id > since).group_by(company, _hour(moment))
        )
        pairs.update((c, _as_hour(h)) for c, h in found)
    # A late add_to_cart may be earlier than the visit's first one: that hour changes too.
    since = max(0, (state.last_event_id or 0) - slack)
    new_adds = select(VisitEvent.visit_id).where(VisitEvent.id > since, VisitEvent.type == "add_to_cart")
    firsts = (
        select(VisitEvent.company_id, func.min(VisitEvent.created_at))
        .where(VisitEvent.type == "add_to_cart", VisitEvent.visit_id.in_(new_adds))
        .group_by(VisitEvent.company_id, VisitEvent.visit_id)
    )
    pairs.update((c, floor_hour(_as_hour(m))) for c, m in db.session.execute(firsts))
    return pairs, highest


def _runs(pairs: set[tuple[int, datetime]]) -> list[tuple[datetime, datetime, frozenset[int]]]:
    """Dirty hours as [start, end) ranges (hours less than MERGE_GAP apart share one), each
    with the merchants dirty in it; the hours between are rewritten too, which is harmless."""
    by_hour: dict[datetime, set[int]] = defaultdict(set)
    for company, hour in pairs:
        by_hour[hour].add(company)
    runs: list[tuple[datetime, datetime, frozenset[int]]] = []
    for hour in sorted(by_hour):
        if runs and hour - runs[-1][1] < MERGE_GAP:
            start, _end, companies = runs[-1]
            runs[-1] = (start, hour + HOUR, companies | by_hour[hour])
        else:
            runs.append((hour, hour + HOUR, frozenset(by_hour[hour])))
    return runs


def _locked() -> bool:
    """Take the refresh's advisory lock for this transaction; False when another run has it."""
    if not _postgres():
        return True
    return bool(db.session.execute(text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": LOCK_KEY}).scalar())


def refresh(now: datetime | None = None) -> RefreshResult:
    """Rewrite the hours that may have changed since the last run (see the module
    docstring); ``now`` (aware UTC) defaults to the current time. Idempotent: a second run
    with no new data writes the same rows. Commits once at the end; returns a RefreshResult
    (``ran`` False, nothing done, when another run holds the lock)."""
    now = now or utcnow()
    if not _locked():
        db.session.rollback()
        return RefreshResult(ran=False)
    state = db.session.get(RollupState, 1, with_for_update=True)
    if state is None:
        state = RollupState(id=1, last_event_id=0, last_visit_id=0, last_order_id=0, last_lead_id=0)
        db.session.add(state)
    window_start = floor_hour(min(state.refreshed_until or now, now) - grace())
    window_end = floor_hour(now) + HOUR
    late, highest = _late_hours(state)
    queued = db.session.execute(select(DirtyHour.company_id, DirtyHour.hour)).all()
    outside = {(c, floor_hour(h)) for c, h in (*late, *queued) if not window_start <= floor_hour(h) < window_end}
    # An hour before its merchant's purge horizon may have lost events: rewriting it
    # would zero its counts, so its rollup rows stay as they are (analytics.retention).
    kept = horizons()
    outside = {(c, h) for c, h in outside if c not in kept or h >= kept[c]}
    result = RefreshResult(ran=True)
    for start, end, companies in [*_runs(outside), (window_start, window_end, None)]:
        result.rows += _rewrite(start, end, companies)
        result.ranges.append((start, end, companies))
    if queued:
        db.session.execute(delete(DirtyHour).where(
            or_(*(and_(DirtyHour.company_id == c, DirtyHour.hour == h) for c, h in queued))))
    state.refreshed_until = floor_hour(now)
    for name, value in highest.items():
        setattr(state, name, value)
    state.updated_at = utcnow()
    db.session.commit()
    return result


def mark_dirty(company_id: int, moment: datetime) -> None:
    """Queue ``moment``'s hour of ``company_id`` for the next refresh, in the caller's
    transaction. ``INSERT ... ON CONFLICT DO NOTHING``: a second mark of the same hour, even
    from a concurrent transaction, is a no-op and never fails the caller's commit."""
    if _postgres():
        from sqlalchemy.dialects.postgresql import insert as upsert
    else:
        from sqlalchemy.dialects.sqlite import insert as upsert
    db.session.execute(
        upsert(DirtyHour).values(company_id=company_id, hour=floor_hour(moment), created_at=utcnow())
        .on_conflict_do_nothing(index_elements=["company_id", "hour"])
    )
