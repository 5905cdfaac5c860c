"""The shipping & tax admin at /admin/shipping: zones (create, edit, reorder, delete) with
their methods (added inline, edited, deleted), tax rates (add, edit, delete), the
WooCommerce tax CSV upload that replaces them, the prices-include-tax setting, the pricing
cache dropped after every change, and tenancy (another merchant's ids answer 404).

Through the Flask client, on both paths: plain requests (no JavaScript) and htmx ones.
"""
from __future__ import annotations

import html
import io
import json

import pytest
from factories import CATALOG_DIR, csrf_token, make_user, make_zone, sign_in
from sqlalchemy import select

from storefront.accounts.models import Company
from storefront.pricing.context import load_tax_rates, load_zones
from storefront.pricing.models import ShippingMethod, ShippingZone, TaxRate
from storefront.pricing.tax_import import MAX_BYTES, parse_tax_rates

HX = {"HX-Request": "true"}
TAX_CSV = CATALOG_DIR / "woocommerce" / "sample_tax_rates.csv"


# ---------------------------------------------------------------------------- fixtures


@pytest.fixture()
def admin(client, company):
    make_user(company)
    assert sign_in(client).status_code == 303
    return client


@pytest.fixture()
def token(admin) -> str:
    return csrf_token(admin, "/admin/shipping")


@pytest.fixture()
def rival(db):
    """Another merchant with a zone, a method and a tax rate."""
    other = Company(name="Rival Goods", slug="rival", currency="EUR")
    db.session.add(other)
    db.session.commit()
    zone = make_zone(other, name="Rival land", countries=("DE",))
    rate = TaxRate(company_id=other.id, country="DE", rate_micro=190000, name="MwSt")
    db.session.add(rate)
    db.session.commit()
    return {"company": other, "zone": zone, "method": zone.methods[0], "rate": rate}


def post(client, token, path, data, htmx=False, **kwargs):
    return client.post(path, data={**data, "csrf_token": token}, headers=HX if htmx else {}, **kwargs)


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def zones(db) -> list[ShippingZone]:
    return list(db.session.execute(select(ShippingZone).order_by(ShippingZone.position, ShippingZone.id)).scalars())


def rates(db, company) -> list[TaxRate]:
    return list(db.session.execute(
        select(TaxRate).filter_by(company_id=company.id).order_by(TaxRate.position, TaxRate.id)).scalars())


# ---------------------------------------------------------------------------- zones


def test_nav_and_empty_screen(admin):
    page = text(admin.get("/admin/shipping"))
    assert ">Shipping & tax<" in page and "No shipping zones yet: shipping is free everywhere." in page


def test_create_zone_with_countries_states_and_postcodes_and_drop_the_cache(admin, token, db, company):
    assert load_zones(company.id) == []  # cached now: without forget_pricing_config it would stay empty

    response = post(admin, token, "/admin/shipping/zones/new", {
        "name": "North America", "countries": ["US", "CA"], "other_countries": "mx, jp",
        "states": "us:ca\nUS:NY", "postcodes": "902*\n10000...10999\nsw1a 1aa"})

    zone = zones(db)[0]
    assert response.status_code == 303 and response.headers["Location"] == f"/admin/shipping/zones/{zone.id}"
    assert (zone.countries, zone.states, zone.postcodes) == (
        ["US", "CA", "MX", "JP"], ["US:CA", "US:NY"], ["902*", "10000...10999", "SW1A 1AA"])
    assert [z.name for z in load_zones(company.id)] == ["North America"]
    page = text(admin.get(response.headers["Location"]))
    assert "Zone “North America” created." in page and "No methods yet" in page
    assert 'value="MX, JP"' in page and "US:CA\nUS:NY" in page


