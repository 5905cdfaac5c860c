"""At-most-once delivery (notifications.records): one row per key, claimed and committed
before any provider is called; a repeat never sends; transient faults may try again; a
send stuck in SENDING is reported UNKNOWN by the sweep and never re-sent."""
from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from storefront.notifications import records
from storefront.notifications.models import EMAIL, SMS, OutboundMessage
from storefront.types import utcnow


def _status(db, message_id: int) -> str:
    db.session.rollback()  # read what is committed, not the session's copy
    return db.session.get(OutboundMessage, message_id).status


def test_a_key_is_claimed_once_and_committed_before_sending(app, db, company):
    first = records.claim(company.id, SMS, "intervention-42", "+15125550100", "Your cart is waiting")
    again = records.claim(company.id, SMS, "intervention-42", "+15125550100", "Your cart is waiting")

    assert first.claimed and not again.claimed
    assert again.message.id == first.message.id
    assert _status(db, first.message.id) == records.SENDING  # committed: visible after a rollback
    assert db.session.query(OutboundMessage).count() == 1


def test_keys_are_bounded(app, db, company):
    for key in ("", "k" * 121):
        with pytest.raises(ValueError):
            records.claim(company.id, EMAIL, key, "a@b.test", "x")


def test_deliver_records_each_kind_of_outcome(app, db, company):
    def claimed(key):
        return records.claim(company.id, SMS, key, "+15125550100", "hi").message

    sent = records.deliver(claimed("ok"), lambda: "SM123")
    assert (sent.status, sent.provider_id, sent.sent_at is not None) == (records.SENT, "SM123", True)

    def refused():
        raise records.Refused("Twilio 400 (code 21211): not a valid phone number")

    failed = records.deliver(claimed("no"), refused)
    assert failed.status == records.FAILED and "21211" in failed.error

    def lost():
        raise TimeoutError("read timed out")

    unknown = records.deliver(claimed("lost"), lost)
    assert unknown.status == records.UNKNOWN and "TimeoutError" in unknown.error

    def unreachable():
        raise records.Unreachable("connection refused")

    message = claimed("later")
    with pytest.raises(records.TransientSendError) as transient:
        records.deliver(message, unreachable, max_attempts=2)
    assert transient.value.message_id == message.id and _status(db, message.id) == records.DEFERRED


def test_a_deferred_key_tries_again_up_to_the_attempts_then_fails(app, db, company):
    def unreachable():
        raise records.Unreachable("SMTP answered 451: try later")

    message = records.claim(company.id, EMAIL, "dunning-1", "a@b.test", "x").message
    with pytest.raises(records.TransientSendError):
        records.deliver(message, unreachable, max_attempts=3)
    second = records.claim(company.id, EMAIL, "dunning-1", "a@b.test", "x")
    assert second.claimed and second.message.attempts == 2
    with pytest.raises(records.TransientSendError):
        records.deliver(second.message, unreachable, max_attempts=3)
    third = records.claim(company.id, EMAIL, "dunning-1", "a@b.test", "x")
    records.deliver(third.message, unreachable, max_attempts=3)  # the last attempt: no raise
    assert _status(db, message.id) == records.FAILED
    assert "after 3 attempts" in db.session.get(OutboundMessage, message.id).error
    assert not records.claim(company.id, EMAIL, "dunning-1", "a@b.test", "x").claimed


def test_the_sweep_reports_stuck_sends_unknown_after_the_delay_only(app, db, company):
    started = utcnow()
    stuck = records.claim(company.id, SMS, "stuck", "+15125550100", "hi", now=started).message
    done = records.claim(company.id, SMS, "done", "+15125550100", "hi", now=started).message
    records.finish(done, records.SENT, provider_id="SM1")

    assert records.sweep_unknown(now=started + timedelta(minutes=14), minutes=15) == 0
    assert _status(db, stuck.id) == records.SENDING
    assert records.sweep_unknown(now=started + timedelta(minutes=16), minutes=15) == 1
    assert _status(db, stuck.id) == records.UNKNOWN and _status(db, done.id) == records.SENT
    assert records.sweep_unknown(now=started + timedelta(minutes=60), minutes=15) == 0  # idempotent
    assert not records.claim(company.id, SMS, "stuck", "+15125550100", "hi").claimed  # never re-sent


def test_provider_reports_never_go_backwards(app, db, company):
    message = records.claim(company.id, SMS, "k", "+15125550100", "hi").message
    # The delivery report beat the create's answer: it still applies, and fills the SID.
    assert records.apply_provider_status(message, records.DELIVERED, provider_id="SM9")
    db.session.commit()
    assert not records.finish(message, records.SENT, provider_id="SM9")
    assert _status(db, message.id) == records.DELIVERED
    message = db.session.get(OutboundMessage, message.id)
    assert message.provider_id == "SM9"
    assert not records.apply_provider_status(message, records.SENT)  # a late "sent"
    assert not records.apply_provider_status(message, records.UNDELIVERED)  # the first outcome wins
    with pytest.raises(ValueError):
        records.apply_provider_status(message, "SENDING")


def test_a_known_answer_beats_unknown(app, db, company):
    message = records.claim(company.id, SMS, "k", "+15125550100", "hi", now=utcnow() - timedelta(hours=1)).message
    records.sweep_unknown(minutes=15)
    assert records.finish(message, records.SENT, provider_id="SM1")
    assert _status(db, message.id) == records.SENT


def test_scrubbing_a_recipient_keeps_the_counts(app, db, company):
    message = records.claim(company.id, EMAIL, "k", "jane@example.test", "Dear Jane", subject="Your cart").message
    records.finish(message, records.SENT)
    assert records.scrub_recipient(company.id, "jane@example.test") == 1
    db.session.commit()
    db.session.rollback()
    kept = db.session.get(OutboundMessage, message.id)
    assert (kept.recipient, kept.subject, kept.body, kept.status) == ("(erased)", None, "", records.SENT)


@pytest.mark.postgres
def test_two_workers_claiming_one_key_send_once(app, db, company, is_postgres):
    if not is_postgres:
        pytest.skip("concurrency runs on PostgreSQL")
    barrier = threading.Barrier(8)
    results: list[bool] = []

    def worker():
        with app.app_context():
            barrier.wait()
            results.append(records.claim(company.id, SMS, "intervention-7", "+15125550100", "hi").claimed)
            db.session.remove()

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [False] * 7 + [True]
    assert db.session.query(OutboundMessage).count() == 1
