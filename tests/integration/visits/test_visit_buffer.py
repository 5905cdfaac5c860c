"""The visit buffer (storefront.visits.buffer) and its flush (storefront.visits.flush) on the
real Redis and database: each landing view is one visit and one page_view, exactly once,
through a flush run twice or killed half-way, a Redis that is away or killed, and a write
that reached both the buffer and the database."""
from __future__ import annotations

import shutil
import signal
import subprocess
import time

import pytest
from factories import make_page, make_product
from servers import free_port

from storefront.visits import buffer
from storefront.visits.flush import DEAD_STREAM, LOCK_KEY, flush_buffer, write_entries
from storefront.visits.models import Visit, VisitEvent


def _clear(conn) -> None:
    keys = list(conn.scan_iter("sf:visits:*"))
    if keys:
        conn.delete(*keys)


@pytest.fixture()
def redis_conn(app):
    from storefront.queue import redis_connection

    if not app.config["REDIS_URL"]:
        pytest.skip("needs TEST_REDIS_URL")
    conn = redis_connection()
    _clear(conn)
    buffer.reset_state()
    yield conn
    _clear(conn)
    buffer.reset_state()


@pytest.fixture()
def buffered(app, redis_conn, company):
    app.config["VISIT_BUFFER"] = "on"
    make_page(company, [make_product(company)])
    return redis_conn


def counts(db) -> tuple[int, int]:
    db.session.rollback()
    visits = db.session.execute(db.select(db.func.count(Visit.id))).scalar()
    views = db.session.execute(db.select(db.func.count(VisitEvent.id)).filter_by(type="page_view")).scalar()
    return visits, views


def test_a_landing_view_is_buffered_then_flushed_once(client, db, buffered):
    response = client.get("/lp/summer-sale?utm_source=ads&utm_campaign=june")

    assert response.status_code == 200
    assert any(c.startswith("sf_visit=") for c in response.headers.getlist("Set-Cookie"))
    assert counts(db) == (0, 0)
    assert buffered.xlen(buffer.STREAM) == 1
    assert flush_buffer(buffered) == 1
    visit = db.session.execute(db.select(Visit)).scalar_one()
    assert (visit.utm_source, visit.utm_campaign) == ("ads", "june")
    event = db.session.execute(db.select(VisitEvent)).scalar_one()
    assert (event.type, event.payload, event.visit_id) == ("page_view", {"slug": "summer-sale"}, visit.id)
    assert len(event.event_key) == 32
    assert buffered.xlen(buffer.STREAM) == 0
    assert buffered.get(buffer.PENDING_PREFIX + visit.token) is None
    assert flush_buffer(buffered) == 0 and counts(db) == (1, 1)


def test_every_view_is_a_page_view_and_the_reload_keeps_the_visit(client, db, buffered):
    for _ in range(3):
        assert client.get("/lp/summer-sale").status_code == 200

    flush_buffer(buffered)

    assert counts(db) == (1, 3)
    payloads = [e.payload for e in db.session.execute(db.select(VisitEvent).order_by(VisitEvent.id)).scalars()]
    assert payloads == [{"slug": "summer-sale"}, {"returning": True}, {"returning": True}]


def test_a_flush_killed_after_its_commit_is_redone_without_duplicates(client, db, buffered):
    for _ in range(2):
        app_client = client.application.test_client()
        app_client.get("/lp/summer-sale")
    entries = [buffer.loads(fields[b"e"]) for _id, fields in buffered.xrange(buffer.STREAM)]

    # The first flush wrote and committed, then died before deleting the entries.
    write_entries(entries)
    db.session.commit()
    buffered.set(LOCK_KEY, "1")  # ... and left its lock, which expires
    assert flush_buffer(buffered) == 0
    buffered.delete(LOCK_KEY)

    assert flush_buffer(buffered) == 2
    assert counts(db) == (2, 2)
    assert buffered.xlen(DEAD_STREAM) == 0  # redone, not refused


