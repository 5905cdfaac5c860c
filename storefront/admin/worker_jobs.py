"""What the RQ workers hold, read from RQ's own registries, for the worker-health screen.

Per queue: the jobs waiting (the queue itself), running (``StartedJobRegistry``),
scheduled for later (``ScheduledJobRegistry``) and failed (``FailedJobRegistry``), and a
failed job retried through ``FailedJobRegistry.requeue``. Redis only through
``storefront.queue``.

Jobs are system-wide, not a merchant's: every signed-in merchant user sees this screen.
So a job is shown by its id, function name, times and (failed) exception only; its
arguments are never read out, so no merchant sees another's ids or a shopper's data.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime

from storefront.queue import redis_connection

QUEUES = ("default",)  # the queues worker.py works (storefront.queue enqueues on "default")
LISTED = 50  # newest jobs listed per kind; the counts are of all
# RQ's ids are uuid4 hex, or ones we chose: letters, digits, "-" and "_". Anything else
# cannot be a job of ours and is refused before Redis is asked.
JOB_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


@dataclass(frozen=True)
class JobRow:
    """One job as listed: ``id``, ``function`` (dotted name), ``enqueued``, ``started`` and
    ``ended`` (UTC or None); for a failed job ``error`` (the exception's last line) and
    ``trace`` (the whole traceback)."""

    id: str
    function: str
    enqueued: datetime | None
    started: datetime | None
    ended: datetime | None
    error: str = ""
    trace: str = ""


@dataclass
class QueueHealth:
    """One queue: ``counts`` by kind (queued, running, scheduled, failed) and the newest
    ``jobs`` of each kind (at most LISTED)."""

    name: str
    counts: dict[str, int] = field(default_factory=dict)
    jobs: dict[str, list[JobRow]] = field(default_factory=dict)


def _aware(moment: datetime | None) -> datetime | None:
    # RQ stores naive UTC times.
    return moment.replace(tzinfo=UTC) if moment and moment.tzinfo is None else moment


def _row(job, failed: bool = False) -> JobRow:
    trace = error = ""
    if failed:
        result = job.latest_result()
        trace = (result.exc_string if result is not None else None) or job.exc_info or ""
        lines = [line for line in trace.strip().splitlines() if line.strip()]
        error = lines[-1] if lines else "No error was recorded."
    try:
        function = job.func_name
    except Exception:  # a job whose data cannot be read (another version's) is still listed
        function = "(unreadable)"
    return JobRow(job.id, function, _aware(job.enqueued_at), _aware(job.started_at), _aware(job.ended_at),
                  error, trace)


def health() -> list[QueueHealth] | None:
    """Every queue's jobs; None when Redis is not configured or does not answer (then jobs
    run in-process, as ``storefront.queue.enqueue`` does)."""
    from redis.exceptions import RedisError
    from rq import Queue
    from rq.job import Job
    from rq.registry import FailedJobRegistry, ScheduledJobRegistry, StartedJobRegistry

    conn = redis_connection()
    if conn is None:
        return None
    found = []
    try:
        for name in QUEUES:
            queue = Queue(name, connection=conn)
            kinds = {"queued": (queue.count, queue.get_job_ids(0, LISTED)),
                     "running": _registry(StartedJobRegistry(queue=queue)),
                     "scheduled": _registry(ScheduledJobRegistry(queue=queue)),
                     "failed": _registry(FailedJobRegistry(queue=queue))}
            health = QueueHealth(name)
            for kind, (count, ids) in kinds.items():
                jobs = [job for job in Job.fetch_many(ids, connection=conn) if job is not None]
                health.counts[kind] = count
                health.jobs[kind] = [_row(job, failed=kind == "failed") for job in jobs]
            found.append(health)
    except RedisError:
        return None
    return found


def _registry(registry) -> tuple[int, list[str]]:
    return registry.count, registry.get_job_ids(0, LISTED - 1, desc=True)


class NotFailed(LookupError):
    """The job id is not in a failed registry (never failed, already retried, or unknown)."""


def retry(job_id: str) -> str:
    """Put the failed job ``job_id`` back on its queue; returns the queue's name.

    Raises NotFailed for an id that is malformed or not among the failed jobs (a replayed
    retry finds it gone), and ConnectionError when Redis is away."""
    from redis.exceptions import RedisError
    from rq import Queue
    from rq.exceptions import InvalidJobOperation, NoSuchJobError
    from rq.registry import FailedJobRegistry

    if not isinstance(job_id, str) or not JOB_ID.fullmatch(job_id):
        raise NotFailed(job_id)
    conn = redis_connection()
    if conn is None:
        raise ConnectionError("Redis does not answer")
    try:
        for name in QUEUES:
            registry = FailedJobRegistry(queue=Queue(name, connection=conn))
            if job_id in registry:
                try:
                    registry.requeue(job_id)
                except (InvalidJobOperation, NoSuchJobError):  # retried at the same moment
                    raise NotFailed(job_id) from None
                return name
    except RedisError as error:
        raise ConnectionError("Redis does not answer") from error
    raise NotFailed(job_id)
