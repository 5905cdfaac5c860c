"""Stop rules and faults: the lead's timeline and status follow the messages; erasing a
lead cancels its attempts and scrubs its messages; an emptied cart stops the flow; an SMTP
server that refuses for good marks the message FAILED with the reason, one that refuses
for now keeps it for a later try (nothing marked SENT that was not sent)."""
from __future__ import annotations

from datetime import timedelta

import pytest
from aiosmtpd.controller import Controller
from factories import make_user
from helpers import EMAIL, abandoned_cart, interventions, parse
from servers import free_port

from storefront.cart.models import LineItem
from storefront.leads.erasure import erase_lead
from storefront.leads.models import Lead, LeadActivity
from storefront.notifications.models import OutboundMessage
from storefront.recovery import delivery
from storefront.recovery.models import CartSaveAttempt


@pytest.fixture()
def in_process(app):
    app.config["REDIS_URL"] = ""


def test_the_lead_is_contacted_and_its_timeline_shows_the_messages(app, db, company, smtp, in_process):
    cart, attempt, left = abandoned_cart(company, lead=True)
    assert attempt.reason == "PRICE_SHOCK" and attempt.risk_score == 82 and attempt.lead_id
    delivery.claim_due(left + timedelta(hours=1))
    assert "no surprises at the end" in parse(smtp[0]).get_body(("plain",)).get_content()  # the diagnosed angle
    lead = db.session.get(Lead, attempt.lead_id)
    assert lead.status == "CONTACTED"
    types = [a.type for a in db.session.execute(db.select(LeadActivity).filter_by(lead_id=lead.id)
                                                .order_by(LeadActivity.id)).scalars()]
    assert types == ["EMAIL_SENT", "STATUS_CHANGED"]


def test_erasing_the_lead_cancels_its_attempt_and_scrubs_its_messages(app, db, company, smtp, in_process):
    cart, attempt, left = abandoned_cart(company, lead=True)
    delivery.claim_due(left + timedelta(hours=1))
    lead = db.session.get(Lead, attempt.lead_id)
    assert erase_lead(lead, make_user(company)) is True
    db.session.expire_all()
    attempt = db.session.get(CartSaveAttempt, attempt.id)
    assert attempt.status == "EXPIRED" and attempt.email is None
    assert {i.status for i in interventions(attempt).values()} == {"SENT", "CANCELLED"}
    [message] = db.session.execute(db.select(OutboundMessage)).scalars().all()
    assert message.recipient == "(erased)" and message.body == "" and message.status == "SENT"
    delivery.claim_due(left + timedelta(hours=80))
    assert len(smtp) == 1


def test_an_emptied_cart_stops_the_flow(app, db, company, smtp, in_process):
    cart, attempt, left = abandoned_cart(company)
    db.session.execute(db.delete(LineItem).where(LineItem.cart_id == cart.id))
    db.session.commit()
    delivery.claim_due(left + timedelta(hours=1))
    assert smtp == []
    assert db.session.get(CartSaveAttempt, attempt.id).status == "EXPIRED"
    assert interventions(attempt)["REMINDER_EMAIL"].status_reason == "the cart was emptied"


class Refusing:
    """An SMTP server that refuses every recipient with ``code``."""

    def __init__(self, code: str) -> None:
        self.code = code

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        return self.code


@pytest.fixture()
def refusing(app):
    servers = []

    def start(code: str) -> None:
        controller = Controller(Refusing(code), hostname="127.0.0.1", port=free_port())
        controller.start()
        servers.append(controller)
        app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=controller.port)

    yield start
    for controller in servers:
        controller.stop()


def test_an_smtp_refusal_for_good_is_failed_with_the_reason(app, db, company, refusing, in_process):
    refusing("550 5.1.1 no such mailbox")
    cart, attempt, left = abandoned_cart(company)
    delivery.claim_due(left + timedelta(hours=1))
    reminder = interventions(attempt)["REMINDER_EMAIL"]
    assert reminder.status == "FAILED" and reminder.status_reason == "SMTP refused the recipient (550)"
    assert db.session.get(CartSaveAttempt, attempt.id).status == "ACTIVE"  # the next stages still run


def test_an_smtp_refusal_for_now_waits_and_sends_once_later(app, db, company, smtp, refusing, in_process):
    good = app.config["SMTP_PORT"]
    refusing("451 4.3.0 try again later")
    cart, attempt, left = abandoned_cart(company)
    due = left + timedelta(hours=1)
    delivery.claim_due(due)
    reminder = interventions(attempt)["REMINDER_EMAIL"]
    assert reminder.status == "SCHEDULED" and reminder.scheduled_at == due + timedelta(minutes=5)
    assert "retry after a transient fault" in reminder.schedule_reason
    app.config["SMTP_PORT"] = good
    delivery.claim_due(due + timedelta(minutes=5))
    reminder = interventions(attempt)["REMINDER_EMAIL"]
    assert reminder.status == "SENT" and len(smtp) == 1
    [message] = db.session.execute(db.select(OutboundMessage)).scalars().all()
    assert message.attempts == 2 and message.idempotency_key == f"recovery-{reminder.id}"
    assert EMAIL in smtp[0].rcpt_tos


def test_under_the_worker_a_transient_fault_is_retried_by_rq(app, db, company, smtp, refusing, queue, run_jobs):
    from rq.registry import ScheduledJobRegistry

    good = app.config["SMTP_PORT"]
    refusing("451 4.3.0 try again later")
    cart, attempt, left = abandoned_cart(company)
    [claimed] = delivery.claim_due(left + timedelta(hours=1))
    run_jobs()
    reminder = interventions(attempt)["REMINDER_EMAIL"]
    assert reminder.status == "QUEUED" and reminder.status_reason.startswith("will retry: SMTP refused")
    scheduled = ScheduledJobRegistry(queue=queue)
    [job_id] = scheduled.get_job_ids()  # rq.Retry put the job back, 60 s later
    app.config["SMTP_PORT"] = good
    assert delivery.deliver(claimed, left + timedelta(hours=1, minutes=1)) == "SENT"  # what the retry runs
    assert len(smtp) == 1
    assert delivery.deliver(claimed) == "SENT" and len(smtp) == 1


def test_a_shopper_who_chose_not_to_be_saved_is_never_contacted(app, db, company, smtp, in_process):
    from storefront.cart.lifecycle import abandon_idle_carts
    from storefront.recovery import services
    from storefront.visits.models import Visit

    cart, attempt, left = abandoned_cart(company)
    visit = Visit(company_id=company.id, token="opted-out-visit", visitor_id="visitor-1", capture_opt_out=True)
    db.session.add(visit)
    db.session.flush()
    cart.visit_id = visit.id
    db.session.commit()
    # At send time: the running attempt stops.
    delivery.claim_due(left + timedelta(hours=1))
    assert smtp == [] and db.session.get(CartSaveAttempt, attempt.id).status == "EXPIRED"
    # And a cart abandoned by such a shopper starts no attempt.
    other, *_ = abandoned_cart(company, fields={"email": "other@example.test"})
    db.session.execute(db.delete(CartSaveAttempt).where(CartSaveAttempt.cart_id == other.id))
    other.visit_id, other.status = visit.id, "ABANDONED"
    db.session.commit()
    assert abandon_idle_carts(left + timedelta(hours=2)) == 0
    assert services.start_attempts(left + timedelta(hours=2)) == 0