@pytest.mark.parametrize("data, field, message", [
    ({"name": ""}, "name", "Name is required."),
    ({"name": "Z" * 101}, "name", "Name is too long: at most 100 characters."),
    ({"other_countries": "USA"}, "other_countries", "Unknown country code: USA."),
    ({"other_countries": "QQ"}, "other_countries", "Unknown country code: QQ."),
    ({"countries": ["XX"]}, "other_countries", "Unknown country code: XX."),
    ({"states": "California"}, "states", "Not a state: CALIFORNIA."),
    ({"states": "CA:ON"}, "states", "CA:ON is in CA, which is not among this zone's countries"),
    ({"postcodes": "90999...90000"}, "postcodes", "Not a postcode pattern: 90999...90000."),
    ({"postcodes": "9*0"}, "postcodes", "Not a postcode pattern"),
])
def test_zone_validation_answers_422_keeping_the_input(admin, token, db, data, field, message):
    values = {"name": "Domestic", "countries": ["US"], "other_countries": "", "states": "", "postcodes": "", **data}

    response = post(admin, token, "/admin/shipping/zones/new", values)

    page = text(response)
    assert response.status_code == 422 and message in page and f'href="#{field}"' in page
    if isinstance(values.get(field), str) and values[field]:
        assert values[field][:100] in page
    assert zones(db) == []


def test_htmx_zone_create_redirects_whole_page_and_errors_swap_the_form(admin, token, db):
    bad = post(admin, token, "/admin/shipping/zones/new", {"name": "", "countries": ["US"]}, htmx=True)
    good = post(admin, token, "/admin/shipping/zones/new", {"name": "Domestic", "countries": ["US"]}, htmx=True)

    assert bad.status_code == 422 and "<html" not in bad.get_data(as_text=True)
    assert 'id="zone-form"' in bad.get_data(as_text=True) and 'value="US" checked' in bad.get_data(as_text=True)
    assert good.status_code == 204 and good.headers["HX-Redirect"] == f"/admin/shipping/zones/{zones(db)[0].id}"


def test_edit_zone(admin, token, db, company):
    zone = make_zone(company)
    path = f"/admin/shipping/zones/{zone.id}"
    assert 'value="US" checked' in text(admin.get(path))

    response = post(admin, token, path, {"name": "Lower 48", "countries": ["US"], "states": "", "postcodes": ""},
                    htmx=True)

    db.session.refresh(zone)
    assert response.status_code == 200 and zone.name == "Lower 48"
    assert json.loads(response.headers["HX-Trigger"])["toast"]["message"] == "Zone saved. Checkout uses it now."


def test_reorder_zones_up_and_down(admin, token, db, company):
    first = make_zone(company, name="First", countries=("US",))
    second = make_zone(company, name="Second", countries=("CA",))
    third = make_zone(company, name="Third", countries=())
    load_zones(company.id)

    up = post(admin, token, f"/admin/shipping/zones/{third.id}/move", {"direction": "up"})
    assert up.status_code == 303
    assert [z.name for z in zones(db)] == ["First", "Third", "Second"]
    assert [z.name for z in load_zones(company.id)] == ["First", "Third", "Second"]

    down = post(admin, token, f"/admin/shipping/zones/{first.id}/move", {"direction": "down"}, htmx=True)
    assert down.status_code == 200 and "<html" not in down.get_data(as_text=True)
    assert [z.name for z in zones(db)] == ["Third", "First", "Second"]
    body = text(down)
    assert body.index("Third") < body.index("First") < body.index("Second")

    stuck = post(admin, token, f"/admin/shipping/zones/{second.id}/move", {"direction": "down"}, htmx=True)
    nonsense = post(admin, token, f"/admin/shipping/zones/{second.id}/move", {"direction": "sideways"})
    assert "cannot move down" in json.loads(stuck.headers["HX-Trigger"])["toast"]["message"]
    assert nonsense.status_code == 303
    assert [z.name for z in zones(db)] == ["Third", "First", "Second"]


def test_delete_zone_asks_first(admin, token, db, company):
    zone = make_zone(company)
    load_zones(company.id)
    path = f"/admin/shipping/zones/{zone.id}/delete"

    confirm = admin.get(path)
    unconfirmed = post(admin, token, path, {})
    assert "Delete the zone “United States”?" in text(confirm) and unconfirmed.status_code == 200
    assert len(zones(db)) == 1

    done = post(admin, token, path, {"confirmed": "yes"}, htmx=True)
    assert done.status_code == 200 and "No shipping zones yet" in text(done)
    assert zones(db) == [] and db.session.execute(select(ShippingMethod)).first() is None
    assert load_zones(company.id) == []


