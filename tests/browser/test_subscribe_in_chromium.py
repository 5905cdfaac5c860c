"""Subscribe and save, end to end in headless Chromium: the landing page's "Subscribe and
save" radio, the drawer's plan, checkout's terms, paying with localstripe's card inputs (the
card saved through a SetupIntent first), the confirmation page, and its one-click upsell
charged on the kept card; axe-core on each of those pages when it is installed.
Screenshots go to tests/browser/screenshots/."""
from __future__ import annotations

import re

import pytest
from billing_kit import make_plan
from conftest import watch_console
from factories import make_page, make_product
from test_purchase import assert_accessible, axe_source, fill_and_capture

pytestmark = pytest.mark.browser
expect = pytest.importorskip("playwright.sync_api", reason="browser tests need the playwright package").expect

SHOPPER = {"email": "ada@example.com", "first_name": "Ada", "last_name": "Lovelace",
           "address1": "1 Analytical Way", "city": "Austin", "postcode": "78701", "country": "US"}
CARD = (("number", "4242424242424242"), ("exp_month", "12"), ("exp_year", "34"), ("cvc", "123"),
        ("postal_code", "78701"))


def test_subscribe_and_save_then_pay_then_the_one_click_upsell(app, db, company, live_server, new_context, shoot):
    from storefront.billing.models import Invoice, Subscription
    from storefront.billing.upsell_models import UpsellOffer
    from storefront.checkout.models import Order

    coffee = make_product(company, "House Coffee", price_cents=2000, stock=50)
    make_plan(company, coffee)
    mug = make_product(company, "Travel Mug", price_cents=1200, stock=5)
    make_page(company, [coffee])
    db.session.add(UpsellOffer(company_id=company.id, variant_id=mug.variants[0].id, headline="Add a travel mug"))
    db.session.commit()

    source = axe_source()
    context = new_context()
    if source is not None:
        context.add_init_script(path=str(source))
    page = context.new_page()
    watch_console(page)

    def accessible(where, exclude=()):
        if source is not None:
            page.wait_for_function("() => !!window.axe")
            assert_accessible(page, where, exclude)

    page.goto(f"{live_server}/lp/summer-sale?utm_source=newsletter")
    page.wait_for_function("() => !!window.htmx")
    card = page.locator("article.product-card").filter(has=page.get_by_role("heading", name="House Coffee"))
    subscribe = card.get_by_role("radio", name=re.compile(r"^Subscribe and save 10 %"))
    expect(card.get_by_role("radio", name=re.compile(r"^One-time purchase"))).to_be_checked()
    subscribe.check()
    expect(subscribe).to_be_checked()
    shoot(page, "subscribe-landing")
    accessible("the landing page with subscribe and save")
    card.get_by_role("button", name=re.compile(r"^Add to cart")).click()
    dialog = page.get_by_role("dialog", name="Your cart")
    expect(dialog).to_be_visible()
    expect(dialog.locator(".line-plan")).to_have_text("Subscription: every month, save 10 %")

    page.goto(f"{live_server}/checkout")
    terms = page.locator(".subscription-terms")
    expect(terms).to_contain_text("$18.00 every month")
    expect(terms).to_contain_text("we keep your card")
    expect(page.locator('#card-element input[placeholder="number"]')).to_be_visible()
    for name, value in SHOPPER.items():
        fill_and_capture(page, name, value)
    for placeholder, value in CARD:
        page.locator(f'#card-element input[placeholder="{placeholder}"]').press_sequentially(value)
    shoot(page, "subscribe-checkout")
    accessible("checkout with the subscription terms", exclude=("#card-element",))
    page.get_by_role("button", name=re.compile(r"^Pay \$")).click()
    page.wait_for_url(re.compile(r"/orders/[\w-]+$"), timeout=20_000)

    upsell = page.locator("#upsell")
    expect(upsell.get_by_role("heading", name="Add a travel mug")).to_be_visible()
    shoot(page, "subscribe-confirmation")
    accessible("the confirmation with the one-click upsell")
    button = upsell.get_by_role("button", name="Add to my order: $12.00")
    button.dblclick()  # a double click charges once
    expect(page.locator("#upsell").get_by_role("heading", name="Added to your order")).to_be_visible()

    db.session.expire_all()
    sub = db.session.execute(db.select(Subscription)).scalar_one()
    first = db.session.get(Order, sub.first_order_id)
    assert sub.payment_method_id == first.payment_method_id and sub.payment_method_id.startswith("pm_")
    assert db.session.execute(db.select(Invoice)).scalar_one().order_id == first.id
    orders = db.session.execute(db.select(Order).order_by(Order.id)).scalars().all()
    assert [(o.source_type, o.total_cents) for o in orders] == [(first.source_type, first.total_cents), ("UPSELL", 1200)]
    assert orders[1].utm_source == "newsletter" == first.utm_source
