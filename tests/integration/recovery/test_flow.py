"""The cart-save flow end to end on PostgreSQL and Redis with the real SMTP server: a cart
abandoned and then 1 h, 24 h and 72 h passing (injected clock) brings three emails with
unique codes; a purchase after the first cancels the rest; two ticks at once send once;
Redis flushed mid-run loses nothing; a worker killed mid-send is never re-sent."""
from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from helpers import EMAIL, abandoned_cart, interventions, parse, run_tick

from storefront.checkout.models import Order
from storefront.extensions import db
from storefront.notifications.models import OutboundMessage
from storefront.pricing.codes import find_code
from storefront.pricing.models import PromotionCode
from storefront.recovery import delivery, services
from storefront.recovery.models import CartSaveAttempt
from storefront.types import new_token

NEEDS_PG = "needs PostgreSQL (TEST_DATABASE_URL): SQLite ignores FOR UPDATE SKIP LOCKED"


def test_three_emails_at_1_24_and_72_hours_with_unique_codes(app, db, company, smtp, queue, run_jobs):
    cart, attempt, left = abandoned_cart(company)
    planned = interventions(attempt)
    assert set(planned) == {"REMINDER_EMAIL", "INCENTIVE_EMAIL", "FINAL_OFFER_EMAIL"}  # no phone: no SMS, no call
    assert planned["REMINDER_EMAIL"].scheduled_at == left + timedelta(hours=1)
    assert any(entry["stage"] == "SMS_NUDGE" and entry["detail"] == "no phone number"
               for entry in attempt.stage_history)

    assert run_tick(run_jobs, left + timedelta(minutes=59)) == []  # not due yet
    run_tick(run_jobs, left + timedelta(hours=1))
    assert len(smtp) == 1
    first = parse(smtp[0])
    assert first["Subject"] == "You left something in your cart at Acme Apparel"
    text = first.get_body(("plain",)).get_content()
    assert "2 × Classic Tee" in text and "$40.00" in text and "/recover/" + planned["REMINDER_EMAIL"].token in text
    assert first["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click" and first["Reply-To"] == "help@acme.test"

    run_tick(run_jobs, left + timedelta(hours=24))
    run_tick(run_jobs, left + timedelta(hours=72))
    assert len(smtp) == 3
    sent = interventions(attempt)
    codes = [sent["INCENTIVE_EMAIL"].offer_code, sent["FINAL_OFFER_EMAIL"].offer_code]
    assert all(codes) and len(set(codes)) == 2
    second, third = (parse(m).get_body(("plain",)).get_content() for m in smtp[1:])
    assert f"Use code {codes[0]} for 10 % off" in second and f"Use code {codes[1]} for 15 % off" in third
    assert parse(smtp[2])["Subject"].startswith("Last chance: 15 %")
    # The final code expires 24 h after it was sent; both are single-use codes of pricing.
    final = db.session.execute(db.select(PromotionCode).filter_by(code=codes[1])).scalar_one()
    assert final.expires_at == left + timedelta(hours=96)
    promotion, single = find_code(company.id, codes[0], left + timedelta(hours=80))
    assert promotion.percent_bp == 1000 and single.code == codes[0]
    db.session.rollback()
    attempt = db.session.get(CartSaveAttempt, attempt.id)
    assert attempt.status == "EXHAUSTED" and attempt.current_stage == "FINAL_OFFER_EMAIL"
    assert {i.status for i in sent.values()} == {"SENT"}
    # Ticks after the end send nothing more.
    assert run_tick(run_jobs, left + timedelta(hours=100)) == [] and len(smtp) == 3


def _order(company, cart, email=EMAIL, at=None):
    order = Order(company_id=company.id, number=f"#{cart.id}", token=new_token(), cart_id=cart.id, email=email,
                  currency="USD", subtotal_cents=4000, total_cents=4000, amount_paid_cents=4000,
                  **({"created_at": at} if at else {}))
    db.session.add(order)
    db.session.commit()
    return order


def test_a_purchase_after_the_first_email_cancels_the_rest(app, db, company, smtp, queue, run_jobs):
    cart, attempt, left = abandoned_cart(company)
    run_tick(run_jobs, left + timedelta(hours=1))
    assert len(smtp) == 1
    # An order by the same email from another cart, written without any hook: the send-time
    # check finds it.
    other, _, _ = abandoned_cart(company, fields={"email": "someone@example.test"})
    _order(company, other, email=EMAIL.upper(), at=left + timedelta(hours=2))

    run_tick(run_jobs, left + timedelta(hours=24))
    run_tick(run_jobs, left + timedelta(hours=72))
    assert len(smtp) == 1
    rows = interventions(attempt)
    assert rows["INCENTIVE_EMAIL"].status == "CANCELLED" and rows["FINAL_OFFER_EMAIL"].status == "CANCELLED"
    assert rows["INCENTIVE_EMAIL"].status_reason == "the shopper placed an order"
    attempt = db.session.get(CartSaveAttempt, attempt.id)
    assert attempt.status == "CONVERTED" and attempt.recovered_cents == 4000


@pytest.mark.postgres
def test_two_ticks_at_once_claim_each_message_once(app, db, company, smtp, queue, run_jobs, is_postgres):
    if not is_postgres:
        pytest.skip(NEEDS_PG)
    attempts = [abandoned_cart(company, fields={"email": f"shopper{n}@example.test"})[1] for n in range(6)]
    left = min(a.last_activity_at for a in attempts)
    claimed: list[list[int]] = []
    barrier = threading.Barrier(2)

    def tick():
        with app.app_context():
            barrier.wait()
            claimed.append(delivery.claim_due(left + timedelta(hours=1, minutes=1)))
            db.session.remove()

    threads = [threading.Thread(target=tick) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(claimed[0] + claimed[1]) == sorted(set(claimed[0] + claimed[1]))
    assert len(claimed[0] + claimed[1]) == 6
    run_jobs()
    run_jobs()
    assert len(smtp) == 6 and len({e.rcpt_tos[0] for e in smtp}) == 6
    # A job run again (a retry) finds its row SENT and sends nothing.
    for intervention_id in claimed[0] + claimed[1]:
        assert delivery.deliver(intervention_id) == "SENT"
    assert len(smtp) == 6


def test_redis_flushed_mid_run_loses_nothing_and_sends_once(app, db, company, smtp, queue, run_jobs):
    cart, attempt, left = abandoned_cart(company)
    due = left + timedelta(hours=1)
    assert len(delivery.claim_due(due)) == 1
    queue.connection.flushdb()  # the enqueued job is gone
    assert run_jobs() == 0 and smtp == []
    assert interventions(attempt)["REMINDER_EMAIL"].status == "QUEUED"
    run_tick(run_jobs, due + timedelta(minutes=5))  # a job may still be on its way: not yet
    assert smtp == []
    run_tick(run_jobs, due + timedelta(minutes=11))
    assert len(smtp) == 1 and interventions(attempt)["REMINDER_EMAIL"].status == "SENT"
    run_tick(run_jobs, due + timedelta(minutes=30))
    assert len(smtp) == 1


def test_without_redis_the_tick_sends_in_process(app, db, company, smtp):
    app.config["REDIS_URL"] = ""
    cart, attempt, left = abandoned_cart(company)
    assert len(delivery.claim_due(left + timedelta(hours=1))) == 1
    assert len(smtp) == 1 and interventions(attempt)["REMINDER_EMAIL"].status == "SENT"


def test_a_worker_killed_mid_send_leaves_unknown_never_resent(app, db, company, smtp, queue, run_jobs):
    cart, attempt, left = abandoned_cart(company)
    due = left + timedelta(hours=1)
    reminder = interventions(attempt)["REMINDER_EMAIL"]
    # The worker committed SENDING, then died before the provider's answer was recorded.
    reminder.status, reminder.message_key, reminder.updated_at = "SENDING", delivery.message_key(reminder.id), due
    db.session.commit()
    assert delivery.sweep_stuck(due + timedelta(minutes=5)) == 0
    assert delivery.sweep_stuck(due + timedelta(minutes=16)) == 1
    assert interventions(attempt)["REMINDER_EMAIL"].status == "UNKNOWN"
    run_tick(run_jobs, due + timedelta(hours=2))
    assert smtp == [] and interventions(attempt)["REMINDER_EMAIL"].status == "UNKNOWN"
    # A retried job of that row settles it from the record and does not send either.
    assert delivery.deliver(reminder.id) == "UNKNOWN" and smtp == []


def test_a_send_recorded_sent_before_the_crash_is_settled_sent(app, db, company, smtp, queue, run_jobs):
    cart, attempt, left = abandoned_cart(company)
    due = left + timedelta(hours=1)
    run_tick(run_jobs, due)
    reminder = interventions(attempt)["REMINDER_EMAIL"]
    reminder.status = "SENDING"  # as if the worker died after the record said SENT
    db.session.commit()
    assert delivery.deliver(reminder.id) == "SENT"
    assert db.session.execute(db.select(db.func.count(OutboundMessage.id))).scalar_one() == 1 and len(smtp) == 1


def test_the_shopper_coming_back_pauses_and_abandoning_again_resumes_with_the_same_codes(
        app, db, company, smtp, queue, run_jobs):
    cart, attempt, left = abandoned_cart(company)
    run_tick(run_jobs, left + timedelta(hours=1))
    run_tick(run_jobs, left + timedelta(hours=24))
    code = interventions(attempt)["INCENTIVE_EMAIL"].offer_code
    assert code and len(smtp) == 2
    back = left + timedelta(hours=30)
    db.session.rollback()
    cart = db.session.get(type(cart), cart.id)
    cart.status, cart.updated_at = "ACTIVE", back
    db.session.commit()
    services.lifecycle(back + timedelta(minutes=1))
    assert interventions(attempt)["FINAL_OFFER_EMAIL"].status == "PAUSED"
    run_tick(run_jobs, left + timedelta(hours=72))
    assert len(smtp) == 2
    # Abandoned again: the final offer is due 72 h after the new last activity.
    from storefront.cart.lifecycle import abandon_idle_carts

    assert abandon_idle_carts(back + timedelta(minutes=25)) == 1
    services.lifecycle(back + timedelta(minutes=26))
    final = interventions(attempt)["FINAL_OFFER_EMAIL"]
    assert final.status == "SCHEDULED" and final.scheduled_at == back + timedelta(hours=72)
    assert db.session.execute(db.select(db.func.count(CartSaveAttempt.id))).scalar_one() == 1
    run_tick(run_jobs, back + timedelta(hours=72))
    assert len(smtp) == 3 and interventions(attempt)["INCENTIVE_EMAIL"].offer_code == code


def test_out_of_stock_lines_are_left_out_and_nothing_in_stock_sends_nothing(app, db, company, smtp, queue, run_jobs):
    from factories import make_product

    from storefront.cart.models import LineItem

    cart, attempt, left = abandoned_cart(company)
    sold_out = make_product(company, "Rare Cap", price_cents=1500, stock=0, handle="rare-cap").variants[0]
    db.session.add(LineItem(cart_id=cart.id, variant_id=sold_out.id, quantity=1, unit_price_cents=1500))
    db.session.commit()
    run_tick(run_jobs, left + timedelta(hours=1))
    text = parse(smtp[0]).get_body(("plain",)).get_content()
    assert "Classic Tee" in text and "1 × Rare Cap" not in text and "Sold out since you left: Rare Cap." in text
    tee_line = db.session.execute(db.select(LineItem).filter_by(cart_id=cart.id, variant_id=cart.lines[0].variant_id)
                                  ).scalar_one()
    tee_line.variant.stock = 0
    db.session.commit()
    run_tick(run_jobs, left + timedelta(hours=24))
    assert len(smtp) == 1
    assert interventions(attempt)["INCENTIVE_EMAIL"].status_reason == "nothing in the cart is in stock"
