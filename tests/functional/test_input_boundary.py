"""The input boundary (storefront/inputs.py): each case from the hostile pass over a live shop
that answered 5xx, now refused with a clear 4xx before anything is stored; the integer
parser; the cleaning migration; cron jobs that run on their own; the login limit shared
through the database when Redis is away; and the admin's Cache-Control.
"""
from __future__ import annotations

import csv
import http.client
import importlib.util
import io
import json
import re
import time
from datetime import timedelta
from urllib.parse import quote

import pytest
from factories import ROOT, csrf_token, make_page, make_product, make_user, make_zone, sign_in
from sqlalchemy import event, select, text

from storefront.cart.models import Cart
from storefront.catalog.models import Product
from storefront.inputs import (
    DB_INT_MAX,
    InputError,
    bad_character,
    check_json,
    optional_int,
    parse_int,
)
from storefront.leads.models import FieldEvent, Lead
from storefront.pricing.models import TaxRate
from storefront.types import utcnow
from storefront.visits.models import Visit

HX = {"HX-Request": "true"}
ADDRESS = {"first_name": "Ada", "last_name": "Lovelace", "address1": "1 Analytical Way",
           "city": "Austin", "postcode": "78701", "country": "US"}


# ----------------------------------------------------------------------------- the parser


@pytest.mark.parametrize("raw, expected", [
    ("7", 7), (" 42 ", 42), ("+3", 3), (7, 7), (str(DB_INT_MAX), DB_INT_MAX),
])
def test_parse_int_accepts_ascii_digits_in_bounds(raw, expected):
    assert parse_int(raw) == expected


@pytest.mark.parametrize("raw", [
    "²", "٣", "１２", "1e3", "0x10", "", None, "12a", str(2**31), str(2**63), "9" * 400, "-1",
    True, 2**31, "1 2", "\x00", "1\x00",
])
def test_parse_int_refuses_everything_else(raw):
    with pytest.raises(InputError):
        parse_int(raw)


def test_optional_int_falls_back():
    assert optional_int("²", 1, default=1) == 1
    assert optional_int(str(2**31), 1) is None
    assert optional_int("3", 1) == 3


@pytest.mark.parametrize("text, multiline, bad", [
    ("plain", False, None), ("a\tb", False, "U+0009"), ("a\nb", True, None), ("a\r\nb", True, None),
    ("a\x00b", True, "U+0000"), ("\x1f", True, "U+001F"), ("a\ud800", False, "U+D800"),
    ("😀 ok", False, None), ("\x7f", True, "U+007F"),
])
def test_bad_character(text, multiline, bad):
    found = bad_character(text, multiline)
    assert (found is None) if bad is None else (bad in found)


def test_check_json_walks_keys_values_and_depth():
    check_json({"a": ["b", {"c": 1}]})
    for bad in ({"a\x00": 1}, {"a": ["\x00"]}, ["\udc00"]):
        with pytest.raises(InputError):
            check_json(bad)
    deep: list = []
    for _ in range(40):
        deep = [deep]
    with pytest.raises(InputError):
        check_json(deep)


# ----------------------------------------------------------------------------- the shop


@pytest.fixture()
def shop(client, db, company):
    tee = make_product(company, "Classic Tee", price_cents=2000, stock=5)
    make_page(company, [tee])
    make_zone(company)
    return {"tee": tee}


def shopper(client, shop, **utm):
    query = "&".join(f"{k}={quote(v)}" for k, v in utm.items())
    client.get("/lp/summer-sale" + (f"?{query}" if query else ""))
    token = csrf_token(client, "/lp/summer-sale")
    response = client.post("/cart/add", data={"variant_id": shop["tee"].variants[0].id, "quantity": 1},
                           headers={"X-CSRFToken": token, **HX})
    assert response.status_code == 200
    return {"X-CSRFToken": token, **HX}


def capture(client, headers, name, value):
    return client.post(f"/checkout/field/{name}", data={name: value}, headers=headers)


@pytest.mark.parametrize("path", [
    "/lp/%00", "/lp/sale%00x", "/orders/%00", "/orders/abc%00def", "/lp/summer-sale?utm_source=a%00b",
    "/lp/summer-sale?utm_campaign=%0d%0a", "/cart?x%00=1",
])
def test_nul_in_the_address_is_refused_and_records_nothing(client, db, shop, path):
    response = client.get(path)

    assert response.status_code == 400
    assert "control character" in response.get_data(as_text=True)
    assert db.session.execute(select(Visit)).first() is None


