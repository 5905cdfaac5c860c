"""Cart lifecycle: the abandonment and expiry jobs (one indexed UPDATE each, idempotent, run
through RQ's cron table), an abandoned cart that its shopper takes up again, and merging an
earlier open cart by email (summed, capped at stock and 99, once under concurrency)."""
from __future__ import annotations

import json
import threading
from datetime import timedelta

import pytest
from factories import csrf_token, make_page, make_product
from sqlalchemy import insert, text

from storefront.accounts.models import Company
from storefront.cart.lifecycle import (
    abandon_idle_carts,
    abandonment_statement,
    expire_stale_carts,
    expiry_statement,
    merge_open_carts,
)
from storefront.cart.models import Cart, LineItem
from storefront.checkout import hooks
from storefront.leads.models import Lead
from storefront.types import new_token, utcnow

HX = {"HX-Request": "true"}
NEEDS_PG = "needs PostgreSQL (TEST_DATABASE_URL): SQLite ignores FOR UPDATE and has no EXPLAIN of ours"


def make_cart(db, company, lines=(), fields=None, status="ACTIVE", age=timedelta(0)) -> Cart:
    """A cart last changed ``age`` ago, with (variant, quantity) ``lines``."""
    when = utcnow() - age
    cart = Cart(token=new_token(), company_id=company.id, currency=company.currency, status=status,
                checkout_fields=fields or {}, created_at=when, updated_at=when)
    db.session.add(cart)
    db.session.flush()
    for variant, quantity in lines:
        db.session.add(LineItem(cart_id=cart.id, variant_id=variant.id, quantity=quantity,
                                unit_price_cents=variant.price_cents))
    db.session.commit()
    return cart


def status_of(db, cart) -> str:
    return db.session.execute(text("SELECT status FROM carts WHERE id = :i"), {"i": cart.id}).scalar_one()


def lines_of(db, cart) -> dict[int, int]:
    rows = db.session.execute(db.select(LineItem.variant_id, LineItem.quantity).filter_by(cart_id=cart.id))
    return dict(rows.all())


@pytest.fixture()
def tee(company):
    return make_product(company, "Classic Tee", price_cents=2000, stock=5).variants[0]


@pytest.fixture()
def cap(company):
    # Not tracked ("continue selling"): only the 99 limit applies.
    return make_product(company, "Cap", price_cents=1500).variants[0]


# ---- The jobs ------------------------------------------------------------------------------

def test_abandonment_marks_idle_carts_with_contact_and_lines_only(db, company, tee):
    hour = timedelta(minutes=61)
    due = make_cart(db, company, [(tee, 1)], {"email": "ada@example.com"}, age=hour)
    phone_only = make_cart(db, company, [(tee, 1)], {"phone": "+15125550100"}, age=hour)
    anonymous = make_cart(db, company, [(tee, 1)], {"first_name": "Ada"}, age=hour)
    empty = make_cart(db, company, [], {"email": "empty@example.com"}, age=hour)
    recent = make_cart(db, company, [(tee, 1)], {"email": "new@example.com"}, age=timedelta(minutes=19))
    paid = make_cart(db, company, [(tee, 1)], {"email": "paid@example.com"}, status="CONVERTED", age=hour)
    before = db.session.get(Cart, due.id).updated_at

    assert abandon_idle_carts() == 2
    assert abandon_idle_carts() == 0  # idempotent

    db.session.expire_all()
    assert [status_of(db, c) for c in (due, phone_only, anonymous, empty, recent, paid)] == [
        "ABANDONED", "ABANDONED", "ACTIVE", "ACTIVE", "ACTIVE", "CONVERTED"]
    # The job is not the shopper: updated_at still says when they last changed the cart.
    assert db.session.get(Cart, due.id).updated_at == before


def test_abandonment_delay_comes_from_the_config(app, db, company, tee):
    app.config["CART_ABANDON_MINUTES"] = 10
    cart = make_cart(db, company, [(tee, 1)], {"email": "ada@example.com"}, age=timedelta(minutes=11))

    assert abandon_idle_carts() == 1
    assert status_of(db, cart) == "ABANDONED"


