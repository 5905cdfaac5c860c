"""Logs never contain a full email address or phone number."""
from __future__ import annotations

import logging

import pytest

from storefront.logging_privacy import PrivacyFilter, install_log_masking, mask_pii


@pytest.mark.parametrize(("text", "masked"), [
    ("lead for ada.lovelace@example.com captured", "lead for a***@example.com captured"),
    ("To: Bob+shop@mail.example.co.uk.", "To: B***@mail.example.co.uk."),
    ("phone +15125550134 saved", "phone ***34 saved"),
    ("phone +1 512 555 0134 saved", "phone ***34 saved"),
    ("call +44 (20) 7946-0958 now", "call ***58 now"),
    ("call (512) 555-0134", "call ***34"),
    ("call 512-555-0134 or 512.555.0134", "call ***34 or ***34"),
    ("raw 5125550134", "raw ***34"),
])
def test_masks_emails_and_phones(text, masked):
    assert mask_pii(text) == masked


@pytest.mark.parametrize("text", [
    "2026-11-22 05:47:52,123 INFO storefront: cart 42 paid 8500 usd",
    "order #1001 for 120.00 USD, intent pi_3Nx1234567890abcdef, 127.0.0.1",
    "GET /checkout HTTP/1.1 200, 12 ms, version 3",
    "",
])
def test_leaves_ordinary_log_lines_alone(text):
    assert mask_pii(text) == text


def test_every_logger_is_masked_whatever_the_handler(caplog):
    install_log_masking()
    install_log_masking()  # idempotent
    log = logging.getLogger("storefront.some.module")
    with caplog.at_level(logging.INFO):
        log.info("capture for %s and %s", "jane.doe@example.com", "+15125550134")
        log.warning("dict args %(email)s", {"email": "x@shop.test"})
        try:
            raise ValueError("could not reach +44 20 7946 0958 or jane.doe@example.com")
        except ValueError:
            log.exception("failed for %s", "jane.doe@example.com")
    text = caplog.text
    assert "jane.doe@example.com" not in text and "+15125550134" not in text
    assert "7946 0958" not in text and "x@shop.test" not in text
    assert "j***@example.com" in text and "***34" in text and "x***@shop.test" in text
    assert "ValueError: could not reach ***58 or j***@example.com" in text
    # The message is merged and masked: the arguments can't bring the value back.
    assert all(record.args == () for record in caplog.records)


def test_privacy_filter_for_a_separate_handler():
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "email %s", ("ada@example.com",), None)
    assert PrivacyFilter().filter(record) is True
    assert record.getMessage() == "email a***@example.com"
    assert PrivacyFilter().filter(record) and record.getMessage() == "email a***@example.com"
