"""Personalisation: "Recently viewed" on a landing page (issue 13 §4): the products of the
merchant's other pages this visitor viewed in a live visit, buyable now, each with an
add-to-cart form that works with and without htmx. Nothing for a first view, for another
shopper on the same cached page, or once those visits went idle."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from factories import make_page, make_product
from sqlalchemy import update

from storefront.accounts.models import Company
from storefront.cart.models import Cart
from storefront.types import utcnow
from storefront.visits.models import Visit

TITLE = "Recently viewed"


@pytest.fixture(autouse=True)
def _visits_written_at_once(app):
    app.config["VISIT_BUFFER"] = "off"  # the visit rows at once (a buffered one shows once flushed)


def shop(company):
    tee = make_product(company, "Classic Tee", price_cents=2000, variants=[{"Size": "S"}, {"Size": "M"}])
    cap = make_product(company, "Sun Cap", price_cents=1500)
    mug = make_product(company, "Camp Mug", price_cents=900)
    make_page(company, [tee, cap], slug="summer-sale")
    make_page(company, [mug, cap], slug="camping")
    return tee, cap, mug


def block(html: str) -> str:
    found = re.search(r'<section class="upsell recently-viewed".*?</section>', html, re.S)
    return found.group(0) if found else ""


def test_the_products_of_pages_viewed_in_this_visit_are_shown_again(client, db, company):
    tee, cap, mug = shop(company)
    first = client.get("/lp/summer-sale").get_data(as_text=True)
    assert TITLE not in first  # nothing viewed before

    shown = block(client.get("/lp/camping").get_data(as_text=True))

    assert TITLE in shown and "Classic Tee" in shown and "(S)" in shown
    assert f'name="variant_id" value="{tee.variants[0].id}"' in shown and 'action="/cart/add"' in shown
    assert "Sun Cap" not in shown and "Camp Mug" not in shown  # on the page being viewed
    # Another shopper on the same (cached) rendering of the page sees none of it.
    assert TITLE not in client.application.test_client().get("/lp/camping").get_data(as_text=True)


def test_its_form_adds_to_the_cart_without_and_with_htmx(client, db, company):
    tee, _, _ = shop(company)
    client.get("/lp/summer-sale")
    shown = block(client.get("/lp/camping").get_data(as_text=True))
    token = re.search(r'name="csrf_token" value="([^"]+)"', shown).group(1)
    form = {"csrf_token": token, "variant_id": str(tee.variants[0].id), "quantity": "1"}

    assert client.post("/cart/add", data=form).status_code == 303
    over_htmx = client.post("/cart/add", data=form, headers={"HX-Request": "true"})

    assert over_htmx.status_code == 200 and 'class="cart-line"' in over_htmx.get_data(as_text=True)
    line = db.session.query(Cart).one().lines[0]
    assert (line.variant_id, line.quantity) == (tee.variants[0].id, 2)


def test_nothing_unbuyable_idle_or_of_another_merchant(client, db, company):
    tee, _, _ = shop(company)
    other = Company(name="Other Goods", slug="other", currency="USD")
    db.session.add(other)
    db.session.commit()
    make_page(other, [make_product(other, "Their Lamp")], slug="their-page")

    client.get("/lp/their-page")
    client.get("/lp/summer-sale")
    tee.status = "draft"
    db.session.commit()
    assert TITLE not in client.get("/lp/camping").get_data(as_text=True)  # not buyable; not theirs

    tee.status = "active"
    db.session.commit()
    assert "Classic Tee" in block(client.get("/lp/camping").get_data(as_text=True))
    db.session.execute(update(Visit).values(last_activity_at=utcnow() - timedelta(minutes=31)))
    db.session.commit()
    assert TITLE not in client.get("/lp/camping").get_data(as_text=True)  # those visits are over
