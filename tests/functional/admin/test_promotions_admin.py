"""The promotions admin at /admin/promotions: the list by status, create and edit with
server-side validation (422, nothing lost), deactivation after a confirmation, single-use
code generation, the usage report from real orders, tenancy (another merchant's promotion
answers 404), and a promotion made here applying in the shopper's drawer.

Through the Flask client, on both paths: plain requests (no JavaScript) and htmx ones.
"""
from __future__ import annotations

import html
import json
import re
from datetime import UTC, datetime, timedelta

import pytest
from factories import csrf_token, make_page, make_product, make_promotion, make_user, sign_in
from sqlalchemy import func, select

from storefront.accounts.models import Company
from storefront.cart.models import Cart, LineItem
from storefront.cart.services import cart_info
from storefront.catalog.models import Category
from storefront.checkout.orders import complete_order
from storefront.pricing.context import price_cart
from storefront.pricing.models import Promotion, PromotionCode
from storefront.types import new_token, utcnow

HX = {"HX-Request": "true"}
NEW = "/admin/promotions/new"


# ---------------------------------------------------------------------------- fixtures


@pytest.fixture()
def admin(client, db, company):
    company.timezone = "America/New_York"
    db.session.commit()
    make_user(company)
    assert sign_in(client).status_code == 303
    return client


@pytest.fixture()
def token(admin) -> str:
    return csrf_token(admin, "/admin/promotions")


@pytest.fixture()
def rival(db):
    """Another merchant with a promotion, a product and a category of its own."""
    other = Company(name="Rival Goods", slug="rival", currency="EUR")
    db.session.add(other)
    db.session.commit()
    promotion = make_promotion(other, code="RIVAL10")
    product = make_product(other, "Rival Mug", price_cents=900, handle="rival-mug")
    category = Category(company_id=other.id, name="Rival things", slug="rival-things")
    db.session.add(category)
    db.session.commit()
    return {"company": other, "promotion": promotion, "product": product, "category": category}


def form(**fields) -> dict:
    """A valid new-promotion form (10 % off the cart with code SUMMER), changed by ``fields``."""
    values = {"name": "Summer sale", "type": "PERCENTAGE_OFF", "scope": "CART", "code": "summer",
              "percent": "10", "active": "1"}
    values.update(fields)
    return {key: value for key, value in values.items() if value is not None}


def post(client, token, path, data, htmx=False):
    return client.post(path, data={**data, "csrf_token": token}, headers=HX if htmx else {})


def promotions(db, company=None) -> list[Promotion]:
    query = select(Promotion).order_by(Promotion.id)
    if company is not None:
        query = query.where(Promotion.company_id == company.id)
    return list(db.session.execute(query).scalars())


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


# ---------------------------------------------------------------------------- create and edit


def test_admin_needs_sign_in(client, db):
    assert client.get("/admin/promotions").status_code == 302
    assert client.get(NEW).status_code == 302


def test_nav_lists_the_screen(admin):
    page = admin.get("/admin/").get_data(as_text=True)
    assert 'href="/admin/promotions"' in page and ">Promotions<" in page


def test_create_converts_percent_money_dates_and_code(admin, token, db, company):
    response = post(admin, token, NEW, form(
        percent="12.5", code=" summer-20 ", min_subtotal="50.00", starts_at="2030-07-01T09:00",
        ends_at="2030-07-31T23:30", usage_limit="100", per_customer_limit="1", combinable="1"))

    promotion = promotions(db)[0]
    assert response.status_code == 303 and response.headers["Location"] == f"/admin/promotions/{promotion.id}"
    assert (promotion.percent_bp, promotion.code, promotion.min_subtotal_cents) == (1250, "SUMMER-20", 5000)
    # Typed in New York time (EDT, UTC−4), stored as aware UTC.
    assert promotion.starts_at == datetime(2030, 7, 1, 13, 0, tzinfo=UTC)
    assert promotion.ends_at == datetime(2030, 8, 1, 3, 30, tzinfo=UTC)
    assert (promotion.usage_limit, promotion.per_customer_limit, promotion.combinable) == (100, 1, True)
    assert promotion.company_id == company.id and promotion.active and not promotion.automatic

    edit = text(admin.get(response.headers["Location"]))
    assert 'value="12.5"' in edit and 'value="2030-07-01T09:00"' in edit and 'value="50.00"' in edit
    assert "Scheduled" in edit and "Promotion “Summer sale” created." in edit


