"""Cart recovery end to end in headless Chromium: a shopper's cart is abandoned, time moves
forward, the reminder email reaches the SMTP server, its link restores the cart in a fresh
browser, the shopper pays with 4242, and the recovery report counts the order as recovered
through email."""
from __future__ import annotations

import email
import html
import re
from datetime import timedelta
from email import policy

import pytest

pytestmark = pytest.mark.browser
expect = pytest.importorskip("playwright.sync_api", reason="browser tests need the playwright package").expect

SHOPPER = {
    "email": "grace@example.com", "phone": "(512) 974-2000", "first_name": "Grace", "last_name": "Hopper",
    "address1": "1 Compiler Road", "city": "Austin", "postcode": "78701", "country": "US",
}
CARD = (("number", "4242424242424242"), ("exp_month", "12"), ("exp_year", "34"), ("cvc", "123"),
        ("postal_code", "78701"))


def fill_and_capture(page, name, value):
    field = page.locator(f"#input-{name}")
    if name == "country":
        field.select_option(value)
        field.press("Tab")
    elif field.input_value() == value:
        return  # restored with the cart: already saved
    else:
        field.click()
        field.press_sequentially(value)
        field.press("Tab")
    expect(page.locator(f"#field-{name}")).to_have_class(re.compile(r"\bis-valid\b"))


def test_an_abandoned_cart_is_recovered_through_the_email_link(app, db, live_server, new_context, smtp, shoot):
    from storefront.cart.lifecycle import abandon_idle_carts
    from storefront.cart.models import Cart, LineItem
    from storefront.catalog.models import Variant
    from storefront.checkout.models import Order
    from storefront.demo import seed_demo
    from storefront.recovery import delivery, services
    from storefront.recovery.models import CartIntervention, CartSaveAttempt
    from storefront.types import new_token, utcnow

    app.config.update(PUBLIC_URL=live_server, REDIS_URL="")
    landing, _password = seed_demo(app.config["CATALOG_DATA_DIR"])
    variant = db.session.execute(db.select(Variant).where(Variant.company_id == landing.company_id,
                                                          Variant.stock > 2).order_by(Variant.id)).scalars().first()

    # 1. The shopper typed their email and left the cart.
    left = utcnow() - timedelta(minutes=30)
    cart = Cart(token=new_token(), company_id=landing.company_id, currency="USD", status="ACTIVE",
                checkout_fields={"email": SHOPPER["email"]}, created_at=left, updated_at=left)
    db.session.add(cart)
    db.session.flush()
    db.session.add(LineItem(cart_id=cart.id, variant_id=variant.id, quantity=1, unit_price_cents=variant.price_cents))
    db.session.commit()
    assert abandon_idle_carts(left + timedelta(minutes=21)) == 1
    services.lifecycle(left + timedelta(minutes=21))

    # 2-3. An hour later the reminder reaches the SMTP server.
    delivery.claim_due(left + timedelta(hours=1))
    assert len(smtp) == 1
    mail = email.message_from_bytes(smtp[0].content, policy=policy.default)
    link = re.search(r"(http://\S+/recover/[\w-]+)", mail.get_body(("plain",)).get_content()).group(1)

    # 4. The link restores the cart in a fresh browser (no cookie of ours).
    page = new_context().new_page()
    page.goto(link)
    page.wait_for_url(re.compile(r"/cart$"))
    expect(page.locator(".flash")).to_contain_text("Your cart is back")
    shoot(page, "recovery-restored")

    # 5. Checkout and pay with 4242.
    page.goto(f"{live_server}/checkout")
    for name, value in SHOPPER.items():
        fill_and_capture(page, name, value)
    for placeholder, value in CARD:
        page.locator(f'#card-element input[placeholder="{placeholder}"]').press_sequentially(value)
    page.get_by_role("button", name=re.compile(r"^Pay \$")).click()
    page.wait_for_url(re.compile(r"/orders/[\w-]+$"), timeout=30_000)
    expect(page.get_by_role("heading", level=1)).to_contain_text("Thank you")

    db.session.expire_all()
    order = db.session.execute(db.select(Order).filter_by(cart_id=cart.id)).scalar_one()
    assert order.source_type == "EMAIL"
    attempt = db.session.execute(db.select(CartSaveAttempt).filter_by(cart_id=cart.id)).scalar_one()
    assert attempt.status == "CONVERTED" and attempt.order_id == order.id
    reminder = db.session.execute(db.select(CartIntervention).filter_by(attempt_id=attempt.id,
                                                                        stage="REMINDER_EMAIL")).scalar_one()
    assert reminder.status == "EXECUTED" and reminder.order_cents == order.amount_paid_cents

    # 6. The recovery report counts it as recovered through email.
    admin = new_context().new_page()
    admin.goto(f"{live_server}/admin/login")
    admin.fill("#email", "owner@demo.test")
    admin.fill("#password", _password)
    admin.get_by_role("button", name="Sign in").click()
    expect(admin).not_to_have_url(re.compile(r"/login"), timeout=20_000)
    admin.goto(f"{live_server}/admin/recovery")
    figures = html.unescape(admin.locator("#recovery-figures").inner_html())
    assert "Recovered</dt><dd>1 (" in figures and "Orders through a recovery link</dt><dd>1 (" in figures
    shoot(admin, "recovery-report")
