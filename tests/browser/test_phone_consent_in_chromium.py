"""In headless Chromium: the checkout's consent boxes. With JavaScript, ticking "text me"
captures it over htmx at once (the box comes back ticked, the consent is recorded with the
words on the page); unticking withdraws it. Without JavaScript, the ticked box travels with
the form. axe-core finds nothing serious or critical on the checkout with the boxes."""
from __future__ import annotations

import pytest
from test_leads_capture import seed, simple_card, type_and_tab, wait_for
from test_purchase import LANDING, add_button, assert_accessible, axe_source

pytestmark = pytest.mark.browser
expect = pytest.importorskip("playwright.sync_api", reason="browser tests need the playwright package").expect

PHONE = "+15129742000"


def _consent(db, channel="SMS"):
    from storefront.notifications.models import PhoneConsent

    db.session.expire_all()
    return db.session.execute(db.select(PhoneConsent).filter_by(phone=PHONE, channel=channel)).scalar_one_or_none()


def _to_checkout(page, base):
    page.goto(f"{base}{LANDING}")
    page.wait_for_function("() => !!window.htmx")
    add_button(simple_card(page)).click()
    expect(page.get_by_role("dialog", name="Your cart")).to_be_visible()
    page.goto(f"{base}/checkout")
    expect(page.get_by_role("heading", level=1)).to_have_text("Checkout")


def test_ticking_the_text_box_records_the_words_shown(app, db, live_server, new_context):
    seed(app)
    context = new_context()
    source = axe_source()
    if source is not None:
        context.add_init_script(path=str(source))
    page = context.new_page()
    _to_checkout(page, live_server)
    page.wait_for_function("() => !!window.htmx")
    type_and_tab(page, "phone", "(512) 974-2000")
    box = page.get_by_role("checkbox", name="Text me at this number")
    expect(box).not_to_be_checked()
    words = page.locator("label[for=input-sms_consent]").inner_text().replace(" (optional)", "").strip()
    with page.expect_response("**/checkout/field/sms_consent"):
        box.check()
    expect(page.get_by_role("checkbox", name="Text me at this number")).to_be_checked()
    consent = wait_for(lambda: _consent(db), what="the SMS consent")
    assert consent.consent_text == words and consent.withdrawn_at is None and consent.source == "CHECKOUT"
    assert _consent(db, "VOICE") is None
    if source is not None:
        assert_accessible(page, "checkout with the consent boxes")

    with page.expect_response("**/checkout/field/sms_consent"):
        page.get_by_role("checkbox", name="Text me at this number").uncheck()
    assert wait_for(lambda: (found := _consent(db)) is not None and found.withdrawn_at is not None,
                    what="the withdrawal")


def test_without_javascript_the_box_travels_with_the_form(app, db, live_server, new_context):
    seed(app)
    page = new_context(java_script_enabled=False).new_page()
    page.goto(f"{live_server}{LANDING}")
    card = simple_card(page)
    with page.expect_navigation():
        add_button(card).click()
    page.goto(f"{live_server}/checkout")
    for name, value in {"email": "ada@example.com", "phone": "(512) 974-2000", "first_name": "Ada",
                        "last_name": "Lovelace", "address1": "1 Analytical Way", "city": "Austin",
                        "postcode": "78701"}.items():
        page.locator(f"#input-{name}").fill(value)
    page.locator("#input-country").select_option("US")
    page.get_by_role("checkbox", name="may call me").check()
    with page.expect_navigation():
        page.get_by_role("button", name="Save my details", exact=True).click()
    assert _consent(db, "VOICE") is not None and _consent(db, "SMS") is None
    expect(page.get_by_role("checkbox", name="may call me")).to_be_checked()