def test_fixed_amount_off_chosen_products_of_own_catalogue(admin, token, db, company):
    tee = make_product(company, "Classic Tee", price_cents=2000)
    mug = make_product(company, "Mug", price_cents=900)

    response = post(admin, token, NEW, form(type="FIXED_AMOUNT_OFF", scope="PRODUCT", amount="2.50", percent="",
                                            product_ids=[str(tee.id), str(mug.id)]))

    promotion = promotions(db)[0]
    assert response.status_code == 303
    assert (promotion.amount_cents, promotion.percent_bp, sorted(promotion.product_ids)) == (250, 0, sorted([tee.id, mug.id]))


@pytest.mark.parametrize("fields, field, message", [
    ({"percent": "150"}, "percent", "must be a percentage from more than 0 to 100, with at most 2 decimals"),
    ({"percent": "12.345"}, "percent", "at most 2 decimals"),
    ({"percent": "ten"}, "percent", "must be a percentage"),
    ({"percent": "0"}, "percent", "must be a percentage from more than 0"),
    ({"percent": ""}, "percent", "Percentage is required."),
    ({"type": "FIXED_AMOUNT_OFF", "amount": "-5"}, "amount", "must be an amount of USD of 0 or more"),
    ({"type": "FIXED_AMOUNT_OFF", "amount": "0"}, "amount", "must be more than 0"),
    ({"min_subtotal": "1.999"}, "min_subtotal", "at most 2 decimals"),
    ({"starts_at": "2030-07-10T10:00", "ends_at": "2030-07-01T10:00"}, "ends_at", "The end must be after the start."),
    ({"starts_at": "next tuesday"}, "starts_at", "must be a date and time"),
    ({"starts_at": "2030-02-30T10:00"}, "starts_at", "must be a date and time"),
    ({"name": "N" * 201}, "name", "Name is too long: at most 200 characters."),
    ({"name": ""}, "name", "Name is required."),
    ({"code": "C" * 65}, "code", "Code is too long"),
    ({"code": "AB"}, "code", "Use 3 to 64 letters, digits, dashes or underscores."),
    ({"code": "no spaces"}, "code", "Use 3 to 64 letters"),
    ({"type": "BOGUS"}, "type", "Choose a type from the list."),
    ({"type": "BUY_X_GET_Y", "scope": "CART", "buy_quantity": "2", "get_quantity": "1"}, "scope",
     "applies to chosen products or categories"),
    ({"type": "BUY_X_GET_Y", "scope": "CATEGORY", "buy_quantity": "0", "get_quantity": "1"}, "buy_quantity",
     "Buy must be a whole number from 1 to 99."),
    ({"scope": "PRODUCT"}, "product_ids", "Choose at least one product."),
    ({"type": "FREE_GIFT"}, "gift_variant_id", "Choose the gift from your products."),
    ({"usage_limit": "-1"}, "usage_limit", "Usage limit must be a whole number from 1 to 1,000,000."),
])
def test_invalid_forms_answer_422_keep_the_input_and_save_nothing(admin, token, db, fields, field, message):
    data = form(**fields)

    response = post(admin, token, NEW, data)

    page = text(response)
    assert response.status_code == 422 and message in page
    assert f'href="#{field}"' in page  # the error summary links to the field
    for name, value in data.items():
        if name not in ("type", "scope", "active") and value:
            typed = value.strip().upper() if name == "code" else value.strip()  # codes are shown upper-case
            assert f'value="{typed}"' in page, name
    assert promotions(db) == []


def test_duplicate_code_is_refused_case_insensitively_also_against_generated_codes(admin, token, db, company):
    first = make_promotion(company, code="SAVE10")
    db.session.add(PromotionCode(company_id=company.id, promotion_id=first.id, code="BACK-AAAA2222"))
    db.session.commit()

    taken = post(admin, token, NEW, form(code="save10"))
    generated = post(admin, token, NEW, form(code="back-aaaa2222"))

    assert taken.status_code == 422 and "SAVE10 is already used by another promotion" in text(taken)
    assert generated.status_code == 422 and "BACK-AAAA2222 is already used" in text(generated)
    assert len(promotions(db)) == 1


