"""Shared fixtures: app, client, db, queue (Redis), localstripe, twilio_server, smtp.

The database is PostgreSQL when TEST_DATABASE_URL is set (``make test`` and CI), else a
SQLite file. Either way the schema comes from the migrations, once per session; each test
then starts from empty tables.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import urllib.request

import pytest
from factories import CATALOG_DIR, ROOT, WEBHOOK_SECRET
from flask import g
from servers import free_port, wait_for_url
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError, OperationalError


def _postgres_url() -> str | None:
    raw = os.environ.get("TEST_DATABASE_URL")
    if not raw:
        return None
    url = make_url(raw).set(drivername="postgresql+psycopg")
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        exists = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": url.database}).scalar()
        if not exists:
            conn.execute(text(f'CREATE DATABASE "{url.database}"'))
    admin.dispose()
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    return url.render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> str:
    return _postgres_url() or f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"


@pytest.fixture(scope="session")
def is_postgres(database_url) -> bool:
    return database_url.startswith("postgresql")


@pytest.fixture(scope="session")
def localstripe():
    """localstripe on 127.0.0.1 at a free port, for the whole session; yields its base URL."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "storefront.payments.localstripe_server", str(port)],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for_url(base + "/js.stripe.com/v3/")
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture(scope="session")
def twilio_server():
    """The local Twilio-compatible server on 127.0.0.1 at a free port with a test account,
    for the whole session; the app's Twilio settings point at it. Yields a
    ``twilio_local.LocalTwilio`` (base, account_sid, auth_token, outbox(), script(), inbound())."""
    from twilio_local import LocalTwilio

    handle = LocalTwilio(f"http://127.0.0.1:{free_port()}")
    proc = subprocess.Popen(
        [sys.executable, "-m", "storefront.notifications.twilio_server", handle.base.rsplit(":", 1)[1],
         handle.account_sid, handle.auth_token],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_url(handle.base + "/")
        yield handle
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture(scope="session")
def _app(database_url, localstripe, twilio_server, tmp_path_factory):
    from flask_migrate import upgrade

    from storefront import create_app

    app = create_app({
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "REDIS_URL": os.environ.get("TEST_REDIS_URL", ""),
        "RATELIMIT_STORAGE_URI": os.environ.get("TEST_REDIS_URL") or "memory://",
        "RATELIMIT_KEY_PREFIX": f"storefront-test-{os.getpid()}",
        "RATELIMIT_CART": "1000/minute",
        "RATELIMIT_CAPTURE": "1000/minute",
        "RATELIMIT_CHECKOUT": "1000/minute",
        "STRIPE_API_BASE": localstripe,
        "STRIPE_JS_URL": localstripe + "/js.stripe.com/v3/",
        "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "TWILIO_API_BASE": twilio_server.base,
        "TWILIO_ACCOUNT_SID": twilio_server.account_sid,
        "TWILIO_AUTH_TOKEN": twilio_server.auth_token,
        "TWILIO_FROM": "+15005550006",
        "TWILIO_LOCAL": True,
        "OUTBOX_DIR": str(tmp_path_factory.mktemp("outbox")),
        "SECTION_CACHE_SECONDS": 0,
        "CATALOG_DATA_DIR": str(CATALOG_DIR),
        "MEDIA_ROOT": str(tmp_path_factory.mktemp("media")),
    })
    # Flask-Limiter reads its storage settings at init; re-bind with the test storage.
    from storefront.extensions import limiter

    limiter.init_app(app)
    from storefront.extensions import db

    @app.teardown_request
    def _like_a_fresh_app_context(_exc):
        # Requests share the test's app context, so its ``g`` and its session. Empty ``g``
        # (signed-in user, CSRF token) and expire the session's objects, so the next request
        # starts as a production request, in an app context of its own, would.
        for name in list(vars(g)):
            delattr(g, name)
        db.session.expire_all()

    with app.app_context():
        upgrade()
    return app


def _empty_tables(db) -> None:
    tables = [t.name for t in reversed(db.metadata.sorted_tables)]
    if db.engine.dialect.name != "postgresql":
        for name in tables:
            db.session.execute(text(f"DELETE FROM {name}"))
        db.session.commit()
        return
    # A live-server request still finishing (a browser's last beacon) may hold a lock that
    # the cleanup waits for; PostgreSQL then picks one side of the deadlock: try again.
    for attempt in range(10):
        try:
            _empty_postgres_tables(db, tables)
            return
        except OperationalError:
            db.session.rollback()
            if attempt == 9:
                raise
            time.sleep(0.5)


def _empty_postgres_tables(db, tables: list[str]) -> None:
    """Delete the rows of the tables a test wrote to, children first, and restart the sequences
    it used. TRUNCATE of every table costs about 0.2 s whatever was written (a new file per
    table), which was half the suite's time; a test writes to a handful of tables."""
    probe = " UNION ALL ".join(f"SELECT '{name}' WHERE EXISTS (SELECT 1 FROM {name})" for name in tables)
    written = set(db.session.execute(text(probe)).scalars())
    try:
        for name in tables:
            if name in written:
                db.session.execute(text(f"DELETE FROM {name}"))
    except IntegrityError:
        # Rows that reference each other in a circle: TRUNCATE takes them all at once.
        db.session.rollback()
        db.session.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        db.session.commit()
        return
    used = db.session.execute(text(
        "SELECT format('%I.%I', schemaname, sequencename) FROM pg_sequences WHERE last_value IS NOT NULL"
    )).scalars().all()
    for sequence in used:
        db.session.execute(text("SELECT setval(CAST(:s AS regclass), 1, false)"), {"s": sequence})
    db.session.commit()


@pytest.fixture()
def app(_app):
    """The app with an app context pushed and empty tables."""
    from storefront.analytics.experiments import forget_plans
    from storefront.catalog.co_purchase import clear_pairs_cache
    from storefront.extensions import db, limiter
    from storefront.landing.services import clear_section_cache
    from storefront.pricing.context import forget_pricing_config

    saved = dict(_app.config)
    with _app.app_context():
        yield _app
        db.session.rollback()
        db.session.remove()
        _empty_tables(db)
        limiter.reset()
        clear_section_cache()
        forget_pricing_config()
        forget_plans()  # page ids come round again: a cached plan would outlive its page
        clear_pairs_cache()  # so would a merchant's cached co-purchase pairs
    _app.config.clear()
    _app.config.update(saved)


@pytest.fixture()
def db(app):
    from storefront.extensions import db as database

    return database


@pytest.fixture()
def client(app):
    return app.test_client()


@pytest.fixture()
def queue(app):
    """The RQ queue on the test Redis, emptied with all its registries; skips when TEST_REDIS_URL is unset."""
    from rq import Queue

    from storefront.queue import redis_connection

    if not app.config["REDIS_URL"]:
        pytest.skip("needs TEST_REDIS_URL")
    conn = redis_connection()
    q = Queue("default", connection=conn)
    _empty_queue(q)
    yield q
    _empty_queue(q)


def _empty_queue(queue) -> None:
    """Empty ``queue`` and every registry of it, deleting the jobs: an earlier test's retry
    waiting for its interval (scheduled), a worker killed mid-job (running), a job waiting on
    another (deferred), and finished and failed jobs would otherwise show in the next."""
    queue.empty()
    for registry in (queue.scheduled_job_registry, queue.started_job_registry, queue.deferred_job_registry,
                     queue.finished_job_registry, queue.failed_job_registry, queue.canceled_job_registry):
        for job_id in registry.get_job_ids(cleanup=False):
            queue.connection.delete(queue.job_class.key_for(job_id))
        queue.connection.delete(registry.key)  # the running registry keys job and execution ids


@pytest.fixture()
def company(db):
    from storefront.accounts.models import Company

    merchant = Company(name="Acme Apparel", slug="acme", currency="USD", support_email="help@acme.test")
    db.session.add(merchant)
    db.session.commit()
    return merchant


@pytest.fixture()
def smtp(app):
    """A real SMTP server (aiosmtpd) on loopback; the app sends to it. Yields the inbox list."""
    from aiosmtpd.controller import Controller

    class Inbox:
        def __init__(self):
            self.messages = []

        async def handle_DATA(self, server, session, envelope):
            self.messages.append(envelope)
            return "250 OK"

    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=controller.port)
    yield inbox.messages
    controller.stop()