def test_nul_in_a_checkout_field_is_refused_and_never_stored(client, db, shop):
    headers = shopper(client, shop)
    client.get("/checkout")

    for name, value in (("email", "ada\x00@example.com"), ("first_name", "A\x00da"), ("city", "\x00")):
        response = capture(client, headers, name, value)
        assert response.status_code == 400, name
    whole = client.post("/checkout", data={**ADDRESS, "email": "a@b.co", "last_name": "x\x00"},
                        headers={"X-CSRFToken": headers["X-CSRFToken"]})
    assert whole.status_code == 400

    cart = db.session.execute(select(Cart)).scalar_one()
    assert cart.checkout_fields == {}
    assert db.session.execute(select(Lead)).first() is None


def test_a_line_break_in_a_single_line_field_is_refused(client, db, shop):
    headers = shopper(client, shop)
    response = capture(client, headers, "first_name", "Ada\nLovelace")
    assert response.status_code == 400
    assert db.session.execute(select(Cart)).scalar_one().checkout_fields == {}


def test_nul_in_a_discount_code_or_quantity_is_refused(client, db, shop):
    headers = shopper(client, shop)
    assert client.post("/cart/code", data={"code": "SAVE\x0010"}, headers=headers).status_code == 400
    assert client.post("/cart/add", data={"variant_id": shop["tee"].variants[0].id, "quantity": "1\x00"},
                       headers=headers).status_code == 400
    assert db.session.execute(select(Cart)).scalar_one().promotion_code is None


@pytest.mark.parametrize("cookie", ["sf_cart", "sf_visit", "sf_vid", "session"])
def test_nul_in_a_cookie_is_refused(client, db, shop, cookie):
    client.set_cookie(cookie, "abc\x01def")
    assert client.get("/lp/summer-sale").status_code == 400
    assert db.session.execute(select(Visit)).first() is None


def test_unicode_digits_in_a_postcode_with_a_range_rate(client, db, company, shop):
    db.session.add(TaxRate(company_id=company.id, country="US", postcodes=["78000...78999"], rate_micro=82500,
                           name="Texas"))
    db.session.commit()
    headers = shopper(client, shop)
    client.get("/checkout")
    for name, value in {**ADDRESS, "postcode": "²"}.items():
        assert capture(client, headers, name, value).status_code == 200, name
    page = client.get("/checkout")
    assert page.status_code == 200
    # "²" is no number: the range rate (8.25 % of $20.00 + $5.95 = $2.14) does not match it.
    assert "$2.14" not in page.get_data(as_text=True)

    assert capture(client, headers, "postcode", "78701").status_code == 200
    assert "$2.14" in client.get("/checkout").get_data(as_text=True)


def test_an_id_of_two_to_the_31_is_unknown_not_a_crash(client, db, shop):
    headers = shopper(client, shop)
    for raw in (str(2**31), str(2**63), "²", "٣"):
        response = client.post("/cart/add", data={"variant_id": raw, "quantity": 1}, headers=headers)
        assert response.status_code == 422 and "Unknown product" in response.get_data(as_text=True), raw
    assert client.post("/cart/add", data={"variant_id": shop["tee"].variants[0].id, "quantity": str(2**31)},
                       headers=headers).status_code == 422


def test_a_lone_surrogate_in_a_field_event_is_refused(client, db, shop):
    shopper(client, shop)
    page = client.get("/checkout").get_data(as_text=True)
    token = re.search(r'"X-CSRFToken": "([^"]+)"', page).group(1)
    ref = re.search(r'data-ref="([0-9a-f]+)"', page).group(1)
    now = int(time.time() * 1000)
    event_json = json.dumps({"type": "VALIDATION_ERROR", "field": "email", "error": "bad SURROGATE text", "at": now})
    body = json.dumps({"csrf": token, "ref": ref, "sent_at": now, "events": ["EVENT"]}).replace(
        '"EVENT"', event_json).replace("SURROGATE", "\\ud800")

    response = client.post("/checkout/events", data=body, content_type="application/json")

    assert response.status_code == 400 and "surrogate" in response.get_json()["error"]
    assert db.session.execute(select(FieldEvent)).first() is None


def test_an_oversized_event_batch_gets_413_over_a_real_connection(live_server, shop):
    host, port = live_server.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    body = b'{"csrf": "x", "ref": "y", "sent_at": 1, "events": [' + b" " * 100_000 + b"]}"
    conn.request("POST", "/checkout/events", body=body, headers={"Content-Type": "application/json"})
    response = conn.getresponse()

    assert response.status == 413
    assert json.loads(response.read()) == {"error": "batch too large: at most 32 KB"}
    conn.close()


# ----------------------------------------------------------------------------- the admin


@pytest.fixture()
def admin(client, company):
    make_user(company)
    assert sign_in(client).status_code == 303
    return client


