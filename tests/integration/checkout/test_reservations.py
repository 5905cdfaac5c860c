"""Stock held while a shopper pays: reserve, extend, re-reserve, expire, release, convert;
what other carts can buy; and, on PostgreSQL, two carts racing for the last unit."""
from __future__ import annotations

import threading
from datetime import timedelta
from itertools import count

import pytest
from factories import make_product

from storefront.cart.models import Cart, LineItem
from storefront.cart.services import cart_info, touch
from storefront.catalog.models import StockReservation, Variant
from storefront.checkout.models import Order
from storefront.checkout.orders import complete_order
from storefront.checkout.reservations import (
    SoldOut,
    release_cart,
    release_expired,
    reserve_cart,
    take_reserved_stock,
)
from storefront.types import utcnow

_tokens = count()


def make_cart(db, company, *lines) -> Cart:
    """A cart with ``lines`` of (variant, quantity)."""
    cart = Cart(token=f"hold-{next(_tokens):05d}".ljust(43, "x"), company_id=company.id, currency="USD",
                checkout_fields={"email": "ada@example.com"})
    db.session.add(cart)
    db.session.flush()
    for variant, quantity in lines:
        db.session.add(LineItem(cart_id=cart.id, variant_id=variant.id, quantity=quantity,
                                unit_price_cents=variant.price_cents))
    db.session.commit()
    return cart


def holds(db, cart_id=None) -> list[StockReservation]:
    db.session.expire_all()
    query = db.select(StockReservation).order_by(StockReservation.variant_id)
    if cart_id is not None:
        query = query.filter_by(cart_id=cart_id)
    return list(db.session.execute(query).scalars())


def fresh(db, variant_id) -> Variant:
    db.session.expire_all()
    return db.session.get(Variant, variant_id)


@pytest.fixture()
def tee(company):
    return make_product(company, "Classic Tee", price_cents=2000, stock=3).variants[0]


def test_pay_holds_tracked_lines_for_the_configured_time(app, db, company, tee):
    app.config["STOCK_RESERVATION_MINUTES"] = 7
    untracked = make_product(company, "Sticker", price_cents=300).variants[0]
    cart = make_cart(db, company, (tee, 2), (untracked, 5))
    now = utcnow()

    expires_at = reserve_cart(cart, now=now)

    assert expires_at == now + timedelta(minutes=7)
    [hold] = holds(db, cart.id)  # the untracked line needs none
    assert (hold.variant_id, hold.quantity, hold.cart_version, hold.company_id) == (tee.id, 2, cart.version, company.id)
    assert hold.expires_at == expires_at


def test_a_cart_of_untracked_lines_holds_nothing(app, db, company):
    sticker = make_product(company, "Sticker", price_cents=300).variants[0]
    assert reserve_cart(make_cart(db, company, (sticker, 1))) is None
    assert holds(db) == []


def test_others_can_buy_stock_minus_active_holds_and_the_holder_keeps_its_own(app, db, company, tee):
    holder = make_cart(db, company, (tee, 2))
    other = make_cart(db, company, (tee, 2))

    reserve_cart(holder)

    assert fresh(db, tee.id).available == 1 and fresh(db, tee.id).in_stock
    assert fresh(db, tee.id).stock == 3  # nothing is sold yet
    assert cart_info(db.session.get(Cart, holder.id)).lines[0].available == 3
    mine = cart_info(db.session.get(Cart, other.id))
    assert mine.lines[0].available == 1 and mine.any_short_of_stock


def test_an_expired_hold_counts_nowhere(app, db, company, tee):
    holder = make_cart(db, company, (tee, 3))
    reserve_cart(holder, now=utcnow() - timedelta(minutes=11))  # held 10 minutes, 1 ago ran out

    assert fresh(db, tee.id).available == 3
    other = make_cart(db, company, (tee, 3))
    reserve_cart(other)
    assert [h.cart_id for h in holds(db) if h.expires_at > utcnow()] == [other.id]


