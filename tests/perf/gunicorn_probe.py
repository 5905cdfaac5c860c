"""gunicorn settings for ``bench.py``: each worker keeps its counts in a small memory-mapped
file, ``$BENCH_PROBE_DIR/<pid>.bin``, that the bench reads whenever it likes (and that
outlives the worker, even one killed with SIGKILL).

The file holds COUNTERS as little-endian 64-bit integers, updated after each request:

- ``requests``: requests answered;
- ``statements``: SQL statements sent (a SQLAlchemy ``before_cursor_execute`` listener);
- ``landing_2xx``: 2xx answers to ``GET /lp/<slug>`` (the landing page itself);
- ``landing_started`` and ``landing_done``: those requests begun (``pre_request``) and
  finished with any answer (``post_request``): a worker killed mid-request leaves the
  difference, requests that may have recorded their view but were never answered;
- ``fallbacks``: requests that wrote visits and events straight to the database because
  the event buffer's Redis was away (``storefront.visits.buffer.stats``, when the served
  tree has it).

Counting costs well under a microsecond per request or statement; the bench's CPU figures
include it, for the shop and for the ceiling alike.
"""
from __future__ import annotations

import mmap
import os
import re
import struct
import threading

COUNTERS = ("requests", "statements", "landing_2xx", "fallbacks", "landing_started", "landing_done")
_LANDING = re.compile(r"^/lp/[^/]+$")
_state: dict = {}
# gthread workers answer several requests at once: each update is a read-modify-write.
_lock = threading.Lock()


def _slot(name: str) -> int:
    return COUNTERS.index(name) * 8


def _add(name: str, n: int = 1) -> None:
    counts = _state.get("map")
    if counts is not None:
        offset = _slot(name)
        with _lock:
            struct.pack_into("<q", counts, offset, struct.unpack_from("<q", counts, offset)[0] + n)


def _set(name: str, value: int) -> None:
    counts = _state.get("map")
    if counts is not None:
        with _lock:
            struct.pack_into("<q", counts, _slot(name), value)


def _count_statement(*_args) -> None:
    _add("statements")


def _fallbacks() -> int:
    stats = _state.get("buffer_stats")
    return stats()["fallbacks"] if stats else 0


def post_worker_init(worker) -> None:
    directory = os.environ.get("BENCH_PROBE_DIR")
    if not directory:
        return
    path = os.path.join(directory, f"{os.getpid()}.bin")
    with open(path, "wb") as out:
        out.write(b"\0" * 8 * len(COUNTERS))
    handle = open(path, "r+b")
    _state["map"] = mmap.mmap(handle.fileno(), 8 * len(COUNTERS))
    _state["file"] = handle
    try:
        from sqlalchemy import event
        from sqlalchemy.engine import Engine
    except ImportError:  # the ceiling app has no database
        pass
    else:
        event.listen(Engine, "before_cursor_execute", _count_statement)
    try:
        from storefront.visits.buffer import stats
    except ImportError:  # the ceiling, or a tree without the event buffer (the "before" code)
        pass
    else:
        _state["buffer_stats"] = stats


def _is_landing(method: str, path: str) -> bool:
    return method == "GET" and _LANDING.match(path.split("?", 1)[0]) is not None


def pre_request(worker, req) -> None:
    if _is_landing(req.method, req.path or ""):
        _add("landing_started")


def post_request(worker, req, environ, resp) -> None:
    _add("requests")
    if _is_landing(environ.get("REQUEST_METHOD") or "", environ.get("PATH_INFO") or ""):
        _add("landing_done")
        if 200 <= (getattr(resp, "status_code", None) or 0) < 300:
            _add("landing_2xx")
    _set("fallbacks", _fallbacks())


def read(path) -> dict[str, int]:
    """The counters in a probe file (for the bench)."""
    data = open(path, "rb").read()
    return {name: struct.unpack_from("<q", data, i * 8)[0] for i, name in enumerate(COUNTERS)}
