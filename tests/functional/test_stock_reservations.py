"""Pay holds the cart's stock before any charge: others are not offered held units (badges,
add to cart), a shopper who cannot have them hears which item sold out and is not charged,
and a second click or a changed cart holds once."""
from __future__ import annotations

import pytest
from factories import csrf_token, make_page, make_product
from test_checkout import ADDRESS, card_token

from storefront.cart.models import Cart
from storefront.catalog.models import StockReservation, Variant
from storefront.checkout.models import Order

HX = {"HX-Request": "true"}


@pytest.fixture()
def tee(db, company):
    product = make_product(company, "Classic Tee", price_cents=2000, stock=3)
    make_page(company, [product])
    return product.variants[0]


class Shopper:
    """One browser: its own cookies, visit and cart."""

    def __init__(self, app, email="ada@example.com"):
        self.client = app.test_client()
        self.client.get("/lp/summer-sale")
        self.csrf = csrf_token(self.client, "/lp/summer-sale")
        self.email = email

    def add(self, variant, quantity=1):
        return self.client.post("/cart/add", data={"variant_id": variant.id, "quantity": quantity},
                                headers={"X-CSRFToken": self.csrf, **HX})

    def pay(self, card_id=""):
        form = {"csrf_token": self.csrf, "email": self.email, **ADDRESS}
        if card_id:
            form["card_id"] = card_id
        return self.client.post("/checkout/pay", data=form, headers={"Accept": "application/json"})

    def cart(self, db) -> Cart:
        db.session.expire_all()
        token = self.client.get_cookie("sf_cart").value
        return db.session.execute(db.select(Cart).filter_by(token=token)).scalar_one()


def holds(db) -> list[StockReservation]:
    db.session.expire_all()
    return list(db.session.execute(db.select(StockReservation).order_by(StockReservation.id)).scalars())


def test_held_units_are_not_offered_to_other_shoppers(app, db, tee):
    holder, other = Shopper(app), Shopper(app, "bob@example.com")
    holder.add(tee, 2)
    assert holder.pay().get_json()["status"] == "requires_payment_method"  # paying: 2 of 3 held

    assert "Only 1 left" in other.client.get("/lp/summer-sale").get_data(as_text=True)
    refused = other.add(tee, 2)
    assert refused.status_code == 422
    assert "Only 1 of Classic Tee left in stock." in refused.get_data(as_text=True)
    assert other.add(tee, 1).status_code == 200
    # The holder's own hold is theirs: their cart is not short of stock.
    drawer = holder.client.get("/cart", headers=HX).get_data(as_text=True)
    assert "less stock than you asked for" not in drawer
    db.session.expire_all()
    assert db.session.get(Variant, tee.id).stock == 3  # held, not sold


def test_every_unit_held_shows_out_of_stock(app, db, tee):
    holder = Shopper(app)
    holder.add(tee, 3)
    holder.pay()

    page = Shopper(app, "bob@example.com").client.get("/lp/summer-sale").get_data(as_text=True)
    assert "Out of stock" in page and "Only" not in page


def test_pay_says_which_item_sold_out_before_any_charge(app, db, company, tee, localstripe):
    tee_stock = db.session.get(Variant, tee.id)
    tee_stock.stock = 1
    db.session.commit()
    first, second = Shopper(app), Shopper(app, "bob@example.com")
    first.add(tee)
    second.add(tee)  # both carts took the last unit while no one was paying
    assert first.pay().status_code == 200  # holds it

    response = second.pay(card_token(localstripe))

    assert response.status_code == 409
    body = response.get_json()
    assert "Classic Tee sold out" in body["error"] and "Nothing was charged" in body["error"]
    assert body["sold_out"] == [tee.id]
    assert second.cart(db).payment_intent_id is None  # no PaymentIntent was even made
    assert first.pay(card_token(localstripe)).get_json()["status"] == "succeeded"
    assert [order.status for order in db.session.execute(db.select(Order)).scalars()] == ["PAID"]
    db.session.expire_all()
    assert db.session.get(Variant, tee.id).stock == 0 and holds(db) == []


def test_a_second_click_reuses_the_hold_and_the_payment_intent(app, db, tee):
    shopper = Shopper(app)
    shopper.add(tee, 2)
    first = shopper.pay().get_json()
    [hold] = holds(db)

    again = shopper.pay().get_json()

    [extended] = holds(db)
    assert extended.id == hold.id and extended.quantity == 2
    assert extended.expires_at >= hold.expires_at
    assert again["payment_intent"] == first["payment_intent"]


def test_a_changed_cart_re_reserves(app, db, tee):
    shopper = Shopper(app)
    shopper.add(tee, 1)
    shopper.pay()
    shopper.add(tee, 1)  # back in the drawer: one more

    assert shopper.pay().status_code == 200

    [hold] = holds(db)
    assert hold.quantity == 2 and hold.cart_version == shopper.cart(db).version


def test_untracked_items_are_paid_without_a_hold(app, db, company, localstripe):
    sticker = make_product(company, "Sticker", price_cents=300)
    make_page(company, [sticker])
    shopper = Shopper(app)
    shopper.add(sticker.variants[0], 4)

    assert shopper.pay(card_token(localstripe)).get_json()["status"] == "succeeded"
    assert holds(db) == []
