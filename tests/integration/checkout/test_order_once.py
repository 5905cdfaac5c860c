"""complete_order makes exactly one order when the webhook and the shopper's return race.
PostgreSQL only: SQLite ignores FOR UPDATE."""
from __future__ import annotations

import threading

import pytest
from factories import make_product

from storefront.cart.models import Cart, LineItem
from storefront.checkout.models import Order
from storefront.checkout.orders import complete_order


@pytest.mark.postgres
def test_concurrent_completions_make_one_order_and_take_stock_once(app, db, company, is_postgres):
    if not is_postgres:
        pytest.skip("needs PostgreSQL (TEST_DATABASE_URL): SQLite ignores FOR UPDATE")
    product = make_product(company, "Mug", price_cents=1200, stock=10)
    cart = Cart(token="c" * 43, company_id=company.id, currency="USD", checkout_fields={"email": "a@example.com"})
    db.session.add(cart)
    db.session.flush()
    db.session.add(LineItem(cart_id=cart.id, variant_id=product.variants[0].id, quantity=3, unit_price_cents=1200))
    db.session.commit()
    cart_id, variant = cart.id, product.variants[0]

    results, errors = [], []
    barrier = threading.Barrier(8)

    def complete():
        with app.app_context():
            try:
                barrier.wait()
                order, created = complete_order(cart_id, amount_paid_cents=3600, currency="usd",
                                                payment_intent_id="pi_race")
                results.append((order.id, created))
            except Exception as error:  # collected and asserted below
                errors.append(error)

    threads = [threading.Thread(target=complete) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert len({order_id for order_id, _ in results}) == 1
    assert sum(created for _, created in results) == 1
    assert db.session.execute(db.select(db.func.count(Order.id))).scalar() == 1
    db.session.refresh(variant)
    assert variant.stock == 7
