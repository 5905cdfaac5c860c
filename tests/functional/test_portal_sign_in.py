"""The portal's passwordless sign-in: an emailed single-use link valid 15 minutes, the same
answer for unknown addresses, refused links (expired, used, tampered, another merchant's),
rate limits, sign-out, and the email change confirmed at the new address."""
from __future__ import annotations

from datetime import timedelta

from factories import csrf_token
from portal_kit import HX, ask_link, link_in, make_customer, make_subscription, sign_in

from storefront.accounts.models import Company
from storefront.checkout.models import Customer
from storefront.portal.links import token_hash
from storefront.portal.models import PortalLink
from storefront.types import utcnow


def test_a_known_address_gets_a_single_use_link_and_an_unknown_one_the_same_answer(client, db, company, smtp):
    make_customer(company, "sam@example.com")
    pages = []
    for address in ("Sam@Example.com", "nobody@example.com", "not an address"):
        answer = ask_link(client, company, address)
        assert answer.status_code == 303
        pages.append(client.get(answer.location).get_data(as_text=True))
    assert all("a sign-in link is on its way" in page for page in pages)
    assert len(smtp) == 1 and smtp[0].rcpt_tos == ["sam@example.com"]
    token = link_in(smtp[0])
    assert len(token) >= 43  # secrets.token_urlsafe(32): 256 bits
    stored = db.session.execute(db.select(PortalLink)).scalar_one()
    assert stored.token_hash == token_hash(token) and token not in stored.token_hash
    assert timedelta(minutes=14) < stored.expires_at - utcnow() <= timedelta(minutes=15)


def test_the_htmx_form_answers_its_block_with_a_toast(client, db, company, smtp):
    make_customer(company)
    answer = ask_link(client, company, "sam@example.com", headers=HX)
    assert answer.status_code == 200 and "HX-Request" in answer.headers["Vary"]
    assert "toast" in answer.headers["HX-Trigger"]
    assert "<html" not in answer.get_data(as_text=True) and 'id="sign-in"' in answer.get_data(as_text=True)


def test_the_link_signs_in_once(client, db, company, smtp):
    customer = make_customer(company)
    make_subscription(company, customer)
    csrf = sign_in(client, company, customer, smtp)
    home = client.get("/account/")
    assert home.status_code == 200 and "Coffee every month" in home.get_data(as_text=True)
    token = link_in(smtp[-1])
    again = client.post(f"/account/{company.slug}/sign-in/{token}", headers={"X-CSRFToken": csrf})
    assert again.status_code == 404 and "used already" in again.get_data(as_text=True)


def test_a_mail_scanner_opening_the_link_does_not_use_it(client, db, company, smtp):
    customer = make_customer(company)
    ask_link(client, company, customer.email)
    token = link_in(smtp[-1])
    for _ in range(3):
        opened = client.get(f"/account/{company.slug}/sign-in/{token}")
        assert opened.status_code == 200 and opened.headers["Cache-Control"] == "no-store"
    assert db.session.execute(db.select(PortalLink.used_at)).scalar_one() is None


def test_expired_tampered_and_foreign_links_are_refused(client, db, company, smtp):
    customer = make_customer(company)
    other = Company(name="Other Shop", slug="other", currency="USD")
    db.session.add(other)
    db.session.commit()
    ask_link(client, company, customer.email)
    token = link_in(smtp[-1])
    csrf = csrf_token(client, f"/account/{company.slug}/sign-in")
    tampered = token[:-1] + ("A" if token[-1] != "A" else "B")
    for path in (f"/account/{company.slug}/sign-in/{tampered}", f"/account/other/sign-in/{token}",
                 f"/account/{company.slug}/sign-in/{'x' * 5000}"):
        assert client.get(path).status_code == 404
        assert client.post(path, headers={"X-CSRFToken": csrf}).status_code == 404
    assert client.get("/account/").get_data(as_text=True).count("not signed in") == 1
    link = db.session.execute(db.select(PortalLink)).scalar_one()
    link.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    expired = client.post(f"/account/{company.slug}/sign-in/{token}", headers={"X-CSRFToken": csrf})
    assert expired.status_code == 404 and "expired" in expired.get_data(as_text=True)
    assert "not signed in" in client.get("/account/").get_data(as_text=True)


