"""30 shoppers race for the last 3 units through the real pay endpoint, over HTTP, each from
its own browser session, paying with a tokenised 4242 card at localstripe. Pay holds the
stock before any charge, so 3 are charged and get PAID orders, and the 27 others are told
the item sold out without ever being charged (none charged and then refunded).

PostgreSQL only: SQLite ignores FOR UPDATE. Run with -s for the figures.
"""
from __future__ import annotations

import http.cookiejar
import json
import re
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter

import pytest
from factories import make_page, make_product
from test_checkout import ADDRESS, card_token

from storefront.cart.models import Cart
from storefront.catalog.models import StockReservation, Variant
from storefront.checkout.models import Order
from storefront.payments.models import StripeEvent

pytestmark = pytest.mark.postgres

BUYERS, UNITS = 30, 3


class Browser:
    """One shopper's browser against the live server: its own cookie jar, hence its own
    visit, CSRF session and cart."""

    def __init__(self, base: str):
        self.base = base
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        self.csrf = ""

    def get(self, path: str) -> str:
        with self.opener.open(self.base + path, timeout=30) as response:
            return response.read().decode()

    def post(self, path: str, form: dict, headers: dict | None = None) -> tuple[int, str]:
        request = urllib.request.Request(self.base + path, data=urllib.parse.urlencode(form).encode(),
                                         headers=headers or {})
        try:
            with self.opener.open(request, timeout=60) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:  # 4xx/5xx answers are results here
            return error.code, error.read().decode()


def shop_for(base: str, variant_id: int, n: int) -> Browser:
    """A shopper who landed, put the item in the cart and opened the checkout."""
    browser = Browser(base)
    page = browser.get("/lp/summer-sale")
    browser.csrf = re.search(r'"X-CSRFToken": "([^"]+)"', page).group(1)
    status, _ = browser.post("/cart/add", {"variant_id": variant_id, "quantity": 1},
                             {"X-CSRFToken": browser.csrf, "HX-Request": "true"})
    assert status == 200
    browser.get("/checkout")
    browser.email = f"buyer{n}@example.com"
    return browser


def stripe_intents(base: str) -> list[dict]:
    request = urllib.request.Request(f"{base}/v1/payment_intents?limit=100000",
                                     headers={"Authorization": "Bearer sk_test_localstripe"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)["data"]


def test_thirty_buyers_for_three_units_three_paid_none_refunded(app, db, company, is_postgres, localstripe,
                                                                  live_server):
    if not is_postgres:
        pytest.skip("needs PostgreSQL (TEST_DATABASE_URL): SQLite ignores FOR UPDATE")
    product = make_product(company, "Last Three Tee", price_cents=2500, stock=UNITS)
    make_page(company, [product])
    variant_id = product.variants[0].id
    browsers = [shop_for(live_server, variant_id, n) for n in range(BUYERS)]
    cards = [card_token(localstripe) for _ in browsers]
    # localstripe lives for the whole session and ids restart per test: the race's intents
    # are the ones that appear during it.
    before = {intent["id"] for intent in stripe_intents(localstripe)}
    answers: list[tuple[int, dict]] = []
    barrier = threading.Barrier(BUYERS)

    def pay(browser: Browser, card_id: str) -> None:
        form = {"csrf_token": browser.csrf, "email": browser.email, **ADDRESS, "card_id": card_id}
        barrier.wait()
        status, body = browser.post("/checkout/pay", form, {"Accept": "application/json"})
        answers.append((status, json.loads(body)))

    threads = [threading.Thread(target=pay, args=pair) for pair in zip(browsers, cards, strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    db.session.expire_all()
    carts = {cart.id: cart for cart in db.session.execute(db.select(Cart)).scalars()}
    orders = Counter(order.status for order in db.session.execute(db.select(Order)).scalars())
    ours = [intent for intent in stripe_intents(localstripe) if intent["id"] not in before]
    charged = [intent for intent in ours if intent["status"] == "succeeded"]
    sold_out = [body for status, body in answers if status == 409 and "sold out" in body.get("error", "")]
    paid = [body for status, body in answers if status == 200 and body.get("status") == "succeeded"]
    refunded = orders["REFUND_PENDING"] + orders["REFUNDED"]
    stock = db.session.get(Variant, variant_id).stock
    print(f"\n{BUYERS} buyers for {UNITS} units over HTTP: answers {dict(Counter(s for s, _ in answers))}; "
          f"orders {dict(orders)}; PaymentIntents made {len(ours)}, succeeded (charged) {len(charged)}; "
          f"charged and refunded {refunded}; told sold out {len(sold_out)}; stock left {stock}")

    assert len(answers) == BUYERS
    assert len(paid) == UNITS and orders == {"PAID": UNITS}
    assert len(charged) == UNITS and refunded == 0
    assert len(sold_out) == BUYERS - UNITS
    assert all("Last Three Tee sold out" in body["error"] and "Nothing was charged" in body["error"]
               for body in sold_out)
    # The 27 never reached Stripe: their carts have no PaymentIntent at all.
    assert {cart.payment_intent_id for cart in carts.values() if cart.payment_intent_id} == {i["id"] for i in ours}
    assert len(ours) == UNITS
    assert stock == 0
    assert db.session.execute(db.select(StockReservation)).scalars().all() == []
    _webhooks_change_nothing(db, UNITS)


def _webhooks_change_nothing(db, expected: int) -> None:
    """localstripe delivers payment_intent.succeeded to the live server meanwhile; once all
    have arrived (a bounded wait for its asynchronous delivery, not a timing assertion), the
    orders are still the same."""
    import time

    deadline = time.monotonic() + 30
    delivered = 0
    while delivered < expected and time.monotonic() < deadline:
        db.session.rollback()
        delivered = db.session.execute(
            db.select(db.func.count(StripeEvent.id)).filter_by(type="payment_intent.succeeded")
        ).scalar()
        time.sleep(0.1)
    assert delivered == expected, "localstripe did not deliver every webhook"
    statuses = Counter(status for (status,) in db.session.execute(db.select(Order.status)))
    assert statuses == {"PAID": expected}