def test_expiry_marks_open_carts_older_than_the_limit(app, db, company, tee):
    month = timedelta(days=31)
    active = make_cart(db, company, [(tee, 1)], age=month)
    abandoned = make_cart(db, company, [(tee, 1)], {"email": "a@example.com"}, status="ABANDONED", age=month)
    young = make_cart(db, company, [(tee, 1)], age=timedelta(days=29))
    done = [make_cart(db, company, [(tee, 1)], status=s, age=month) for s in ("CONVERTED", "MERGED")]

    assert expire_stale_carts() == 2
    assert expire_stale_carts() == 0

    assert [status_of(db, c) for c in (active, abandoned, young, *done)] == [
        "EXPIRED", "EXPIRED", "ACTIVE", "CONVERTED", "MERGED"]
    app.config["CART_EXPIRE_DAYS"] = 7
    assert expire_stale_carts() == 1 and status_of(db, young) == "EXPIRED"


def _explain(db, statement) -> str:
    """PostgreSQL's plan for ``statement`` (EXPLAIN only plans: nothing is changed)."""
    compiled = statement.compile(dialect=db.engine.dialect, compile_kwargs={"render_postcompile": True})
    rows = db.session.connection().exec_driver_sql("EXPLAIN " + str(compiled), compiled.params).scalars().all()
    db.session.rollback()
    return "\n".join(rows)


def test_both_jobs_use_the_status_updated_index(db, company, tee, is_postgres):
    if not is_postgres:
        pytest.skip(NEEDS_PG)
    # A realistic table: most carts are finished (converted, expired), a few are open.
    now = utcnow()
    finished = [{"token": new_token(), "company_id": company.id, "currency": "USD", "version": 1,
                 "status": ("CONVERTED", "EXPIRED", "MERGED")[n % 3], "source_type": "DIRECT",
                 "checkout_fields": {"email": f"b{n}@example.com"}, "created_at": now - timedelta(days=n % 90),
                 "updated_at": now - timedelta(days=n % 90)} for n in range(6000)]
    db.session.execute(insert(Cart), finished)
    for n in range(40):
        make_cart(db, company, [(tee, 1)], {"email": f"o{n}@example.com"}, age=timedelta(minutes=n * 7))
    db.session.execute(text("ANALYZE carts"))
    db.session.commit()

    plans = {"abandon": _explain(db, abandonment_statement(now - timedelta(hours=1))),
             "expire": _explain(db, expiry_statement(now - timedelta(days=30)))}

    print("\n" + "\n\n".join(f"EXPLAIN ({name}):\n{plan}" for name, plan in plans.items()))
    for plan in plans.values():
        assert "ix_carts_status_updated" in plan, plan
        assert "Seq Scan on carts" not in plan, plan


def test_the_cron_table_declares_the_jobs_for_rq(app):
    from redis import Redis
    from rq.cron import CronScheduler

    scheduler = CronScheduler(connection=Redis.from_url("redis://127.0.0.1:1"))  # never contacted
    scheduler.load_config_from_file("storefront.cron")

    jobs = {job.func_name: job for job in scheduler.get_jobs()}
    # The table is shared: other domains' jobs may sit beside these two.
    assert {"storefront.cron.abandon_carts", "storefront.cron.expire_carts"} <= set(jobs)
    assert jobs["storefront.cron.abandon_carts"].interval == 60  # recovery starts on time
    assert jobs["storefront.cron.expire_carts"].interval == 3600
    assert all(job.queue_name == "default" and not job.args and not job.kwargs for job in jobs.values())