@pytest.fixture()
def stripe_copies(app):
    """Stripe's retrieve API for Checkout Sessions and PaymentIntents, served locally from
    real payloads (tests/stripe_copies.py); the SDK is pointed at it through
    STRIPE_API_BASE, as it is at localstripe, for this test. Yields the server."""
    from stripe_copies import StripeCopies

    server = StripeCopies().start()
    app.config["STRIPE_API_BASE"] = server.base
    yield server
    server.stop()


def _let_earlier_webhooks_go(localstripe: str) -> None:
    """localstripe sends each event a second after making it, to the webhooks registered
    at that moment. An event from the test before (its intent's metadata names cart 1, and
    this test's cart 1 is another cart) must not reach this test's app: wait until the
    newest event (``created`` in whole seconds) is past that second before registering."""
    since = int(time.time()) - 3
    request = urllib.request.Request(f"{localstripe}/v1/events?created[gte]={since}&limit=1000",
                                     headers={"Authorization": "Bearer sk_test_localstripe"})
    with urllib.request.urlopen(request, timeout=5) as response:
        newest = max((event["created"] for event in json.load(response)["data"]), default=None)
    if newest is not None:
        time.sleep(max(0.0, newest + 2.5 - time.time()))


@pytest.fixture()
def live_server(app):
    """The app served over HTTP on loopback in a thread; yields its base URL.

    localstripe's webhooks are pointed at it for the duration of the test.
    """
    from werkzeug.serving import make_server

    port = free_port()
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    _let_earlier_webhooks_go(app.config["STRIPE_API_BASE"])
    body = f"url={base}/webhooks/stripe&secret={app.config['STRIPE_WEBHOOK_SECRET']}".encode()
    urllib.request.urlopen(app.config["STRIPE_API_BASE"] + "/_config/webhooks/tests", data=body, timeout=5)
    yield base
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


@pytest.fixture()
def run_jobs(app):
    """Run every queued RQ job now, as worker.py would (in burst mode, in this process).

    Without TEST_REDIS_URL jobs already ran in-process when enqueued, so this does nothing.
    Returns a function; it returns how many jobs it ran.
    """
    def run() -> int:
        from rq import Queue, SimpleWorker

        from storefront.queue import redis_connection

        conn = redis_connection()
        if conn is None:
            return 0
        queue = Queue("default", connection=conn)
        count = queue.count
        SimpleWorker([queue], connection=conn).work(burst=True)
        return count

    return run