def test_a_write_that_reached_both_the_buffer_and_the_database_counts_once(app, db, buffered, company):
    from storefront.types import new_token, utcnow
    from storefront.visits.services import _insert_visit_with_page_view

    page_id = db.session.execute(db.text("SELECT id FROM landing_pages")).scalar_one()
    now = utcnow()
    values = {"token": new_token(), "company_id": company.id, "landing_page_id": page_id,
              "visitor_id": new_token(), "started_at": now, "last_activity_at": now}
    event = buffer.new_event("page_view", {"slug": "summer-sale"}, now)
    assert buffer.buffer_visit(values, event) == buffer.BUFFERED
    # The client saw a timeout although Redis had the entry: it wrote directly too.
    _insert_visit_with_page_view(values, event)
    db.session.commit()

    assert flush_buffer(buffered) == 1
    assert counts(db) == (1, 1)
    assert buffered.xlen(DEAD_STREAM) == 0


def test_redis_away_falls_back_to_a_direct_write(app, client, db, buffered):
    app.config["REDIS_URL"] = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    before = buffer.stats()["fallbacks"]

    statuses = [client.application.test_client().get("/lp/summer-sale").status_code for _ in range(3)]

    assert statuses == [200, 200, 200]
    assert counts(db) == (3, 3)
    assert buffer.stats()["fallbacks"] - before == 3


def test_auto_buffers_only_into_a_redis_that_keeps_what_it_acknowledged(app, client, db, buffered):
    app.config["VISIT_BUFFER"] = "auto"
    durable = buffer._durable(buffered)

    client.get("/lp/summer-sale")

    assert counts(db) == ((0, 0) if durable else (1, 1))
    assert buffered.xlen(buffer.STREAM) == (1 if durable else 0)


def test_off_writes_directly(app, client, db, buffered):
    app.config["VISIT_BUFFER"] = "off"

    client.get("/lp/summer-sale")

    assert counts(db) == (1, 1) and buffered.xlen(buffer.STREAM) == 0


def test_returning_view_moves_the_activity_time_when_flushed(client, db, buffered):
    from datetime import timedelta

    client.get("/lp/summer-sale")
    flush_buffer(buffered)
    visit = db.session.execute(db.select(Visit)).scalar_one()
    earlier = visit.last_activity_at - timedelta(minutes=5)
    visit.last_activity_at = earlier
    db.session.commit()

    client.get("/lp/summer-sale")
    flush_buffer(buffered)

    db.session.refresh(visit)
    assert visit.last_activity_at > earlier
    assert counts(db) == (1, 2)


@pytest.mark.postgres
def test_an_entry_the_database_refuses_goes_to_the_dead_letters_alone(client, db, buffered, company, is_postgres):
    from storefront.types import new_token, utcnow

    client.get("/lp/summer-sale")
    now = utcnow()
    bad = {"token": new_token(), "company_id": company.id, "landing_page_id": 999999,  # no such page
           "visitor_id": new_token(), "started_at": now, "last_activity_at": now}
    buffer.buffer_visit(bad, buffer.new_event("page_view", {}, now))
    client.application.test_client().get("/lp/summer-sale")

    assert flush_buffer(buffered) == 3

    assert counts(db) == (2, 2)
    dead = buffered.xrange(DEAD_STREAM)
    assert len(dead) == 1 and bad["token"].encode() in dead[0][1][b"e"]
    assert buffered.xlen(buffer.STREAM) == 0


# ----------------------------------------------------------------------------- a Redis killed


