"""The flush job: buffered visits and page views (``visits.buffer``) into the database.

Runs from ``storefront/cron.py`` every few seconds, under a Redis lock so one flush works at
a time (a second one finds the lock and returns). Batch by batch, oldest first: insert the
visits (``ON CONFLICT (token) DO NOTHING``), then their events (``ON CONFLICT (event_key) DO
NOTHING``), move ``last_activity_at`` forward, commit synchronously, and only then delete
the entries from the stream and the flushed visits' pending copies. Killed at any point,
the next flush redoes the batch and every row still exists once.

An entry the database refuses (a row that breaks a constraint: it cannot become valid by
waiting) goes to the dead-letter stream ``DEAD_STREAM`` with the reason, so one bad entry
never holds up the others and nothing is dropped silently.
"""
from __future__ import annotations

import logging

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from storefront.extensions import db
from storefront.visits.buffer import PENDING_PREFIX, STREAM, loads
from storefront.visits.models import Visit, VisitEvent

log = logging.getLogger(__name__)

DEAD_STREAM = "sf:visits:dead"
LOCK_KEY = "sf:visits:flush-lock"
# Renewed after every batch (a batch takes well under a second); a flush killed holding it
# delays the next by at most this much. The lock only saves work: two flushes at once still
# write every row once (ON CONFLICT DO NOTHING), so a short expiry risks nothing.
LOCK_SECONDS = 15
BATCH = 500
MAX_BATCHES = 200  # one run moves at most 100 000 entries; the next tick goes on


def insert_ignoring(model, key: str):
    """``INSERT ... ON CONFLICT (key) DO NOTHING`` for this database (PostgreSQL or SQLite)."""
    if db.session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(model).on_conflict_do_nothing(index_elements=[key])


def write_entries(entries: list[dict]) -> None:
    """Write decoded buffer entries (``buffer.visit_entry`` / ``view_entry`` shapes) in the
    current transaction: visits, then events, then activity times. Does not commit.

    Raises IntegrityError when the database refuses a row; events of a visit that is not
    in the database are skipped with a warning (the visit was erased meanwhile)."""
    visits = [e["visit"] for e in entries if e["kind"] == "visit"]
    if visits:
        db.session.execute(insert_ignoring(Visit, "token"), visits)
    tokens = {e["visit"]["token"] if e["kind"] == "visit" else e["token"] for e in entries}
    known = {row.token: row for row in db.session.execute(
        select(Visit.id, Visit.token, Visit.company_id, Visit.landing_page_id).where(Visit.token.in_(tokens)))}
    events, touches = [], {}
    for entry in entries:
        token = entry["visit"]["token"] if entry["kind"] == "visit" else entry["token"]
        visit = known.get(token)
        if visit is None:
            log.warning("visit buffer: an event of a visit that no longer exists is skipped")
            continue
        events.append({**entry["event"], "visit_id": visit.id, "company_id": visit.company_id,
                       "landing_page_id": visit.landing_page_id})
        at = entry.get("touch_at")
        if at is not None and (visit.id not in touches or touches[visit.id] < at):
            touches[visit.id] = at
    if events:
        db.session.execute(insert_ignoring(VisitEvent, "event_key"), events)
    for visit_id, at in touches.items():
        db.session.execute(update(Visit).where(Visit.id == visit_id, Visit.last_activity_at < at)
                           .values(last_activity_at=at))


def _write_one_by_one(conn, batch: list[tuple[bytes, dict]]) -> None:
    """After a refused batch: each entry in a savepoint; a refused one goes to DEAD_STREAM."""
    for entry_id, entry in batch:
        try:
            with db.session.begin_nested():
                write_entries([entry])
        except IntegrityError as error:
            reason = str(error.orig).splitlines()[0][:300]
            log.error("visit buffer: entry %s refused by the database (%s); kept in %s", entry_id, reason,
                      DEAD_STREAM)
            conn.xadd(DEAD_STREAM, {"e": _raw(entry), "reason": reason})


def _raw(entry: dict) -> str:
    from storefront.visits.buffer import dumps

    return dumps(entry)


def flush_buffer(conn, max_batches: int = MAX_BATCHES) -> int:
    """Move buffered entries from ``conn``'s stream into the database; returns how many were
    flushed (0 when another flush holds the lock). Commits each batch."""
    if not conn.set(LOCK_KEY, "1", nx=True, ex=LOCK_SECONDS):
        return 0
    flushed = 0
    try:
        for _ in range(max_batches):
            rows = conn.xrange(STREAM, "-", "+", count=BATCH)
            if not rows:
                break
            batch = [(entry_id, loads(fields[b"e"])) for entry_id, fields in rows]
            try:
                write_entries([entry for _, entry in batch])
                db.session.commit()
            except IntegrityError:
                db.session.rollback()
                _write_one_by_one(conn, batch)
                db.session.commit()
            pipe = conn.pipeline(transaction=True)
            pipe.xdel(STREAM, *[entry_id for entry_id, _ in batch])
            pending = [PENDING_PREFIX + e["visit"]["token"] for _, e in batch if e["kind"] == "visit"]
            if pending:
                pipe.delete(*pending)
            pipe.execute()
            flushed += len(batch)
            conn.expire(LOCK_KEY, LOCK_SECONDS)
    finally:
        conn.delete(LOCK_KEY)
    return flushed