# ---------------------------------------------------------------------------- methods


def empty_zone(db, company) -> ShippingZone:
    """A zone without methods (the factory always adds one)."""
    zone = ShippingZone(company_id=company.id, name="United States", countries=["US"], position=1)
    db.session.add(zone)
    db.session.commit()
    return zone


def methods_path(zone) -> str:
    return f"/admin/shipping/zones/{zone.id}/methods"


def test_add_methods_of_each_type_inline(admin, token, db, company):
    zone = empty_zone(db, company)
    load_zones(company.id)

    flat = post(admin, token, methods_path(zone), {"name": "Standard", "type": "FLAT_RATE", "amount": "5.95",
                                                   "active": "1"}, htmx=True)
    post(admin, token, methods_path(zone), {"name": "Per item", "type": "PER_ITEM", "amount": "1.50", "active": "1"})
    post(admin, token, methods_path(zone), {"name": "Heavy", "type": "WEIGHT_BASED", "amount": "3", "per_kg": "0.75",
                                            "active": "1"})
    post(admin, token, methods_path(zone), {"name": "By value", "type": "PRICE_BASED", "amount": "9.99",
                                            "tier_min_0": "100", "tier_cost_0": "0", "tier_min_1": "50",
                                            "tier_cost_1": "4.95", "active": "1"})
    free = post(admin, token, methods_path(zone), {"name": "Free over 75", "type": "FREE", "free_above": "75"})

    assert flat.status_code == 200 and "<html" not in flat.get_data(as_text=True)
    assert 'id="methods"' in flat.get_data(as_text=True) and "Standard" in text(flat) and "$5.95" in text(flat)
    assert free.status_code == 303 and free.headers["Location"].endswith(f"/admin/shipping/zones/{zone.id}#methods")
    methods = list(db.session.execute(select(ShippingMethod).order_by(ShippingMethod.position)).scalars())
    assert [(m.type, m.amount_cents, m.per_kg_cents, m.free_above_cents, m.tiers, m.active) for m in methods] == [
        ("FLAT_RATE", 595, 0, 0, [], True),
        ("PER_ITEM", 150, 0, 0, [], True),
        ("WEIGHT_BASED", 300, 75, 0, [], True),
        ("PRICE_BASED", 999, 0, 0, [[5000, 495], [10000, 0]], True),
        ("FREE", 0, 0, 7500, [], False),
    ]
    assert [m.name for m in load_zones(company.id)[0].methods] == ["Standard", "Per item", "Heavy", "By value"]
    page = text(admin.get(f"/admin/shipping/zones/{zone.id}"))
    assert "$3.00 + $0.75 per kg" in page and "Free from $75.00" in page and "from $50.00 $4.95" in page


@pytest.mark.parametrize("data, field, message", [
    ({"type": "FLAT_RATE", "amount": "-1"}, "amount", "Cost must be an amount of USD of 0 or more"),
    ({"type": "FLAT_RATE", "amount": ""}, "amount", "Cost is required."),
    ({"type": "FLAT_RATE", "amount": "abc"}, "amount", "must be an amount of USD"),
    ({"type": "WEIGHT_BASED", "per_kg": ""}, "per_kg", "Cost per kg is required."),
    ({"type": "PRICE_BASED"}, "tier_min_0", "Add at least one tier"),
    ({"type": "PRICE_BASED", "tier_min_0": "50"}, "tier_cost_0", "Fill in both the order value and its cost."),
    ({"type": "PRICE_BASED", "tier_min_0": "50", "tier_cost_0": "1", "tier_min_1": "50.00", "tier_cost_1": "2"},
     "tier_min_1", "Two tiers start at the same order value."),
    ({"type": "FREE", "free_above": "-75"}, "free_above", "must be an amount of USD of 0 or more"),
    ({"type": "TELEPORT"}, "type", "Choose a type from the list."),
    ({"type": "FLAT_RATE", "amount": "1", "name": ""}, "name", "Name is required."),
    ({"type": "FLAT_RATE", "amount": "1", "name": "M" * 101}, "name", "Name is too long"),
])
def test_method_validation_keeps_the_input(admin, token, db, company, data, field, message):
    zone = empty_zone(db, company)
    values = {"name": "Ground", **data}

    plain = post(admin, token, methods_path(zone), values)
    htmx = post(admin, token, methods_path(zone), values, htmx=True)

    for response in (plain, htmx):
        page = text(response)
        assert response.status_code == 422 and message in page and f'href="#new-{field}"' in page
        for name, value in values.items():
            if name != "type" and value:
                assert f'value="{value[:2000]}"' in page, name
    assert "<html" not in htmx.get_data(as_text=True) and 'id="methods"' in htmx.get_data(as_text=True)
    assert db.session.execute(select(ShippingMethod)).first() is None


