"""Email channel: SMTP when SMTP_HOST is set, else an outbox folder the admin can show."""
from __future__ import annotations

import logging
import smtplib
from email.message import EmailMessage
from pathlib import Path

from flask import current_app

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


def send_email(message: EmailMessage) -> str:
    """Deliver ``message``: over SMTP, or as an .eml file in OUTBOX_DIR. Returns where it went.

    Raises smtplib.SMTPException or OSError when delivery fails, so the job can retry.
    """
    host = current_app.config.get("SMTP_HOST")
    if host:
        port = current_app.config["SMTP_PORT"]
        with smtplib.SMTP(host, port, timeout=10) as smtp:
            smtp.send_message(message)
        log.info("sent %r to %s over SMTP", message["Subject"], mask_email(message["To"]))
        return f"smtp://{host}:{port}"
    outbox = Path(current_app.config["OUTBOX_DIR"])
    outbox.mkdir(parents=True, exist_ok=True)
    path = outbox / f"{utcnow():%Y%m%dT%H%M%S}-{new_token()[:8]}.eml"
    path.write_bytes(bytes(message))
    log.info("wrote %r for %s to the outbox %s", message["Subject"], mask_email(message["To"]), path)
    return str(path)