@pytest.mark.parametrize("path", [
    "/admin/leads?page=²", "/admin/leads?page_id=²", "/admin/leads?page_id=2147483648",
    "/admin/carts?landing_page=²", "/admin/carts?page=٣", "/admin/products?category=²",
    "/admin/promotions?page=²", "/admin/carts?page=99999999999999999999",
])
def test_unicode_digits_and_huge_numbers_in_admin_filters(admin, path):
    response = admin.get(path)
    assert response.status_code == 200


@pytest.mark.parametrize("path", ["/admin/carts/2147483648", "/admin/products/9223372036854775808",
                                  "/admin/leads/%C2%B2", "/admin/pages/2147483647"])
def test_out_of_range_ids_in_the_address_are_404(admin, path):
    assert admin.get(path).status_code == 404


def test_bulk_ids_with_unicode_digits(admin, db, company):
    page = admin.get("/admin/leads").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    response = admin.post("/admin/leads/bulk-status", data={
        "csrf_token": token, "lead_id": ["²", str(2**31), "٣"], "status": "CONTACTED"})
    assert response.status_code in (303, 422)


def test_a_line_break_in_the_login_next_is_refused(client, company):
    make_user(company)
    response = client.get("/admin/login?next=/admin%0d%0aSet-Cookie:%20x=1")
    assert response.status_code == 400
    assert "x=1" not in response.headers.get("Set-Cookie", "")


def test_multi_line_text_is_kept_where_the_field_allows_it(admin, db, company):
    page = admin.get("/admin/products/new").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    data = {"csrf_token": token, "title": "Linen Shirt", "description": "Soft.\r\n\r\n\tBreathes.",
            "status": "active", "published": "1", "vnew-sku": "LIN-1", "vnew-price": "49.5",
            "vnew-compare_at": "", "vnew-track": "1", "vnew-stock": "12", "vnew-in_stock": "1"}

    refused = admin.post("/admin/products/new", data={**data, "title": "Linen\r\nShirt"})
    nul = admin.post("/admin/products/new", data={**data, "description": "Soft\x00"})
    saved = admin.post("/admin/products/new", data=data)

    assert refused.status_code == 400 and nul.status_code == 400
    assert saved.status_code == 303
    assert db.session.scalars(select(Product.description_html)).one() == "<p>Soft.</p><p>Breathes.</p>"


def test_admin_pages_are_never_cached(admin):
    for path in ("/admin/", "/admin/leads", "/admin/carts", "/admin/login"):
        response = admin.get(path)
        assert response.headers["Cache-Control"] == "no-store, private", path


def test_catalogue_csv_with_out_of_range_numbers(app, db, company, admin, tmp_path, monkeypatch):
    monkeypatch.setattr(app, "instance_path", str(tmp_path / "instance"))
    source = (ROOT.parent / "shared/data/catalog/woocommerce/sample_products.csv").read_text(encoding="utf-8-sig")
    header, *rows = source.splitlines()
    columns = next(csv.reader([header]))
    stock_at = columns.index("Stock")
    first = next(row for row in csv.reader(rows) if row[columns.index("Type")] == "simple")
    first[stock_at] = str(2**31)
    buffer = io.StringIO()
    csv.writer(buffer).writerows([columns, first])
    bad = tmp_path / "huge.csv"
    bad.write_text(buffer.getvalue())

    cli = app.test_cli_runner().invoke(args=["catalog", "import", str(bad), "--company", "acme"])
    assert cli.exit_code != 0 and "Traceback" not in cli.output
    assert "out of range" in cli.output and "column" in cli.output

    page = admin.get("/admin/products/import").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    with open(bad, "rb") as fh:
        upload = admin.post("/admin/products/import", data={"csrf_token": token, "format": "", "file": (fh, "huge.csv")},
                            content_type="multipart/form-data")
    assert upload.status_code == 422 and "out of range" in upload.get_data(as_text=True)


def test_tax_csv_with_nul_or_a_huge_priority(app, db, company, tmp_path):
    header = "Country Code,State Code,ZIP/Postcode,City,Rate %,Tax Name,Priority,Compound,Shipping,Tax Class\n"
    for row, reason in (("US,TX,,,8.25,Tax\x00,1,0,1,\n", "control character"),
                        (f"US,TX,,,8.25,Tax,{2**31},0,1,\n", "Priority"),
                        ("US,TX,,,NaN,Tax,1,0,1,\n", "Rate %")):
        path = tmp_path / "rates.csv"
        path.write_text(header + row)
        result = app.test_cli_runner().invoke(args=["tax", "import", str(path), "--company", "acme"])
        assert result.exit_code != 0 and reason in result.output and "Traceback" not in result.output
    assert db.session.execute(select(TaxRate)).first() is None


# ----------------------------------------------------------------------------- login limit