def test_edit_and_delete_a_method(admin, token, db, company):
    zone = make_zone(company)
    method = zone.methods[0]
    path = f"/admin/shipping/methods/{method.id}"
    assert 'value="5.95"' in text(admin.get(path))

    bad = post(admin, token, path, {"name": "Standard", "type": "FLAT_RATE", "amount": "5.955"})
    saved = post(admin, token, path, {"name": "Ground", "type": "PER_ITEM", "amount": "2"})
    db.session.refresh(method)
    assert bad.status_code == 422 and "at most 2 decimals" in text(bad)
    assert saved.status_code == 303 and (method.name, method.type, method.amount_cents, method.active) == (
        "Ground", "PER_ITEM", 200, False)
    assert load_zones(company.id)[0].methods == ()  # switched off: checkout no longer offers it

    delete = f"/admin/shipping/methods/{method.id}/delete"
    assert "Delete the method “Ground”?" in text(admin.get(delete))
    done = post(admin, token, delete, {"confirmed": "yes"}, htmx=True)
    assert done.status_code == 200 and "No methods yet" in text(done)
    assert db.session.execute(select(ShippingMethod)).first() is None


# ---------------------------------------------------------------------------- tax rates


def test_add_edit_and_delete_a_tax_rate(admin, token, db, company):
    assert load_tax_rates(company.id) == []

    added = post(admin, token, "/admin/shipping/tax/new", {
        "country": "us", "state": "ny", "postcodes": "100*\n10000...10299", "cities": "New York; Brooklyn",
        "rate": "8.875", "name": "NY sales tax", "priority": "1", "applies_to_shipping": "1"})

    rate = rates(db, company)[0]
    assert added.status_code == 303 and added.headers["Location"] == "/admin/shipping/tax"
    assert (rate.country, rate.state, rate.postcodes, rate.cities, rate.rate_micro) == (
        "US", "NY", ["100*", "10000...10299"], ["NEW YORK", "BROOKLYN"], 88750)
    assert (rate.compound, rate.applies_to_shipping, rate.priority) == (False, True, 1)
    assert [r.rate_micro for r in load_tax_rates(company.id)] == [88750]
    listing = text(admin.get("/admin/shipping/tax"))
    assert "NY sales tax" in listing and "8.875 %" in listing and "United States, NY" in listing

    path = f"/admin/shipping/tax/{rate.id}"
    assert 'value="8.875"' in text(admin.get(path))
    post(admin, token, path, {"country": "US", "state": "", "rate": "4", "name": "State", "priority": "2",
                              "compound": "1"})
    db.session.refresh(rate)
    assert (rate.state, rate.rate_micro, rate.priority, rate.compound, rate.applies_to_shipping) == (
        "", 40000, 2, True, False)
    assert load_tax_rates(company.id)[0].rate_micro == 40000

    delete = f"/admin/shipping/tax/{rate.id}/delete"
    assert "Delete the tax rate “State” (4 %)?" in text(admin.get(delete))
    done = post(admin, token, delete, {"confirmed": "yes"}, htmx=True)
    assert done.status_code == 200 and "No tax rates" in text(done) and rates(db, company) == []
    assert load_tax_rates(company.id) == []