def test_cron_enqueues_the_jobs_and_the_worker_runs_them(app, db, company, tee, queue, run_jobs):
    from rq.cron import CronScheduler

    from storefront.queue import redis_connection

    old = make_cart(db, company, [(tee, 1)], {"email": "ada@example.com"}, age=timedelta(days=40))
    idle = make_cart(db, company, [(tee, 1)], {"email": "bob@example.com"}, age=timedelta(hours=2))
    scheduler = CronScheduler(connection=redis_connection())
    scheduler.load_config_from_file("storefront.cron")

    enqueued = {job.func_name for job in scheduler.enqueue_jobs()}

    assert {"storefront.cron.abandon_carts", "storefront.cron.expire_carts"} <= enqueued
    assert queue.count == len(enqueued)
    assert run_jobs() == len(enqueued)
    db.session.expire_all()
    assert status_of(db, old) == "EXPIRED" and status_of(db, idle) == "ABANDONED"


def test_job_functions_build_their_own_app_outside_a_context(app, monkeypatch):
    import storefront
    import storefront.cron as cron_module

    built = []

    def fake_create_app():
        built.append(1)
        return app

    monkeypatch.setattr(storefront, "create_app", fake_create_app)
    monkeypatch.setattr(cron_module, "_app", None)
    monkeypatch.setattr(cron_module, "has_app_context", lambda: False)

    assert cron_module.expire_carts() == 0
    assert cron_module.abandon_carts() == 0
    assert built == [1]  # once per process


# ---- A shopper comes back to an abandoned cart ----------------------------------------------

def test_an_abandoned_cart_is_kept_and_becomes_active_on_the_next_change(client, db, company, tee, cap):
    make_page(company, [tee.product, cap.product])
    client.get("/lp/summer-sale")
    token = csrf_token(client, "/lp/summer-sale")
    client.post("/cart/add", data={"variant_id": tee.id}, headers={"X-CSRFToken": token, **HX})
    cart = db.session.execute(db.select(Cart)).scalar_one()
    cart.status = "ABANDONED"
    db.session.commit()

    page = client.get("/cart").get_data(as_text=True)
    assert "Classic Tee" in page
    assert status_of(db, cart) == "ABANDONED"  # looking changes nothing

    response = client.post("/cart/add", data={"variant_id": cap.id}, headers={"X-CSRFToken": token, **HX})

    assert response.status_code == 200
    assert db.session.execute(db.select(Cart)).scalar_one().id == cart.id
    assert status_of(db, cart) == "ACTIVE"
    assert lines_of(db, cart) == {tee.id: 1, cap.id: 1}


@pytest.mark.parametrize("status", ["EXPIRED", "MERGED", "CONVERTED"])
def test_a_finished_cart_is_not_used_again(client, db, company, tee, status):
    make_page(company, [tee.product])
    client.get("/lp/summer-sale")
    token = csrf_token(client, "/lp/summer-sale")
    client.post("/cart/add", data={"variant_id": tee.id}, headers={"X-CSRFToken": token, **HX})
    old = db.session.execute(db.select(Cart)).scalar_one()
    old.status = status
    db.session.commit()

    assert "Your cart is empty" in client.get("/cart").get_data(as_text=True)
    client.post("/cart/add", data={"variant_id": tee.id}, headers={"X-CSRFToken": token, **HX})
    assert db.session.execute(db.select(db.func.count()).select_from(Cart)).scalar() == 2


# ---- Merging ------------------------------------------------------------------------------

def test_merge_sums_lines_caps_them_and_marks_the_old_cart_merged(db, company, tee, cap):
    gone = make_product(company, "Old Mug", price_cents=900, stock=0).variants[0]
    old = make_cart(db, company, [(tee, 4), (cap, 60), (gone, 1)], {"email": "ada@example.com"},
                    status="ABANDONED", age=timedelta(days=2))
    current = make_cart(db, company, [(tee, 3), (cap, 50)], {"email": "ada@example.com"})
    version = current.version

    added = merge_open_carts(current, "ada@example.com")
    db.session.commit()

    # Tee: 3 + 4 capped at the 5 in stock; Cap: 50 + 60 capped at 99; the sold-out mug stays behind.
    assert added == 2 + 49
    assert lines_of(db, current) == {tee.id: 5, cap.id: 99}
    db.session.expire_all()
    merged = db.session.get(Cart, old.id)
    assert merged.status == "MERGED" and merged.merged_into_id == current.id
    assert db.session.get(Cart, current.id).version == version + 1
    assert merge_open_carts(db.session.get(Cart, current.id), "ada@example.com") == 0


