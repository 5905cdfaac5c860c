"""Personalisation: the cart drawer's "Frequently bought together" (issue 13 §4), from the
nightly co-purchase count. Shown only with real data (pairs of two paid orders or more,
products buyable now, not in the cart); each offer adds to the cart over htmx and as a plain
form."""
from __future__ import annotations

import re
from datetime import timedelta

from factories import csrf_token, make_order, make_page, make_product

from storefront.cart.models import Cart
from storefront.checkout.co_purchase import rebuild_all
from storefront.types import utcnow

HX = {"HX-Request": "true"}
TITLE = "Frequently bought together"


def shop(db, company, bought_twice=True):
    tee = make_product(company, "Classic Tee", price_cents=2000)
    cap = make_product(company, "Sun Cap", price_cents=1500)
    mug = make_product(company, "Camp Mug", price_cents=900)
    make_page(company, [tee, cap, mug])
    yesterday = utcnow() - timedelta(days=1)
    make_order(company, [tee, cap], at=yesterday)
    make_order(company, [tee, mug], at=yesterday)
    if bought_twice:
        make_order(company, [tee, cap], at=yesterday)
    rebuild_all()
    return tee, cap, mug


def add(client, variant_id, headers=None):
    token = csrf_token(client, "/lp/summer-sale")
    return client.post("/cart/add", data={"variant_id": variant_id, "quantity": "1"},
                       headers={"X-CSRFToken": token, **(headers or {})})


def together_block(html: str) -> str:
    found = re.search(r'<section class="upsell together".*?</section>', html, re.S)
    return found.group(0) if found else ""


def test_the_drawer_offers_what_was_bought_together_over_htmx(client, db, company):
    tee, cap, mug = shop(db, company)

    response = add(client, tee.variants[0].id, HX)

    assert response.status_code == 200
    block = together_block(response.get_data(as_text=True))
    assert TITLE in block and "Sun Cap" in block
    assert f'name="variant_id" value="{cap.variants[0].id}"' in block and 'action="/cart/add"' in block
    assert "Camp Mug" not in block  # one order together is chance, not a pattern


def test_without_javascript_the_cart_page_offers_it_and_its_form_adds(client, db, company):
    tee, cap, _ = shop(db, company)
    assert add(client, tee.variants[0].id).status_code == 303

    page = client.get("/cart").get_data(as_text=True)
    assert "Sun Cap" in together_block(page)
    token = re.search(r'name="csrf_token" value="([^"]+)"', together_block(page)).group(1)
    added = client.post("/cart/add", data={"csrf_token": token, "variant_id": cap.variants[0].id, "quantity": "1"})

    assert added.status_code == 303
    cart = db.session.query(Cart).one()
    assert sorted(line.variant_id for line in cart.lines) == sorted([tee.variants[0].id, cap.variants[0].id])
    # Now in the cart: no longer offered, and nothing else has real data.
    assert TITLE not in client.get("/cart").get_data(as_text=True)


def test_nothing_is_shown_without_real_data(client, db, company):
    tee, _, _ = shop(db, company, bought_twice=False)

    assert TITLE not in add(client, tee.variants[0].id, HX).get_data(as_text=True)
    assert TITLE not in client.get("/cart").get_data(as_text=True)


def test_a_partner_that_cannot_be_bought_now_is_not_offered(client, db, company):
    tee, cap, _ = shop(db, company)
    cap.published = False
    db.session.commit()

    assert TITLE not in add(client, tee.variants[0].id, HX).get_data(as_text=True)