def test_another_merchants_code_and_targets(admin, token, db, company, rival):
    same_code = post(admin, token, NEW, form(code="rival10"))
    foreign_product = post(admin, token, NEW, form(scope="PRODUCT", product_ids=[str(rival["product"].id)]))
    foreign_category = post(admin, token, NEW, form(code="cat", scope="CATEGORY",
                                                    category_ids=[str(rival["category"].id)]))
    foreign_gift = post(admin, token, NEW, form(code="gift", type="FREE_GIFT",
                                                gift_variant_id=str(rival["product"].variants[0].id)))

    assert same_code.status_code == 303  # codes are unique per merchant
    assert foreign_product.status_code == 422 and "Choose each product from your catalogue." in text(foreign_product)
    assert foreign_category.status_code == 422 and "Choose each category from your catalogue." in text(foreign_category)
    assert foreign_gift.status_code == 422 and "Choose the gift from your products." in text(foreign_gift)
    assert [p.code for p in promotions(db, company)] == ["RIVAL10"]
    choices = text(admin.get(NEW))
    assert "Rival Mug" not in choices and "Rival things" not in choices


def test_an_archived_target_stays_chosen_when_saved_again(admin, token, db, company):
    tee = make_product(company, "Classic Tee")
    old = make_product(company, "Old Tee")
    promotion = make_promotion(company, scope="PRODUCT", product_ids=[tee.id, old.id])
    old.status = "archived"
    db.session.commit()
    path = f"/admin/promotions/{promotion.id}"

    page = text(admin.get(path))
    assert f'id="product_ids-{old.id}" name="product_ids" type="checkbox" value="{old.id}" checked' in page
    assert "Old Tee" not in text(admin.get(NEW))

    post(admin, token, path, form(code="SAVE10", scope="PRODUCT", product_ids=[str(tee.id), str(old.id)]))
    db.session.refresh(promotion)
    assert sorted(promotion.product_ids) == sorted([tee.id, old.id])


def test_type_decides_the_scope_and_clears_other_types_fields(admin, token, db, company):
    tee = make_product(company)
    post(admin, token, NEW, form(code="ship", type="FREE_SHIPPING", scope="CART", percent="25"))
    post(admin, token, NEW, form(code="gift", type="FREE_GIFT", scope="PRODUCT", gift_variant_id=str(tee.variants[0].id)))
    post(admin, token, NEW, form(code="b2g1", type="BUY_X_GET_Y", scope="PRODUCT", buy_quantity="2",
                                 get_quantity="1", product_ids=[str(tee.id)]))

    ship, gift, bxgy = promotions(db)
    assert (ship.scope, ship.percent_bp) == ("SHIPPING", 0)
    assert (gift.scope, gift.gift_variant_id, gift.product_ids) == ("CART", tee.variants[0].id, [])
    assert (bxgy.scope, bxgy.buy_quantity, bxgy.get_quantity, bxgy.product_ids) == ("PRODUCT", 2, 1, [tee.id])


def test_edit_saves_and_keeps_the_uses(admin, token, db, company):
    promotion = make_promotion(company, times_used=3)
    path = f"/admin/promotions/{promotion.id}"
    page = text(admin.get(path))
    assert 'value="Save 10"' in page and 'value="10"' in page and 'value="SAVE10"' in page

    response = post(admin, token, path, form(name="Save 15", code="SAVE10", percent="15", automatic="1"))

    db.session.refresh(promotion)
    assert response.status_code == 303 and response.headers["Location"] == path
    assert (promotion.name, promotion.percent_bp, promotion.automatic, promotion.times_used) == ("Save 15", 1500, True, 3)


def test_htmx_save_and_error_swap_the_editor_only(admin, token, db, company):
    bad = post(admin, token, NEW, form(percent="101"), htmx=True)
    good = post(admin, token, NEW, form(), htmx=True)

    assert bad.status_code == 422 and "<html" not in bad.get_data(as_text=True)
    assert 'id="promotion-editor"' in bad.get_data(as_text=True) and "HX-Request" in bad.headers["Vary"]
    assert json.loads(bad.headers["HX-Trigger"])["toast"]["level"] == "error"
    promotion = promotions(db)[0]
    assert good.status_code == 200 and good.headers["HX-Push-Url"] == f"/admin/promotions/{promotion.id}"
    assert json.loads(good.headers["HX-Trigger"])["toast"]["message"] == "Promotion “Summer sale” created."


