"""Event retention: each merchant keeps its raw event log (``visit_events``) for
``Company.event_retention_days`` days; a nightly job deletes older events in batches. The
dashboards never notice: they read the rollups, which are kept.

Why batched deletes and not monthly partitions (measured with ``tests/perf/bench_analytics.py``
at one million events, see the issue's closing note): retention is a setting of each
merchant, and a month's partition holds every merchant's events, so dropping a partition
cannot honour a 60-day merchant beside a 400-day one; rows would have to be deleted anyway.
A BRIN index on ``created_at`` (24 kB at a million events, against 30 MB for a B-tree on
company and time) finds the old rows in a couple of milliseconds per batch because events
are written in time order.

Two rules keep the rollups right:

- an event is deleted only once its hour is behind the rollup's watermark less the grace
  period, so every event was counted before it goes;
- before deleting, the purge records its cutoff (``Company.events_purged_before``), and
  the refresh never rewrites an hour before it (``horizons``): its events are gone, and
  rewriting it would zero the hour's counts. Events older than the retention that were
  never purged (a backfill) are still rolled up.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, select

from storefront.accounts.models import Company
from storefront.analytics.models import RollupState
from storefront.extensions import db
from storefront.types import utcnow
from storefront.visits.models import VisitEvent

MIN_DAYS, MAX_DAYS, DEFAULT_DAYS = 31, 1825, 400
# Rows deleted per statement and commit: short transactions that never hold many locks,
# and an id list small enough for one statement.
BATCH = 5000


def horizons() -> dict[int, datetime]:
    """Each merchant's purge horizon (``Company.events_purged_before``): events before it
    may be gone. Merchants never purged are left out. One query."""
    rows = db.session.execute(select(Company.id, Company.events_purged_before)
                              .where(Company.events_purged_before.is_not(None)))
    return dict(rows.all())


def retention_cutoffs(now: datetime) -> dict[int, datetime]:
    """Each merchant's retention cutoff: ``now`` less its ``event_retention_days``."""
    rows = db.session.execute(select(Company.id, Company.event_retention_days))
    return {cid: now - timedelta(days=days or DEFAULT_DAYS) for cid, days in rows}


def _rolled_up_until(grace: timedelta) -> datetime | None:
    state = db.session.get(RollupState, 1)
    if state is None or state.refreshed_until is None:
        return None
    return state.refreshed_until - grace


def purge_events(grace: timedelta, now: datetime | None = None, batch: int = BATCH) -> int:
    """Delete every merchant's events older than its retention, ``batch`` rows per
    statement, each batch committed; returns how many were deleted. Never deletes an
    event the rollups may still need: nothing at or after the rollup watermark less
    ``grace`` (``rollups.grace()``; see the module docstring). Idempotent."""
    now = now or utcnow()
    safe = _rolled_up_until(grace)
    if safe is None:
        return 0
    deleted = 0
    for company_id, horizon in sorted(retention_cutoffs(now).items()):
        cutoff = min(horizon, safe)
        # Recorded first, in its own commit: from now on the refresh leaves these hours alone.
        company = db.session.get(Company, company_id)
        if company.events_purged_before is None or company.events_purged_before < cutoff:
            company.events_purged_before = cutoff
            db.session.commit()
        while True:
            ids = db.session.execute(
                select(VisitEvent.id)
                .where(VisitEvent.created_at < cutoff, VisitEvent.company_id == company_id)
                .limit(batch)
            ).scalars().all()
            if not ids:
                break
            db.session.execute(delete(VisitEvent).where(VisitEvent.id.in_(ids))
                               .execution_options(synchronize_session=False))
            db.session.commit()
            deleted += len(ids)
    db.session.commit()
    return deleted


def save_retention(company: Company, days: int) -> Company:
    """Set the merchant's event retention (``MIN_DAYS``..``MAX_DAYS``, checked by the form)."""
    company.event_retention_days = days
    db.session.commit()
    return company
