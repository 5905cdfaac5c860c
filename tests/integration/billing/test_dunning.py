"""Dunning through the shared channels: the first failure is emailed (and texted, with
consent) with a signed card-update link; that page saves a card through a SetupIntent and
pays the open invoice at once; a tampered or expired link is refused; when retries run out
the customer is told what happened."""
from __future__ import annotations

import email
import re
from email import policy

import pytest
from billing_kit import DECLINING_CARD, make_plan, subscribe

from storefront.billing import engine
from storefront.billing.dunning import BadCardLink, card_link_token, read_card_link
from storefront.billing.models import Invoice, PaymentAttempt
from storefront.notifications.consent import record_consent
from storefront.notifications.models import OutboundMessage
from storefront.payments import gateway, saved_cards

PHONE = "+13125550142"


def _bodies(smtp):
    return [email.message_from_bytes(m.content, policy=policy.default).get_body(("plain",)).get_content() for m in smtp]


def _keys(db):
    return sorted(db.session.execute(db.select(OutboundMessage.idempotency_key)).scalars())


def _fail_first_charge(company, db, run_jobs, **plan_fields):
    plan = make_plan(company, timezone="America/Chicago", **plan_fields)
    sub = subscribe(company, plan, card=DECLINING_CARD, phone=PHONE, billing_country="US")
    engine.bill_due_subscriptions(now=sub.next_billing_at)
    run_jobs()
    invoice = db.session.execute(db.select(Invoice)).scalar_one()
    return sub, invoice


def test_the_first_failure_is_emailed_and_texted_with_a_card_link(app, db, company, smtp, queue, run_jobs, twilio_server):
    record_consent(company.id, PHONE, "Text me about my orders.", "CHECKOUT")
    # Renewal due 2 April 15:00 UTC = 10:00 in Chicago: inside the SMS sending window.
    sub, invoice = _fail_first_charge(company, db, run_jobs, send_sms_reminder=True)
    assert _keys(db) == [f"dunning-{invoice.id}-first_failure", f"dunning-{invoice.id}-first_failure-sms"]
    [text] = _bodies(smtp)
    assert "We couldn't take $18.00 for your Coffee every month subscription." in text
    link = re.search(r"Update my card: (\S+)", text).group(1)
    assert link.startswith(app.config["PUBLIC_URL"] + "/billing/card/")
    [sms] = twilio_server.messages_to(PHONE)
    assert "Update your card: " + link in sms["body"]
    run_jobs()  # nothing is sent twice
    assert len(smtp) == 1 and len(twilio_server.messages_to(PHONE)) == 1


def test_the_card_page_saves_a_card_and_pays_the_open_invoice(app, db, company, client, smtp, queue, run_jobs):
    sub, invoice = _fail_first_charge(company, db, run_jobs)
    path = f"/billing/card/{card_link_token(sub)}"
    page = client.get(path)
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "$18.00 that is due" in html
    secret = re.search(r'data-client-secret="([^"]+)"', html).group(1)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    # What Stripe.js does in the browser: confirm the page's SetupIntent with the new card.
    setup_id = secret.split("_secret_")[0]
    method = gateway.client().v1.payment_methods.create(params={
        "type": "card", "card": {"number": "4242424242424242", "exp_month": 12, "exp_year": 2031, "cvc": "123"}})
    saved_cards.confirm_setup_intent(setup_id, method.id)

    answer = client.post(path, data={"setup_intent": setup_id, "csrf_token": csrf})
    assert answer.status_code == 303 and answer.headers["Location"].endswith(path)
    run_jobs()
    db.session.expire_all()
    assert db.session.get(Invoice, invoice.id).status == "PAID"
    kinds = db.session.execute(db.select(PaymentAttempt.kind, PaymentAttempt.status)
                               .order_by(PaymentAttempt.number)).all()
    assert kinds[-1] == ("CARD_UPDATE", "SUCCEEDED")
    assert "Thanks: we received $18.00." in _bodies(smtp)[-1]

    # Another Customer's SetupIntent is refused, and a malformed id changes nothing.
    other = saved_cards.create_customer("x@example.com", company_id=company.id, idempotency_key="other")
    foreign = saved_cards.create_setup_intent(other, {})
    saved_cards.confirm_setup_intent(foreign.id, method.id)
    page = client.get(path).get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    refused = client.post(path, data={"setup_intent": foreign.id, "csrf_token": csrf})
    assert refused.status_code == 422 and "belongs to someone else" in refused.get_data(as_text=True)
    assert client.post(path, data={"setup_intent": "seti_<x>", "csrf_token": csrf}).status_code == 422


def test_a_tampered_or_expired_card_link_is_refused(app, db, company, client, queue, run_jobs):
    sub, _invoice = _fail_first_charge(company, db, run_jobs)
    token = card_link_token(sub)
    assert client.get(f"/billing/card/{token[:-2]}xx").status_code == 404
    with pytest.raises(BadCardLink, match="expired"):
        read_card_link(token, max_age=-1)
    assert read_card_link(token).id == sub.id


def test_when_retries_run_out_the_customer_is_told_what_happened(app, db, company, smtp, queue, run_jobs):
    sub, invoice = _fail_first_charge(company, db, run_jobs, retry_strategy="FIXED", fixed_schedule_days=[2],
                                      max_retries=1, after_max_retries_action="CANCEL")
    retry = db.session.execute(db.select(PaymentAttempt).filter_by(status="SCHEDULED")).scalar_one()
    engine.run_due_retries(now=retry.scheduled_at)
    run_jobs()
    assert _keys(db) == [f"dunning-{invoice.id}-final_notice", f"dunning-{invoice.id}-first_failure"]
    assert "so your subscription has been cancelled. You won't be charged again." in _bodies(smtp)[-1]


def test_a_bank_asking_for_authentication_stops_retries_until_the_deadline(app, db, company, smtp, queue, run_jobs):
    from datetime import timedelta

    from billing_kit import subscribe as _subscribe

    plan = make_plan(company, max_days_to_retry=10, after_max_retries_action="CANCEL")
    sub = _subscribe(company, plan)
    # A card whose bank asks for 3-D Secure on every charge (localstripe answers requires_action).
    method = gateway.client().v1.payment_methods.create(params={
        "type": "card", "card": {"number": "4000002500003155", "exp_month": 12, "exp_year": 2031, "cvc": "123"}})
    saved_cards.attach_payment_method(method.id, sub.stripe_customer_id)
    db.session.execute(db.update(type(sub)).where(type(sub).id == sub.id).values(payment_method_id=method.id))
    db.session.commit()
    due = sub.next_billing_at
    engine.bill_due_subscriptions(now=due)
    run_jobs()
    [attempt] = db.session.execute(db.select(PaymentAttempt)).scalars().all()
    assert (attempt.status, attempt.decline_class) == ("REQUIRES_ACTION", "HARD")  # no retry scheduled
    assert "Please update your card for Coffee every month" in [m["Subject"] for m in (
        email.message_from_bytes(e.content, policy=policy.default) for e in smtp)]
    assert engine.close_expired_invoices(now=due + timedelta(days=9)) == 0
    assert engine.close_expired_invoices(now=due + timedelta(days=10, minutes=1)) == 1
    db.session.expire_all()
    invoice = db.session.execute(db.select(Invoice)).scalar_one()
    assert invoice.status == "UNCOLLECTIBLE" and db.session.get(type(sub), sub.id).status == "CANCELED"
    run_jobs()
    assert "so your subscription has been cancelled" in _bodies(smtp)[-1]