@pytest.fixture()
def own_redis(tmp_path):
    """A redis-server of this test's own, appendfsync always, that the test may kill:
    yields (url, kill, restart)."""
    server = shutil.which("redis-server")
    if server is None:
        pytest.skip("needs redis-server")
    port = free_port()
    cmd = [server, "--bind", "127.0.0.1", "--port", str(port), "--dir", str(tmp_path), "--save", "",
           "--appendonly", "yes", "--appendfsync", "always"]
    procs = []

    def begin():
        procs.append(subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        import redis

        client = redis.Redis(port=port)
        for _ in range(100):
            try:
                client.ping()
                return
            except redis.RedisError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def kill():
        procs[-1].send_signal(signal.SIGKILL)
        procs[-1].wait(timeout=10)

    begin()
    yield f"redis://127.0.0.1:{port}/0", kill, begin
    for proc in procs:
        if proc.poll() is None:
            proc.terminate()
            proc.wait(timeout=10)


def test_redis_killed_loses_nothing_it_acknowledged(app, db, company, own_redis):
    from storefront.queue import redis_connection

    url, kill, restart = own_redis
    app.config.update(REDIS_URL=url, VISIT_BUFFER="auto")
    buffer.reset_state()
    make_page(company, [make_product(company)])
    try:
        for _ in range(3):
            assert app.test_client().get("/lp/summer-sale").status_code == 200
        assert counts(db) == (0, 0)  # auto trusted this Redis: its AOF is fsynced on every write

        kill()
        for _ in range(2):  # Redis down: direct writes, never an error
            assert app.test_client().get("/lp/summer-sale").status_code == 200
        assert counts(db) == (2, 2)

        restart()
        buffer.reset_state()
        assert flush_buffer(redis_connection()) == 3
        assert counts(db) == (5, 5)
    finally:
        buffer.reset_state()


def _card(base: str) -> str:
    """A test card tokenised at localstripe, as Stripe.js does in the browser."""
    import json
    import urllib.parse
    import urllib.request

    body = urllib.parse.urlencode({"card[number]": "4242424242424242", "card[exp_month]": "12",
                                   "card[exp_year]": "2034", "card[cvc]": "123",
                                   "key": "pk_test_localstripe"}).encode()
    with urllib.request.urlopen(base + "/v1/tokens", data=body, timeout=5) as response:
        return json.load(response)["card"]["id"]


def test_an_order_paid_before_the_flush_carries_the_visits_attribution(client, db, company, buffered, localstripe,
                                                                        smtp, run_jobs):
    from factories import csrf_token

    from storefront.checkout.models import Order

    hoodie = make_product(company, "Hoodie", price_cents=4500, variants=[{"Size": "S"}, {"Size": "M"}])
    page = make_page(company, [hoodie], slug="spring-sale")
    landed = client.get("/lp/spring-sale?utm_source=ads&utm_medium=cpc&utm_campaign=spring")
    assert landed.status_code == 200
    assert counts(db) == (0, 0) and buffered.xlen(buffer.STREAM) == 1  # nothing flushed

    token = csrf_token(client)
    added = client.post("/cart/add", data={"variant_id": hoodie.variants[1].id, "quantity": 1},
                        headers={"X-CSRFToken": token, "HX-Request": "true"})
    assert added.status_code == 200
    client.get("/checkout")
    paid = client.post("/checkout/pay", headers={"Accept": "application/json"}, data={
        "csrf_token": token, "email": "ada@example.com", "phone": "+1 512 555 0134", "first_name": "Ada",
        "last_name": "Lovelace", "address1": "1 Analytical Way", "city": "Austin", "postcode": "78701",
        "country": "US", "card_id": _card(localstripe)})

    assert paid.status_code == 200 and paid.get_json()["status"] == "succeeded", paid.get_json()
    assert buffered.xlen(buffer.STREAM) == 1  # the page_view is still waiting for the flush
    order = db.session.execute(db.select(Order)).scalar_one()
    assert (order.landing_page_id, order.source_type) == (page.id, "LANDING_PAGE")
    assert (order.utm_source, order.utm_medium, order.utm_campaign) == ("ads", "cpc", "spring")
    assert [line.variant_title for line in order.lines] == ["M"]
    assert flush_buffer(buffered) == 1
    assert counts(db) == (1, 1)