# ---------------------------------------------------------------------------- list and deactivate


def test_list_shows_status_type_code_and_uses_and_filters(admin, db, company):
    now = utcnow()
    make_promotion(company, name="Live", code="LIVE", usage_limit=50, times_used=7)
    make_promotion(company, name="Later", code="LATER", starts_at=now + timedelta(days=2))
    make_promotion(company, name="Over", code="OVER", ends_at=now - timedelta(days=1))
    make_promotion(company, name="Used up", code="USEDUP", usage_limit=5, times_used=5)
    make_promotion(company, name="Off", code="OFF", active=False)
    make_promotion(company, name="Ship free", code=None, type="FREE_SHIPPING", scope="SHIPPING", automatic=True)

    page = text(admin.get("/admin/promotions"))

    assert "6 promotions." in page
    assert "7 / 50" in page and "0 / ∞" in page and "<code>LIVE</code>" in page
    assert "10% off the whole cart" in page and "Free shipping" in page and "Automatic" in page
    for status in ("Active", "Scheduled", "Expired", "Inactive"):
        assert f'status-{status.lower()}">{status}<' in page
    expired = text(admin.get("/admin/promotions?status=expired"))
    assert "Over" in expired and "Used up" in expired and "Live" not in expired and "Later" not in expired
    scheduled = admin.get("/admin/promotions?status=scheduled", headers=HX)
    body = scheduled.get_data(as_text=True)
    assert "<html" not in body and "Later" in body and "Off" not in body.split("</nav>")[1]
    assert "No inactive promotions" not in text(admin.get("/admin/promotions?status=inactive"))
    assert "6 promotions" in text(admin.get("/admin/promotions?status=nonsense"))


def test_deactivate_asks_first_then_switches_off(admin, token, db, company):
    promotion = make_promotion(company)
    path = f"/admin/promotions/{promotion.id}/deactivate"

    confirm = admin.get(path)
    unconfirmed = post(admin, token, path, {})  # a plain form with JavaScript off
    db.session.refresh(promotion)
    assert confirm.status_code == unconfirmed.status_code == 200
    assert "Deactivate “Save 10”?" in text(confirm) and promotion.active

    done = post(admin, token, path, {"confirmed": "yes"})
    db.session.refresh(promotion)
    assert done.status_code == 303 and not promotion.active
    assert "is deactivated" in text(admin.get(done.headers["Location"]))
    again = post(admin, token, path, {"confirmed": "yes"}, htmx=True)
    assert "was already inactive" in json.loads(again.headers["HX-Trigger"])["toast"]["message"]


# ---------------------------------------------------------------------------- single-use codes


def test_generate_codes_count_uniqueness_prefix_and_expiry(admin, token, db, company):
    promotion = make_promotion(company, code=None, name="Recovery 15", percent_bp=1500)
    path = f"/admin/promotions/{promotion.id}/codes"

    response = post(admin, token, path, {"count": "25", "prefix": "back", "expires_at": "2031-01-15T18:00"})

    codes = list(db.session.execute(select(PromotionCode).filter_by(promotion_id=promotion.id)).scalars())
    assert response.status_code == 303 and len(codes) == 25 == len({c.code for c in codes})
    assert all(re.fullmatch(r"BACK-[A-HJ-NP-Z2-9]{8}", c.code) for c in codes)
    # 18:00 in New York in January (EST, UTC−5).
    assert {c.expires_at for c in codes} == {datetime(2031, 1, 15, 23, 0, tzinfo=UTC)}
    assert all(c.company_id == company.id and c.used_at is None for c in codes)
    page = text(admin.get(path))
    assert "25 single-use codes generated." in page and codes[0].code in page

    more = post(admin, token, path, {"count": "500", "expires_at": "2031-01-15T18:00"}, htmx=True)
    all_codes = db.session.execute(select(PromotionCode.code)).scalars().all()
    assert more.status_code == 200 and len(all_codes) == 525 == len(set(all_codes))
    assert json.loads(more.headers["HX-Trigger"])["toast"]["message"] == "500 single-use codes generated."

    download = admin.get(f"/admin/promotions/{promotion.id}/codes.csv")
    lines = download.get_data(as_text=True).splitlines()
    assert download.mimetype == "text/csv" and "attachment" in download.headers["Content-Disposition"]
    assert lines[0] == "code,expires,used" and len(lines) == 526 and "2031-01-15 18:00 EST" in lines[1]


