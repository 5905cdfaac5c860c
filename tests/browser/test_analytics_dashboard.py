"""End to end in headless Chromium: the analytics dashboard after generated traffic (issue 13).

The demo shop gets a few days of random shoppers (page views, adds to cart, checkouts,
orders, abandoned carts, of several source types and categories) and one rollup refresh.
The merchant signs in and opens /admin/analytics: the funnel and the other charts are
drawn as SVG beside their tables; choosing another range swaps only the results (htmx)
and puts the range in the address; axe-core finds nothing serious or critical. Without
JavaScript the same filter form loads the whole page. Screenshots at 390 px and 1280 px
go to tests/browser/screenshots/.
"""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from analytics_data import Traffic
from analytics_shop import Shop
from test_leads_capture import admin_context, seed, sign_in
from test_purchase import assert_accessible

pytestmark = pytest.mark.browser
expect = pytest.importorskip("playwright.sync_api", reason="browser tests need the playwright package").expect


def traffic(app, db):
    """The demo merchant with generated traffic, rolled up; returns its owner and password."""
    from storefront.accounts.models import Company
    from storefront.analytics.rollups import refresh
    from storefront.types import utcnow

    page, owner, password = seed(app)
    company = db.session.get(Company, page.company_id)
    now = utcnow()
    shop = Shop(company, 13)
    shop.traffic(now - timedelta(days=5), hours=110, n=120)
    Traffic(13).shoppers(company, page, shop.products[0].variants[0].id, now - timedelta(days=5), hours=110, n=120)
    refresh(now=now)
    return owner, password


def test_the_dashboard_draws_its_charts_and_swaps_the_range(app, db, live_server, new_context, shoot):
    owner, password = traffic(app, db)
    context, axe = admin_context(new_context)
    admin = context.new_page()
    sign_in(admin, live_server, owner, password)

    admin.goto(f"{live_server}/admin/analytics")
    funnel = admin.locator('svg[aria-labelledby="an-funnel-title an-funnel-desc"]')
    expect(funnel).to_be_visible()
    expect(funnel.locator("rect.chart-bar")).to_have_count(5)
    for heading in ("Funnel", "Source types and average cart size", "Top products", "Cart abandonment by category"):
        expect(admin.get_by_role("heading", name=heading, exact=True)).to_be_visible()
    expect(admin.locator("#an-sources-title")).to_have_count(1)
    shoot(admin, "analytics-dashboard")
    if axe:
        admin.wait_for_function("() => !!window.axe")
        assert_accessible(admin, "the analytics dashboard")

    # htmx: choosing a range swaps the results only; the form and its page stay.
    admin.evaluate("() => { document.querySelector('form.ea-filters').dataset.kept = 'yes'; }")
    admin.get_by_label("Range", exact=True).select_option("30d")
    expect(admin.locator("#analytics-results")).to_contain_text("Last 30 days")
    expect(admin).to_have_url(re.compile(r"range=30d"))
    assert admin.evaluate("() => document.querySelector('form.ea-filters').dataset.kept") == "yes"
    expect(admin.locator('svg[aria-labelledby="an-funnel-title an-funnel-desc"]')).to_be_visible()


def test_without_javascript_the_filter_form_loads_the_page(app, db, live_server, new_context, shoot):
    owner, password = traffic(app, db)
    context = new_context(java_script_enabled=False)
    admin = context.new_page()
    sign_in(admin, live_server, owner, password)

    admin.goto(f"{live_server}/admin/analytics")
    admin.get_by_label("Range", exact=True).select_option("today")
    with admin.expect_navigation():
        admin.get_by_role("button", name="Show").click()

    assert "range=today" in admin.url
    expect(admin.locator("#analytics-results")).to_contain_text("Today")
    expect(admin.locator('svg[aria-labelledby="an-series-title an-series-desc"]')).to_be_visible()
    shoot(admin, "analytics-dashboard-no-js")
