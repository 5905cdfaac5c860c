"""The email channel against a real SMTP server (aiosmtpd): both parts from templates, the
RFC 8058 one-click headers, suppression without contacting SMTP, the unsubscribe token,
refusals retried then FAILED, the outbox folder, and a send killed between SENDING and SENT."""
from __future__ import annotations

import email
from email import policy
from pathlib import Path
from urllib.parse import unquote

import pytest
from servers import free_port

from storefront.notifications import records
from storefront.notifications.email import send_templated_email
from storefront.notifications.models import OutboundMessage
from storefront.notifications.suppression import (
    BadUnsubscribeToken,
    email_hash,
    is_suppressed,
    read_unsubscribe_token,
    suppress,
    unsubscribe,
    unsubscribe_token,
)

CONTEXT = {"heading": "You left something behind", "paragraphs": ["Your Classic Tee is still in your cart."],
           "action_url": "https://shop.example/recover/abc", "action_label": "Back to my cart"}


def _send(company, key="intervention-1", to="Jane.Doe@Example.TEST", unsubscribable=True, **extra):
    url = f"https://shop.example/unsubscribe/{unsubscribe_token(company.id, to)}" if unsubscribable else None
    return send_templated_email(company.id, key, to, "Your cart at Acme", "emails/notification",
                                {**CONTEXT, "company": company}, unsubscribe_url=url,
                                from_name=company.name, reply_to=company.support_email, **extra)


def _parse(envelope) -> email.message.EmailMessage:
    return email.message_from_bytes(envelope.content, policy=policy.default)


def test_sent_with_both_parts_and_one_click_unsubscribe(app, db, company, smtp):
    message = _send(company)

    assert message.status == records.SENT and message.provider_id.startswith("<")
    assert len(smtp) == 1 and smtp[0].rcpt_tos == ["jane.doe@example.test"]
    mail = _parse(smtp[0])
    assert mail["Subject"] == "Your cart at Acme" and mail["Message-ID"] == message.provider_id
    assert mail["From"] == "Acme Apparel <orders@storefront.test>" and mail["Reply-To"] == "help@acme.test"
    text = mail.get_body(("plain",)).get_content()
    html = mail.get_body(("html",)).get_content()
    assert "Your Classic Tee is still in your cart." in text and "Back to my cart: https://shop.example/recover/abc" in text
    assert '<a href="https://shop.example/recover/abc"' in html and ">Unsubscribe</a>" in html
    # RFC 8058: an https URL the mail client POSTs to, plus a mailto, and the one-click header.
    token = unsubscribe_token(company.id, "jane.doe@example.test")
    assert mail["List-Unsubscribe"] == (f"<https://shop.example/unsubscribe/{token}>, "
                                        f"<mailto:unsubscribe@storefront.test?subject=unsubscribe%20{token}>")
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert "Your Classic Tee is still in your cart." in message.body  # the record keeps the text sent


def test_the_same_key_never_sends_twice(app, db, company, smtp):
    first = _send(company)
    second = _send(company)
    assert second.id == first.id and len(smtp) == 1


def test_a_suppressed_address_is_recorded_failed_without_contacting_smtp(app, db, company, smtp):
    app.config["SMTP_PORT"] = free_port()  # nothing listens: any SMTP contact would fail the send
    suppress(company.id, "JANE.doe@example.test", "UNSUBSCRIBED", "link")

    message = _send(company)

    assert message.status == records.FAILED and message.error.startswith("suppressed")
    assert smtp == []
    assert db.session.query(OutboundMessage).count() == 1


def test_suppression_is_per_merchant(app, db, company, smtp):
    from storefront.accounts.models import Company

    other = Company(name="Other", slug="other", currency="USD")
    db.session.add(other)
    db.session.commit()
    suppress(other.id, "jane.doe@example.test")
    assert not is_suppressed(company.id, "jane.doe@example.test")
    assert _send(company).status == records.SENT


def test_the_unsubscribe_token_never_expires_carries_no_address_and_refuses_tampering(app, db, company):
    token = unsubscribe_token(company.id, " Jane.Doe@Example.test ")
    assert "jane" not in token.lower() and "example" not in token.lower()
    assert read_unsubscribe_token(token) == (company.id, email_hash("jane.doe@example.test"))

    assert unsubscribe(token, "one-click") == company.id
    assert unsubscribe(token, "one-click") == company.id  # a repeat is harmless
    assert is_suppressed(company.id, "JANE.DOE@example.test")
    for bad in (token[:-2] + "xx", token.replace(".", ".A", 1), "", "x" * 400, "abc.def"):
        with pytest.raises(BadUnsubscribeToken):
            read_unsubscribe_token(bad)


def test_the_email_hash_is_keyed_with_the_server_secret(app):
    digest = email_hash("jane@example.test")
    app.config["IP_HASH_SECRET"] = "another secret"
    assert email_hash("jane@example.test") != digest and len(digest) == 64


