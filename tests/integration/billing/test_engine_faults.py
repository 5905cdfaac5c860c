"""Faults in the billing engine (PostgreSQL: SQLite ignores FOR UPDATE): a job killed between
the charge and its commit charges once when retried; two ticks at once bill each due
subscription once; the webhook and the job converge on one transition."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

import pytest
from billing_kit import intents_for, make_plan, subscribe
from factories import ROOT
from sqlalchemy import create_engine, text

from storefront.billing import engine
from storefront.billing.models import Invoice, PaymentAttempt
from storefront.checkout.models import Order

CHILD = """
import sys
from storefront import create_app
from storefront.billing.engine import charge_attempt
from datetime import datetime
app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": sys.argv[1], "STRIPE_API_BASE": sys.argv[2],
                  "REDIS_URL": "", "RATELIMIT_STORAGE_URI": "memory://"})
with app.app_context():
    charge_attempt(int(sys.argv[3]), datetime.fromisoformat(sys.argv[4]))
"""


@pytest.fixture()
def postgres(is_postgres):
    if not is_postgres:
        pytest.skip("needs PostgreSQL (TEST_DATABASE_URL): SQLite ignores FOR UPDATE")


def _wait(condition, seconds=20.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def test_a_job_killed_between_the_charge_and_its_commit_charges_once(app, db, company, queue, postgres):
    plan = make_plan(company)
    sub = subscribe(company, plan)
    due = sub.next_billing_at
    engine.bill_due_subscriptions(now=due)  # queued on Redis; the worker below is a child process
    attempt = db.session.execute(db.select(PaymentAttempt)).scalar_one()
    invoice_id, customer = attempt.invoice_id, sub.stripe_customer_id
    url = db.engine.url.render_as_string(hide_password=False)

    # Hold the invoice's row lock: the child charges, then blocks where it would commit.
    holder = create_engine(url).connect()
    holder.execute(text("SELECT id FROM invoices WHERE id = :id FOR UPDATE"), {"id": invoice_id})
    child = subprocess.Popen([sys.executable, "-c", CHILD, url, app.config["STRIPE_API_BASE"], str(attempt.id),
                              due.isoformat()], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        # The child builds the whole app first: give a loaded machine time.
        charged = _wait(lambda: len(intents_for(f"invoice-{invoice_id}-", customer)) == 1 or child.poll() is not None,
                        seconds=180)
        assert charged and child.poll() is None, f"the child never charged: {child.stderr.read().decode()[-2000:] if child.poll() is not None else 'timeout'}"
        waiting = "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()"
        assert _wait(lambda: holder.execute(text(waiting)).scalar() >= 1), "the child never reached its commit"
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=10)
        holder.rollback()
        holder.close()
    assert child.returncode == -signal.SIGKILL

    db.session.expire_all()
    attempt = db.session.get(PaymentAttempt, attempt.id)
    assert attempt.status == "CHARGING"  # committed before the charge; the outcome was lost
    assert engine.charge_attempt(attempt.id, now=due) == "paid"  # the retried job

    [intent] = intents_for(f"invoice-{invoice_id}-", customer)
    db.session.expire_all()
    assert db.session.get(PaymentAttempt, attempt.id).payment_intent_id == intent["id"]
    assert db.session.get(Invoice, invoice_id).status == "PAID"
    assert db.session.execute(db.select(db.func.count(Order.id))).scalar() == 1


def test_two_ticks_at_once_bill_each_due_subscription_once(app, db, company, queue, run_jobs, postgres):
    plan = make_plan(company)
    subs = [subscribe(company, plan, email=f"s{n}@example.com") for n in range(6)]
    due = max(sub.next_billing_at for sub in subs)
    counts, errors = [], []
    barrier = threading.Barrier(4)

    def tick():
        with app.app_context():
            try:
                barrier.wait()
                counts.append(engine.bill_due_subscriptions(now=due, batch=2))
                counts.append(engine.bill_due_subscriptions(now=due, batch=50))
            except Exception as error:  # collected and asserted below
                errors.append(error)

    threads = [threading.Thread(target=tick) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [] and sum(counts) == 6
    run_jobs()
    invoices = db.session.execute(db.select(Invoice)).scalars().all()
    assert len(invoices) == 6 and {invoice.status for invoice in invoices} == {"PAID"}
    for sub in subs:
        assert len(intents_for("invoice-", sub.stripe_customer_id)) == 1
    assert db.session.execute(db.select(db.func.count(Order.id))).scalar() == 6


def test_the_webhook_before_the_job_answer_settles_once(app, db, company, queue, postgres):
    plan = make_plan(company)
    sub = subscribe(company, plan)
    engine.bill_due_subscriptions(now=sub.next_billing_at)
    attempt = db.session.execute(db.select(PaymentAttempt)).scalar_one()
    from storefront.payments import saved_cards

    # The charge reaches Stripe and its webhook is handled before the job records its answer.
    charge = saved_cards.charge_off_session(
        customer_id=sub.stripe_customer_id, payment_method_id=sub.payment_method_id, amount_cents=1800,
        currency="USD", idempotency_key=attempt.idempotency_key, metadata={"invoice_id": str(attempt.invoice_id)})
    db.session.execute(db.update(PaymentAttempt).where(PaymentAttempt.id == attempt.id).values(status="CHARGING"))
    db.session.commit()
    [intent] = intents_for(attempt.idempotency_key, sub.stripe_customer_id)
    assert engine.settle_intent(intent) == "paid"
    assert engine.settle(attempt.id, charge) == "already"
    assert engine.charge_attempt(attempt.id) == "nothing to do"
    assert len(intents_for("invoice-", sub.stripe_customer_id)) == 1
    assert db.session.execute(db.select(db.func.count(Order.id))).scalar() == 1
