"""The carts admin at /admin/carts: the list with its filters (status; abandoned = last
updated over 24 h ago and not converted; landing page; UTM campaign), sort, pages and a
statement count that does not grow with the rows; the detail page with lines, totals as
checkout prices them, the visit and its attribution, and the order; tenancy (another
merchant's cart answers 404).
"""
from __future__ import annotations

import html
import re
from datetime import timedelta

import pytest
from factories import make_page, make_product, make_promotion, make_zone
from sqlalchemy import event

from storefront.accounts.models import Company
from storefront.cart.models import Cart, LineItem
from storefront.cart.services import cart_info
from storefront.checkout.orders import complete_order
from storefront.pricing.context import price_cart
from storefront.pricing.models import TaxRate
from storefront.types import new_token, utcnow
from storefront.visits.models import Visit

HX = {"HX-Request": "true"}


@pytest.fixture()
def tee(company):
    return make_product(company, "Classic Tee", price_cents=2000, stock=100)


def visit(db, company, page=None, campaign=None, **utm) -> Visit:
    found = Visit(token=new_token(), company_id=company.id, landing_page_id=page.id if page else None,
                  visitor_id=new_token(), utm_campaign=campaign, **utm)
    db.session.add(found)
    db.session.commit()
    return found


def make_cart(db, company, variant, quantity=1, status="ACTIVE", hours_ago=1.0, email=None, came_from=None,
              code=None, fields=None) -> Cart:
    """A cart with one line, last updated ``hours_ago``, optionally from a visit."""
    when = utcnow() - timedelta(hours=hours_ago)
    cart = Cart(token=new_token(), company_id=company.id, currency=company.currency, status=status,
                checkout_fields={**({"email": email} if email else {}), **(fields or {})}, promotion_code=code,
                visit_id=came_from.id if came_from else None,
                landing_page_id=came_from.landing_page_id if came_from else None,
                source_type="LANDING_PAGE" if came_from else "DIRECT", created_at=when, updated_at=when)
    cart.lines.append(LineItem(variant_id=variant.id, quantity=quantity, unit_price_cents=variant.price_cents))
    db.session.add(cart)
    db.session.commit()
    return cart


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def listed(response) -> list[int]:
    """The cart ids of the list, in order."""
    return [int(n) for n in re.findall(r'href="/admin/carts/(\d+)"', response.get_data(as_text=True))]


# ---------------------------------------------------------------------------- the list


def test_nav_and_empty_list(admin):
    page = text(admin.get("/admin/carts"))
    assert ">Carts<" in page and "No carts yet" in page


def test_abandoned_means_over_24_hours_and_not_converted(admin, db, company, tee):
    stale = make_cart(db, company, tee.variants[0], hours_ago=25)
    fresh = make_cart(db, company, tee.variants[0], hours_ago=23)
    converted = make_cart(db, company, tee.variants[0], status="CONVERTED", hours_ago=48)
    marked = make_cart(db, company, tee.variants[0], status="ABANDONED", hours_ago=30)
    merged = make_cart(db, company, tee.variants[0], status="MERGED", hours_ago=30)
    expired = make_cart(db, company, tee.variants[0], status="EXPIRED", hours_ago=24 * 8)

    abandoned = admin.get("/admin/carts?status=abandoned")
    everything = admin.get("/admin/carts")

    assert sorted(listed(abandoned)) == sorted([stale.id, marked.id, expired.id])
    assert fresh.id not in listed(abandoned) and converted.id not in listed(abandoned) and merged.id not in listed(abandoned)
    assert sorted(listed(everything)) == sorted(c.id for c in (stale, fresh, converted, marked, merged, expired))
    assert listed(admin.get("/admin/carts?status=CONVERTED")) == [converted.id]
    assert listed(admin.get("/admin/carts?status=ACTIVE")) == [fresh.id, stale.id]  # newest first
    assert len(listed(admin.get("/admin/carts?status=bogus"))) == 6  # unknown values fall back to all