@pytest.mark.parametrize("data, field, message", [
    ({"rate": "101"}, "rate", "Rate must be a percentage from 0 to 100, with at most 4 decimals."),
    ({"rate": "1.23456"}, "rate", "at most 4 decimals"),
    ({"rate": ""}, "rate", "Rate is required."),
    ({"rate": "-2"}, "rate", "must be a percentage"),
    ({"country": "XX"}, "country", "Unknown country code"),
    ({"country": "USA"}, "country", "Country is too long"),
    ({"state": "N/Y"}, "state", "Use the state's code"),
    ({"priority": "0"}, "priority", "Priority must be a whole number from 1 to 99."),
    ({"postcodes": "1...2...3"}, "postcodes", "Not a postcode pattern"),
    ({"name": "T" * 101}, "name", "Name is too long"),
])
def test_tax_rate_validation_keeps_the_input(admin, token, db, company, data, field, message):
    values = {"country": "US", "rate": "5", "name": "Tax", "priority": "1", **data}

    response = post(admin, token, "/admin/shipping/tax/new", values)

    page = text(response)
    assert response.status_code == 422 and message in page and f'href="#{field}"' in page
    typed = values[field]
    assert (typed.upper() if field in ("country", "state") else typed) in page
    assert rates(db, company) == []


def test_zero_rate_and_any_country_are_fine(admin, token, db, company):
    response = post(admin, token, "/admin/shipping/tax/new", {"country": "*", "rate": "0", "name": "Zero"})
    assert response.status_code == 303 and (rates(db, company)[0].country, rates(db, company)[0].rate_micro) == ("", 0)


def upload(admin, token, content: bytes, name="rates.csv", replace=True, htmx=False):
    data = {"file": (io.BytesIO(content), name)}
    if replace:
        data["replace"] = "yes"
    return post(admin, token, "/admin/shipping/tax/upload", data, htmx=htmx, content_type="multipart/form-data")


def test_csv_upload_replaces_the_rates(admin, token, db, company, rival):
    db.session.add(TaxRate(company_id=company.id, country="FR", rate_micro=200000, name="Old"))
    db.session.commit()
    load_tax_rates(company.id)
    expected = parse_tax_rates(TAX_CSV)

    unconfirmed = upload(admin, token, TAX_CSV.read_bytes(), replace=False)
    assert unconfirmed.status_code == 422 and "Tick “Replace my current tax rates”" in text(unconfirmed)
    assert [r.name for r in rates(db, company)] == ["Old"]

    response = upload(admin, token, TAX_CSV.read_bytes(), name="sample_tax_rates.csv")

    stored = rates(db, company)
    assert response.status_code == 303 and len(stored) == len(expected) > 3
    assert f"{len(expected)} tax rates imported" in text(admin.get("/admin/shipping/tax"))
    assert [(r.country, r.state, r.rate_micro, r.tax_class) for r in stored] == [
        (e["country"], e["state"], e["rate_micro"], e["tax_class"]) for e in expected]
    assert "Old" not in [r.name for r in stored] and stored[0].rate_micro == 200000 and stored[0].country == "GB"
    assert len(load_tax_rates(company.id)) == len(expected)
    assert rates(db, rival["company"])[0].name == "MwSt"  # the other merchant's rates are untouched


def test_broken_csv_names_line_and_column_and_changes_nothing(admin, token, db, company):
    db.session.add(TaxRate(company_id=company.id, country="FR", rate_micro=200000, name="Old"))
    db.session.commit()
    lines = TAX_CSV.read_text(encoding="utf-8").splitlines()
    cells = lines[2].split(",")
    cells[4] = "twenty"  # Rate %, third line of the file
    broken = "\n".join([*lines[:2], ",".join(cells), *lines[3:]]).encode()

    plain = upload(admin, token, broken, name="broken rates.csv")
    htmx = upload(admin, token, broken, name="broken rates.csv", htmx=True)

    assert plain.status_code == htmx.status_code == 422
    assert "broken_rates.csv, line 3, column 5 (Rate %): not a number: 'twenty'" in text(plain)
    assert "<html" not in htmx.get_data(as_text=True) and "line 3, column 5" in text(htmx)
    assert json.loads(htmx.headers["HX-Trigger"])["toast"]["level"] == "error"
    assert [r.name for r in rates(db, company)] == ["Old"]


