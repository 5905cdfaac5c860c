"""The one place that builds Redis connections and RQ queues.

When no Redis answers (the embedded default), jobs run in-process at once and this is
logged, so ``make run`` works with Python alone.
"""
from __future__ import annotations

import logging

from flask import current_app

log = logging.getLogger(__name__)

_redis_cache: dict[str, object] = {}


def redis_connection():
    """The app's Redis client, or None when ``REDIS_URL`` is unset or Redis does not answer."""
    from redis import Redis
    from redis.exceptions import RedisError

    url = current_app.config.get("REDIS_URL")
    if not url:
        return None
    conn = _redis_cache.get(url)
    if conn is None:
        conn = Redis.from_url(url, socket_connect_timeout=1)
        _redis_cache[url] = conn
    try:
        conn.ping()
    except RedisError:
        log.warning("Redis at %s does not answer: running jobs in-process", url)
        return None
    return conn


_fast_cache: dict[str, object] = {}


def fast_redis():
    """A Redis client for work on a request's path (the event buffer), or None without
    ``REDIS_URL``. No ping and no retries: a command to a Redis that is away fails within
    ``FAST_REDIS_TIMEOUT`` seconds (0.25) with ``redis.exceptions.RedisError``, and the
    caller takes its fallback. Cached per URL for the process."""
    url = current_app.config.get("REDIS_URL")
    if not url:
        return None
    conn = _fast_cache.get(url)
    if conn is None:
        from redis import Redis
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        conn = Redis.from_url(url, socket_connect_timeout=FAST_REDIS_TIMEOUT, socket_timeout=FAST_REDIS_TIMEOUT,
                              retry=Retry(NoBackoff(), 0), health_check_interval=0)
        _fast_cache[url] = conn
    return conn


FAST_REDIS_TIMEOUT = 0.25


def enqueue(func, *args, queue_name: str = "default", **kwargs):
    """Queue ``func(*args)`` on RQ, or run it now when Redis is away.

    Jobs take ids, not objects, and are idempotent, so running in-process is safe.
    ``kwargs`` go to ``Queue.enqueue`` (e.g. ``retry=Retry(max=3)``).
    Returns the RQ Job, or None when run in-process.
    """
    from rq import Queue

    conn = redis_connection()
    if conn is None:
        log.info("no Redis: running %s in-process", func.__name__)
        func(*args)
        return None
    return Queue(queue_name, connection=conn).enqueue(func, *args, **kwargs)


def enqueue_many(func, calls: list[tuple], queue_name: str = "default", **kwargs) -> int:
    """Queue ``func(*args)`` for every ``args`` of ``calls`` in one Redis round trip (a
    pipeline), or run each now when Redis is away. ``kwargs`` go to ``Queue.prepare_data``
    (e.g. ``retry=Retry(max=3)``). Returns how many were queued or run."""
    from rq import Queue

    conn = redis_connection()
    if conn is None:
        log.info("no Redis: running %d %s in-process", len(calls), func.__name__)
        for args in calls:
            func(*args)
        return len(calls)
    queue = Queue(queue_name, connection=conn)
    with conn.pipeline() as pipe:
        queue.enqueue_many([Queue.prepare_data(func, args, **kwargs) for args in calls], pipeline=pipe)
        pipe.execute()
    return len(calls)
