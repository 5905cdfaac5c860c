"""The customer portal in Chromium: the "your account" link of the order confirmation email,
the emailed sign-in link, skipping the next charge (htmx), then a new card through the
SetupIntent page with localstripe's Stripe.js. axe-core checks each page (when found);
screenshots of the portal pages at 390 px and 1280 px go to tests/browser/screenshots/."""
from __future__ import annotations

import re
import time

from billing_kit import make_plan, subscribe
from conftest import watch_console
from factories import make_page, make_product
from playwright.sync_api import expect
from portal_kit import body_of
from test_purchase import assert_accessible, axe_source

from storefront.billing.models import Subscription
from storefront.checkout.models import Order
from storefront.checkout.tasks import send_order_confirmation

CARD = (("number", "4242424242424242"), ("exp_month", "12"), ("exp_year", "34"), ("cvc", "123"),
        ("postal_code", "78701"))


def _wait_for_mail(smtp, count, seconds=15.0):
    deadline = time.monotonic() + seconds
    while len(smtp) < count and time.monotonic() < deadline:
        time.sleep(0.1)
    assert len(smtp) >= count, f"{len(smtp)} emails, expected {count}"
    return smtp[count - 1]


def _link(message, pattern) -> str:
    match = re.search(pattern, body_of(message))
    assert match, body_of(message)
    return match.group(0)


def _check(page, where, exclude=()):
    if axe_source() is not None:
        assert_accessible(page, where, exclude)


def test_from_the_email_to_skipping_a_charge_and_a_new_card(app, db, company, smtp, live_server, new_context, shoot):
    app.config["PUBLIC_URL"] = live_server
    context = new_context()
    if axe_source() is not None:
        context.add_init_script(path=str(axe_source()))
    page = context.new_page()
    watch_console(page)
    product = make_product(company, "House Coffee", price_cents=2000, stock=50)
    make_page(company, [product], slug="coffee")
    sub = subscribe(company, make_plan(company, product), email="sam@example.com")
    order = Order(company_id=company.id, number="1001", token="c" * 43, customer_id=sub.customer_id,
                  email="sam@example.com", currency="USD", subtotal_cents=1800, total_cents=1800,
                  amount_paid_cents=1800)
    db.session.add(order)
    db.session.commit()
    assert send_order_confirmation(order.id)
    portal_link = _link(_wait_for_mail(smtp, 1), rf"{live_server}/account/{company.slug}/sign-in")

    # The portal link from the email: ask for a sign-in link (htmx answers in place).
    page.goto(portal_link)
    page.wait_for_function("() => !!window.htmx")
    page.get_by_label("Email").fill("sam@example.com")
    page.get_by_role("button", name="Email me a sign-in link").click()
    expect(page.locator("#sign-in")).to_contain_text("a sign-in link is on its way")
    _check(page, "the portal's sign-in page")
    shoot(page, "portal-sign-in")
    sign_in_link = _link(_wait_for_mail(smtp, 2), rf"{live_server}/account/{company.slug}/sign-in/\S+")
    page.goto(sign_in_link)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{live_server}/account/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Hello, Sam")
    expect(page.get_by_role("link", name="Order #1001")).to_be_visible()
    _check(page, "the portal's home")
    shoot(page, "portal-home")

    # Skip the next charge.
    page.get_by_role("link", name="Coffee every month").click()
    page.wait_for_function("() => !!window.htmx")
    before = sub.next_billing_at
    expect(page.locator("#next-charge")).to_contain_text(before.strftime("%d %B %Y"))
    page.get_by_role("button", name="Skip the next charge").click()
    expect(page.locator("#toasts")).to_contain_text("Skipped")
    db.session.expire_all()
    moved = db.session.get(Subscription, sub.id).next_billing_at
    assert moved > before
    expect(page.locator("#next-charge")).to_contain_text(moved.strftime("%d %B %Y"))
    _check(page, "a subscription in the portal")
    shoot(page, "portal-subscription")

    # A new card through the SetupIntent page.
    old_card = sub.payment_method_id
    page.get_by_role("link", name="Update card").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Update your card")
    expect(page.locator('#card-element input[placeholder="number"]')).to_be_visible()
    for placeholder, value in CARD:
        page.locator(f'#card-element input[placeholder="{placeholder}"]').press_sequentially(value)
    # localstripe's stand-in card inputs are unlabelled test doubles (see test_purchase).
    _check(page, "the portal's card page", exclude=["#card-element"])
    shoot(page, "portal-card")
    page.get_by_role("button", name="Save card").click()
    page.wait_for_url(f"{live_server}/account/subscriptions/{sub.id}", timeout=20_000)
    expect(page.locator(".flashes")).to_contain_text("Your new card is saved")
    db.session.expire_all()
    assert db.session.get(Subscription, sub.id).payment_method_id not in (None, old_card)
