"""Variants as versions of the page: the public landing page renders the assigned variant's
own sections, product order and theme (each visitor sticks to theirs; a forged variant
cookie changes nothing); the order records the variant in its own column and the rollups
count it there; concluding replaces every aspect of the page with the winner's."""
from __future__ import annotations

import html
import re
from datetime import timedelta

import pytest
from factories import make_page, make_product

from storefront.analytics.experiments import (
    conclude,
    create_experiment,
    forget_plans,
    start,
    stop,
    variants_of,
)
from storefront.analytics.models import ExperimentExposure, HourlyRollup
from storefront.analytics.rollups import refresh
from storefront.cart.models import Cart, LineItem
from storefront.checkout.orders import complete_order
from storefront.landing.builder import move_product
from storefront.landing.models import LandingPage, LandingPageProduct, Section
from storefront.themes.services import update_theme
from storefront.types import utcnow
from storefront.visits.models import Visit


@pytest.fixture()
def page(db, company, app):
    app.config["EXPERIMENT_CACHE_SECONDS"] = 0
    forget_plans()
    return make_page(company, [make_product(company, title="Linen shirt"), make_product(company, title="Straw hat")])


def _with_edited_version(db, company, page):
    """An experiment whose variant B has another hero heading, the products the other way
    round, a rich-text section of its own and the dark theme."""
    experiment = create_experiment(company.id, page.id, "Whole page", "", "conversion_rate",
                                   [("Control", 50, None), ("B", 50, "Made for summer")])
    version = db.session.get(LandingPage, variants_of(experiment.id)[1].page_id)
    grid = next(s for s in version.sections if s.type == "product_grid")
    first = db.session.execute(db.select(LandingPageProduct).filter_by(section_id=grid.id)
                               .order_by(LandingPageProduct.position)).scalars().first()
    move_product(version, grid, first, "down")
    db.session.add(Section(landing_page_id=version.id, type="rich_text", position=3,
                           settings={"html": "<p>Only in version B</p>"}))
    db.session.commit()
    update_theme(version, {"preset": "dark", "overrides": {}})
    return experiment, version


def _shown(body: str) -> tuple[bool, bool, bool]:
    """(B's heading, B's product order, B's own section) in a rendered page."""
    return ("Made for summer" in body, body.find("Straw hat") < body.find("Linen shirt"), "Only in version B" in body)


def test_each_visitor_sees_their_variants_sections_products_and_theme(app, db, company, page):
    experiment, version = _with_edited_version(db, company, page)
    start(experiment)
    seen = set()
    for _ in range(14):
        client = app.test_client()
        body = client.get("/lp/summer-sale").get_data(as_text=True)
        shown = _shown(body)
        assert shown in {(True, True, True), (False, False, False)}
        assert (f"/lp/{version.slug}/theme.css" in body) == shown[0]  # the version's theme with it
        assert version.preview_token not in body  # the link that opens the version's whole page
        client.set_cookie("sf_variant", "999")  # a forged variant cookie is not read
        assert _shown(client.get("/lp/summer-sale").get_data(as_text=True)) == shown
        seen.add(shown[0])
    assert seen == {True, False}  # 14 visitors at 50/50 (p of one arm only = 2 * 0.5**14)
    # The version itself is never served at its own address.
    assert app.test_client().get(f"/lp/{version.slug}").status_code == 404


def test_the_theme_stylesheet_of_a_version_needs_its_key(app, db, company, page):
    from storefront.themes.services import version_key

    experiment, version = _with_edited_version(db, company, page)
    start(experiment)
    client = app.test_client()
    assert client.get(f"/lp/{version.slug}/theme.css").status_code == 404
    for wrong in ("0" * 32, version_key(page), "x", "é" * 40):  # another page's key, or no key at all
        assert client.get(f"/lp/{version.slug}/theme.css", query_string={"key": wrong}).status_code == 404
    linked = None
    for _ in range(30):  # a visitor shown the version follows the page's own link
        body = app.test_client().get("/lp/summer-sale").get_data(as_text=True)
        match = re.search(rf'href="(/lp/{re.escape(version.slug)}/theme\.css\?[^"]+)"', body)
        if match:
            linked = html.unescape(match.group(1))
            break
    assert linked is not None and "preview=" not in linked
    css = client.get(linked)
    assert css.status_code == 200 and css.mimetype == "text/css"
    assert css.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    # The preview link still opens a draft's stylesheet, as before.
    assert client.get(f"/lp/{version.slug}/theme.css?preview={version.preview_token}").status_code == 200