def test_a_second_click_extends_the_same_hold(app, db, company, tee):
    cart = make_cart(db, company, (tee, 2))
    first_at = utcnow()
    reserve_cart(cart, now=first_at)
    [first] = holds(db, cart.id)

    reserve_cart(db.session.get(Cart, cart.id), now=first_at + timedelta(minutes=5))

    [again] = holds(db, cart.id)
    assert again.id == first.id and again.quantity == 2
    assert again.expires_at == first_at + timedelta(minutes=15)
    assert fresh(db, tee.id).available == 1  # held once, not twice


def test_a_changed_cart_re_reserves_its_new_lines(app, db, company, tee):
    mug = make_product(company, "Mug", price_cents=1200, stock=4).variants[0]
    cart = make_cart(db, company, (tee, 1), (mug, 1))
    reserve_cart(cart)
    cart = db.session.get(Cart, cart.id)
    old_version = cart.version
    db.session.delete(next(line for line in cart.lines if line.variant_id == mug.id))
    next(line for line in cart.lines if line.variant_id == tee.id).quantity = 3
    touch(cart)
    db.session.commit()

    reserve_cart(db.session.get(Cart, cart.id))

    [hold] = holds(db, cart.id)
    assert (hold.variant_id, hold.quantity) == (tee.id, 3)
    assert hold.cart_version == old_version + 1
    assert fresh(db, mug.id).available == 4 and fresh(db, tee.id).available == 0


def test_sold_out_names_the_item_and_changes_nothing(app, db, company, tee):
    hoodie = make_product(company, "Hoodie", price_cents=4500, variants=[{"Size": "S"}, {"Size": "M"}], stock=2)
    medium = hoodie.variants[1]
    holder = make_cart(db, company, (tee, 3), (medium, 1))
    reserve_cart(holder)
    late = make_cart(db, company, (tee, 1), (medium, 2))

    with pytest.raises(SoldOut) as refused:
        reserve_cart(late)

    assert str(refused.value) == ("Sorry, Classic Tee sold out while you were shopping; only 1 of Hoodie (M) "
                                  "left. Nothing was charged: please review your cart.")
    assert [(s.variant_id, s.wanted, s.available) for s in refused.value.shortages] == [(tee.id, 1, 0), (medium.id, 2, 1)]
    assert holds(db, late.id) == []
    assert [(h.variant_id, h.quantity) for h in holds(db, holder.id)] == [(tee.id, 3), (medium.id, 1)]


def test_a_failed_re_reserve_keeps_the_hold_it_had(app, db, company, tee):
    cart = make_cart(db, company, (tee, 1))
    reserve_cart(cart)
    reserve_cart(make_cart(db, company, (tee, 2)))  # the rest goes to someone else
    cart = db.session.get(Cart, cart.id)
    cart.lines[0].quantity = 2
    touch(cart)
    db.session.commit()

    with pytest.raises(SoldOut, match="only 1 of Classic Tee left"):
        reserve_cart(db.session.get(Cart, cart.id))

    assert [h.quantity for h in holds(db, cart.id)] == [1]


def paid(db, cart, amount=2000) -> Order:
    order, created = complete_order(cart.id, amount_paid_cents=amount, currency="usd",
                                    payment_intent_id=f"pi_hold_{cart.id}")
    assert created
    return order


def test_the_order_turns_the_hold_into_the_sale(app, db, company, tee):
    cart = make_cart(db, company, (tee, 3))
    reserve_cart(cart)

    order = paid(db, cart, 6000)

    assert order.status == "PAID"
    assert fresh(db, tee.id).stock == 0 and fresh(db, tee.id).available == 0
    assert holds(db) == []


def test_an_order_never_takes_another_carts_active_hold(app, db, company):
    last = make_product(company, "Last One", price_cents=2000, stock=1).variants[0]
    slow = make_cart(db, company, (last, 1))
    reserve_cart(slow, now=utcnow() - timedelta(minutes=11))  # paid too slowly: the hold ran out
    quick = make_cart(db, company, (last, 1))
    reserve_cart(quick)

    late_order = paid(db, slow)

    # The last resort: charged for stock that went meanwhile, so refunded; the holder keeps it.
    assert late_order.status == "REFUND_PENDING"
    assert fresh(db, last.id).stock == 1
    assert [h.cart_id for h in holds(db)] == [quick.id]
    assert paid(db, quick).status == "PAID"
    assert fresh(db, last.id).stock == 0