@pytest.mark.parametrize("content, message", [
    (b"", "the file is empty"),
    (b"Country,Rate\nUS,5\n", "missing column(s) Country Code"),
    (b"Country Code,State Code,ZIP/Postcode,City,Rate %,Tax Name,Priority,Compound,Shipping,Tax Class\n"
     b"USA,*,*,*,5,Tax,1,0,1,\n", "line 2, column 1 (Country Code): not a two-letter country code"),
    (b"\xff\xfe\x00binary", "not a UTF-8 text file"),
    (b"x" * (MAX_BYTES + 10), "file is larger than 5 MB"),
])
def test_bad_uploads(admin, token, db, company, content, message):
    response = upload(admin, token, content)
    assert response.status_code == 422 and message in text(response)
    assert rates(db, company) == []


def test_no_file_and_a_request_over_the_limit(admin, token, db, company):
    missing = post(admin, token, "/admin/shipping/tax/upload", {}, content_type="multipart/form-data")
    huge = upload(admin, token, b"x" * (MAX_BYTES + 200 * 1024))
    assert missing.status_code == 422 and "Choose a CSV file to upload." in text(missing)
    assert huge.status_code == 413 and rates(db, company) == []


def test_prices_include_tax_setting(admin, token, db, company):
    on = post(admin, token, "/admin/shipping/tax/settings", {"prices_include_tax": "1"})
    db.session.refresh(company)
    assert on.status_code == 303 and company.prices_include_tax is True
    assert "Prices now include tax." in text(admin.get("/admin/shipping/tax"))
    assert 'id="prices_include_tax" name="prices_include_tax" type="checkbox" value="1" checked' in text(
        admin.get("/admin/shipping/tax"))

    same = post(admin, token, "/admin/shipping/tax/settings", {"prices_include_tax": "1"}, htmx=True)
    off = post(admin, token, "/admin/shipping/tax/settings", {}, htmx=True)
    db.session.refresh(company)
    assert json.loads(same.headers["HX-Trigger"])["toast"]["message"] == "Nothing changed."
    assert off.status_code == 200 and company.prices_include_tax is False


# ---------------------------------------------------------------------------- tenancy


def test_another_merchants_zone_method_and_rate_are_404(admin, token, db, rival):
    zone, method, rate = rival["zone"], rival["method"], rival["rate"]
    gets = [f"/admin/shipping/zones/{zone.id}", f"/admin/shipping/zones/{zone.id}/delete",
            f"/admin/shipping/methods/{method.id}", f"/admin/shipping/methods/{method.id}/delete",
            f"/admin/shipping/tax/{rate.id}", f"/admin/shipping/tax/{rate.id}/delete"]
    for path in gets:
        assert admin.get(path).status_code == 404, path
    posts = [
        (f"/admin/shipping/zones/{zone.id}", {"name": "Mine now", "countries": ["US"]}),
        (f"/admin/shipping/zones/{zone.id}/move", {"direction": "up"}),
        (f"/admin/shipping/zones/{zone.id}/delete", {"confirmed": "yes"}),
        (f"/admin/shipping/zones/{zone.id}/methods", {"name": "Sneaky", "type": "FLAT_RATE", "amount": "0"}),
        (f"/admin/shipping/methods/{method.id}", {"name": "Mine", "type": "FLAT_RATE", "amount": "0"}),
        (f"/admin/shipping/methods/{method.id}/delete", {"confirmed": "yes"}),
        (f"/admin/shipping/tax/{rate.id}", {"country": "US", "rate": "0"}),
        (f"/admin/shipping/tax/{rate.id}/delete", {"confirmed": "yes"}),
    ]
    for path, data in posts:
        assert post(admin, token, path, data).status_code == 404, path
    db.session.refresh(zone)
    db.session.refresh(rate)
    assert zone.name == "Rival land" and [m.name for m in zone.methods] == ["Standard"]
    assert (rate.country, rate.rate_micro) == ("DE", 190000)
    assert "Rival land" not in text(admin.get("/admin/shipping"))
    assert "MwSt" not in text(admin.get("/admin/shipping/tax"))


