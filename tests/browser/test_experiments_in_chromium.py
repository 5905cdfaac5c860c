"""End to end in headless Chromium: an A/B experiment on the demo's summer-sale page.

1. The merchant creates an experiment through the real form with a new headline for the
   variant, reorders the variant's products in the page builder's copy, and starts it.
2. Two shoppers, in two browser contexts, each see their own variant (the control: the
   page's heading and product order; the variant: the new heading and the other order) and
   each keeps it on reload. Their visitor ids are chosen so that one hashes to each arm.
3. The variant's shopper buys: the order records the variant in its own column.
4. The results screen renders the variants (after a rollup refresh) and axe-core finds no
   serious or critical issue on it or on the experiment form.
"""
from __future__ import annotations

import re

import pytest
from test_leads_capture import admin_context, seed, sign_in
from test_purchase import (
    CARD,
    LANDING,
    SHOPPER,
    add_button,
    assert_accessible,
    cards,
    fill_and_capture,
    simple_card,
)

pytestmark = pytest.mark.browser
expect = pytest.importorskip("playwright.sync_api", reason="browser tests need the playwright package").expect

HEADLINE = "Free returns, always"
# Headless Chromium says "HeadlessChrome", which the experiments count as a bot (shown the
# control, never exposed): the shoppers present a desktop Chrome's user agent.
SHOPPER_AGENT = ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 "
                 "Safari/537.36")


def _visitor_for(experiment_id, arms, wanted_id):
    """A visitor id that the experiment's split assigns to the arm ``wanted_id``."""
    from storefront.analytics.experiments import assign
    from storefront.types import new_token

    for _ in range(1000):
        visitor = new_token()
        if assign(experiment_id, visitor, arms).id == wanted_id:
            return visitor
    raise AssertionError("no visitor id found for the arm")


def _titles(page):
    return [t.strip() for t in cards(page).locator(".product-title").all_inner_texts()]


def test_each_shopper_keeps_their_variant_and_a_purchase_is_attributed(app, db, live_server, new_context, shoot):
    from storefront.analytics.experiments import Arm, variants_of
    from storefront.analytics.models import Experiment
    from storefront.analytics.rollups import refresh
    from storefront.checkout.models import Order
    from storefront.landing.builder import move_product
    from storefront.landing.models import LandingPage, LandingPageProduct
    from storefront.types import utcnow

    landing, owner, password = seed(app)
    context, axe_on = admin_context(new_context)
    admin = context.new_page()
    sign_in(admin, live_server, owner, password)

    # 1. The experiment, through the form.
    admin.goto(f"{live_server}/admin/experiments/new")
    expect(admin.get_by_role("heading", level=1)).to_have_text("New experiment")
    if axe_on:
        admin.wait_for_function("() => !!window.axe")
        assert_accessible(admin, "the experiment form")
    admin.get_by_label("Landing page").select_option(label=landing.title)
    admin.get_by_label("Name", exact=True).fill("Free returns headline")
    admin.get_by_label("New hero heading").fill(HEADLINE)
    admin.get_by_role("button", name="Save as draft").click()
    admin.wait_for_url(re.compile(r"/admin/experiments/\d+$"), timeout=20_000)
    expect(admin.get_by_role("heading", level=1)).to_contain_text("Free returns headline")
    experiment = db.session.execute(db.select(Experiment)).scalar_one()
    control, variant = variants_of(experiment.id)
    # The variant's copy of the page, edited as the builder does: its first two products swapped.
    version = db.session.get(LandingPage, variant.page_id)
    grid = next(s for s in version.sections if s.type == "product_grid")
    first = db.session.execute(db.select(LandingPageProduct).filter_by(section_id=grid.id)
                               .order_by(LandingPageProduct.position)).scalars().first()
    move_product(version, grid, first, "down")
    admin.get_by_role("button", name="Start the experiment").click()
    expect(admin.get_by_role("heading", level=1)).to_contain_text("Running")

    # 2. Two shoppers, one per arm, each keeping their variant on reload.
    arms = (Arm(control.id, control.weight, None, True), Arm(variant.id, variant.weight, HEADLINE, False))
    shoppers = {}
    for arm in (control, variant):
        shopper_context = new_context(user_agent=SHOPPER_AGENT)
        shopper_context.add_cookies([{"name": "sf_vid", "value": _visitor_for(experiment.id, arms, arm.id),
                                      "url": live_server}])
        shopper = shopper_context.new_page()
        shopper.goto(f"{live_server}{LANDING}")
        shoppers[arm.id] = shopper
    heading = {control.id: "Summer Sale", variant.id: HEADLINE}
    orders = {}
    for arm_id, shopper in shoppers.items():
        expect(shopper.get_by_role("heading", level=1)).to_have_text(heading[arm_id])
        orders[arm_id] = _titles(shopper)
    assert orders[variant.id][:2] == orders[control.id][1::-1]  # the variant's own product order
    for arm_id, shopper in shoppers.items():
        shopper.reload()
        expect(shopper.get_by_role("heading", level=1)).to_have_text(heading[arm_id])
        assert _titles(shopper) == orders[arm_id]
    shoot(shoppers[variant.id], "experiment-variant")

    # 3. The variant's shopper buys.
    shopper = shoppers[variant.id]
    shopper.wait_for_function("() => !!window.htmx")
    card, _title, _variant_id = simple_card(shopper)
    add_button(card).click()
    expect(shopper.get_by_role("dialog", name="Your cart")).to_be_visible()
    shopper.goto(f"{live_server}/checkout")
    expect(shopper.locator('#card-element input[placeholder="number"]')).to_be_visible()
    for name, value in SHOPPER.items():
        fill_and_capture(shopper, name, value)
    for placeholder, value in CARD:
        shopper.locator(f'#card-element input[placeholder="{placeholder}"]').press_sequentially(value)
    shopper.get_by_role("button", name=re.compile(r"^Pay \$")).click()
    shopper.wait_for_url(re.compile(r"/orders/[\w-]+$"), timeout=20_000)
    db.session.expire_all()
    order = db.session.execute(db.select(Order)).scalar_one()
    assert (order.landing_page_id, order.experiment_variant_id) == (landing.id, variant.id)

    # 4. The results screen.
    refresh(now=utcnow())
    admin.goto(f"{live_server}/admin/experiments/{experiment.id}")
    table = admin.locator("table.data-table")
    expect(table.locator("tbody tr")).to_have_count(2)
    expect(table).to_contain_text(HEADLINE)
    expect(admin.locator("#experiment-screen")).to_contain_text("Keep running")
    if axe_on:
        admin.wait_for_function("() => !!window.axe")
        assert_accessible(admin, "the experiment results")
    shoot(admin, "admin-experiment-results")
