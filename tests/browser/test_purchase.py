"""End to end in headless Chromium: the demo's summer-sale page to a paid, attributed order.

1. With JavaScript: htmx add-to-cart, the drawer dialog (focus in, Esc, focus back), progressive
   capture field by field, localstripe's fake card inputs, the confirmation page, and the order
   and lead in the database.
2. Without JavaScript: the plain forms (303 to /cart), the cart page's stepper, the checkout
   summary and the whole-form submit.
3. axe-core on the landing page, the open drawer and checkout.

Screenshots of each key page at 390 px and 1280 px go to tests/browser/screenshots/.
"""
from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser
expect = pytest.importorskip("playwright.sync_api", reason="browser tests need the playwright package").expect

ROOT = Path(__file__).resolve().parents[2]
LANDING = "/lp/summer-sale"
SHOPPER = {
    "email": "ada@example.com", "phone": "(512) 974-2000", "first_name": "Ada", "last_name": "Lovelace",
    "address1": "1 Analytical Way", "city": "Austin", "postcode": "78701", "country": "US",
}
CARD = (("number", "4242424242424242"), ("exp_month", "12"), ("exp_year", "34"), ("cvc", "123"),
        ("postal_code", "78701"))
DRAWER_HAS_FOCUS = "() => document.getElementById('cart-drawer').contains(document.activeElement)"


# ---- helpers -------------------------------------------------------------------------------

def seed(app):
    from storefront.demo import seed_demo

    page, _owner_password = seed_demo(app.config["CATALOG_DATA_DIR"])
    return page


def cards(page):
    return page.locator("article.product-card")


def card_titled(page, title):
    return cards(page).filter(has=page.get_by_role("heading", name=title, exact=True))


def add_button(card):
    return card.get_by_role("button", name=re.compile(r"^Add to cart"))


def simple_card(page):
    """The first buyable product without option chips; returns (card, title, variant id)."""
    card = cards(page).filter(has=page.locator("form.add-form")).filter(
        has_not=page.locator("fieldset.chips")).first
    expect(card).to_be_visible()
    title = card.locator(".product-title").inner_text().strip()
    variant_id = int(card.locator('form.add-form input[name="variant_id"]').get_attribute("value"))
    return card, title, variant_id


def variant_card(page):
    """The V-Neck T-Shirt or the Hoodie, with a second in-stock chip picked; returns
    (card, title, variant id of the picked chip)."""
    for title in ("Hoodie", "V-Neck T-Shirt"):
        card = card_titled(page, title)
        if card.count() == 1 and card.locator("label.chip:not(.chip-out)").count() >= 2:
            chip = card.locator("label.chip:not(.chip-out)").nth(1)
            chip.click()
            radio = chip.locator('input[type="radio"]')
            expect(radio).to_be_checked()
            return card, title, int(radio.get_attribute("value"))
    pytest.fail("the summer-sale page shows neither a Hoodie nor a V-Neck T-Shirt with 2+ in-stock options")


def cart_line(container, title):
    return container.locator("li.cart-line").filter(
        has=container.page.locator(".line-title", has_text=re.compile(rf"^\s*{re.escape(title)}\s*$")))


def fill_and_capture(page, name, value):
    """Type a checkout field and leave it with Tab, so the htmx capture fires; wait for is-valid."""
    field = page.locator(f"#input-{name}")
    if name == "country":
        field.select_option(value)
        field.press("Tab")
    else:
        field.click()
        field.press_sequentially(value)
        field.press("Tab")
    expect(page.locator(f"#field-{name}")).to_have_class(re.compile(r"\bis-valid\b"))


def follow_post(page, click, path):
    """Click a plain form's button; assert the POST answered 303 and landed on ``path``."""
    with page.expect_navigation() as navigation:
        click()
    response = navigation.value
    assert response is not None and response.ok, response
    assert re.sub(r"^https?://[^/]+", "", response.url).split("#")[0] == path
    posted = response.request.redirected_from
    assert posted is not None and posted.method == "POST", "expected a POST answered by a redirect"
    assert posted.response().status == 303
    return response


def money(cents):
    from storefront.money import format_money

    return format_money(cents, "USD")


# ---- 1. with JavaScript --------------------------------------------------------------------