def test_codes_are_listed_25_a_page_with_the_admin_pager(admin, token, db, company):
    promotion = make_promotion(company, code=None, name="Winback", percent_bp=1000)
    path = f"/admin/promotions/{promotion.id}/codes"
    assert post(admin, token, path, {"count": "30", "expires_at": "2031-01-15T18:00"}).status_code == 303
    newest = db.session.execute(select(PromotionCode.code).filter_by(promotion_id=promotion.id)
                                .order_by(PromotionCode.id.desc())).scalars().all()

    first = text(admin.get(path))
    assert all(code in first for code in newest[:25]) and not any(code in first for code in newest[25:])
    assert "Codes 1 to 25 of 30, newest first" in first and f'href="{path}?page=2"' in first
    assert 'hx-target="#code-list"' in first and "Download all 30 as CSV" in first
    second = admin.get(f"{path}?page=2", headers=HX)
    html = text(second)
    assert second.status_code == 200 and html.lstrip().startswith('<section id="code-list"')
    assert "<html" not in html and 'name="count"' not in html  # the list alone: the form above is kept
    assert all(code in html for code in newest[25:]) and newest[0] not in html
    assert all(code in text(admin.get(f"{path}?page=2")) for code in newest[25:])  # without JavaScript
    for bad in ("x", "٢", "-3", "99999999999999999999"):
        assert newest[0] in text(admin.get(f"{path}?page={bad}")), bad


@pytest.mark.parametrize("data, message", [
    ({"count": "0"}, "Number of codes must be a whole number from 1 to 500."),
    ({"count": "501"}, "from 1 to 500"),
    ({"count": "many"}, "from 1 to 500"),
    ({"prefix": "no-dash"}, "Use up to 20 letters and digits."),
    ({"prefix": "P" * 21}, "Prefix is too long"),
    ({"expires_at": ""}, "Expires is required."),
    ({"expires_at": "2001-01-01T00:00"}, "The expiry must be in the future."),
])
def test_code_generation_validation(admin, token, db, company, data, message):
    promotion = make_promotion(company)
    values = {"count": "10", "prefix": "", "expires_at": "2031-01-01T00:00", **data}

    response = post(admin, token, f"/admin/promotions/{promotion.id}/codes", values)

    assert response.status_code == 422 and message in text(response)
    assert db.session.execute(select(func.count(PromotionCode.id))).scalar_one() == 0


def test_generated_code_works_in_the_drawer_once_and_expires(admin, token, app, db, company):
    promotion = make_promotion(company, code=None, name="Recovery 15", percent_bp=1500)
    post(admin, token, f"/admin/promotions/{promotion.id}/codes", {"count": "2", "expires_at": "2031-01-01T00:00"})
    first, second = db.session.execute(select(PromotionCode).order_by(PromotionCode.id)).scalars()
    second.expires_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    shopper = shopper_with_cart(app, company)

    works = shopper["post"]("/cart/code", {"code": first.code.lower()})
    expired = shopper["post"]("/cart/code", {"code": second.code})

    assert works.status_code == 200 and "−$9.00" in works.get_data(as_text=True)
    assert expired.status_code == 422 and "has expired" in text(expired)


# ---------------------------------------------------------------------------- usage report


def paid_order(db, company, variant, quantity, email, code):
    """A cart built directly, then completed as the payment webhook would: the real order path."""
    cart = Cart(token=new_token(), company_id=company.id, currency="USD", promotion_code=code,
                checkout_fields={"email": email})
    cart.lines.append(LineItem(variant_id=variant.id, quantity=quantity, unit_price_cents=variant.price_cents))
    db.session.add(cart)
    db.session.commit()
    total = price_cart(cart, cart_info(cart)).totals.total_cents
    order, created = complete_order(cart.id, amount_paid_cents=total, currency="USD", company_id=company.id)
    assert created and order.status == "PAID"
    return order


