"""End to end in headless Chromium: a shopper's abandoned checkout becomes a lead the merchant
sees in the admin (issue 4).

1. With JavaScript: on the demo's summer-sale page the shopper adds a product, goes to
   checkout, types an email and tabs away, types a phone and tabs away, starts the address
   and closes the page. In another browser context the merchant signs in: the leads list
   shows the lead, and its page the captured fields, completion %, last active field and
   estimated value. After the abandonment job has run (idle time 0), it shows a reason.
   axe-core finds nothing serious or critical on the list or the lead's page.
2. Without JavaScript (shopper and merchant): the whole checkout form, submitted in one
   POST, makes the lead; the admin shows it and changes its status with plain forms.

Screenshots of the leads list and the lead's page at 390 px and 1280 px go to
tests/browser/screenshots/.
"""
from __future__ import annotations

import re
import time

import pytest
from test_purchase import LANDING, SHOPPER, add_button, assert_accessible, axe_source

pytestmark = pytest.mark.browser
expect = pytest.importorskip("playwright.sync_api", reason="browser tests need the playwright package").expect

EMAIL = "ada@example.com"
PHONE = "(512) 974-2000"


def seed(app):
    from storefront.demo import DEMO_OWNER, seed_demo

    page, password = seed_demo(app.config["CATALOG_DATA_DIR"])
    return page, DEMO_OWNER, password


def simple_card(page):
    """The first buyable product card without option chips."""
    card = page.locator("article.product-card").filter(has=page.locator("form.add-form")).filter(
        has_not=page.locator("fieldset.chips")).first
    expect(card).to_be_visible()
    return card


def sign_in(page, base, email, password):
    """Sign the merchant in through the real form (works with or without JavaScript)."""
    page.goto(f"{base}/admin/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    with page.expect_navigation():
        page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Welcome back")


def type_and_tab(page, name, value):
    """Type a checkout field and leave it with Tab, so the htmx capture fires; wait for is-valid."""
    field = page.locator(f"#input-{name}")
    field.click()
    field.press_sequentially(value)
    field.press("Tab")
    expect(page.locator(f"#field-{name}")).to_have_class(re.compile(r"\bis-valid\b"))


def wait_for(check, seconds=10.0, what="the condition"):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.2)
    pytest.fail(f"timed out waiting for {what}")


def lead_by_email(db, email):
    from storefront.leads.models import Lead

    db.session.expire_all()
    return db.session.execute(db.select(Lead).filter_by(email=email)).scalar_one_or_none()


def admin_context(new_context, **kwargs):
    """A merchant's browser context with axe-core injected when available (by an init
    script, through the DevTools protocol, so the admin keeps its real CSP)."""
    context = new_context(**kwargs)
    source = axe_source()
    if source is not None and kwargs.get("java_script_enabled", True):
        context.add_init_script(path=str(source))
    return context, source


# ---- 1. with JavaScript --------------------------------------------------------------------