def test_campaign_and_landing_page_filters(admin, db, company, tee):
    summer_page = make_page(company, [tee], slug="summer-sale")
    winter_page = make_page(company, [tee], slug="winter-sale")
    summer = make_cart(db, company, tee.variants[0], came_from=visit(db, company, summer_page, "summer-2025"))
    winter = make_cart(db, company, tee.variants[0], came_from=visit(db, company, winter_page, "winter-2025"))
    direct = make_cart(db, company, tee.variants[0])

    page = text(admin.get("/admin/carts"))
    assert '<option value="summer-2025">summer-2025</option>' in page
    assert f'<option value="{winter_page.id}">Summer Sale</option>' in page
    assert listed(admin.get("/admin/carts?campaign=summer-2025")) == [summer.id]
    assert listed(admin.get(f"/admin/carts?landing_page={winter_page.id}")) == [winter.id]
    assert listed(admin.get(f"/admin/carts?landing_page={winter_page.id}&campaign=summer-2025")) == []
    assert "No cart matches these filters." in text(admin.get("/admin/carts?campaign=nope"))
    assert direct.id in listed(admin.get("/admin/carts?landing_page=abc"))


def test_rows_show_value_at_current_prices_items_email_and_page(admin, db, company, tee):
    mug = make_product(company, "Mug", price_cents=900)
    page = make_page(company, [tee], slug="summer-sale")
    cart = make_cart(db, company, tee.variants[0], quantity=2, email="ada@example.com",
                     came_from=visit(db, company, page, "summer-2025"))
    cart.lines.append(LineItem(variant_id=mug.variants[0].id, quantity=3, unit_price_cents=900))
    db.session.commit()
    tee.variants[0].price_cents = 2500  # the price moved after the shopper added it
    db.session.commit()

    row = text(admin.get("/admin/carts")).split(f'href="/admin/carts/{cart.id}"')[1].split("</tr>")[0]

    assert "$77.00" in row  # 2 × 25.00 + 3 × 9.00
    assert "ada@example.com" in row and ">5 <" in row and "(2 lines)" in row
    assert "Summer Sale" in row and "Campaign: summer-2025" in row and "Active" in row


def test_sort_by_value_and_update_and_pages(admin, db, company, tee):
    small = make_cart(db, company, tee.variants[0], quantity=1, hours_ago=1)
    big = make_cart(db, company, tee.variants[0], quantity=5, hours_ago=3)
    middle = make_cart(db, company, tee.variants[0], quantity=2, hours_ago=2)

    assert listed(admin.get("/admin/carts?sort=value")) == [big.id, middle.id, small.id]
    assert listed(admin.get("/admin/carts?sort=value&dir=asc")) == [small.id, middle.id, big.id]
    assert listed(admin.get("/admin/carts?sort=updated&dir=asc")) == [big.id, middle.id, small.id]

    for n in range(27):
        make_cart(db, company, tee.variants[0], hours_ago=10 + n)
    first, second = admin.get("/admin/carts"), admin.get("/admin/carts?page=2", headers=HX)
    assert len(listed(first)) == 25 and "Showing 1–25 of 30 carts." in text(first)
    assert len(listed(second)) == 5 and "Showing 26–30 of 30 carts." in text(second)
    assert "<html" not in second.get_data(as_text=True) and "HX-Request" in second.headers["Vary"]
    assert set(listed(first)).isdisjoint(listed(second))
    assert 'href="/admin/carts?page=2"' in first.get_data(as_text=True)
    assert listed(admin.get("/admin/carts?page=99")) == listed(second)  # past the end: the last page


def test_htmx_filters_return_the_results_only(admin, db, company, tee):
    make_cart(db, company, tee.variants[0], hours_ago=30)
    response = admin.get("/admin/carts?status=abandoned&sort=value", headers=HX)
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and body.lstrip().startswith('<div id="cart-results"')
    assert "Showing 1–1 of 1 cart matching the filters." in html.unescape(body)