def test_purchase_with_javascript_is_attributed_to_the_landing_page(app, db, live_server, page, shoot):
    from storefront.checkout.models import Order
    from storefront.leads.models import Lead

    landing = seed(app)
    page.goto(f"{live_server}{LANDING}?utm_source=newsletter&utm_campaign=june")
    expect(page.get_by_role("heading", level=1)).to_have_text("Summer Sale")
    expect(page.locator(".test-mode")).to_be_visible()
    page.wait_for_function("() => !!window.htmx")
    shoot(page, "landing")

    dialog = page.get_by_role("dialog", name="Your cart")
    expect(dialog).to_be_hidden()

    # A simple product: the drawer opens with it, focus moves into it, Esc gives focus back.
    first_card, first_title, first_variant = simple_card(page)
    first_button = add_button(first_card)
    first_button.click()
    expect(dialog).to_be_visible()
    expect(cart_line(dialog, first_title)).to_have_count(1)
    page.wait_for_function(DRAWER_HAS_FOCUS)
    expect(page.locator("#cart-badge .badge-count")).to_have_attribute("data-count", "1")
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(first_button).to_be_focused()

    # A variant picked by its chip.
    second_card, second_title, second_variant = variant_card(page)
    second_button = add_button(second_card)
    second_button.click()
    expect(dialog).to_be_visible()
    expect(dialog.locator("li.cart-line")).to_have_count(2)
    page.wait_for_function(DRAWER_HAS_FOCUS)

    # + in the drawer: the quantity, the badge and the live region follow; focus stays inside.
    line = cart_line(dialog, second_title)
    plus = line.get_by_role("button", name=f"Increase quantity of {second_title}")
    plus.click()
    expect(line.locator(".qty-value")).to_have_text("2")
    expect(page.locator("#cart-badge .badge-count")).to_have_attribute("data-count", "3")
    expect(page.locator("#cart-status")).to_contain_text("3 items")
    expect(plus).to_be_focused()  # the swapped-in + of the same line, so + can be pressed again
    shoot(page, "drawer", full_page=False)

    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(second_button).to_be_focused()

    # Checkout, field by field, then localstripe's card inputs.
    page.goto(f"{live_server}/checkout")
    expect(page.get_by_role("heading", level=1)).to_have_text("Checkout")
    expect(page.locator(".order-summary")).to_contain_text(f"{second_title}")
    card_number = page.locator('#card-element input[placeholder="number"]')
    expect(card_number).to_be_visible()
    for name, value in SHOPPER.items():
        fill_and_capture(page, name, value)
    for placeholder, value in CARD:
        page.locator(f'#card-element input[placeholder="{placeholder}"]').press_sequentially(value)
    shoot(page, "checkout")

    page.get_by_role("button", name=re.compile(r"^Pay \$")).click()
    page.wait_for_url(re.compile(r"/orders/[\w-]+$"), timeout=20_000)
    expect(page.get_by_role("heading", level=1)).to_have_text("Thank you, Ada!")
    expect(page.locator(".confirmation")).to_contain_text("ada@example.com")
    shoot(page, "confirmation")

    # The database: one paid order, attributed to the landing page and the campaign.
    db.session.expire_all()
    orders = db.session.execute(db.select(Order)).scalars().all()
    assert len(orders) == 1
    order = orders[0]
    assert order.status == "PAID"
    assert order.source_type == "LANDING_PAGE"
    assert order.landing_page_id == landing.id
    assert (order.utm_source, order.utm_campaign) == ("newsletter", "june")
    assert order.email == "ada@example.com"
    assert len(order.lines) >= 2
    assert {li.variant_id: li.quantity for li in order.lines} == {first_variant: 1, second_variant: 2}
    assert order.amount_paid_cents == order.total_cents == sum(li.line_total_cents for li in order.lines)
    lead = db.session.execute(db.select(Lead).filter_by(cart_id=order.cart_id)).scalar_one()
    assert lead.status == "CONVERTED"
    assert order.lead_id == lead.id


# ---- 2. without JavaScript -----------------------------------------------------------------