def test_an_expired_hold_still_sells_when_the_stock_is_there(app, db, company, tee):
    cart = make_cart(db, company, (tee, 2))
    reserve_cart(cart, now=utcnow() - timedelta(minutes=30))

    assert paid(db, cart, 4000).status == "PAID"
    assert fresh(db, tee.id).stock == 1 and holds(db) == []


def test_a_line_that_cannot_be_taken_puts_back_the_lines_taken_before_it(app, db, company):
    first = make_product(company, "First", price_cents=1000, stock=5).variants[0]
    second = make_product(company, "Second", price_cents=1000, stock=1).variants[0]
    other = make_cart(db, company, (second, 1))
    reserve_cart(other)

    assert take_reserved_stock(12345, {first.id: 2, second.id: 1}) is False
    db.session.commit()

    assert fresh(db, first.id).stock == 5 and fresh(db, second.id).stock == 1


def test_release_cart_is_idempotent(app, db, company, tee):
    cart = make_cart(db, company, (tee, 2))
    reserve_cart(cart)

    assert release_cart(cart.id) == 1
    assert release_cart(cart.id) == 0
    assert fresh(db, tee.id).available == 3


def test_the_cron_job_releases_expired_holds_only_and_twice_is_harmless(app, db, company, tee):
    mug = make_product(company, "Mug", price_cents=1200, stock=50).variants[0]
    now = utcnow()
    expired = [make_cart(db, company, (mug, 1)) for _ in range(5)]
    for n, cart in enumerate(expired):
        reserve_cart(cart, now=now - timedelta(minutes=11 + n))
    live = make_cart(db, company, (tee, 1))
    reserve_cart(live, now=now)

    assert release_expired(now=now, batch=2) == 5  # in batches of 2, 2 and 1
    assert release_expired(now=now) == 0
    assert [h.cart_id for h in holds(db)] == [live.id]
    assert release_expired(now=now + timedelta(minutes=10)) == 1  # its own end comes too


def test_the_cron_table_declares_the_release(app, db, company, tee):
    from storefront import cron

    assert cron.release_reservations in [job for job, _ in cron.JOBS]
    reserve_cart(make_cart(db, company, (tee, 1)), now=utcnow() - timedelta(hours=1))
    assert cron.release_reservations() == 1
    assert holds(db) == []


def _pay_from_a_thread(app, cart_id, barrier, results):
    with app.app_context():
        from storefront.extensions import db as database

        cart = database.session.get(Cart, cart_id)
        barrier.wait()
        try:
            reserve_cart(cart)
            results.append("held")
        except SoldOut:
            results.append("sold out")


@pytest.mark.postgres
def test_two_carts_racing_for_the_last_unit_make_one_hold(app, db, company, is_postgres):
    if not is_postgres:
        pytest.skip("needs PostgreSQL (TEST_DATABASE_URL): SQLite ignores FOR UPDATE")
    rounds, outcomes = 10, []
    for n in range(rounds):
        last = make_product(company, f"Last Unit {n}", price_cents=2000, stock=1).variants[0]
        cart_ids = [make_cart(db, company, (last, 1)).id for _ in range(2)]
        results, barrier = [], threading.Barrier(2)
        threads = [threading.Thread(target=_pay_from_a_thread, args=(app, cart_id, barrier, results))
                   for cart_id in cart_ids]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        outcomes.append(sorted(results))
        assert len(holds(db)) == n + 1  # exactly one hold per round
        assert fresh(db, last.id).available == 0
    assert outcomes == [["held", "sold out"]] * rounds


@pytest.mark.postgres
def test_two_release_runs_at_once_release_each_hold_once(app, db, company, is_postgres):
    if not is_postgres:
        pytest.skip("needs PostgreSQL (TEST_DATABASE_URL): SQLite ignores FOR UPDATE")
    mug = make_product(company, "Mug", price_cents=1200, stock=500).variants[0]
    past = utcnow() - timedelta(minutes=20)
    for _ in range(60):
        reserve_cart(make_cart(db, company, (mug, 1)), now=past)
    counts, barrier = [], threading.Barrier(2)

    def tick():
        with app.app_context():
            barrier.wait()
            counts.append(release_expired(batch=7))

    threads = [threading.Thread(target=tick) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sum(counts) == 60 and holds(db) == []