# ---------------------------------------------------------------------------- long lists


def test_zones_page_with_the_admin_pager_and_moves_stay_on_their_page(admin, token, db, company, rival):
    for n in range(27):
        zone = ShippingZone(company_id=company.id, name=f"Zone {n:02}", countries=["US"], position=n + 1)
        db.session.add(zone)
    db.session.commit()

    first = text(admin.get("/admin/shipping"))
    assert "25. Zone 24" in first and "Zone 25" not in first and "Rival land" not in first
    assert "Zones 1 to 25 of 27." in first and 'href="/admin/shipping?page=2"' in first
    assert 'hx-target="#zone-list"' in first and 'aria-label="Move Zone 00 up" disabled' in first
    assert 'aria-label="Move Zone 24 down" disabled' not in first  # more zones follow on page 2

    second = admin.get("/admin/shipping?page=2", headers=HX)
    body = text(second)
    assert second.status_code == 200 and body.lstrip().startswith('<div id="zone-list">')
    assert "26. Zone 25" in body and "27. Zone 26" in body and "Zone 24" not in body
    assert 'aria-label="Move Zone 26 down" disabled' in body and "HX-Request" in second.headers["Vary"]

    last = db.session.execute(select(ShippingZone).filter_by(name="Zone 26")).scalar_one()
    moved = post(admin, token, f"/admin/shipping/zones/{last.id}/move?page=2", {"direction": "up"}, htmx=True)
    assert "26. Zone 26" in text(moved) and "27. Zone 25" in text(moved)  # the same page, redrawn
    plain = post(admin, token, f"/admin/shipping/zones/{last.id}/move?page=2", {"direction": "up"})
    assert plain.status_code == 303 and plain.headers["Location"] == "/admin/shipping?page=2"
    for bad in ("abc", "٢", "-1", "0", "99999999999999999999"):
        assert "1. Zone 00" in text(admin.get(f"/admin/shipping?page={bad}")), bad
    assert "27. Zone 25" in text(admin.get("/admin/shipping?page=9"))  # past the end: the last page


def test_move_and_confirm_refuse_malformed_input(admin, token, db, company):
    zone = make_zone(company)
    for direction in ("", "UP", "up\u0000", "u" * 5000):
        response = post(admin, token, f"/admin/shipping/zones/{zone.id}/move", {"direction": direction}, htmx=True)
        assert response.status_code in (200, 400), direction
        if response.status_code == 200:
            assert "cannot move there" in json.loads(response.headers["HX-Trigger"])["toast"]["message"]
    for answer in ("", "no", "YES", "yes please"):
        asked = post(admin, token, f"/admin/shipping/zones/{zone.id}/delete", {"confirmed": answer})
        assert asked.status_code == 200 and "Delete the zone" in text(asked), answer
    assert len(zones(db)) == 1


def test_tax_rates_page_with_the_admin_pager(admin, token, db, company, rival):
    for n in range(27):
        db.session.add(TaxRate(company_id=company.id, country="US", rate_micro=10000 * (n + 1), name=f"Rate {n:02}",
                               priority=1, position=n))
    db.session.commit()

    first = text(admin.get("/admin/shipping/tax"))
    assert ">Rate 24<" in first and ">Rate 25<" not in first and "MwSt" not in first
    assert "Rates 1 to 25 of 27." in first and 'href="/admin/shipping/tax?page=2"' in first
    assert "Replace my 27 current tax rates" in first

    second = admin.get("/admin/shipping/tax?page=2", headers=HX)
    body = text(second)
    assert body.lstrip().startswith('<div id="tax-screen">') and ">Rate 26<" in body and ">Rate 00<" not in body

    gone = db.session.execute(select(TaxRate).filter_by(name="Rate 26")).scalar_one()
    deleted = post(admin, token, f"/admin/shipping/tax/{gone.id}/delete?page=2", {"confirmed": "yes"})
    assert deleted.status_code == 303 and deleted.headers["Location"] == "/admin/shipping/tax?page=2"
    assert len(rates(db, company)) == 26
