"""The ``queue`` test fixture hands out the default queue with nothing left over from an
earlier test: not only its waiting jobs but its scheduled (a retry waiting for its
interval), running (a worker killed mid-job), deferred, finished and failed registries.

The first test leaves a job in each, as a failing retried job, a finished one or a killed
worker does; the second takes the fixture and finds them all empty. They run in file order."""
from __future__ import annotations

import operator

import pytest


def _registries(queue) -> dict[str, object]:
    return {"scheduled": queue.scheduled_job_registry, "running": queue.started_job_registry,
            "deferred": queue.deferred_job_registry, "finished": queue.finished_job_registry,
            "failed": queue.failed_job_registry}


def test_an_earlier_test_leaves_jobs_in_every_registry(app):
    from rq import Queue, Retry, SimpleWorker
    from rq.executions import Execution

    from storefront.queue import redis_connection

    conn = redis_connection()
    if conn is None:
        pytest.skip("needs TEST_REDIS_URL")
    queue = Queue("default", connection=conn)
    queue.enqueue(operator.truediv, 1, 0, retry=Retry(max=2, interval=[3600]))  # → scheduled
    queue.enqueue(operator.truediv, 1, 0)  # → failed
    queue.enqueue(operator.add, 1, 2)  # → finished
    SimpleWorker([queue], connection=conn).work(burst=True)
    blocker = queue.enqueue(operator.add, 1, 2)
    queue.enqueue(operator.add, 1, 2, depends_on=blocker)  # → deferred; blocker waits
    killed = queue.enqueue(operator.add, 2, 2)
    with conn.pipeline() as pipe:  # what a worker killed mid-job leaves behind
        queue.started_job_registry.add_execution(Execution.create(killed, ttl=3600, pipeline=pipe), pipe,
                                                  ttl=3600)
        pipe.execute()
    assert queue.count >= 1
    assert all(registry.count >= 1 for registry in _registries(queue).values()), \
        {name: registry.count for name, registry in _registries(queue).items()}


def test_the_fixture_hands_out_every_registry_empty(queue):
    assert queue.count == 0
    assert {name: registry.count for name, registry in _registries(queue).items()} == \
        dict.fromkeys(_registries(queue), 0)
