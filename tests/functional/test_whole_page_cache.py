"""The landing page as a first view without any cookie (an ad click) sees it, rendered once
per process and page version and served with the visitor's own CSRF token: identical to a
fresh rendering but for the token, never holding one visitor's ids or cart for another,
keyed on the country header's shipping line and on an experiment's version, and dropped
as soon as the page changes in this process. Every view is still recorded."""
from __future__ import annotations

import re

import pytest
from factories import make_page, make_product, make_zone
from flask import template_rendered

from storefront.extensions import db as _db
from storefront.landing.services import clear_section_cache
from storefront.visits.models import Visit, VisitEvent

TOKEN = re.compile(r'"X-CSRFToken": "([^"]+)"')


@pytest.fixture()
def shop(app, db, company):
    app.config["SECTION_CACHE_SECONDS"] = 60
    clear_section_cache()
    tee = make_product(company, "Classic Tee", price_cents=1500)
    page = make_page(company, [tee, make_product(company, "Canvas Tote", price_cents=2200)])
    yield {"page": page, "tee": tee}
    clear_section_cache()


@pytest.fixture()
def renders(app):
    """The templates rendered since the fixture began (a cache hit renders none)."""
    seen: list[str] = []

    def record(sender, template, context, **extra):
        seen.append(template.name)

    template_rendered.connect(record, app)
    yield seen
    template_rendered.disconnect(record, app)


def first_view(app, path="/lp/summer-sale", headers=None):
    """A GET from a new browser: no cookie at all. Returns (body, CSRF token, response)."""
    response = app.test_client(use_cookies=False).get(path, headers=headers or {})
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    return body, TOKEN.search(body).group(1), response


def test_a_second_first_view_is_the_same_page_with_its_own_token(app, shop, renders):
    body_a, token_a, _ = first_view(app)
    assert "landing/page.html" in renders
    renders.clear()
    body_b, token_b, response = first_view(app)

    assert renders == []  # served from the cache
    assert token_a != token_b and token_a not in body_b
    assert body_b.count(token_b) == body_a.count(token_a) >= 2  # the header and every form
    assert body_b.replace(token_b, "T") == body_a.replace(token_a, "T")
    assert response.headers["Cache-Control"] == "private, no-cache" and "HX-Request" in response.headers["Vary"]


def test_the_cached_page_holds_no_visitor_ids_and_its_token_works(app, shop, renders):
    first_view(app)
    client = app.test_client()
    response = client.get("/lp/summer-sale")
    body = response.get_data(as_text=True)
    visit = _db.session.execute(_db.select(Visit).order_by(Visit.id.desc())).scalars().first()
    assert visit.token not in body and visit.visitor_id not in body
    assert any(visit.token in cookie for cookie in response.headers.getlist("Set-Cookie"))

    token = TOKEN.search(body).group(1)
    added = client.post("/cart/add", data={"variant_id": shop["tee"].variants[0].id, "quantity": 1,
                                           "csrf_token": token})
    assert added.status_code in (200, 303), added.status_code


def test_a_shopper_with_a_cart_gets_their_own_page(app, shop):
    client = app.test_client()
    client.get("/lp/summer-sale")
    token = TOKEN.search(client.get("/lp/summer-sale").get_data(as_text=True)).group(1)
    client.post("/cart/add", data={"variant_id": shop["tee"].variants[0].id, "quantity": 2, "csrf_token": token})
    first_view(app)  # a cookieless page is cached meanwhile

    own = client.get("/lp/summer-sale").get_data(as_text=True)
    assert 'data-count="2"' in own
    assert 'data-count="0"' in first_view(app)[0] and "Classic Tee" in first_view(app)[0]


def test_another_sites_cookie_still_gets_the_cached_page_and_a_shop_cookie_does_not(app, shop, renders):
    first_view(app)
    renders.clear()
    tagged = app.test_client()
    tagged.set_cookie("_ga", "GA1.1.123.456")  # an analytics tag's, on the shop's domain
    assert tagged.get("/lp/summer-sale").status_code == 200
    assert renders == []
    for name in ("sf_vid", "session", "remember_token"):
        client = app.test_client()
        client.set_cookie(name, "x" * 20)
        assert client.get("/lp/summer-sale").status_code == 200
        assert "landing/page.html" in renders, name
        renders.clear()


def test_every_first_view_is_still_recorded(app, shop):
    for _ in range(3):
        first_view(app)
    views = _db.session.execute(_db.select(_db.func.count()).select_from(VisitEvent)
                                .where(VisitEvent.type == "page_view")).scalar_one()
    visits = _db.session.execute(_db.select(_db.func.count()).select_from(Visit)).scalar_one()
    assert views == 3 and visits == 3


def test_an_edit_shows_to_the_next_first_view_at_once(app, shop, db):
    first_view(app)
    shop["tee"].variants[0].price_cents = 1200
    db.session.commit()
    assert "$12.00" in first_view(app)[0]

    shop["page"].sections[0].settings = {"heading": "Winter Sale"}
    db.session.commit()
    assert "Winter Sale" in first_view(app)[0]


def test_each_country_gets_its_own_shipping_line(app, shop, company):
    app.config["COUNTRY_HEADER"] = "CF-IPCountry"
    make_zone(company, name="Europe", countries=("DE",), methods=[
        {"name": "Standard", "type": "FLAT_RATE", "amount_cents": 490, "min_days": 2, "max_days": 4}])
    germany = first_view(app, headers={"CF-IPCountry": "DE"})[0]
    japan = first_view(app, headers={"CF-IPCountry": "JP"})[0]
    nowhere = first_view(app)[0]
    assert "Shipping to Germany" in germany and "Germany" not in japan and "Germany" not in nowhere
    assert "doesn&#39;t ship to Japan" in japan or "doesn't ship to Japan" in japan
    assert "Shipping to Germany" in first_view(app, headers={"CF-IPCountry": "de"})[0]


def test_with_the_cache_off_nothing_is_kept(app, shop, renders):
    app.config["SECTION_CACHE_SECONDS"] = 0
    first_view(app)
    renders.clear()
    first_view(app)
    assert "landing/page.html" in renders


def test_each_experiment_variant_is_cached_as_its_own_page(app, shop, company):
    from storefront.analytics.experiments import create_experiment, start

    experiment = create_experiment(company.id, shop["page"].id, "Headline", "", "conversion_rate",
                                   [("Control", 50, None), ("Promise", 50, "Free returns for a year")])
    start(experiment)
    headings = [re.search(r"<h1[^>]*>([^<]*)</h1>", first_view(app)[0]).group(1) for _ in range(40)]
    # Both versions reach cookieless visitors, each whole: never one's heading in the other.
    assert set(headings) == {"Summer Sale", "Free returns for a year"}
