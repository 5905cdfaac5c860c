"""Email channel: SMTP when SMTP_HOST is set, else an outbox folder the admin can show.

``send_templated_email`` is what the domains above call: HTML and plain-text parts from
templates, RFC 8058 one-click unsubscribe headers, the merchant's suppression list, and
at-most-once delivery under the caller's key (``records``). ``build_message`` and
``send_email`` are the bare transport (order confirmations use them).
"""
from __future__ import annotations

import logging
import smtplib
from email.message import EmailMessage
from email.utils import formataddr, formatdate, make_msgid
from pathlib import Path
from urllib.parse import quote

from flask import current_app, render_template

from storefront.notifications import records
from storefront.notifications.models import EMAIL, OutboundMessage
from storefront.notifications.suppression import is_suppressed, normalise_email, unsubscribe_token
from storefront.types import new_token, utcnow

log = logging.getLogger(__name__)


def mask_email(address: str | None) -> str:
    """Mask an address for logs: "jane.doe@example.com" -> "j***@example.com"."""
    if not address or "@" not in address:
        return "***"
    local, domain = address.split("@", 1)
    return f"{local[:1]}***@{domain}"


def build_message(to: str, subject: str, text: str, html: str | None = None) -> EmailMessage:
    """A MIME message from MAIL_FROM to ``to``, plain text with an optional HTML part."""
    message = EmailMessage()
    message["From"] = current_app.config["MAIL_FROM"]
    message["To"] = to
    message["Subject"] = subject
    message.set_content(text)
    if html:
        message.add_alternative(html, subtype="html")
    return message


def _smtp_deliver(message: EmailMessage, host: str, port: int) -> None:
    """Send over SMTP, telling apart what the server refused for good (records.Refused, a
    5xx), what it could not take now (records.Unreachable: no connection, a 4xx) and a
    session cut after the message went (any other error: the caller cannot know)."""
    try:
        smtp = smtplib.SMTP(host, port, timeout=10)
    except (OSError, smtplib.SMTPException) as error:  # nothing was sent
        raise records.Unreachable(f"SMTP {host}:{port} unreachable: {error}") from error
    with smtp:
        try:
            smtp.send_message(message)
        except smtplib.SMTPRecipientsRefused as error:
            codes = [code for code, _ in error.recipients.values()]
            reason = f"SMTP refused the recipient ({', '.join(map(str, codes))})"
            raise (records.Refused if any(code >= 500 for code in codes) else records.Unreachable)(reason) from error
        except smtplib.SMTPResponseException as error:
            reason = f"SMTP answered {error.smtp_code}: {error.smtp_error.decode(errors='replace')[:200]}"
            raise (records.Refused if error.smtp_code >= 500 else records.Unreachable)(reason) from error


def send_email(message: EmailMessage) -> str:
    """Deliver ``message``: over SMTP, or as an .eml file in OUTBOX_DIR. Returns where it went.

    Raises records.Refused (SMTP 5xx), records.Unreachable (no connection, SMTP 4xx, the
    outbox not writable) or another error when the session broke mid-way, so a job can retry
    or record the outcome.
    """
    host = current_app.config.get("SMTP_HOST")
    if host:
        port = current_app.config["SMTP_PORT"]
        _smtp_deliver(message, host, port)
        log.info("sent %r to %s over SMTP", message["Subject"], mask_email(message["To"]))
        return f"smtp://{host}:{port}"
    outbox = Path(current_app.config["OUTBOX_DIR"])
    try:
        outbox.mkdir(parents=True, exist_ok=True)
        path = outbox / f"{utcnow():%Y%m%dT%H%M%S}-{new_token()[:8]}.eml"
        path.write_bytes(bytes(message))
    except OSError as error:
        raise records.Unreachable(f"the outbox folder is not writable: {error}") from error
    log.info("wrote %r for %s to the outbox %s", message["Subject"], mask_email(message["To"]), path)
    return str(path)


def unsubscribe_mailto(company_id: int, address: str) -> str:
    """The mailto: of List-Unsubscribe: MAIL_UNSUBSCRIBE (else unsubscribe@ the domain of
    MAIL_FROM), the unsubscribe token in the subject for whatever reads that mailbox."""
    config = current_app.config
    mailbox = config.get("MAIL_UNSUBSCRIBE") or "unsubscribe@" + config["MAIL_FROM"].rsplit("@", 1)[-1].strip("> ")
    return f"mailto:{mailbox}?subject={quote('unsubscribe ' + unsubscribe_token(company_id, address))}"


def render_email(template: str, **context) -> tuple[str, str]:
    """(plain text, HTML) of ``templates/<template>.txt`` and ``.html`` with ``context``."""
    return render_template(f"{template}.txt", **context), render_template(f"{template}.html", **context)


def send_templated_email(company_id: int, key: str, to: str, subject: str, template: str, context: dict, *,
                         unsubscribe_url: str | None = None, from_name: str | None = None,
                         reply_to: str | None = None, max_attempts: int = records.MAX_ATTEMPTS) -> OutboundMessage:
    """Email ``to`` once under ``key`` (e.g. "intervention-42") for merchant ``company_id``.

    ``template`` names a pair under templates/ ("emails/notification" renders
    emails/notification.txt and .html) rendered with ``context`` plus ``unsubscribe_url``.
    With ``unsubscribe_url`` (the caller's page, which accepts a POST of
    "List-Unsubscribe=One-Click" without cookies) the message carries ``List-Unsubscribe``
    (that URL and a mailto:) and ``List-Unsubscribe-Post: List-Unsubscribe=One-Click``
    (RFC 8058). ``from_name`` is shown before MAIL_FROM; ``reply_to`` is the merchant's
    support address.

    Returns the OutboundMessage: SENT; FAILED (suppressed at this merchant, not an address,
    refused by SMTP: ``error`` says which) without contacting SMTP when suppressed; UNKNOWN
    (the session broke after the message may have gone); or the earlier row unchanged when
    ``key`` was already used. Raises records.TransientSendError when SMTP could not take it
    now (retry the job with rq.Retry; FAILED after ``max_attempts``).
    """
    try:
        address = normalise_email(to)
    except ValueError:
        return records.record_refusal(company_id, EMAIL, key, to[:254], "", "not an email address",
                                      subject=subject[:255]).message
    if is_suppressed(company_id, address):
        return records.record_refusal(company_id, EMAIL, key, address, "", "suppressed: unsubscribed at this merchant",
                                      subject=subject[:255]).message
    text, html = render_email(template, **context, unsubscribe_url=unsubscribe_url)
    found = records.claim(company_id, EMAIL, key, address, text, subject=subject[:255])
    if not found.claimed:
        return found.message
    mail_from = current_app.config["MAIL_FROM"]
    message = build_message(address, subject, text, html)
    if from_name:
        message.replace_header("From", formataddr((from_name, mail_from)))
    if reply_to:
        message["Reply-To"] = reply_to
    message["Date"] = formatdate(localtime=False)
    message_id = make_msgid(domain=mail_from.rsplit("@", 1)[-1].strip("> ") or None)
    message["Message-ID"] = message_id
    if unsubscribe_url:
        message["List-Unsubscribe"] = f"<{unsubscribe_url}>, <{unsubscribe_mailto(company_id, address)}>"
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"

    def transport() -> str:
        send_email(message)
        return message_id

    return records.deliver(found.message, transport, max_attempts)
