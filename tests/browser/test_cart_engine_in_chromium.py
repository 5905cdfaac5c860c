"""The cart engine end to end in headless Chromium, on the demo's summer-sale page.

The free-shipping bar fills as the shopper adds, the code SAVE10 applies in the drawer, the
merchant's one-click upsell adds a product, and checkout charges exactly what the drawer and
the checkout summary promised: the order's total, the amount paid and localstripe's
PaymentIntent all agree with the total on screen.

Screenshots (390 px and 1280 px) go to tests/browser/screenshots/: ``cart-engine-drawer-offer``
(bar full, code applied, upsell offered), ``cart-engine-drawer`` (the upsell added) and
``cart-engine-checkout`` (the order summary).
"""
from __future__ import annotations

import json
import re
import urllib.request

import pytest
from test_purchase import (
    CARD,
    LANDING,
    SHOPPER,
    add_button,
    card_titled,
    cart_line,
    fill_and_capture,
    money,
    seed,
)

pytestmark = pytest.mark.browser
expect = pytest.importorskip("playwright.sync_api", reason="browser tests need the playwright package").expect

# A $45 simple product (two of them pass the demo's $75 free-shipping threshold even after
# 10 % off) and the complementary product the merchant pairs with it.
MAIN_TITLE = "Hoodie with Logo"
UPSELL_TITLE = "Beanie"
# The bar measures merchandise after discounts, so fill it with room for SAVE10's 10 %.
FREE_FROM_CENTS = 7500
ROOM_FOR_CODE_CENTS = -(-FREE_FROM_CENTS * 10 // 9)  # ceil(75.00 / 0.9) = 83.34
MAX_PLUS_CLICKS = 10


def cents(text: str) -> int:
    """'$1,234.50' or '−$9.00' → 123450 or 900 (the sign is the caller's business)."""
    digits = re.sub(r"[^\d]", "", text)
    assert digits, f"no amount in {text!r}"
    return int(digits)


def prepare_shop(app, db):
    """The demo, SAVE10 and MAIN_TITLE → UPSELL_TITLE as the upsell pick; returns the company."""
    from factories import make_promotion

    from storefront.accounts.models import Company
    from storefront.catalog.models import Product
    from storefront.demo import DEMO_SLUG
    from storefront.landing.services import clear_section_cache
    from storefront.pricing.context import forget_pricing_config

    seed(app)
    company = db.session.execute(db.select(Company).filter_by(slug=DEMO_SLUG)).scalar_one()
    make_promotion(company)  # 10 % off the cart with the code SAVE10

    def product(title):
        found = db.session.execute(db.select(Product).filter_by(company_id=company.id, title=title)).scalars().all()
        assert len(found) == 1, f"the demo catalogue should hold one {title!r}, found {len(found)}"
        assert any(v.price_cents > 0 and v.in_stock for v in found[0].variants), f"{title!r} is not buyable"
        return found[0]

    main, upsell = product(MAIN_TITLE), product(UPSELL_TITLE)
    main.upsell_product_ids = [upsell.id]
    db.session.commit()
    clear_section_cache()
    forget_pricing_config(company.id)
    return company


def test_free_shipping_bar_code_and_upsell_carry_through_to_the_charge(app, db, live_server, localstripe,
                                                                       page, shoot):
    from storefront.checkout.models import Order

    prepare_shop(app, db)

    # 1. The landing page; the first add shows how far free shipping is.
    page.goto(f"{live_server}{LANDING}")
    expect(page.get_by_role("heading", level=1)).to_have_text("Summer Sale")
    page.wait_for_function("() => !!window.htmx")
    card = card_titled(page, MAIN_TITLE)
    expect(card).to_have_count(1)
    add_button(card).click()

    dialog = page.get_by_role("dialog", name="Your cart")
    expect(dialog).to_be_visible()
    line = cart_line(dialog, MAIN_TITLE)
    expect(line).to_have_count(1)
    bar = dialog.locator(".free-shipping")
    progress = bar.locator("progress")
    subtotal = dialog.locator(".cart-totals .subtotal strong")
    first_subtotal = cents(subtotal.inner_text())
    assert 0 < first_subtotal < FREE_FROM_CENTS
    expect(bar).to_contain_text(f"You're {money(FREE_FROM_CENTS - first_subtotal)} away from free shipping.")
    expect(progress).to_have_attribute("max", str(FREE_FROM_CENTS))
    expect(progress).to_have_attribute("value", str(first_subtotal))

    # 2. + in the drawer until the bar is full (and has room for the code's 10 %).
    plus = line.get_by_role("button", name=f"Increase quantity of {MAIN_TITLE}")
    quantity = 1
    while cents(subtotal.inner_text()) < ROOM_FOR_CODE_CENTS:
        assert quantity <= MAX_PLUS_CLICKS, "the bar never filled"
        plus.click()
        quantity += 1
        expect(line.locator(".qty-value")).to_have_text(str(quantity))
    expect(bar).to_contain_text("You've unlocked free shipping.")
    expect(bar).not_to_contain_text("away from free shipping")
    expect(progress).to_have_attribute("value", str(FREE_FROM_CENTS))
    assert progress.evaluate("p => p.value === p.max && p.position === 1"), "the progress bar is not full"

    # 3. The code, typed and applied in the drawer.
    code_field = dialog.get_by_label("Discount code")
    code_field.click()
    code_field.press_sequentially("SAVE10")
    dialog.locator("form.code-form").get_by_role("button", name="Apply", exact=True).click()
    expect(dialog.locator(".applied-code")).to_contain_text("Code SAVE10")
    expect(dialog.locator(".applied-code .form-error")).to_have_count(0)
    discount_line = dialog.locator(".cart-totals .discount")
    expect(discount_line).to_be_visible()
    before_upsell = cents(subtotal.inner_text())
    expect(discount_line).to_contain_text(money(round(before_upsell / 10)))
    expect(bar).to_contain_text("You've unlocked free shipping.")  # 90 % of the subtotal is still ≥ $75

    # 4. The one-click upsell: offered because MAIN_TITLE is in the cart; one click adds it.
    offer = dialog.locator(".upsell-item").filter(
        has=page.locator(".upsell-name", has_text=re.compile(rf"^\s*{re.escape(UPSELL_TITLE)}\b")))
    expect(offer).to_have_count(1)
    offer_price = cents(offer.locator(".upsell-price").inner_text().split("was")[0])
    shoot(page, "cart-engine-drawer-offer", full_page=False)  # bar full, code applied, upsell offered
    offer.get_by_role("button", name=re.compile(rf"^Add {re.escape(UPSELL_TITLE)}\b.* to cart$")).click()
    expect(cart_line(dialog, UPSELL_TITLE)).to_have_count(1)
    expect(dialog.locator("li.cart-line")).to_have_count(2)
    expect(offer).to_have_count(0)  # not offered once it is in the cart
    expect(subtotal).to_have_text(money(before_upsell + offer_price))
    expect(dialog.locator(".applied-code")).to_contain_text("Code SAVE10")
    expect(bar).to_contain_text("You've unlocked free shipping.")
    expect(progress).to_have_attribute("value", str(FREE_FROM_CENTS))
    shoot(page, "cart-engine-drawer", full_page=False)  # ... and the upsell added

    drawer_subtotal = cents(subtotal.inner_text())
    drawer_discount = cents(discount_line.locator("span").last.inner_text())
    assert drawer_subtotal == before_upsell + offer_price
    assert drawer_discount == round(drawer_subtotal / 10)

    # 5. Checkout with a US address: free shipping, no tax in the demo.
    page.goto(f"{live_server}/checkout")
    expect(page.get_by_role("heading", level=1)).to_have_text("Checkout")
    summary = page.locator("#order-summary")
    expect(summary.locator(".summary-lines li")).to_have_count(2)
    card_number = page.locator('#card-element input[placeholder="number"]')
    expect(card_number).to_be_visible()
    for name, value in SHOPPER.items():
        fill_and_capture(page, name, value)
    expected_total = drawer_subtotal - drawer_discount + 0 + 0  # subtotal − discount + free shipping + no tax
    shipping_row = summary.locator("p.subtotal").filter(has_text="Shipping")
    expect(shipping_row).to_contain_text("Free shipping")
    expect(shipping_row.locator("span").last).to_have_text("Free")
    expect(summary.locator("p.subtotal").first).to_contain_text(money(drawer_subtotal))
    expect(summary.locator(".discount")).to_contain_text(f"Discount (SAVE10) −{money(drawer_discount)}")
    expect(summary).not_to_contain_text("Tax")
    expect(summary.locator(".total strong")).to_have_text(money(expected_total))
    expect(page.locator(".shipping-option input:checked")).to_have_count(1)
    expect(page.locator("#pay-label")).to_have_text(f"Pay {money(expected_total)}")
    checkout_total = cents(summary.locator(".total strong").inner_text())
    assert checkout_total == expected_total
    shoot(page, "cart-engine-checkout")

    for placeholder, value in CARD:
        page.locator(f'#card-element input[placeholder="{placeholder}"]').press_sequentially(value)
    page.get_by_role("button", name=f"Pay {money(expected_total)}").click()
    page.wait_for_url(re.compile(r"/orders/[\w-]+$"), timeout=20_000)
    expect(page.get_by_role("heading", level=1)).to_have_text("Thank you, Ada!")

    # The database and localstripe agree with the total on screen.
    db.session.expire_all()
    order = db.session.execute(db.select(Order)).scalar_one()
    assert order.status == "PAID"
    assert order.promotion_code == "SAVE10"
    assert (order.subtotal_cents, order.discount_cents, order.shipping_cents, order.tax_cents) == (
        drawer_subtotal, drawer_discount, 0, 0)
    assert order.total_cents == checkout_total == order.amount_paid_cents
    assert sorted(li.product_title for li in order.lines) == sorted([MAIN_TITLE, UPSELL_TITLE])
    assert order.payment_intent_id
    request = urllib.request.Request(f"{localstripe}/v1/payment_intents/{order.payment_intent_id}",
                                     headers={"Authorization": "Bearer sk_test_localstripe"})
    with urllib.request.urlopen(request, timeout=10) as reply:
        intent = json.load(reply)
    assert intent["amount"] == order.total_cents
    assert intent["currency"].lower() == "usd"
