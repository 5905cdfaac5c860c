"""The one table of periodic jobs, in RQ's cron format (RQ >= 2.5).

Run the scheduler beside the workers, one per deployment::

    rq cron storefront.cron --url "$REDIS_URL"

It enqueues each job on the ``default`` queue when due; ``python worker.py`` (or any
``rq worker default``) runs them. ``flask run-demo`` starts it when Redis answers. RQ 3.0's
worker has no built-in cron, so this is a process of its own. Without Redis, run the jobs
once from the system's cron instead: ``python -m storefront.cron``.

The jobs take no arguments and are idempotent (each is one set-based UPDATE that finds only
what is still due), so a tick that runs twice, or two schedulers, do no harm. They need the
Flask app: a job reuses the app context of ``worker.py``, or builds the app once per process
and pushes a context for the run.
"""
from __future__ import annotations

import functools
import logging
import sys
import threading
from collections.abc import Callable
from datetime import datetime

from flask import Flask, has_app_context
from rq import cron

log = logging.getLogger(__name__)

_app: Flask | None = None
_app_lock = threading.Lock()


def _in_app(job: Callable[[], int]) -> int:
    """Run ``job`` in the current app context, or in one of this process's app."""
    global _app
    if has_app_context():
        return job()
    with _app_lock:
        if _app is None:
            from storefront import create_app

            _app = create_app()
    with _app.app_context():
        return job()


def _isolated(name: str, job: Callable[[], int], clock: Callable[[], datetime] | None = None) -> int:
    """Run ``job`` (the cron table's job ``name``) and note its outcome in ``cron_runs``
    (``accounts.cron_runs``: one upsert, at ``clock()``, default now in UTC). When it fails,
    roll its transaction back before noting the failure and re-raising, so the next job of
    this worker process starts on a clean session (each job runs on its own)."""
    from storefront.accounts.cron_runs import record_failure, record_success
    from storefront.extensions import db

    stamp = {"clock": clock} if clock else {}
    every = next((seconds for entry, seconds in JOBS if entry.__name__ == name), None)
    try:
        result = job()
    except Exception as error:
        db.session.rollback()
        try:
            record_failure(name, every, error, **stamp)
        except Exception:  # the database itself may be why the job failed: keep the first error
            db.session.rollback()
            log.exception("cron: the failure of %s could not be recorded", name)
        raise
    try:
        record_success(name, every, **stamp)
    except Exception:  # the job's work is committed: a lost note must not make it a failure
        db.session.rollback()
        log.exception("cron: the success of %s could not be recorded", name)
    return result


def _recorded(func: Callable[[], int]) -> Callable[[], int]:
    """A cron table job that runs isolated in the app, its outcome noted under its name.
    Keeps the name and module, so RQ finds the job by its import path."""

    @functools.wraps(func)
    def run() -> int:
        return _in_app(lambda: _isolated(func.__name__, func))

    return run


@_recorded
def abandon_carts() -> int:
    """Mark idle ACTIVE carts with lines and a captured email or phone ABANDONED; returns
    how many (see ``cart.lifecycle.abandon_idle_carts``)."""
    from storefront.cart.lifecycle import abandon_idle_carts

    count = _in_app(abandon_idle_carts)
    log.info("cron: %d carts marked abandoned", count)
    return count


@_recorded
def expire_carts() -> int:
    """Mark open carts unchanged for CART_EXPIRE_DAYS EXPIRED; returns how many."""
    from storefront.cart.lifecycle import expire_stale_carts

    count = _in_app(expire_stale_carts)
    log.info("cron: %d carts expired", count)
    return count


@_recorded
def analyse_abandonment() -> int:
    """Analyse leads and visits idle for ABANDON_IDLE_MINUTES without an order; returns how
    many analyses were made (see ``leads.abandonment.analyse_idle``)."""
    from storefront.leads.abandonment import analyse_idle

    count = _in_app(analyse_idle)
    log.info("cron: %d abandonment analyses made", count)
    return count


@_recorded
def release_reservations() -> int:
    """Delete stock reservations past their ``expires_at``; returns how many (see
    ``checkout.reservations.release_expired``). Expired ones already count nowhere: this
    keeps the table small."""
    from storefront.checkout.reservations import release_expired

    count = _in_app(release_expired)
    log.info("cron: %d expired stock reservations released", count)
    return count


@_recorded
def flush_visits() -> int:
    """Move buffered landing visits and page views into the database; returns how many
    entries (see ``visits.flush.flush_buffer``: idempotent, one flush at a time)."""
    from storefront.queue import redis_connection
    from storefront.visits.flush import flush_buffer

    def job() -> int:
        conn = redis_connection()
        return flush_buffer(conn) if conn is not None else 0

    count = _in_app(job)
    if count:
        log.info("cron: %d buffered visit entries flushed", count)
    return count


@_recorded
def prune_login_throttles() -> int:
    """Delete sign-in counts of windows that ended over two days ago; returns how many."""
    from storefront.accounts.throttle import prune

    return _in_app(prune)


