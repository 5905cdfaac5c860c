"""When each periodic job last succeeded and last failed, in the database (``cron_runs``).

System-wide, not a merchant's: one row per job name (the function's ``__name__`` in
``storefront.cron.JOBS``), no ``company_id``. Kept in PostgreSQL rather than Redis so the
admin's worker-health screen still knows the last runs after Redis is lost or flushed.
``storefront.cron`` (the one table of periodic jobs) writes a row after each run, one
upsert with the job's interval, and the whole table at the worker's start (``declare``):
this layer may not import the cron module (it sits above the app), so the web learns the
table from these rows.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime

from sqlalchemy import Integer, String, Text, delete, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Mapped, mapped_column

from storefront.extensions import db
from storefront.types import UTCDateTime

ERROR_LIMIT = 2000  # the exception's text, cut: enough to recognise it, never a whole dump


class CronRun(db.Model):
    """One periodic job's interval (``every_seconds``, as in the cron table when it last
    ran) and last outcomes: ``last_success_at`` / ``last_failure_at`` (UTC, or
    None when it never did) and ``last_error`` (``"ExceptionType: message"`` of the last
    failure, at most ERROR_LIMIT characters)."""

    __tablename__ = "cron_runs"

    job: Mapped[str] = mapped_column(String(100), primary_key=True)
    every_seconds: Mapped[int | None] = mapped_column(Integer, nullable=True)
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_failure_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)


def _now() -> datetime:
    return datetime.now(UTC)


def record_success(job: str, every: int | None, clock: Callable[[], datetime] = _now) -> None:
    """Note that ``job`` (run every ``every`` seconds) finished successfully at ``clock()``;
    one upsert, committed."""
    _upsert(job, {"every_seconds": every, "last_success_at": clock()})


def record_failure(job: str, every: int | None, error: BaseException,
                   clock: Callable[[], datetime] = _now) -> None:
    """Note that ``job`` (run every ``every`` seconds) failed at ``clock()`` with ``error``;
    one upsert, committed. Call it after the failed job's transaction was rolled back."""
    text = f"{type(error).__name__}: {error}"[:ERROR_LIMIT]
    _upsert(job, {"every_seconds": every, "last_failure_at": clock(), "last_error": text})


def _upsert(job: str, values: dict) -> None:
    statement = insert(CronRun).values(job=job, **values)
    db.session.execute(statement.on_conflict_do_update(index_elements=[CronRun.job], set_=values))
    db.session.commit()


def declare(jobs: Iterable[tuple[str, int]]) -> None:
    """Make the rows the cron table ``jobs`` ((name, seconds between runs), every one): a
    row per job with its interval, the last outcomes kept; rows of jobs no longer in the
    table are deleted. Two statements, committed."""
    jobs = list(jobs)
    if jobs:
        statement = insert(CronRun).values([{"job": name, "every_seconds": every} for name, every in jobs])
        db.session.execute(statement.on_conflict_do_update(
            index_elements=[CronRun.job], set_={"every_seconds": statement.excluded.every_seconds}))
    db.session.execute(delete(CronRun).where(CronRun.job.not_in([name for name, _ in jobs])))
    db.session.commit()


def schedule() -> list[CronRun]:
    """Every periodic job declared or run, by name; one query."""
    return list(db.session.scalars(select(CronRun).order_by(CronRun.job)))