def _paid_order_of(db, company, client, product):
    """A cart of the client's visit, paid: the order as checkout makes it (hooks included)."""
    visit = db.session.execute(db.select(Visit).filter_by(token=client.get_cookie("sf_visit").value)).scalar_one()
    cart = Cart(token=f"{visit.id:043d}", company_id=company.id, currency="USD", visit_id=visit.id,
                landing_page_id=visit.landing_page_id, checkout_fields={"email": "buyer@example.com"})
    db.session.add(cart)
    db.session.flush()
    db.session.add(LineItem(cart_id=cart.id, variant_id=product.variants[0].id, quantity=1, unit_price_cents=2000))
    db.session.commit()
    order, created = complete_order(cart.id, amount_paid_cents=2000, currency="usd", payment_intent_id=f"pi_{cart.id}")
    assert created
    return order


def test_the_order_records_its_variant_and_the_rollups_count_it_there(app, db, company, page):
    app.config["VISIT_BUFFER"] = "off"  # the visit row at once, as the cart needs it
    experiment = create_experiment(company.id, page.id, "Orders", "", "conversion_rate",
                                   [("Control", 50, None), ("B", 50, "Made for summer")])
    start(experiment, now=utcnow() - timedelta(minutes=5))
    product = page.sections[1].products[0].product
    orders = []
    for _ in range(6):
        client = app.test_client()
        client.get("/lp/summer-sale")
        orders.append(_paid_order_of(db, company, client, product))
    exposure = {e.visitor_id: e.variant_id for e in db.session.execute(db.select(ExperimentExposure)).scalars()}
    for order in orders:
        visit = db.session.get(Visit, order.visit_id)
        assert order.experiment_variant_id == exposure[visit.visitor_id]

    # The rollups read the order's own column, even when the exposure is gone.
    db.session.execute(db.delete(ExperimentExposure))
    db.session.commit()
    refresh(now=utcnow() + timedelta(hours=1))
    by_variant: dict[int, int] = {}
    for row in db.session.execute(db.select(HourlyRollup)).scalars():
        by_variant[row.variant_id] = by_variant.get(row.variant_id, 0) + row.orders
    expected: dict[int, int] = {}
    for order in orders:
        expected[order.experiment_variant_id] = expected.get(order.experiment_variant_id, 0) + 1
    assert {k: v for k, v in by_variant.items() if v} == expected


def test_an_order_placed_after_its_experiment_stopped_keeps_the_variant_its_visit_saw(app, db, company, page):
    app.config["VISIT_BUFFER"] = "off"
    experiment = create_experiment(company.id, page.id, "Stopped", "", "conversion_rate",
                                   [("Control", 50, None), ("B", 50, "Made for summer")])
    start(experiment, now=utcnow() - timedelta(minutes=5))
    product = page.sections[1].products[0].product
    clients = [app.test_client() for _ in range(4)]
    for client in clients:
        client.get("/lp/summer-sale")
    stop(experiment)
    late_client = app.test_client()
    late_client.get("/lp/summer-sale")  # a visit that began after the stop saw no variant

    exposure = {e.visitor_id: e.variant_id for e in db.session.execute(db.select(ExperimentExposure)).scalars()}
    for client in clients:
        order = _paid_order_of(db, company, client, product)
        assert order.experiment_variant_id == exposure[db.session.get(Visit, order.visit_id).visitor_id]
    assert _paid_order_of(db, company, late_client, product).experiment_variant_id is None


def test_an_order_without_an_experiment_has_no_variant(app, db, company, page):
    app.config["VISIT_BUFFER"] = "off"
    client = app.test_client()
    client.get("/lp/summer-sale")
    order = _paid_order_of(db, company, client, page.sections[1].products[0].product)
    assert order.experiment_variant_id is None


def test_concluding_replaces_every_aspect_of_the_page(app, db, company, page):
    experiment, version = _with_edited_version(db, company, page)
    start(experiment)
    winner = variants_of(experiment.id)[1]

    conclude(experiment, winner.id, None)

    db.session.expire_all()
    live = db.session.get(LandingPage, page.id)
    assert [s.type for s in live.sections] == ["hero", "product_grid", "rich_text"]
    assert live.theme["preset"] == "dark"
    assert (experiment.status, experiment.previous_headline) == ("concluded", "Summer Sale")
    for _ in range(4):  # every visitor, the experiment over: the winner's page
        assert _shown(app.test_client().get("/lp/summer-sale").get_data(as_text=True)) == (True, True, True)
    # The version stays, hidden, as the record of what won.
    assert db.session.get(LandingPage, version.id).status == "variant"
