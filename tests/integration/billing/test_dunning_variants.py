"""The merchant's own dunning words (plan setting ``useMIGeneratedContent``): a declined
renewal sends the most specific matching variant through the usual dunning path (email and
SMS), with its placeholders filled, and the attempt records which variant it sent; with the
setting off, or another merchant's variants only, the built-in words are sent."""
from __future__ import annotations

import email
from email import policy

from billing_kit import DECLINING_CARD, make_plan, subscribe
from factories import make_user, sign_in

from storefront.accounts.models import Company
from storefront.billing import engine
from storefront.billing.message_variants import ANY, FIRST, MessageVariant
from storefront.billing.models import Invoice, PaymentAttempt, Subscription
from storefront.notifications.consent import record_consent

PHONE = "+13125550143"  # the local Twilio server lives for the session: texts are told apart by number
OFF_PHONE = "+13125550144"
REPEAT_PHONE = "+13125550145"


def _mails(smtp):
    return [email.message_from_bytes(m.content, policy=policy.default) for m in smtp]


def _variants(db, company, plan):
    other = Company(name="Other", slug="other", currency="USD", support_email="o@other.test")
    db.session.add(other)
    db.session.flush()
    rows = {
        "general": MessageVariant(company_id=company.id, name="General", notice="first_failure",
                                  subject="General words", body="General body {amount}."),
        "soft_first": MessageVariant(company_id=company.id, plan_id=plan.id, name="Soft, first time",
                                     notice="first_failure", decline_class="SOFT", history=FIRST,
                                     subject="{customer_name}, your {plan} needs a hand",
                                     body="Hi {customer_name}: {shop} couldn't take {amount}. <b>Soon</b>\n\n"
                                          "We'll try again {next_try}. Card: {update_link}"),
        "inactive": MessageVariant(company_id=company.id, plan_id=plan.id, name="Off", notice="first_failure",
                                   decline_class="SOFT", history=FIRST, subject="Never sent", body="x",
                                   active=False),
        # Another merchant's variant: as specific as can be, yet never this merchant's words.
        "theirs": MessageVariant(company_id=other.id, name="Theirs", notice="first_failure", decline_class="SOFT",
                                 history=FIRST, subject="OTHER SHOP words", body="OTHER SHOP body"),
        "hard": MessageVariant(company_id=company.id, name="Hard", notice="first_failure", decline_class="HARD",
                               history=ANY, subject="Hard words", body="Hard body"),
    }
    db.session.add_all(rows.values())
    db.session.commit()
    return rows


def _sub_id(db) -> int:
    return db.session.execute(db.select(Subscription.id)).scalar_one()


def _fail(db, company, run_jobs, flag: bool, phone: str):
    plan = make_plan(company, timezone="America/Chicago", send_sms_reminder=True, use_mi_generated_content=flag)
    rows = _variants(db, company, plan)
    record_consent(company.id, phone, "Text me about my orders.", "CHECKOUT")
    sub = subscribe(company, plan, card=DECLINING_CARD, phone=phone, billing_country="US")
    engine.bill_due_subscriptions(now=sub.next_billing_at)
    run_jobs()
    invoice = db.session.execute(db.select(Invoice)).scalar_one()
    attempt = db.session.execute(db.select(PaymentAttempt).filter_by(invoice_id=invoice.id, number=1)).scalar_one()
    return rows, attempt


def test_a_declined_renewal_sends_the_matching_variant(app, db, company, client, smtp, queue, run_jobs,
                                                       twilio_server):
    rows, attempt = _fail(db, company, run_jobs, flag=True, phone=PHONE)
    [mail] = _mails(smtp)
    assert mail["Subject"] == "Sam, your Coffee every month needs a hand"
    text = mail.get_body(("plain",)).get_content()
    assert f"Hi Sam: {company.name} couldn't take $18.00." in text
    assert "We'll try again " in text and "Card: " + app.config["PUBLIC_URL"] + "/billing/card/" in text
    assert "OTHER SHOP" not in text and "General body" not in text
    page = mail.get_body(("html",)).get_content()  # the merchant's words are text, never markup
    assert "&lt;b&gt;Soon&lt;/b&gt;" in page and "<b>Soon</b>" not in page
    assert "We couldn't take $18.00" not in text  # the built-in words are replaced
    [sms] = twilio_server.messages_to(PHONE)
    assert sms["body"].startswith(f"{company.name}: Hi Sam: {company.name} couldn't take $18.00.")
    db.session.expire_all()
    assert db.session.get(PaymentAttempt, attempt.id).message_variant_id == rows["soft_first"].id
    run_jobs()  # sent once
    assert len(smtp) == 1
    # The merchant sees which of their messages went out, on the subscription and in the list.
    make_user(company)
    assert sign_in(client).status_code == 303
    sub_page = client.get(f"/admin/subscriptions/{_sub_id(db)}")
    text = sub_page.get_data(as_text=True)
    assert "Message sent: <a" in text and "Soft, first time" in text


