"""Worker health at /admin/workers: the queues' waiting and failed jobs from RQ's registries
on the test Redis (a job failed for real by a SimpleWorker), a failed job retried back onto
its queue (with and without htmx; a replayed retry changes nothing), bad job ids refused
with a 4xx, the cron table with its last runs, and the screen without Redis."""
from __future__ import annotations

import html
import operator
from datetime import UTC, datetime

import pytest
from factories import csrf_token

from storefront import cron
from storefront.accounts import cron_runs

HX = {"HX-Request": "true"}


def failed_job(queue):
    """A job that raises ZeroDivisionError, run by a real worker: it lands in the failed registry."""
    from rq import SimpleWorker

    job = queue.enqueue(operator.truediv, 1, 0)
    SimpleWorker([queue], connection=queue.connection).work(burst=True)
    assert job.id in queue.failed_job_registry
    return job


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def test_failed_job_listed_with_its_error_and_retried(admin, queue):
    job = failed_job(queue)
    waiting = queue.enqueue(operator.add, 1, 2)

    page = admin.get("/admin/workers")
    body = text(page)
    assert page.status_code == 200 and "HX-Request" in page.headers["Vary"]
    assert "Waiting: 1, Running: 0, Scheduled: 0, Failed: 1." in body
    assert job.id in body and waiting.id in body and "truediv" in body
    assert "ZeroDivisionError" in body and "<details><summary>Traceback</summary>" in body
    assert "(1, 0)" not in body  # arguments are never shown

    answer = admin.post("/admin/workers/retry", data={"csrf_token": csrf_token(admin, "/admin/workers"),
                                                      "job_id": job.id})
    assert answer.status_code == 303
    assert job.id not in queue.failed_job_registry and job.id in queue.get_job_ids()
    assert "back on the default queue" in text(admin.get("/admin/workers"))

    replay = admin.post("/admin/workers/retry", data={"csrf_token": csrf_token(admin, "/admin/workers"),
                                                      "job_id": job.id}, headers=HX)
    assert replay.status_code == 200 and "not among the failed jobs" in replay.headers["HX-Trigger"]
    assert queue.get_job_ids().count(job.id) == 1  # not queued twice


def test_retry_over_htmx_answers_the_health_block(admin, queue):
    job = failed_job(queue)
    answer = admin.post("/admin/workers/retry", data={"csrf_token": csrf_token(admin, "/admin/workers"),
                                                      "job_id": job.id}, headers=HX)
    body = text(answer)
    assert answer.status_code == 200 and "back on the default queue" in answer.headers["HX-Trigger"]
    assert body.lstrip().startswith('<div id="worker-health">') and "<html" not in body
    assert "Failed: 0." in body and "Waiting: 1" in body


@pytest.mark.parametrize(("job_id", "status"), [("not an id", 404), ("a\x00b", 400), ("x" * 65, 404), ("", 404),
                                                ("../../etc", 404)])
def test_bad_job_ids_are_refused(admin, queue, job_id, status):
    failed_job(queue)
    answer = admin.post("/admin/workers/retry", data={"csrf_token": csrf_token(admin, "/admin/workers"),
                                                      "job_id": job_id})
    assert answer.status_code == status
    assert queue.failed_job_registry.count == 1


def test_an_unknown_job_id_says_so(admin, queue):
    answer = admin.post("/admin/workers/retry", data={"csrf_token": csrf_token(admin, "/admin/workers"),
                                                      "job_id": "f" * 32}, follow_redirects=True)
    assert answer.status_code == 200 and "not among the failed jobs" in text(answer)


def test_signed_out_goes_to_the_login(client, company):
    assert "/admin/login" in client.get("/admin/workers").headers["Location"]
    assert client.post("/admin/workers/retry", data={"job_id": "abc"}).status_code in (302, 303, 400)


def test_without_redis_the_cron_table_still_shows(admin, app, db):
    app.config["REDIS_URL"] = ""
    cron.declare_schedule()  # as worker.py does at start
    cron_runs.record_success("abandon_carts", 60, clock=lambda: datetime(2026, 7, 1, 12, 0, tzinfo=UTC))
    body = text(admin.get("/admin/workers"))
    assert "Redis is not configured or does not answer: jobs run in-process" in body
    assert "abandon_carts" in body and "1 min" in body and "2026-07-01" in body
    assert "None" in body  # no failure
    assert "purge_events" in body and "1 d" in body and "Never" in body  # declared, never run


def test_before_any_periodic_run(admin, app, db):
    app.config["REDIS_URL"] = ""
    assert "No periodic job has run yet." in text(admin.get("/admin/workers"))
