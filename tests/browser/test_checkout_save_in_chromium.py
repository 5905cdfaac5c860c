"""The in-page save on checkout in headless Chromium: a shopper who keeps mistyping the
email and then moves to leave gets one offer from the page's poll (field-events.js sends
the moves, the risk is scored off the capture path), applies it and sees the discount; with
JavaScript off, the same save shows on the page and a plain form applies it."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest

pytestmark = pytest.mark.browser
expect = pytest.importorskip("playwright.sync_api", reason="browser tests need the playwright package").expect


def shopper_cart(db, landing, variant, minutes_ago=2, on_checkout=False):
    """A visit and a cart of one item, as the landing page leaves them (``on_checkout``:
    its shopper opened checkout ``minutes_ago``)."""
    from storefront.cart.models import Cart, LineItem
    from storefront.types import new_token, utcnow
    from storefront.visits.models import Visit

    now = utcnow()
    visit = Visit(token=new_token(), company_id=landing.company_id, visitor_id=new_token()[:32])
    db.session.add(visit)
    db.session.flush()
    cart = Cart(token=new_token(), company_id=landing.company_id, currency="USD", status="ACTIVE", visit_id=visit.id,
                checkout_fields={}, created_at=now - timedelta(minutes=minutes_ago), updated_at=now,
                checkout_started_at=now - timedelta(minutes=minutes_ago) if on_checkout else None)
    db.session.add(cart)
    db.session.flush()
    db.session.add(LineItem(cart_id=cart.id, variant_id=variant.id, quantity=1, unit_price_cents=variant.price_cents))
    db.session.commit()
    return visit, cart


def cookies(live_server, visit, cart):
    return [{"name": "sf_cart", "value": cart.token, "url": live_server},
            {"name": "sf_visit", "value": visit.token, "url": live_server}]


def test_a_shopper_about_to_leave_gets_the_save_and_applies_it(app, db, live_server, new_context, shoot):
    from storefront.catalog.models import Variant
    from storefront.demo import seed_demo
    from storefront.recovery.models import CartIntervention

    app.config.update(PUBLIC_URL=live_server, REDIS_URL="")
    landing, _password = seed_demo(app.config["CATALOG_DATA_DIR"])
    variant = db.session.execute(db.select(Variant).where(Variant.company_id == landing.company_id,
                                                          Variant.stock > 2).order_by(Variant.id)).scalars().first()
    visit, cart = shopper_cart(db, landing, variant)
    context = new_context(viewport={"width": 1280, "height": 900})
    context.add_cookies(cookies(live_server, visit, cart))
    page = context.new_page()
    page.goto(f"{live_server}/checkout")
    expect(page.locator("#checkout-save")).to_be_attached()  # the poll, waiting
    expect(page.locator(".checkout-save")).to_have_count(0)

    # Three rejected emails, then the pointer leaves through the top of the window.
    email = page.locator("#input-email")
    for typed in ("grace", "grace@", "grace@@example"):
        email.fill(typed)
        with page.expect_response(re.compile(r"/checkout/field/email$")):
            email.press("Tab")  # each answer re-renders the field: wait for it before typing again
        expect(page.locator("#input-email")).to_have_value(typed)
        expect(page.locator("#field-email")).to_have_class(re.compile(r"\bis-invalid\b"))
    page.evaluate("() => document.dispatchEvent(new MouseEvent('mouseout', {clientX: 400, clientY: -5}))")

    save = page.locator(".checkout-save")
    expect(save).to_be_visible(timeout=40_000)  # the next batch (5 s), then the next poll (10 s)
    expect(save.get_by_role("heading")).to_have_text("Still deciding? Take 5 % off this order")
    code = save.locator(".save-code").inner_text()
    assert re.fullmatch(r"SAVE-[A-Z2-9]{8}", code)
    shoot(page, "checkout-save", full_page=False)
    save.get_by_role("button", name="Apply 5 % off").click()

    expect(page.locator("#checkout-save")).to_have_text(f"Code {code} is applied to your order.")
    expect(page.locator("#order-summary")).to_contain_text(f"Discount ({code})")
    db.session.expire_all()
    row = db.session.execute(db.select(CartIntervention).filter_by(stage="REALTIME")).scalar_one()
    assert row.status == "CLICKED" and row.offer_code == code and row.provider_response["response"] == "ACCEPTED"
    assert row.provider_response["parts"]["EXIT"] == 30 and row.provider_response["parts"]["ERRORS"] == 20
    # Reloaded: the save does not come back; the code stays on the order.
    page.reload()
    expect(page.locator(".checkout-save")).to_have_count(0)
    expect(page.locator("#order-summary")).to_contain_text(f"Discount ({code})")


def test_with_javascript_off_the_save_shows_on_the_page_and_a_plain_form_applies_it(app, db, live_server,
                                                                                   new_context, shoot):
    from storefront.catalog.models import Variant
    from storefront.demo import seed_demo
    from storefront.leads.models import FieldEvent
    from storefront.types import utcnow

    app.config.update(PUBLIC_URL=live_server, REDIS_URL="")
    landing, _password = seed_demo(app.config["CATALOG_DATA_DIR"])
    variant = db.session.execute(db.select(Variant).where(Variant.company_id == landing.company_id,
                                                          Variant.stock > 2).order_by(Variant.id)).scalars().first()
    visit, cart = shopper_cart(db, landing, variant, on_checkout=True)
    # What the shopper's earlier tab sent: exit intent and three form errors.
    for kind, name, group in [("VALIDATION_ERROR", "email", "customer")] * 3 + [("EXIT_INTENT", "page", "page")]:
        db.session.add(FieldEvent(company_id=cart.company_id, visit_id=visit.id, cart_id=cart.id, event_type=kind,
                                  field_name=name, field_group=group, occurred_at=utcnow()))
    db.session.commit()
    context = new_context(java_script_enabled=False)
    context.add_cookies(cookies(live_server, visit, cart))
    page = context.new_page()

    page.goto(f"{live_server}/checkout")

    save = page.locator(".checkout-save")
    expect(save).to_be_visible()
    code = save.locator(".save-code").inner_text()
    shoot(page, "checkout-save-nojs", full_page=False)
    save.get_by_role("button", name="Apply 5 % off").click()
    page.wait_for_url(re.compile(r"/checkout#payment$"))
    expect(page.locator(".flash")).to_contain_text(f"Code {code} is applied to your order.")
    expect(page.locator("#order-summary")).to_contain_text(f"Discount ({code})")
    expect(page.locator(".checkout-save")).to_have_count(0)


def test_on_a_phone_the_first_back_shows_the_save_and_the_second_leaves(app, db, live_server, new_context, shoot):
    from storefront.catalog.models import Variant
    from storefront.demo import seed_demo
    from storefront.recovery.models import CartIntervention

    app.config.update(PUBLIC_URL=live_server, REDIS_URL="")
    landing, _password = seed_demo(app.config["CATALOG_DATA_DIR"])
    variant = db.session.execute(db.select(Variant).where(Variant.company_id == landing.company_id,
                                                          Variant.stock > 2).order_by(Variant.id)).scalars().first()
    visit, cart = shopper_cart(db, landing, variant)
    context = new_context(is_mobile=True, has_touch=True)
    context.add_cookies(cookies(live_server, visit, cart))
    page = context.new_page()
    page.goto(f"{live_server}/cart")
    page.goto(f"{live_server}/checkout")
    expect(page.locator("#checkout-save[data-back-url]")).to_be_attached()
    page.wait_for_load_state("load")  # the deferred script has added its history entry

    page.go_back()

    save = page.locator(".checkout-save")
    expect(save).to_be_visible()
    assert page.url.endswith("/checkout")
    shoot(page, "checkout-save-back", full_page=False)
    db.session.expire_all()
    row = db.session.execute(db.select(CartIntervention).filter_by(stage="REALTIME")).scalar_one()
    assert row.provider_response["trigger"] == "BACK"

    page.go_back()
    page.wait_for_url(re.compile(r"/cart$"))
    # Back on checkout again in this visit: the save had its turn, Back leaves at once.
    page.goto(f"{live_server}/checkout")
    expect(page.locator(".checkout-save")).to_be_visible()  # still unanswered, so still shown
    save = page.locator(".checkout-save")
    save.get_by_role("button", name="No thanks").click()
    expect(page.locator(".checkout-save")).to_have_count(0)
    page.go_back()
    page.wait_for_url(re.compile(r"/cart$"))
