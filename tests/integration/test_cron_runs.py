"""The cron table's jobs note their last success and failure in ``cron_runs`` (one upsert
each), at the injected clock; a failing job's own writes are rolled back first."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest

from storefront import cron
from storefront.accounts.cron_runs import CronRun, declare, schedule

pytestmark = pytest.mark.postgres

NOON = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)
LATER = datetime(2026, 7, 1, 12, 5, tzinfo=UTC)


def test_a_success_is_noted_at_the_clock(app, db):
    assert cron._isolated("abandon_carts", lambda: 3, clock=lambda: NOON) == 3
    run = db.session.get(CronRun, "abandon_carts")
    assert run.last_success_at == NOON and run.last_failure_at is None and run.every_seconds == 60


def test_a_failure_is_noted_and_not_a_success(app, db, company):
    cron._isolated("expire_carts", lambda: 1, clock=lambda: NOON)

    def broken() -> int:
        company.name = "changed by a job that then fails"
        db.session.flush()
        raise RuntimeError("the database went away")

    with pytest.raises(RuntimeError):
        cron._isolated("expire_carts", broken, clock=lambda: LATER)
    db.session.expire_all()
    run = db.session.get(CronRun, "expire_carts")
    assert run.last_success_at == NOON  # the earlier success stays; the failure is no success
    assert run.last_failure_at == LATER and run.last_error == "RuntimeError: the database went away"
    assert company.name == "Acme Apparel"  # the failed job's writes were rolled back


def test_the_real_jobs_are_noted_under_their_names(app, db):
    assert cron.release_reservations() == 0
    assert db.session.get(CronRun, "release_reservations").last_success_at is not None
    assert [(run.job, run.every_seconds) for run in schedule()] == [("release_reservations", 60)]


def test_the_whole_table_is_declared_keeping_the_outcomes(app, db):
    declare([("gone_job", 60)])
    cron._isolated("release_reservations", lambda: 0, clock=lambda: NOON)
    cron.declare_schedule()
    runs = {run.job: run for run in schedule()}
    assert set(runs) == {job.__name__ for job, _ in cron.JOBS}  # the job no longer in the table is gone
    assert runs["purge_events"].every_seconds == 24 * 60 * 60 and runs["purge_events"].last_success_at is None
    assert runs["release_reservations"].last_success_at == NOON