def test_purchase_flow_without_javascript(app, db, live_server, new_context, shoot):
    from storefront.catalog.models import Variant

    seed(app)
    page = new_context(java_script_enabled=False).new_page()
    page.goto(f"{live_server}{LANDING}?utm_source=newsletter&utm_campaign=june")
    expect(page.get_by_role("heading", level=1)).to_have_text("Summer Sale")

    first_card, first_title, first_variant = simple_card(page)
    follow_post(page, add_button(first_card).click, "/cart")
    expect(page.locator(".flash-success")).to_have_text("Added to cart")
    expect(cart_line(page.locator("#cart-drawer-body"), first_title)).to_have_count(1)

    page.get_by_role("link", name="Continue shopping").click()
    page.wait_for_url(re.compile(re.escape(LANDING) + "$"))
    second_card, second_title, second_variant = variant_card(page)
    follow_post(page, add_button(second_card).click, "/cart")

    body = page.locator("#cart-drawer-body")
    line = cart_line(body, second_title)
    follow_post(page, line.get_by_role("button", name=f"Increase quantity of {second_title}").click, "/cart")
    expect(page.locator(".flash-success")).to_have_text("Cart updated")
    expect(cart_line(body, second_title).locator(".qty-value")).to_have_text("2")
    expect(cart_line(body, first_title).locator(".qty-value")).to_have_text("1")
    expect(page.locator("#cart-badge .badge-count")).to_have_attribute("data-count", "3")

    page.get_by_role("link", name="Check out").click()
    page.wait_for_url(re.compile(r"/checkout$"))
    prices = {v.id: v.price_cents for v in db.session.execute(
        db.select(Variant).where(Variant.id.in_([first_variant, second_variant]))).scalars()}
    total = prices[first_variant] + 2 * prices[second_variant]
    summary = page.locator(".order-summary")
    lines = summary.locator(".summary-lines li")
    expect(lines).to_have_count(2)
    names = summary.locator(".summary-lines .summary-name")
    expect(names.filter(has_text=re.compile(rf"^{re.escape(first_title)}\b.*× 1"))).to_have_count(1)
    expect(names.filter(has_text=re.compile(rf"^{re.escape(second_title)} \(.*\) × 2"))).to_have_count(1)
    expect(summary.locator(".total strong")).to_have_text(money(total))
    # Without JavaScript the button saves the details; paying needs Stripe.js.
    expect(page.get_by_role("button", name="Save my details", exact=True)).to_be_visible()

    for name, value in SHOPPER.items():
        if name == "country":
            page.locator("#input-country").select_option(value)
        else:
            page.locator(f"#input-{name}").fill(value)
    follow_post(page, page.get_by_role("button", name="Save my details", exact=True).click, "/checkout")
    expect(page.locator(".flash-success")).to_have_text("Your details are saved.")
    expect(page.locator("#payment")).to_be_visible()
    # Playwright's text matchers skip <noscript>, so the note's own paragraph is checked.
    note = page.locator("#payment noscript .notice")
    expect(note).to_be_visible()
    assert "it needs JavaScript turned on" in note.inner_text()
    expect(page.locator("#card-element")).to_be_hidden()  # no empty card box without Stripe.js
    expect(page.locator("#input-email")).to_have_value("ada@example.com")
    expect(page.locator("#input-country")).to_have_value("US")
    shoot(page, "checkout-nojs")


# ---- 3. axe-core ---------------------------------------------------------------------------

def axe_source() -> Path | None:
    for candidate in (os.environ.get("AXE_CORE_JS"), "/tmp/node_modules/axe-core/axe.min.js",
                      ROOT / "node_modules" / "axe-core" / "axe.min.js"):
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    return None


AXE_RUN = """async (exclude) => {
  const result = await axe.run(exclude.length ? {exclude: exclude.map((s) => [s])} : document, {
    resultTypes: ["violations"],
    runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]},
  });
  return result.violations.map((v) => ({id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.slice(0, 5).map((n) => ({target: n.target.join(" "), summary: n.failureSummary}))}));
}"""


def assert_accessible(page, where, exclude=()):
    violations = page.evaluate(AXE_RUN, list(exclude))
    for violation in violations:
        print(f"axe {where}: [{violation['impact']}] {violation['id']}: {violation['help']}")
        for node in violation["nodes"]:
            print(f"    {node['target']}: {node['summary']}")
    grave = [v for v in violations if v["impact"] in ("critical", "serious")]
    assert not grave, f"axe found critical/serious issues on {where}:\n" + json.dumps(grave, indent=2)


def test_axe_finds_no_serious_issues(app, db, live_server, new_context):
    source = axe_source()
    if source is None:
        pytest.skip("axe-core not found: set AXE_CORE_JS, or run `npm install axe-core@4` in /tmp or the repo")
    seed(app)
    context = new_context()
    # An init script goes in through the DevTools protocol, so the pages keep their real CSP.
    context.add_init_script(path=str(source))
    page = context.new_page()

    page.goto(f"{live_server}{LANDING}?utm_source=newsletter&utm_campaign=june")
    page.wait_for_function("() => !!window.htmx && !!window.axe")
    assert_accessible(page, "the landing page")

    card, _title, _variant = simple_card(page)
    add_button(card).click()
    dialog = page.get_by_role("dialog", name="Your cart")
    expect(dialog).to_be_visible()
    expect(dialog.locator("li.cart-line")).to_have_count(1)
    expect(page.locator("#cart-drawer.is-open")).to_have_count(1)
    page.wait_for_timeout(300)  # the slide-in transition
    assert_accessible(page, "the open drawer")

    page.goto(f"{live_server}/checkout")
    expect(page.locator('#card-element input[placeholder="number"]')).to_be_visible()
    # localstripe's stand-in card inputs are unlabelled test doubles; real Stripe mounts its own
    # accessible iframe there, so that one element is left out.
    assert_accessible(page, "checkout", exclude=["#card-element"])