def test_abandoned_checkout_shows_in_the_admin(app, db, live_server, new_context, shoot):
    from storefront.cart.models import Cart
    from storefront.leads import value as lv
    from storefront.leads.abandonment import analyse_idle
    from storefront.leads.models import AbandonmentAnalysis, FieldEvent
    from storefront.money import format_money

    _landing, owner, password = seed(app)

    # The shopper: a product in the cart, then checkout field by field, then gone.
    shopper = new_context().new_page()
    shopper.goto(f"{live_server}{LANDING}?utm_source=newsletter&utm_campaign=june")
    shopper.wait_for_function("() => !!window.htmx")
    card = simple_card(shopper)
    add_button(card).click()
    expect(shopper.get_by_role("dialog", name="Your cart")).to_be_visible()
    shopper.goto(f"{live_server}/checkout")
    expect(shopper.get_by_role("heading", level=1)).to_have_text("Checkout")
    shopper.wait_for_function("() => !!window.htmx")
    type_and_tab(shopper, "email", EMAIL)
    type_and_tab(shopper, "phone", PHONE)
    address = shopper.locator("#input-address1")
    address.click()
    address.press_sequentially("1 Analytical")
    shopper.wait_for_timeout(1300)  # the debounced INPUT event (one a second at most)
    shopper.close(run_before_unload=True)  # leaving: the last batch goes by sendBeacon

    lead = wait_for(lambda: (found := lead_by_email(db, EMAIL)) is not None
                    and found.last_active_field == "address1" and found, what="the address1 events")
    assert db.session.execute(db.select(FieldEvent.id).filter_by(lead_id=lead.id, field_name="address1")).first()
    # Closing the page may blur the address field first, and that blur saves what was typed:
    # whether its capture reaches the server before the page is gone is the browser's race.
    captured = lead.captured_fields
    assert captured[:2] == ["email", "phone"] and captured[2:] in ([], ["address1"]), captured
    percent = f"{len(captured) * 100 // 9}%"
    captured_labels = ", ".join({"email": "Email", "phone": "Phone", "address1": "Address"}[f] for f in captured)
    assert lead.completion_pct == len(captured) * 100 // 9
    cart = db.session.get(Cart, lead.cart_id)
    cart_value = sum(line.quantity * line.variant.price_cents for line in cart.lines)
    expected_value = lv.calculate_lead_value(lv.ValueInputs(
        captured_fields=frozenset(captured), cart_value_cents=cart_value, reached_checkout=True,
        added_to_cart=True, engagement_score=lead.engagement_score))
    assert lead.estimated_value_cents == expected_value > 0

    # The merchant, in another browser context.
    context, axe = admin_context(new_context)
    admin = context.new_page()
    sign_in(admin, live_server, owner, password)
    admin.get_by_role("link", name="Leads", exact=True).click()
    expect(admin.get_by_role("heading", level=1)).to_have_text("Leads")
    row = admin.locator(".lead-table tbody tr").filter(has_text=EMAIL)
    expect(row).to_have_count(1)
    expect(row).to_contain_text(percent)
    expect(row).to_contain_text("Stopped at Address")
    expect(row).to_contain_text(format_money(expected_value, "USD"))
    expect(row).to_contain_text("june")
    if axe:
        admin.wait_for_function("() => !!window.axe")
        assert_accessible(admin, "the leads list")
    shoot(admin, "admin-leads")

    # Active search narrows the list without a reload.
    admin.get_by_label("Search", exact=True).fill("no-such-shopper")
    expect(admin.locator(".result-count")).to_contain_text("No lead matches these filters")
    admin.get_by_label("Search", exact=True).fill("974")
    expect(row).to_have_count(1)
    assert "q=974" in admin.url

    row.get_by_role("link", name=EMAIL).click()
    expect(admin.get_by_role("heading", level=1)).to_have_text(EMAIL)
    expect(admin.get_by_test_id("captured-fields")).to_have_text(captured_labels)
    expect(admin.get_by_test_id("completion")).to_have_text(percent)
    expect(admin.get_by_test_id("last-active-field")).to_have_text("Address")
    expect(admin.get_by_test_id("estimated-value")).to_have_text(format_money(expected_value, "USD"))
    expect(admin.get_by_text("Not analysed yet")).to_be_visible()
    timeline = admin.locator(".lead-timeline")
    expect(timeline).to_contain_text("Email captured")
    expect(timeline.locator("li").filter(has_text="Address: Focused")).to_have_count(1)

    # The abandonment job, with no idle time to wait for.
    app.config["ABANDON_IDLE_MINUTES"] = 0
    assert analyse_idle() >= 1
    db.session.expire_all()
    analysis = db.session.execute(db.select(AbandonmentAnalysis).filter_by(lead_id=lead.id)).scalar_one()
    admin.reload()
    reason = admin.get_by_test_id("reason")
    expect(reason).to_have_text(analysis.reason.replace("_", " ").capitalize())
    expect(admin.locator("section").filter(has=admin.get_by_role("heading", name="Why they stopped"))
           ).to_contain_text(analysis.intervention)

    # A note over htmx: it appears without a reload.
    admin.get_by_label("Add a note").fill("Call her after 5 pm.")
    admin.get_by_role("button", name="Add note").click()
    expect(admin.locator(".note-list")).to_contain_text("Call her after 5 pm.")
    expect(admin.get_by_label("Add a note")).to_have_value("")
    if axe:
        assert_accessible(admin, "the lead's page")
    shoot(admin, "admin-lead")


# ---- 2. without JavaScript -----------------------------------------------------------------

def test_full_form_submit_without_javascript_makes_the_lead(app, db, live_server, new_context, shoot):
    _landing, owner, password = seed(app)
    shopper = new_context(java_script_enabled=False).new_page()
    shopper.goto(f"{live_server}{LANDING}?utm_campaign=june")
    card = simple_card(shopper)
    with shopper.expect_navigation():
        add_button(card).click()
    shopper.get_by_role("link", name="Check out").click()
    shopper.wait_for_url(re.compile(r"/checkout$"))
    for name, value in SHOPPER.items():
        if name == "country":
            shopper.locator("#input-country").select_option(value)
        else:
            shopper.locator(f"#input-{name}").fill(value)
    with shopper.expect_navigation() as navigation:
        shopper.get_by_role("button", name="Save my details", exact=True).click()
    posted = navigation.value.request.redirected_from
    assert posted is not None and posted.method == "POST" and posted.response().status == 303
    expect(shopper.locator(".flash-success")).to_have_text("Your details are saved.")

    lead = lead_by_email(db, SHOPPER["email"])
    assert lead is not None and lead.first_name == "Ada" and lead.phone == "+15129742000"
    assert lead.completion_pct == 8 * 100 // 9  # every field but the optional address2

    # The merchant, also without JavaScript: plain links and forms.
    admin = new_context(java_script_enabled=False).new_page()
    sign_in(admin, live_server, owner, password)
    admin.goto(f"{live_server}/admin/leads?q=lovelace")
    row = admin.locator(".lead-table tbody tr").filter(has_text="Ada Lovelace")
    expect(row).to_have_count(1)
    row.get_by_role("link", name="Ada Lovelace").click()
    expect(admin.get_by_role("heading", level=1)).to_have_text("Ada Lovelace")
    expect(admin.get_by_test_id("captured-fields")).to_have_text(
        "Email, Phone, First name, Last name, Address, City, ZIP / postcode, Country")
    expect(admin.get_by_test_id("completion")).to_have_text("88%")
    admin.get_by_label("Move to").select_option("CONTACTED")
    with admin.expect_navigation():
        admin.get_by_role("button", name="Change status").click()
    expect(admin.locator(".flash-success")).to_have_text("Status set to Contacted.")
    expect(admin.locator(".lead-timeline")).to_contain_text("New → Contacted")
    shoot(admin, "admin-lead-nojs")