def test_with_the_setting_off_the_built_in_words_are_sent(app, db, company, smtp, queue, run_jobs, twilio_server):
    _rows, attempt = _fail(db, company, run_jobs, flag=False, phone=OFF_PHONE)
    [mail] = _mails(smtp)
    assert mail["Subject"] == "Your Coffee every month payment didn't go through"
    assert "We couldn't take $18.00 for your Coffee every month subscription." in mail.get_body(
        ("plain",)).get_content()
    [sms] = twilio_server.messages_to(OFF_PHONE)
    assert "needs a hand" not in sms["body"] and "We couldn't take $18.00" in sms["body"]
    db.session.expire_all()
    assert db.session.get(PaymentAttempt, attempt.id).message_variant_id is None


def test_a_customer_who_failed_before_gets_the_repeat_variant(app, db, company, smtp, queue, run_jobs,
                                                             twilio_server):
    from datetime import timedelta

    from storefront.billing.message_variants import REPEAT

    plan = make_plan(company, use_mi_generated_content=True, timezone="America/Chicago", send_sms_reminder=True)
    for history, words in ((FIRST, "First time words"), (REPEAT, "Again words")):
        db.session.add(MessageVariant(company_id=company.id, name=words, notice="first_failure",
                                      decline_class="SOFT", history=history, subject=words,
                                      body=words + ": {update_link}"))
    db.session.commit()
    record_consent(company.id, REPEAT_PHONE, "Text me about my orders.", "CHECKOUT")
    sub = subscribe(company, plan, card=DECLINING_CARD, phone=REPEAT_PHONE, billing_country="US")
    # An earlier period of this customer's that failed once (and was paid later).
    earlier = sub.next_billing_at - timedelta(days=31)
    db.session.add(Invoice(company_id=company.id, subscription_id=sub.id, period_start=earlier, period_end=earlier,
                           amount_cents=1800, currency="USD", status="PAID", first_failed_at=earlier))
    db.session.commit()
    engine.bill_due_subscriptions(now=sub.next_billing_at)
    run_jobs()
    assert [m["Subject"] for m in _mails(smtp)] == ["Again words"]
    # The text carries the card link the merchant placed, once.
    [sms] = twilio_server.messages_to(REPEAT_PHONE)
    assert sms["body"].startswith(f"{company.name}: Again words: ") and sms["body"].count("/billing/card/") == 1


def test_the_final_notice_in_the_merchants_words_still_says_what_happened(app, db, company, smtp, queue, run_jobs):
    plan = make_plan(company, use_mi_generated_content=True, retry_strategy="FIXED", fixed_schedule_days=[2],
                     max_retries=1, after_max_retries_action="CANCEL")
    db.session.add(MessageVariant(company_id=company.id, name="Goodbye", notice="final_notice",
                                  subject="{customer_name}, about {plan}",
                                  body="We're sorry, {customer_name}. {what_happened}"))
    db.session.commit()
    sub = subscribe(company, plan, card=DECLINING_CARD)
    engine.bill_due_subscriptions(now=sub.next_billing_at)
    run_jobs()
    retry = db.session.execute(db.select(PaymentAttempt).filter_by(status="SCHEDULED")).scalar_one()
    engine.run_due_retries(now=retry.scheduled_at)
    run_jobs()
    last = _mails(smtp)[-1]
    assert last["Subject"] == "Sam, about Coffee every month"
    assert ("We're sorry, Sam. We couldn't take $18.00 after several tries, so your subscription has been "
            "cancelled. You won't be charged again.") in last.get_body(("plain",)).get_content()