def test_usage_report_from_real_orders(admin, db, company, rival):
    tee = make_product(company, "Classic Tee", price_cents=2000, stock=50)
    promotion = make_promotion(company, usage_limit=10)
    first = paid_order(db, company, tee.variants[0], 3, "ada@example.com", "SAVE10")  # 60.00 − 6.00
    second = paid_order(db, company, tee.variants[0], 1, "bob@example.com", "SAVE10")  # 20.00 − 2.00
    paid_order(db, company, tee.variants[0], 1, "cy@example.com", None)  # no code: not in the report
    mug = make_product(rival["company"], "Rival Tee", price_cents=1000, handle="rival-tee")
    rival_cart_order = paid_order(db, rival["company"], mug.variants[0], 1, "zed@example.com", "RIVAL10")

    response = admin.get(f"/admin/promotions/{promotion.id}/usage")

    page = text(response)
    assert response.status_code == 200
    assert re.search(r"Times used</dt><dd>2 <span class=\"ea-of\">of 10</span>", page)
    assert "Discount given</dt><dd>$8.00" in page and "Orders</dt><dd>2<" in page
    assert "Revenue of those orders</dt><dd>$72.00" in page  # 54.00 + 18.00
    assert f"#{first.number}" in page and f"#{second.number}" in page
    assert "ada@example.com" in page and "bob@example.com" in page and "cy@example.com" not in page
    assert "zed@example.com" not in page and rival_cart_order.company_id != company.id
    assert page.index("bob@example.com") < page.index("ada@example.com")  # newest first
    assert "$6.00" in page and "$54.00" in page and "$2.00" in page and "$18.00" in page


def test_usage_report_when_unused(admin, company):
    promotion = make_promotion(company)
    page = text(admin.get(f"/admin/promotions/{promotion.id}/usage", headers=HX))
    assert "No orders have used this promotion yet." in page and "$0.00" in page and "<html" not in page


# ---------------------------------------------------------------------------- tenancy


def test_another_merchants_promotion_is_404_on_every_route(admin, token, db, rival):
    other = rival["promotion"]
    base = f"/admin/promotions/{other.id}"
    for path in (base, f"{base}/deactivate", f"{base}/codes", f"{base}/codes.csv", f"{base}/usage"):
        assert admin.get(path).status_code == 404, path
    assert post(admin, token, base, form(name="Hacked")).status_code == 404
    assert post(admin, token, f"{base}/deactivate", {"confirmed": "yes"}).status_code == 404
    assert post(admin, token, f"{base}/codes", {"count": "5", "expires_at": "2031-01-01T00:00"}).status_code == 404
    db.session.refresh(other)
    assert other.name == "Save 10" and other.active and not other.codes
    assert "RIVAL10" not in text(admin.get("/admin/promotions"))
    assert admin.get("/admin/promotions/999999").status_code == 404


# ---------------------------------------------------------------------------- the shopper's drawer


def shopper_with_cart(app, company, quantity=3):
    """A shopper (own client) with ``quantity`` Classic Tees (20.00 each) in the cart."""
    tee = make_product(company, "Classic Tee", price_cents=2000, stock=50)
    page = make_page(company, [tee])
    shopper = app.test_client()
    assert shopper.get(f"/lp/{page.slug}").status_code == 200
    token = csrf_token(shopper, f"/lp/{page.slug}")

    def send(path, data):
        return shopper.post(path, data=data, headers={"X-CSRFToken": token, **HX})

    assert send("/cart/add", {"variant_id": tee.variants[0].id, "quantity": str(quantity)}).status_code == 200
    return {"client": shopper, "post": send}


def test_a_promotion_made_in_the_admin_applies_in_the_drawer(admin, token, app, db, company):
    response = post(admin, token, NEW, form(name="Twenty off", code="TWENTY", percent="20", min_subtotal="30"))
    assert response.status_code == 303
    shopper = shopper_with_cart(app, company)

    applied = shopper["post"]("/cart/code", {"code": "twenty"})

    assert applied.status_code == 200 and "−$12.00" in applied.get_data(as_text=True)  # 20 % of 60.00
    assert json.loads(applied.headers["HX-Trigger"])["toast"]["message"] == "Discount applied"

    promotion = promotions(db)[0]
    post(admin, token, f"/admin/promotions/{promotion.id}/deactivate", {"confirmed": "yes"})
    drawer = shopper["client"].get("/cart/drawer", headers=HX)
    assert "−$12.00" not in drawer.get_data(as_text=True)
