"""The visit buffer: the landing page's writes (a new visit and its page_view, a returning
view) go to a Redis stream on the request's path, one round trip, and the flush job
(``visits.flush``) moves them into the database in batches, synchronously committed.

Nothing is lost and nothing counts twice:

- A new visit's stream entry and pending copy are written by one script (atomic, one
  round trip); a returning view is one XADD.
- Every buffered event has a unique ``event_key`` and every visit its unique token; the
  flush and the direct write insert with ``ON CONFLICT DO NOTHING``. An entry is deleted
  from the stream only after its rows are committed, so a flush killed half-way, or two
  at once, or a write that reached Redis although the client saw an error and then wrote
  directly, still give one row each.
- When the buffer's Redis does not answer, the request writes directly (the fallback,
  counted in ``stats()``); after a failure this process goes straight to the fallback for
  ``RETRY_AFTER_SECONDS`` before trying Redis again, so an outage costs no timeouts.
- A visit not flushed yet is readable by its token (``pending_visit``): add to cart, the
  exit offer and the other shopper actions insert it at once (``services.current_visit``),
  so attribution never waits for the flush.
- ``VISIT_BUFFER`` (README) chooses: ``auto`` (the default) buffers only into a Redis that
  keeps what it acknowledged: append-only file on with ``appendfsync always`` (checked with
  INFO and CONFIG GET every ``CHECK_SECONDS``); ``on`` buffers into any Redis (a Redis known
  durable another way, or tests); ``off`` always writes directly.

Keys: ``STREAM`` (entries ``{"e": JSON}``, see ``visit_entry`` and ``view_entry``),
``PENDING_PREFIX<token>`` (a visit's columns until it is flushed, PENDING_TTL), and the
flush's lock and dead-letter stream (``visits.flush``).
"""
from __future__ import annotations

import json
import threading
import time
import uuid
from datetime import datetime

from flask import current_app

from storefront.queue import fast_redis

STREAM = "sf:visits:stream"
PENDING_PREFIX = "sf:visits:pending:"
# A pending visit outlives any sane flush delay; the flush deletes it once it is a row.
PENDING_TTL = 7 * 24 * 3600
RETRY_AFTER_SECONDS = 1.0
CHECK_SECONDS = 60.0
BUFFERED, AWAY, OFF = "buffered", "away", "off"

_lock = threading.Lock()
_stats = {"buffered": 0, "fallbacks": 0}
_state = {"down_until": 0.0, "durable": None, "checked_at": 0.0}


def stats() -> dict[str, int]:
    """This process's counts: entries buffered, and requests that fell back to writing
    directly because the buffer's Redis was away."""
    return dict(_stats)


def new_event(event_type: str, payload: dict, at: datetime) -> dict:
    """An event to buffer or write: type, payload, time and its unique 32-hex key."""
    return {"event_key": uuid.uuid4().hex, "type": event_type, "payload": payload, "created_at": at}


def _encode(value):
    if isinstance(value, datetime):
        return {"$t": value.isoformat()}
    raise TypeError(f"cannot buffer {type(value).__name__}")


def _decode(obj: dict):
    return datetime.fromisoformat(obj["$t"]) if obj.keys() == {"$t"} else obj


def dumps(data: dict) -> str:
    """JSON with datetimes kept as datetimes (``loads`` gives them back, aware)."""
    return json.dumps(data, default=_encode, separators=(",", ":"))


def loads(text: str | bytes) -> dict:
    return json.loads(text, object_hook=_decode)


def _durable(conn) -> bool:
    """True when ``conn``'s Redis fsyncs its append-only file on every write."""
    from redis.exceptions import ResponseError

    if int(conn.info("persistence").get("aof_enabled", 0)) != 1:
        return False
    try:
        return conn.config_get("appendfsync").get("appendfsync") == "always"
    except ResponseError:  # CONFIG disabled (a managed Redis): say so with VISIT_BUFFER=on
        return False


def _client():
    """The Redis to buffer into now, or (None, OFF / AWAY)."""
    mode = str(current_app.config.get("VISIT_BUFFER") or "auto").lower()
    if mode not in ("on", "off"):
        mode = "auto"  # the safe reading of a value we don't know
    conn = fast_redis() if mode != "off" else None
    if conn is None:
        return None, OFF
    now = time.monotonic()
    if now < _state["down_until"]:
        return None, AWAY
    if mode == "auto" and (_state["durable"] is None or now - _state["checked_at"] > CHECK_SECONDS):
        from redis.exceptions import RedisError

        try:
            durable = _durable(conn)
        except RedisError:
            _went_away(fallback=False)
            return None, AWAY
        _state.update(durable=durable, checked_at=now)
    if mode == "auto" and not _state["durable"]:
        return None, OFF
    return conn, BUFFERED


def _went_away(fallback: bool = True) -> None:
    with _lock:
        _state["down_until"] = time.monotonic() + RETRY_AFTER_SECONDS
        if fallback:
            _stats["fallbacks"] += 1


# A new visit and its first event in one command, atomically (a script runs whole): the
# stream entry and the pending copy that ``pending_visit`` reads.
_BUFFER_VISIT = """
redis.call("XADD", KEYS[1], "*", "e", ARGV[1])
redis.call("SET", KEYS[2], ARGV[2], "EX", ARGV[3])
return 1
"""
_scripts: dict[int, object] = {}


def _push(command) -> str:
    """Run ``command(conn)`` (one round trip): BUFFERED, or AWAY/OFF for the caller to
    write directly."""
    conn, state = _client()
    if conn is None:
        if state == AWAY:
            with _lock:
                _stats["fallbacks"] += 1
        return state
    from redis.exceptions import RedisError

    try:
        command(conn)
    except RedisError:
        _went_away()
        return AWAY
    with _lock:
        _stats["buffered"] += 1
    return BUFFERED


def _visit_script(conn):
    script = _scripts.get(id(conn))
    if script is None:
        script = _scripts[id(conn)] = conn.register_script(_BUFFER_VISIT)
    return script


def buffer_visit(visit: dict, event: dict) -> str:
    """Buffer a new visit (its column values, ``token`` included) with its first event;
    readable at once by ``pending_visit``. Returns BUFFERED, or AWAY / OFF: then the caller
    writes both itself."""
    body = dumps({"kind": "visit", "visit": visit, "event": event})
    pending = dumps(visit)
    return _push(lambda conn: _visit_script(conn)(keys=[STREAM, PENDING_PREFIX + visit["token"]],
                                                  args=[body, pending, PENDING_TTL]))


def buffer_view(token: str, event: dict, touch_at: datetime | None) -> str:
    """Buffer an event of the visit ``token`` (a returning page view); ``touch_at`` moves
    the visit's ``last_activity_at`` forward when flushed. Returns as ``buffer_visit``."""
    body = dumps({"kind": "view", "token": token, "event": event, "touch_at": touch_at})
    return _push(lambda conn: conn.xadd(STREAM, {"e": body}))


def pending_visit(token: str) -> dict | None:
    """The columns of the buffered visit ``token`` not flushed yet; None when there is none
    (flushed, unknown, or the buffer's Redis is away or off)."""
    conn, _state_now = _client()
    if conn is None:
        return None
    from redis.exceptions import RedisError

    try:
        raw = conn.get(PENDING_PREFIX + token)
    except RedisError:
        _went_away(fallback=False)
        return None
    return loads(raw) if raw else None


def reset_state() -> None:
    """Forget the circuit breaker and the durability check (tests; a new Redis)."""
    _state.update(down_until=0.0, durable=None, checked_at=0.0)