def test_merge_adds_new_lines_at_their_first_price_and_reactivates(db, company, tee, cap):
    old = make_cart(db, company, [(cap, 2)], {"email": "ada@example.com"})
    current = make_cart(db, company, [(tee, 1)], {"email": "ada@example.com"}, status="ABANDONED")
    db.session.execute(text("UPDATE line_items SET unit_price_cents = 1000 WHERE cart_id = :c"), {"c": old.id})
    db.session.commit()

    assert merge_open_carts(current, "ada@example.com") == 2
    db.session.commit()

    line = db.session.execute(db.select(LineItem).filter_by(cart_id=current.id, variant_id=cap.id)).scalar_one()
    assert line.quantity == 2 and line.unit_price_cents == 1000  # the cart will say the price changed
    assert status_of(db, current) == "ACTIVE"


def test_merge_finds_the_old_cart_through_the_lead(db, company, tee):
    old = make_cart(db, company, [(tee, 1)], {"phone": "+15125550100"})
    db.session.add(Lead(company_id=company.id, email="ada@example.com", cart_id=old.id))
    db.session.commit()
    current = make_cart(db, company, [], {})
    # Checkout asks the domains above it (leads, through its hook table) for such carts.
    known = hooks.collect(hooks.carts_of_email, company.id, "ada@example.com")

    assert known == [old.id]
    assert merge_open_carts(current, "ada@example.com", known) == 1
    db.session.commit()
    assert status_of(db, old) == "MERGED"


def test_merge_leaves_other_merchants_finished_and_other_shoppers_carts(db, company, tee):
    other = Company(name="Other", slug="other", currency="USD")
    db.session.add(other)
    db.session.commit()
    foreign_tee = make_product(other, "Foreign Tee", handle="foreign").variants[0]
    foreign = make_cart(db, other, [(foreign_tee, 1)], {"email": "ada@example.com"})
    finished = [make_cart(db, company, [(tee, 1)], {"email": "ada@example.com"}, status=s)
                for s in ("CONVERTED", "EXPIRED", "MERGED")]
    stranger = make_cart(db, company, [(tee, 1)], {"email": "bob@example.com"})
    current = make_cart(db, company, [], {"email": "ada@example.com"})

    assert merge_open_carts(current, "ada@example.com") == 0
    db.session.commit()
    assert lines_of(db, current) == {}
    assert [status_of(db, c) for c in (foreign, *finished, stranger)] == [
        "ACTIVE", "CONVERTED", "EXPIRED", "MERGED", "ACTIVE"]


def _device(app, email, lines):
    """A shopper on a device of their own: visits the page, adds ``lines``, types ``email``."""
    client = app.test_client()
    client.get("/lp/summer-sale")
    token = csrf_token(client, "/lp/summer-sale")
    headers = {"X-CSRFToken": token, **HX}
    for variant, quantity in lines:
        client.post("/cart/add", data={"variant_id": variant.id, "quantity": quantity}, headers=headers)
    response = client.post("/checkout/field/email", data={"email": email}, headers=headers)
    return client, headers, response


def test_second_device_email_merges_the_first_devices_cart_with_a_notice(app, db, company, tee, cap):
    make_page(company, [tee.product, cap.product])
    first, _, _ = _device(app, "ada@example.com", [(tee, 2)])
    first_cart = db.session.execute(db.select(Cart)).scalar_one()

    second, headers, response = _device(app, "ada@example.com", [(tee, 1), (cap, 1)])

    assert response.status_code == 200
    assert json.loads(response.headers["HX-Trigger"])["toast"]["message"] == "We added 2 items from your earlier cart."
    html = response.get_data(as_text=True)
    assert 'id="cart-status" hx-swap-oob="innerHTML">We added 2 items' in html
    second_cart = db.session.execute(db.select(Cart).where(Cart.id != first_cart.id)).scalar_one()
    assert lines_of(db, second_cart) == {tee.id: 3, cap.id: 1}
    assert status_of(db, first_cart) == "MERGED"
    assert "Your cart is empty" in first.get("/cart").get_data(as_text=True)
    # Typing the same email again merges nothing more and says nothing.
    again = second.post("/checkout/field/email", data={"email": "ada@example.com"}, headers=headers)
    assert "toast" not in again.headers.get("HX-Trigger", "")