def test_an_unknown_shop_answers_404(client, db, company):
    assert client.get("/account/no-such-shop/sign-in").status_code == 404


def test_asking_for_links_is_rate_limited_per_address(app, client, db, company, smtp):
    app.config["RATELIMIT_PORTAL"] = "2/minute"
    make_customer(company)
    statuses = [ask_link(client, company, "sam@example.com").status_code for _ in range(3)]
    assert statuses == [303, 303, 429]
    assert len(smtp) == 2


def test_signing_out_ends_the_session(client, db, company, smtp):
    customer = make_customer(company)
    sub = make_subscription(company, customer)
    csrf = sign_in(client, company, customer, smtp)
    out = client.post("/account/sign-out", headers={"X-CSRFToken": csrf})
    assert out.status_code == 303 and out.location.endswith(f"/account/{company.slug}/sign-in")
    page = client.get(f"/account/subscriptions/{sub.id}")
    assert page.status_code == 303
    assert client.post(f"/account/subscriptions/{sub.id}/pause", headers={"X-CSRFToken": csrf}).status_code == 303
    assert db.session.get(type(sub), sub.id).status == "ACTIVE"


def test_a_new_email_address_is_used_only_once_confirmed_from_it(client, db, company, smtp):
    customer = make_customer(company)
    csrf = sign_in(client, company, customer, smtp)
    asked = client.post("/account/settings/email", data={"email": "Sam.New@Example.com"}, headers={"X-CSRFToken": csrf})
    assert asked.status_code == 303
    assert smtp[-1].rcpt_tos == ["sam.new@example.com"]
    assert db.session.get(Customer, customer.id).email == "sam@example.com"
    token = link_in(smtp[-1], r"https?://\S+/account/email/(\S+)")
    fresh = client.application.test_client()  # opened in another browser: no sign-in needed
    csrf2 = csrf_token(fresh, f"/account/email/{token}")
    assert fresh.post(f"/account/email/{token}", headers={"X-CSRFToken": csrf2}).status_code == 303
    assert db.session.get(Customer, customer.id).email == "sam.new@example.com"
    assert fresh.post(f"/account/email/{token}", headers={"X-CSRFToken": csrf2}).status_code == 404


def test_an_address_another_customer_has_is_refused(client, db, company, smtp):
    customer = make_customer(company)
    make_customer(company, "taken@example.com", "Tia")
    csrf = sign_in(client, company, customer, smtp)
    sent = len(smtp)
    refused = client.post("/account/settings/email", data={"email": "taken@example.com"},
                          headers={"X-CSRFToken": csrf, **HX})
    assert refused.status_code == 422 and "Another account uses that address" in refused.get_data(as_text=True)
    bad = client.post("/account/settings/email", data={"email": "x" * 300 + "@example.com"}, headers={"X-CSRFToken": csrf})
    assert bad.status_code == 422
    assert len(smtp) == sent


def test_the_order_confirmation_template_carries_the_portal_link(app, db, company):
    from flask import render_template

    from storefront.checkout.models import Order

    order = Order(company_id=company.id, number="1001", token="t" * 43, currency="USD", subtotal_cents=100,
                  total_cents=100, amount_paid_cents=100)
    text = render_template("emails/order_confirmation.txt", order=order, company=company, images={})
    assert f"/account/{company.slug}/sign-in" in text


def test_a_session_older_than_a_day_is_over(client, db, company, smtp):
    import time

    from storefront.portal.session import KEY, SESSION_HOURS

    customer = make_customer(company)
    sub = make_subscription(company, customer)
    sign_in(client, company, customer, smtp)
    assert client.get(f"/account/subscriptions/{sub.id}").status_code == 200
    with client.session_transaction() as session:
        session[KEY] = {**session[KEY], "t": int(time.time()) - SESSION_HOURS * 3600 - 60}
    assert client.get(f"/account/subscriptions/{sub.id}").status_code == 303
    with client.session_transaction() as session:  # a session whose merchant is not the customer's
        session[KEY] = {"c": company.id + 1, "u": customer.id, "t": int(time.time())}
    assert client.get(f"/account/subscriptions/{sub.id}").status_code == 303