def test_the_list_does_not_query_per_row(app, admin, db, company, tee):
    page = make_page(company, [tee], slug="summer-sale")

    def statements_for_list() -> int:
        seen: list[str] = []

        def before(conn, cursor, statement, parameters, context, executemany):
            seen.append(statement)

        event.listen(db.engine, "before_cursor_execute", before)
        try:
            with app.app_context():
                assert admin.get("/admin/carts").status_code == 200
        finally:
            event.remove(db.engine, "before_cursor_execute", before)
        return len(seen)

    for n in range(3):
        make_cart(db, company, tee.variants[0], email=f"s{n}@example.com", came_from=visit(db, company, page, "c"))
    few = statements_for_list()
    for n in range(20):
        make_cart(db, company, tee.variants[0], quantity=2, came_from=visit(db, company, page, f"c{n}"))
    many = statements_for_list()

    assert few == many <= 8


# ---------------------------------------------------------------------------- the detail


def test_detail_shows_lines_totals_visit_and_attribution(admin, db, company, tee):
    page = make_page(company, [tee], slug="summer-sale")
    came_from = visit(db, company, page, "summer-2025", utm_source="newsletter", utm_medium="email",
                      utm_term="tees", utm_content="hero-button", referrer="https://mail.example.com/inbox")
    make_zone(company)
    make_promotion(company)
    db.session.add(TaxRate(company_id=company.id, country="US", rate_micro=82500, name="TX sales tax"))
    db.session.commit()
    cart = make_cart(db, company, tee.variants[0], quantity=3, email="ada@example.com", came_from=came_from,
                     code="SAVE10", fields={"country": "US", "postcode": "78701", "city": "Austin"})
    totals = price_cart(cart, cart_info(cart)).totals

    response = admin.get(f"/admin/carts/{cart.id}")

    body = text(response)
    assert response.status_code == 200 and "Cart " + str(cart.id) in body
    assert "Classic Tee" in body and "$60.00" in body and "ada@example.com" in body
    # 60.00 − 6.00 + 5.95 shipping + tax 4.46 + 0.49, as in the checkout test.
    assert totals.total_cents == 6000 - 600 + 595 + 495
    assert "−$6.00" in body and "(SAVE10)" in body and "(Standard)" in body and "$5.95" in body
    assert "$4.95" in body and "$64.90" in body
    for value in ("Summer Sale", "/lp/summer-sale", "newsletter", "email", "summer-2025", "tees", "hero-button",
                  "https://mail.example.com/inbox", "Landing page"):
        assert value in body, value
    assert "Not converted: no order yet." in body


def test_detail_of_a_converted_cart_shows_its_order(admin, db, company, tee):
    cart = make_cart(db, company, tee.variants[0], quantity=2, email="bob@example.com", hours_ago=30)
    order, _ = complete_order(cart.id, amount_paid_cents=4000, currency="USD", company_id=company.id)

    body = text(admin.get(f"/admin/carts/{cart.id}"))

    assert f"#{order.number}" in body and "Paid</dt><dd>$40.00" in body and "Converted" in body
    assert "Abandoned" not in body
    assert "No visit recorded" in body
    listed_converted = listed(admin.get("/admin/carts?status=CONVERTED"))
    assert listed_converted == [cart.id]


def test_detail_of_an_abandoned_empty_cart(admin, db, company, tee):
    cart = make_cart(db, company, tee.variants[0], hours_ago=40)
    cart.lines.clear()
    db.session.commit()
    body = text(admin.get(f"/admin/carts/{cart.id}", headers=HX))
    assert "The cart is empty." in body and "Abandoned" in body and "$0.00" in body


def test_another_merchants_cart_is_404(admin, db, tee):
    other = Company(name="Rival Goods", slug="rival", currency="EUR")
    db.session.add(other)
    db.session.commit()
    mug = make_product(other, "Rival Mug", price_cents=900, handle="rival-mug")
    theirs = make_cart(db, other, mug.variants[0], email="secret@rival.test")

    assert admin.get(f"/admin/carts/{theirs.id}").status_code == 404
    assert admin.get("/admin/carts/999999").status_code == 404
    assert admin.get("/admin/carts/abc").status_code == 404
    assert "secret@rival.test" not in text(admin.get("/admin/carts"))
    assert listed(admin.get("/admin/carts")) == []


def test_carts_need_sign_in(client, db):
    assert client.get("/admin/carts").status_code == 302
    assert client.get("/admin/carts/1").status_code == 302