def test_login_limit_is_shared_through_the_database_when_redis_is_away(app, client, company, monkeypatch):
    from storefront.accounts import throttle
    from storefront.extensions import limiter

    make_user(company)
    app.config["RATELIMIT_LOGIN"] = "3/minute"
    monkeypatch.setattr(throttle, "shared_store_up", lambda: False)
    monkeypatch.setattr("storefront.admin.auth.shared_store_up", lambda: False)
    answers = []
    for _ in range(5):
        # Every attempt lands on a "new process": its in-memory counts start from zero.
        limiter.reset()
        token = re.search(r'name="csrf_token" value="([^"]+)"',
                          client.get("/admin/login").get_data(as_text=True)).group(1)
        answers.append(client.post("/admin/login", data={
            "email": "owner@acme.test", "password": "wrong password!", "csrf_token": token}).status_code)

    assert answers == [422, 422, 422, 429, 429]


def test_shared_store_is_seen_up_with_redis(app):
    from storefront.accounts.throttle import shared_store_up

    assert shared_store_up() == (not app.config["RATELIMIT_STORAGE_URI"].startswith("memory"))


# ----------------------------------------------------------------------------- cron and the poison


def test_cron_runs_each_job_on_its_own(app, monkeypatch, caplog):
    from storefront import cron

    ran = []

    def broken():
        raise RuntimeError("boom")

    def fine():
        ran.append("fine")
        return 0

    monkeypatch.setattr(cron, "JOBS", ((broken, 60), (fine, 60)))
    assert cron.main() == 1
    assert ran == ["fine"] and "broken failed" in caplog.text


def _run_every_cron_job():
    from storefront import cron

    for job, _ in cron.JOBS:
        job()


def _poison_directly(db, cart_id: int) -> None:
    # A row as an older version of the shop could store it: the JSON text holds the escape.
    dialect = db.engine.dialect.name
    value = '{"email": "poison\\u0000@example.com", "first_name": "x\\u0000"}'
    cast = "CAST(:v AS JSON)" if dialect == "postgresql" else ":v"
    db.session.execute(text(f"UPDATE carts SET checkout_fields = {cast}, status = 'ACTIVE', updated_at = :old "
                            "WHERE id = :id"), {"v": value, "id": cart_id, "old": utcnow() - timedelta(hours=3)})
    db.session.commit()


def _run_cleaning_migration(db) -> None:
    from alembic.migration import MigrationContext
    from alembic.operations import Operations

    spec = importlib.util.spec_from_file_location(
        "clean_json_nul", ROOT / "migrations/versions/0006_clean_json_nul.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    with db.engine.begin() as connection:
        with Operations.context(MigrationContext.configure(connection)):
            module.upgrade()


def test_a_poisoned_cart_never_stops_other_shoppers_or_cron(app, db, shop, localstripe):
    poisoner = app.test_client()
    headers = shopper(poisoner, shop)
    poisoner.get("/checkout")
    assert capture(poisoner, headers, "email", "p\x00@example.com").status_code == 400
    assert db.session.execute(select(Cart)).scalar_one().checkout_fields == {}
    _run_every_cron_job()

    # An older database may already hold one: the migration cleans it, and all works again.
    cart_id = db.session.execute(select(Cart.id)).scalar_one()
    _poison_directly(db, cart_id)
    if db.engine.dialect.name == "postgresql":
        from sqlalchemy.exc import DataError

        with pytest.raises(DataError):
            _run_every_cron_job()
        db.session.rollback()
    _run_cleaning_migration(db)
    db.session.expire_all()
    assert db.session.get(Cart, cart_id).checkout_fields == {"email": "poison@example.com", "first_name": "x"}
    _run_every_cron_job()

    other = app.test_client()
    other_headers = shopper(other, shop)
    other.get("/checkout")
    for name, value in {"email": "other@example.com", **ADDRESS}.items():
        assert capture(other, other_headers, name, value).status_code == 200, name
    whole = other.post("/checkout", data={"email": "other@example.com", **ADDRESS},
                       headers={"X-CSRFToken": other_headers["X-CSRFToken"]})
    assert whole.status_code == 303
    pay = other.post("/checkout/pay", data={}, headers={"X-CSRFToken": other_headers["X-CSRFToken"],
                                                       "Accept": "application/json"})
    assert pay.status_code == 200 and pay.get_json()["status"] == "requires_payment_method"


def test_the_boundary_runs_before_any_sql(app, db, shop):
    client = app.test_client()
    statements: list[str] = []

    def before(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", before)
    try:
        response = client.get("/lp/summer-sale?utm_source=%00")
    finally:
        event.remove(db.engine, "before_cursor_execute", before)
    assert response.status_code == 400 and statements == []
