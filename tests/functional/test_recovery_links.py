"""The restore link and the one-click unsubscribe over HTTP: with and without htmx, in a
fresh browser (no cookie), tampered, unknown and expired tokens; clicked is not recovered;
the order placed after a click is attributed to the message."""
from __future__ import annotations

import sys
from datetime import timedelta
from html import unescape
from pathlib import Path

from storefront.cart.models import Cart
from storefront.checkout import hooks
from storefront.checkout.models import Order
from storefront.cookies import CART_COOKIE
from storefront.notifications.suppression import is_suppressed, unsubscribe_token
from storefront.recovery import delivery
from storefront.recovery.models import CartSaveAttempt
from storefront.types import new_token

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "integration" / "recovery"))
from helpers import EMAIL, abandoned_cart, interventions  # noqa: E402


def _text(response) -> str:
    return unescape(response.get_data(as_text=True))


def _sent_incentive(app, db, company, smtp):
    app.config["REDIS_URL"] = ""  # the tick sends in-process
    cart, attempt, left = abandoned_cart(company)
    delivery.claim_due(left + timedelta(hours=1))
    delivery.claim_due(left + timedelta(hours=24))
    return cart, attempt, interventions(attempt)


def test_the_link_restores_the_cart_in_a_fresh_browser_without_javascript(app, db, company, smtp, client):
    cart, attempt, sent = _sent_incentive(app, db, company, smtp)
    incentive = sent["INCENTIVE_EMAIL"]

    response = client.get(f"/recover/{incentive.token}")
    assert response.status_code == 303 and response.headers["Location"].endswith("/cart")
    assert response.headers["Cache-Control"] == "no-store"
    cookie = client.get_cookie(CART_COOKIE)
    assert cookie is not None and cookie.value == cart.token
    page = client.get("/cart")
    assert f"code {incentive.offer_code} applied" in _text(page)

    db.session.expire_all()
    incentive = interventions(attempt)["INCENTIVE_EMAIL"]
    assert incentive.status == "CLICKED" and incentive.clicked_at is not None
    restored = db.session.get(Cart, cart.id)
    assert restored.promotion_code == incentive.offer_code and restored.source_type == "EMAIL"
    # Clicked is not recovered: the attempt runs on until an order.
    assert db.session.get(CartSaveAttempt, attempt.id).status == "ACTIVE"

    # A second click keeps the first click's time.
    first = incentive.clicked_at
    assert client.get(f"/recover/{incentive.token}").status_code == 303
    db.session.expire_all()
    assert interventions(attempt)["INCENTIVE_EMAIL"].clicked_at == first


def test_with_htmx_the_link_answers_hx_redirect(app, db, company, smtp, client):
    cart, attempt, sent = _sent_incentive(app, db, company, smtp)
    response = client.get(f"/recover/{sent['REMINDER_EMAIL'].token}", headers={"HX-Request": "true"})
    assert response.status_code == 200 and response.headers["HX-Redirect"].endswith("/cart")
    assert client.get_cookie(CART_COOKIE).value == cart.token


def test_bad_tokens_get_a_friendly_page(app, db, company, smtp, client):
    cart, attempt, sent = _sent_incentive(app, db, company, smtp)
    for token in ("unknown-token", "x" * 200, sent["REMINDER_EMAIL"].token[:-1] + "!",
                  sent["FINAL_OFFER_EMAIL"].token):  # the final offer was never sent
        response = client.get(f"/recover/{token}")
        assert response.status_code == 404, token
        assert "This link doesn't work" in _text(response)
    assert client.get_cookie(CART_COOKIE) is None
    db.session.execute(db.update(Cart).where(Cart.id == cart.id).values(status="EXPIRED"))
    db.session.commit()
    response = client.get(f"/recover/{sent['REMINDER_EMAIL'].token}")
    assert response.status_code == 404 and "This cart has expired" in _text(response)


def test_the_order_after_a_click_is_recovered_and_attributed_to_the_message(app, db, company, smtp, client):
    cart, attempt, sent = _sent_incentive(app, db, company, smtp)
    client.get(f"/recover/{sent['INCENTIVE_EMAIL'].token}")
    db.session.expire_all()
    cart = db.session.get(Cart, cart.id)
    order = Order(company_id=company.id, number="#1001", token=new_token(), cart_id=cart.id, email=EMAIL,
                  currency="USD", subtotal_cents=4000, discount_cents=400, total_cents=3600, amount_paid_cents=3600,
                  source_type=cart.source_type)
    db.session.add(order)
    db.session.flush()
    hooks.call(hooks.order_completed, order, cart)
    db.session.commit()

    rows = interventions(attempt)
    assert rows["INCENTIVE_EMAIL"].status == "EXECUTED" and rows["INCENTIVE_EMAIL"].order_id == order.id
    assert rows["INCENTIVE_EMAIL"].order_cents == 3600 and rows["REMINDER_EMAIL"].status == "SENT"
    assert rows["FINAL_OFFER_EMAIL"].status == "CANCELLED"
    attempt = db.session.get(CartSaveAttempt, attempt.id)
    assert attempt.status == "CONVERTED" and attempt.order_id == order.id and attempt.recovered_cents == 3600
    assert order.source_type == "EMAIL"
    response = client.get(f"/recover/{rows['INCENTIVE_EMAIL'].token}")
    db.session.execute(db.update(Cart).where(Cart.id == cart.id).values(status="CONVERTED"))
    db.session.commit()
    response = client.get(f"/recover/{rows['INCENTIVE_EMAIL'].token}")
    assert response.status_code == 404 and "already ordered" in _text(response)


def test_one_click_unsubscribe_without_cookies_stops_the_next_emails(app, db, company, smtp):
    app.config["REDIS_URL"] = ""
    cart, attempt, left = abandoned_cart(company)
    delivery.claim_due(left + timedelta(hours=1))
    token = unsubscribe_token(company.id, EMAIL)
    fresh = app.test_client()
    page = fresh.get(f"/unsubscribe/{token}")
    assert page.status_code == 200 and "Unsubscribe</button>" in _text(page)
    assert not is_suppressed(company.id, EMAIL)  # a GET (a mail scanner) never unsubscribes

    answer = app.test_client().post(f"/unsubscribe/{token}", data={"List-Unsubscribe": "One-Click"})
    assert answer.status_code == 200 and "You're unsubscribed" in _text(answer)
    assert is_suppressed(company.id, EMAIL)
    assert app.test_client().post(f"/unsubscribe/{token}").status_code == 200  # again: harmless
    assert app.test_client().post(f"/unsubscribe/{token[:-2]}xx").status_code == 404

    delivery.claim_due(left + timedelta(hours=24))
    delivery.claim_due(left + timedelta(hours=72))
    assert len(smtp) == 1
    rows = interventions(attempt)
    assert rows["INCENTIVE_EMAIL"].status == "CANCELLED" and rows["FINAL_OFFER_EMAIL"].status == "CANCELLED"
    assert rows["INCENTIVE_EMAIL"].status_reason == "unsubscribed from emails"
