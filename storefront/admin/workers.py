"""Admin screen: worker health (/admin/workers). The RQ queues' waiting, running,
scheduled and failed jobs (``admin.worker_jobs``, from RQ's own registries), a "Retry" for
each failed job, and the cron table with each job's last success and failure
(``accounts.cron_runs``, from the database, so it shows even when Redis is away).

Every signed-in merchant user sees it: jobs are system-wide, and the listing holds no
merchant's data (ids, function names, times and errors; never a job's arguments).
"""
from __future__ import annotations

from flask import abort, url_for
from flask_login import current_user, login_required

from storefront.accounts.cron_runs import schedule
from storefront.accounts.forms import RetryJobForm
from storefront.admin.kit import done, merchant
from storefront.admin.worker_jobs import JOB_ID, NotFailed, health, retry
from storefront.htmx import render
from storefront.routing import Routes

routes = Routes()

KINDS = (("queued", "Waiting"), ("running", "Running"), ("scheduled", "Scheduled"), ("failed", "Failed"))


def _page():
    return render("admin/workers/health.html", "health", **merchant(current_user.company),
                  queues=health(), kinds=KINDS, cron=schedule())


@routes.get("/workers")
@login_required
def workers():
    """The worker-health screen; htmx gets only the health block (its "Refresh")."""
    return _page()


@routes.post("/workers/retry")
@login_required
def workers_retry():
    """Put one failed job back on its queue. A missing or malformed id (not an RQ id's
    characters) answers 404: there is no such job; a well-formed id not among the failed
    jobs (unknown, or already retried: a replayed post) says so and changes nothing; Redis
    away says so. (Text with NUL or other controls is refused with 400 by the input boundary.)"""
    form = RetryJobForm.of(current_user.company)
    if not form.validate() or not JOB_ID.fullmatch(form.job_id.data):
        abort(404)
    target = url_for("admin.workers")
    try:
        queue = retry(form.job_id.data)
    except NotFailed:
        return done("That job is not among the failed jobs: it was already retried, or never failed. "
                    "Nothing was changed.", target, _page, level="error")
    except ConnectionError:
        return done("Redis does not answer: nothing can be retried now.", target, _page, level="error")
    return done(f"The job is back on the {queue} queue: a worker runs it next.", target, _page)