@_recorded
def report_unknown_sends() -> int:
    """Report sends stuck SENDING over SEND_UNKNOWN_AFTER_MINUTES as UNKNOWN (never re-sent);
    returns how many (see ``notifications.records.sweep_unknown``)."""
    from storefront.notifications.records import sweep_unknown

    return _in_app(sweep_unknown)


@_recorded
def refresh_analytics() -> int:
    """Rewrite the analytics rollup hours that may have changed; returns how many rollup
    rows were written (see ``analytics.rollups.refresh``: idempotent, one run at a time)."""
    from storefront.analytics.rollups import refresh

    count = _in_app(lambda: refresh().rows)
    log.info("cron: %d analytics rollup rows written", count)
    return count


@_recorded
def purge_events() -> int:
    """Delete raw events past each merchant's retention, in batches; returns how many (see
    ``analytics.retention.purge_events``: only events the rollups already counted)."""
    from storefront.analytics.retention import purge_events as purge
    from storefront.analytics.rollups import grace

    count = _in_app(lambda: purge(grace()))
    log.info("cron: %d events past retention deleted", count)
    return count


@_recorded
def recovery_lifecycle() -> int:
    """Start, pause, resume and expire cart-save attempts; returns how many changed (see
    ``recovery.services.lifecycle``)."""
    from storefront.recovery.services import lifecycle

    return _in_app(lifecycle)


@_recorded
def recovery_tick() -> int:
    """Claim due recovery messages (FOR UPDATE SKIP LOCKED) and enqueue one job each;
    returns how many (see ``recovery.delivery.tick``)."""
    from storefront.recovery.delivery import tick

    return _in_app(tick)


@_recorded
def bill_subscriptions() -> int:
    """Make the due subscription periods' invoices and queue their charges; returns how
    many (see ``billing.engine.bill_due_subscriptions``: FOR UPDATE SKIP LOCKED)."""
    from storefront.billing.engine import bill_due_subscriptions

    return _in_app(bill_due_subscriptions)


@_recorded
def retry_payments() -> int:
    """Queue the due payment retries and close invoices past their dunning deadline;
    returns how many retries (see ``billing.engine.run_due_retries``)."""
    from storefront.billing.engine import run_due_retries

    return _in_app(run_due_retries)


@_recorded
def analyse_payment_patterns() -> int:
    """Nightly: learn payment patterns again and re-plan the MI_OPTIMIZED retries waiting on
    them; returns how many moved (see ``billing.patterns.replan_retries``)."""
    from storefront.billing.patterns import replan_retries

    return _in_app(replan_retries)


@_recorded
def count_co_purchases() -> int:
    """Nightly: rewrite each merchant's "Frequently bought together" counts from its paid
    orders of the last 180 days; returns the rows written (see
    ``checkout.co_purchase.rebuild_all``: idempotent, one transaction per merchant)."""
    from storefront.checkout.co_purchase import rebuild_all

    count = _in_app(rebuild_all)
    log.info("cron: %d co-purchase rows written", count)
    return count


# (job, seconds between runs). Abandonment is checked often so recovery starts on time;
# expiry is measured in days, so hourly is plenty. Expired stock reservations already count
# nowhere, so releasing them every minute only keeps their table small. The visit buffer is
# flushed every few seconds: shopper actions never wait for it (a pending visit is read
# from the buffer), but analytics should see the page views soon.
JOBS: tuple[tuple[Callable[[], int], int], ...] = (
    (flush_visits, 5),
    (abandon_carts, 60),
    (expire_carts, 60 * 60),
    (analyse_abandonment, 5 * 60),
    (release_reservations, 60),
    (prune_login_throttles, 60 * 60),
    (report_unknown_sends, 5 * 60),
    (bill_subscriptions, 5 * 60),
    (retry_payments, 60),
    (analyse_payment_patterns, 24 * 60 * 60),
    (refresh_analytics, 5 * 60),
    (purge_events, 24 * 60 * 60),
    (count_co_purchases, 24 * 60 * 60),
    (recovery_lifecycle, 60),
    (recovery_tick, 60),
)

for _job, _every in JOBS:
    cron.register(_job, queue_name="default", interval=_every, job_timeout=10 * 60)


def declare_schedule() -> None:
    """Write the table above (names and intervals) to ``cron_runs``, so the admin's worker
    health lists every job, also those that never ran (``accounts.cron_runs.declare``).
    ``worker.py`` calls it at start. Best effort: a database that does not answer is logged,
    and the worker still starts (its jobs then fail and retry on their own)."""
    from storefront.accounts.cron_runs import declare
    from storefront.extensions import db

    def run() -> int:
        try:
            declare((job.__name__, every) for job, every in JOBS)
        except Exception:
            db.session.rollback()
            log.exception("cron: the table of periodic jobs could not be written to cron_runs")
        return 0

    _in_app(run)


def main() -> int:
    """Run every job once, now (for a system cron without Redis). Each job runs on its own:
    one that fails is logged and the others still run. Returns 1 when any failed, else 0."""
    declare_schedule()
    failed = 0
    for job, _ in JOBS:
        try:
            job()
        except Exception:
            failed += 1
            log.exception("cron: %s failed", job.__name__)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