def test_no_js_checkout_merges_and_flashes_the_notice(app, db, company, tee):
    make_page(company, [tee.product])
    _device(app, "ada@example.com", [(tee, 1)])
    client = app.test_client()
    client.get("/lp/summer-sale")
    token = csrf_token(client, "/lp/summer-sale")
    client.post("/cart/add", data={"variant_id": tee.id, "csrf_token": token})

    response = client.post("/checkout", data={"email": "ada@example.com", "csrf_token": token})

    assert response.status_code == 422  # the rest of the form is still missing
    assert "We added 1 item from your earlier cart." in response.get_data(as_text=True)


def _race(app, jobs):
    """Run each (cart id, email) merge in its own thread and app context; returns results."""
    results, errors = [], []
    barrier = threading.Barrier(len(jobs))

    def merge(cart_id, email):
        from storefront.extensions import db as database

        with app.app_context():
            try:
                cart = database.session.get(Cart, cart_id)
                barrier.wait()
                results.append((cart_id, merge_open_carts(cart, email)))
                database.session.commit()
            except Exception as error:  # collected and asserted by the caller
                errors.append(error)
                database.session.rollback()

    threads = [threading.Thread(target=merge, args=job) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    return results


@pytest.mark.postgres
def test_two_concurrent_merges_of_the_same_carts_merge_once(app, db, company, cap, is_postgres):
    if not is_postgres:
        pytest.skip(NEEDS_PG)
    old = make_cart(db, company, [(cap, 2)], {"email": "ada@example.com"})
    current = make_cart(db, company, [(cap, 1)], {"email": "ada@example.com"})

    results = _race(app, [(current.id, "ada@example.com")] * 2)

    assert sorted(added for _, added in results) == [0, 2]
    db.session.expire_all()
    assert lines_of(db, current) == {cap.id: 3}
    assert status_of(db, old) == "MERGED" and db.session.get(Cart, current.id).version == 2


@pytest.mark.postgres
def test_two_devices_merging_each_other_at_once_keep_one_cart(app, db, company, cap, tee, is_postgres):
    if not is_postgres:
        pytest.skip(NEEDS_PG)
    one = make_cart(db, company, [(cap, 2)], {"email": "ada@example.com"})
    two = make_cart(db, company, [(tee, 1)], {"email": "ada@example.com"})

    results = _race(app, [(one.id, "ada@example.com"), (two.id, "ada@example.com")])

    db.session.expire_all()
    statuses = sorted([status_of(db, one), status_of(db, two)])
    assert statuses == ["ACTIVE", "MERGED"]
    survivor = one if status_of(db, one) == "ACTIVE" else two
    assert lines_of(db, survivor) == {cap.id: 2, tee.id: 1}
    assert sorted(added for _, added in results)[0] == 0


@pytest.mark.postgres
def test_a_double_submitted_email_at_checkout_merges_once(app, db, company, cap, is_postgres):
    if not is_postgres:
        pytest.skip(NEEDS_PG)
    from storefront.checkout.services import capture_field
    from storefront.extensions import db as database

    old = make_cart(db, company, [(cap, 2)], {"email": "ada@example.com"})
    current = make_cart(db, company, [(cap, 1)], {})
    errors, barrier = [], threading.Barrier(2)

    def type_email():
        with app.app_context():
            try:
                cart = database.session.get(Cart, current.id)
                barrier.wait()
                capture_field(cart, "email", "ada@example.com")
            except Exception as error:  # collected and asserted below
                errors.append(error)

    threads = [threading.Thread(target=type_email) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    db.session.expire_all()
    assert lines_of(db, current) == {cap.id: 3}
    assert status_of(db, old) == "MERGED"
    assert db.session.get(Cart, current.id).checkout_fields["email"] == "ada@example.com"
