"""The RQ worker with its scheduler: ``python worker.py``.

Builds the app and pushes an app context so jobs can use the database and templates.
"""
from __future__ import annotations

import logging
import sys

from storefront import create_app
from storefront.cron import declare_schedule
from storefront.queue import redis_connection

log = logging.getLogger("storefront.worker")


def main() -> int:
    """Run the worker on the default queue until stopped; exit 1 when Redis is away."""
    from rq import Queue, SimpleWorker

    app = create_app()
    with app.app_context():
        conn = redis_connection()
        if conn is None:
            log.error("no Redis at REDIS_URL=%r: jobs run in-process in the web server instead",
                      app.config["REDIS_URL"])
            return 1
        declare_schedule()  # the admin's worker health lists every periodic job from now on
        worker = SimpleWorker([Queue("default", connection=conn)], connection=conn)
        worker.work(with_scheduler=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
