"""Consent to texts and calls, and the SMS keywords (issue "Channels").

A consent is per merchant, phone (E.164) and channel (SMS or VOICE), recorded with the
time and the exact words the person was shown. The keywords follow the carriers' rules
(CTIA) as Twilio applies them: a text that is exactly one keyword, in any case, with
surrounding spaces and a final "." or "!" ignored.

- STOP, UNSUBSCRIBE, END, QUIT, STOPALL, REVOKE, OPTOUT, CANCEL: opt out. Every merchant
  texts from the same number (TWILIO_FROM), and after STOP the carrier blocks that number
  for the person, so the opt-out withdraws the SMS consent at every merchant.
- START, YES, UNSTOP: opt back in, restoring only the consents that a keyword withdrew (a
  consent withdrawn in the portal or by the merchant stays withdrawn; a number we never
  had consent for gains none).
- HELP (and INFO, which Twilio treats alike): answered with the store's contact.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from storefront.extensions import db
from storefront.notifications.models import SMS, VOICE, PhoneConsent
from storefront.notifications.phones import normalise_phone
from storefront.types import utcnow

OPT_OUT_WORDS = frozenset({"STOP", "UNSUBSCRIBE", "END", "QUIT", "STOPALL", "REVOKE", "OPTOUT", "CANCEL"})
OPT_IN_WORDS = frozenset({"START", "YES", "UNSTOP"})
HELP_WORDS = frozenset({"HELP", "INFO"})
OPT_OUT, OPT_IN, HELP = "OPT_OUT", "OPT_IN", "HELP"
KEYWORD_SOURCE = "SMS_KEYWORD"


def keyword(body: str | None) -> str | None:
    """OPT_OUT, OPT_IN or HELP when ``body`` is exactly one keyword (see the module doc),
    else None ("stop sending me these" is not a keyword; "Stop!" is)."""
    word = (body or "").strip().rstrip(".!").strip().upper()
    if word in OPT_OUT_WORDS:
        return OPT_OUT
    if word in OPT_IN_WORDS:
        return OPT_IN
    if word in HELP_WORDS:
        return HELP
    return None


def _entry(event: str, source: str, now: datetime) -> dict:
    return {"at": now.isoformat(), "event": event, "source": source}


def _find(company_id: int, phone: str, channel: str) -> PhoneConsent | None:
    return db.session.execute(select(PhoneConsent).filter_by(
        company_id=company_id, phone=phone, channel=channel)).scalar_one_or_none()


def record_consent(company_id: int, phone: str, consent_text: str, source: str, channel: str = SMS,
                   now: datetime | None = None, commit: bool = True) -> PhoneConsent:
    """Record that the person at ``phone`` agreed, now, to ``channel`` (SMS or VOICE) from
    this merchant, after being shown ``consent_text`` (stored word for word) at ``source``
    (CHECKOUT, IMPORT, MANUAL...). A consent given again replaces the words and clears the
    withdrawal; ``history`` keeps both. Commits unless ``commit`` is False (a caller holding
    row locks commits with its own change). Raises phones.PhoneError for a bad number,
    ValueError for an unknown channel or empty text."""
    if channel not in (SMS, VOICE):
        raise ValueError(f"consent is for SMS or VOICE, not {channel!r}")
    if not (consent_text or "").strip():
        raise ValueError("the consent text shown is required")
    now = now or utcnow()
    phone = normalise_phone(phone)
    consent = _find(company_id, phone, channel)
    if consent is None:
        consent = PhoneConsent(company_id=company_id, phone=phone, channel=channel, history=[])
        db.session.add(consent)
    consent.consent_text, consent.source, consent.consented_at = consent_text, source[:32], now
    consent.withdrawn_at = consent.withdrawal_source = None
    consent.history = [*(consent.history or []), _entry("CONSENTED", source[:32], now)]
    if commit:
        db.session.commit()
    return consent


def withdraw(company_id: int, phone: str, source: str, channel: str = SMS, now: datetime | None = None,
             commit: bool = True) -> bool:
    """Withdraw this merchant's ``channel`` consent for ``phone`` (E.164) with ``source``
    (SMS_KEYWORD, VOICE_KEYPAD, PORTAL, ADMIN...). Commits unless ``commit`` is False; True
    when a live consent was withdrawn (none, or already withdrawn: a harmless no-op)."""
    now = now or utcnow()
    consent = _find(company_id, phone, channel)
    if consent is None or consent.withdrawn_at is not None:
        return False
    _withdraw(consent, source, now)
    if commit:
        db.session.commit()
    return True


def _withdraw(consent: PhoneConsent, source: str, now: datetime) -> None:
    consent.withdrawn_at, consent.withdrawal_source = now, source[:32]
    consent.history = [*(consent.history or []), _entry("WITHDRAWN", source[:32], now)]


def has_consent(company_id: int, phone: str, channel: str = SMS) -> bool:
    """True while this merchant holds a live ``channel`` consent for ``phone`` (E.164)."""
    consent = _find(company_id, phone, channel)
    return consent is not None and consent.withdrawn_at is None


def opt_out_everywhere(phone: str, now: datetime | None = None) -> list[int]:
    """An SMS STOP from ``phone``: withdraw its live SMS consents at every merchant (rows
    locked in id order); returns those merchants' ids, none for an unknown number. Commits."""
    now = now or utcnow()
    consents = db.session.execute(
        select(PhoneConsent).where(PhoneConsent.phone == phone, PhoneConsent.channel == SMS,
                                   PhoneConsent.withdrawn_at.is_(None))
        .order_by(PhoneConsent.id).with_for_update()).scalars().all()
    for consent in consents:
        _withdraw(consent, KEYWORD_SOURCE, now)
    db.session.commit()
    return [consent.company_id for consent in consents]


def opt_in_again(phone: str, now: datetime | None = None) -> list[int]:
    """An SMS START from ``phone``: restore the SMS consents a keyword withdrew; returns
    those merchants' ids. Consent words and time stay those first given; ``history`` notes
    the return. Commits."""
    now = now or utcnow()
    consents = db.session.execute(
        select(PhoneConsent).where(PhoneConsent.phone == phone, PhoneConsent.channel == SMS,
                                   PhoneConsent.withdrawal_source == KEYWORD_SOURCE)
        .order_by(PhoneConsent.id).with_for_update()).scalars().all()
    for consent in consents:
        consent.withdrawn_at = consent.withdrawal_source = None
        consent.history = [*(consent.history or []), _entry("RESUBSCRIBED", KEYWORD_SOURCE, now)]
    db.session.commit()
    return [consent.company_id for consent in consents]