class Refusing:
    """An SMTP server that refuses recipients with ``code`` (aiosmtpd handler): every one, or
    the first ``times``, then takes them."""

    def __init__(self, code: str, times: int | None = None) -> None:
        self.code, self.times = code, times
        self.received = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        if self.times is not None and self.times <= 0:
            envelope.rcpt_tos.append(address)
            return "250 OK"
        if self.times is not None:
            self.times -= 1
        return self.code

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        self.received.append(envelope)
        return "250 OK"


@pytest.fixture()
def refusing_smtp(app):
    from aiosmtpd.controller import Controller

    controllers = []

    def start(code: str, times: int | None = None) -> Refusing:
        handler = Refusing(code, times)
        controller = Controller(handler, hostname="127.0.0.1", port=free_port())
        controller.start()
        controllers.append(controller)
        app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=controller.port)
        return handler

    yield start
    for controller in controllers:
        controller.stop()


def test_a_temporary_refusal_is_retried_then_failed_with_the_reason(app, db, company, refusing_smtp):
    server = refusing_smtp("451 4.3.0 Mailbox busy, try later")
    for attempt in (1, 2):
        with pytest.raises(records.TransientSendError) as transient:
            _send(company, max_attempts=3)
        assert "451" in str(transient.value)
        assert db.session.get(OutboundMessage, transient.value.message_id).attempts == attempt
    last = _send(company, max_attempts=3)
    assert last.status == records.FAILED and "451" in last.error and "after 3 attempts" in last.error
    assert server.received == [] and last.sent_at is None


def test_a_permanent_refusal_fails_at_once(app, db, company, refusing_smtp):
    refusing_smtp("550 5.1.1 No such user")
    message = _send(company)
    assert message.status == records.FAILED and "550" in message.error and message.attempts == 1


def test_no_smtp_server_is_transient(app, db, company):
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=free_port())
    with pytest.raises(records.TransientSendError, match="unreachable"):
        _send(company)


def test_without_smtp_the_message_goes_to_the_outbox_folder(app, db, company, tmp_path):
    app.config.update(SMTP_HOST="", OUTBOX_DIR=str(tmp_path))
    message = _send(company)
    files = list(Path(tmp_path).glob("*.eml"))
    assert message.status == records.SENT and len(files) == 1
    mail = email.message_from_bytes(files[0].read_bytes(), policy=policy.default)
    assert mail["Message-ID"] == message.provider_id and mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert unquote(mail["List-Unsubscribe"]).count("unsubscribe") >= 2


def test_not_an_address_is_failed_without_sending(app, db, company, smtp):
    message = _send(company, to="not an address", unsubscribable=False)
    assert message.status == records.FAILED and message.error == "not an email address" and smtp == []


def test_a_send_killed_between_sending_and_sent_is_reported_unknown_and_never_resent(
        app, db, company, smtp, monkeypatch):
    real_finish = records.finish

    def killed(message, status, **kwargs):
        if status == records.SENT:
            raise SystemExit("worker killed after SMTP took the message")
        return real_finish(message, status, **kwargs)

    monkeypatch.setattr(records, "finish", killed)
    with pytest.raises(SystemExit):
        _send(company)
    monkeypatch.setattr(records, "finish", real_finish)
    db.session.rollback()
    stuck = db.session.query(OutboundMessage).one()
    assert stuck.status == records.SENDING and len(smtp) == 1

    assert _send(company).id == stuck.id  # the retried job finds the key: nothing sent
    assert len(smtp) == 1
    from datetime import timedelta

    from storefront.types import utcnow

    assert records.sweep_unknown(now=utcnow() + timedelta(minutes=16), minutes=15) == 1
    db.session.rollback()
    assert db.session.get(OutboundMessage, stuck.id).status == records.UNKNOWN
    assert _send(company).status == records.UNKNOWN and len(smtp) == 1


def remind(company_id: int) -> str:
    """An RQ job as recovery or billing would write one: ids in, the channel's status out."""
    from storefront.accounts.models import Company
    from storefront.extensions import db

    return _send(db.session.get(Company, company_id), key=f"reminder-{company_id}").status


def test_rq_retries_a_transient_fault_and_the_retry_sends_once(app, db, company, refusing_smtp, queue, run_jobs):
    from rq import Retry

    server = refusing_smtp("421 4.7.0 Too busy, try later", times=1)
    job = queue.enqueue(remind, company.id, retry=Retry(max=3))

    run_jobs()

    job.refresh()
    assert job.get_status() == "finished" and job.return_value() == records.SENT
    assert len(server.received) == 1
    message = db.session.query(OutboundMessage).one()
    assert (message.status, message.attempts) == (records.SENT, 2)
