"""Logs never contain a full email address or phone number (ARCHITECTURE §3 privacy).

``install_log_masking()`` (called by ``create_app``) wraps the log-record factory, so every
record of every logger, whatever handler later writes it (the console, gunicorn's, a
test's), is masked once, when it is made: its message with the arguments filled in, its
exception traceback and its stack. ``PrivacyFilter`` does the same as a ``logging.Filter``
for a handler that is set up apart from the factory.

Masks: an email keeps its first character and its domain (``j***@example.com``, like
``notifications.email.mask_email``); a phone number keeps its last two digits (``***34``).
A phone number is ``+`` and 8 to 15 digits (spaces, dots, dashes, brackets allowed), a
North-American ``(512) 555-0134`` / ``512-555-0134`` / ``512.555.0134`` form, or a bare run
of 10 to 15 digits. Dates, times, prices, ids and order numbers are left alone; a long
bare number (e.g. a millisecond timestamp) is masked too: masking too much is the safe way
to be wrong.
"""
from __future__ import annotations

import logging
import re

EMAIL_RE = re.compile(r"(?<![\w.+-])([\w.+-])[\w.+-]*@((?:[\w-]+\.)+[A-Za-z]{2,})", re.ASCII)
PHONE_RE = re.compile(
    r"(?<![\w+])(?:"
    r"\+\d(?:[\s().-]*\d){7,14}"                     # international, E.164 or spaced
    r"|\(\d{3}\)\s*\d{3}[\s.-]\d{4}"                 # (512) 555-0134
    r"|\d{3}[.-]\d{3}[.-]\d{4}"                      # 512-555-0134, 512.555.0134
    r"|\d{10,15}"                                    # 5125550134, 15125550134
    r")(?![\w])",
    re.ASCII,
)


def _mask_phone(match: re.Match) -> str:
    digits = re.sub(r"\D", "", match.group(0))
    return "***" + digits[-2:]


def mask_pii(text: str) -> str:
    """``text`` with every email address and phone number masked (see the module doc)."""
    if not text:
        return text
    text = EMAIL_RE.sub(lambda m: f"{m.group(1)}***@{m.group(2)}", text)
    return PHONE_RE.sub(_mask_phone, text)


def mask_record(record: logging.LogRecord) -> logging.LogRecord:
    """Mask ``record`` in place: the formatted message (arguments merged in, so a masked
    value cannot come back through ``args``), the traceback text and the stack. Safe to
    call twice."""
    if getattr(record, "_pii_masked", False):
        return record
    try:
        message = record.getMessage()
    except Exception:  # a broken format string: logging reports it later, as usual
        return record
    record.msg, record.args = mask_pii(message), ()
    if record.exc_info and not record.exc_text:
        record.exc_text = logging.Formatter().formatException(record.exc_info)
    if record.exc_text:
        record.exc_text = mask_pii(record.exc_text)
    if record.stack_info:
        record.stack_info = mask_pii(record.stack_info)
    record._pii_masked = True
    return record


class PrivacyFilter(logging.Filter):
    """A logging filter that masks emails and phone numbers in each record it sees."""

    def filter(self, record: logging.LogRecord) -> bool:
        mask_record(record)
        return True


_installed = False


def install_log_masking() -> None:
    """Mask every log record from now on, in this process. Idempotent (the app factory runs
    once per app, and tests make several apps)."""
    global _installed
    if _installed:
        return
    make_record = logging.getLogRecordFactory()

    def masked_record(*args, **kwargs):
        return mask_record(make_record(*args, **kwargs))

    logging.setLogRecordFactory(masked_record)
    # Handlers set up before us (e.g. by gunicorn) get the filter as a second guard.
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, PrivacyFilter) for f in handler.filters):
            handler.addFilter(PrivacyFilter())
    _installed = True
