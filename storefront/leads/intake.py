"""Leads the merchant brings (issue 11, "Leads the merchant brings"): one typed in the admin
(source MANUAL) or many from a CSV file (source IMPORT, ``lead_import``), each with the
consent the person gave, recorded with it.

Consent, per channel:

- EMAIL: a CONSENT_RECORDED activity on the lead's timeline, {"channels", "source", "text",
  "consented_at", "user_id"}: the words the person agreed to and when (there is no other
  home for email consent: the suppression list holds only refusals);
- SMS and VOICE: a ``notifications.PhoneConsent`` for the lead's phone (source MANUAL or
  IMPORT), the record every text and call checks before it goes out. The activity lists
  them too, so the timeline tells the whole story.

Such a lead enters a recovery or outreach flow only with consent (``may_contact``): the
recovery flow asks it at send time (``recovery.stops``), and a channel without consent is
not used. Leads captured at checkout keep the checkout's own rules.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from storefront.checkout.fields import validate_field
from storefront.csv_export import FORMULA_STARTS
from storefront.extensions import db
from storefront.leads.activities import record_activity
from storefront.leads.models import Lead, LeadActivity
from storefront.notifications.consent import has_consent, record_consent
from storefront.notifications.models import EMAIL, SMS, VOICE
from storefront.types import utcnow

MANUAL, IMPORT = "MANUAL", "IMPORT"
BROUGHT = (MANUAL, IMPORT)
CONSENT_ACTIVITY = "CONSENT_RECORDED"
CHANNELS = (EMAIL, SMS, VOICE)
MAX_NAME = 100
MAX_CONSENT_TEXT = 1000


@dataclass
class LeadInput:
    """One lead as typed or read from a row: ``email``/``phone`` as given (one of them is
    required), names, the ``channels`` the person consented to (EMAIL, SMS, VOICE), the
    ``consent_text`` they were shown and ``consented_at`` (aware UTC; None: now)."""

    email: str = ""
    phone: str = ""
    first_name: str = ""
    last_name: str = ""
    channels: tuple[str, ...] = ()
    consent_text: str = ""
    consented_at: datetime | None = None
    country: str = "US"  # how a phone without +country code is read


@dataclass
class Checked:
    """A LeadInput checked: normalised values, or ``errors`` by input name."""

    email: str | None = None
    phone: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    errors: dict[str, str] = field(default_factory=dict)


def formula_like(text: str) -> bool:
    """True for a value a spreadsheet would run as a formula (= + - @ tab CR first), which
    a name never needs: refused, so the list never carries one back out."""
    return text.startswith(FORMULA_STARTS)


def check(data: LeadInput) -> Checked:
    """Validate ``data`` as the checkout validates its fields (email-validator, phonenumbers
    to E.164), plus: an email or a phone; names at most 100 characters and not formula-like;
    consent words (1–1,000 characters) required when a channel is consented to; SMS or
    voice consent needs a phone, email consent an email. Errors by input name."""
    result = Checked()
    email, phone = (data.email or "").strip(), (data.phone or "").strip()
    if email:
        checked = validate_field("email", email)
        if checked.error:
            result.errors["email"] = checked.error
        elif formula_like(checked.value):
            result.errors["email"] = "An email can't start with =, +, - or @."
        else:
            result.email = checked.value
    if phone:
        checked = validate_field("phone", phone, data.country or "US")
        if checked.error:
            result.errors["phone"] = checked.error
        else:
            result.phone = checked.value
    if not email and not phone:
        result.errors["email"] = "Give an email or a phone number."
    for name in ("first_name", "last_name"):
        value = (getattr(data, name) or "").strip()
        if len(value) > MAX_NAME:
            result.errors[name] = f"At most {MAX_NAME} characters."
        elif value and formula_like(value):
            result.errors[name] = "A name can't start with =, +, - or @ (a spreadsheet would run it)."
        else:
            setattr(result, name, value or None)
    channels = set(data.channels)
    unknown = channels - set(CHANNELS)
    if unknown:
        result.errors["consent"] = f"Unknown channel {sorted(unknown)[0]!r}: EMAIL, SMS or VOICE."
    text = (data.consent_text or "").strip()
    if channels and not text:
        result.errors["consent_text"] = "Write the words the person agreed to."
    elif len(text) > MAX_CONSENT_TEXT:
        result.errors["consent_text"] = f"At most {MAX_CONSENT_TEXT} characters."
    if channels & {SMS, VOICE} and not phone:
        result.errors.setdefault("phone", "Texts and calls need a phone number.")
    if EMAIL in channels and not email:
        result.errors.setdefault("email", "Email consent needs an email address.")
    return result


class DuplicateLead(ValueError):
    """A lead with this email already exists at the merchant; ``lead_id`` names it."""

    def __init__(self, lead_id: int) -> None:
        super().__init__("A lead with this email already exists.")
        self.lead_id = lead_id


def existing_emails(company_id: int, emails: list[str]) -> dict[str, int]:
    """Lead ids by (lower-cased) email among ``emails`` at the merchant: one statement."""
    if not emails:
        return {}
    rows = db.session.execute(select(func.lower(Lead.email), Lead.id).where(
        Lead.company_id == company_id, func.lower(Lead.email).in_([e.lower() for e in emails]))).all()
    return {email: lead_id for email, lead_id in rows}


def add_lead(company_id: int, data: LeadInput, checked: Checked, source: str, user_id: int | None,
             now: datetime | None = None, check_taken: bool = True) -> Lead:
    """Insert one checked lead (``source`` MANUAL or IMPORT, status NEW) with its consent
    (see the module doc). Does not commit. Raises DuplicateLead when its email is taken
    (``check_taken`` False: the caller checked every email at once)."""
    now = now or utcnow()
    if checked.email and check_taken:
        taken = existing_emails(company_id, [checked.email])
        if taken:
            raise DuplicateLead(next(iter(taken.values())))
    lead = Lead(company_id=company_id, email=checked.email, phone=checked.phone, first_name=checked.first_name,
                last_name=checked.last_name, source=source, capture_stage=source, status="NEW",
                captured_fields=[n for n in ("email", "phone", "first_name", "last_name") if getattr(checked, n)],
                created_at=now, updated_at=now)
    db.session.add(lead)
    db.session.flush()
    channels = [channel for channel in CHANNELS if channel in set(data.channels)]
    if channels:
        given = data.consented_at or now
        text = data.consent_text.strip()
        for channel in (SMS, VOICE):
            if channel in channels:
                record_consent(company_id, checked.phone, text, source, channel=channel, now=given, commit=False)
        record_activity(lead, CONSENT_ACTIVITY, {"channels": channels, "source": source, "text": text,
                                                 "consented_at": given.isoformat(), "user_id": user_id}, at=now)
    return lead


def create_manual(company_id: int, data: LeadInput, user_id: int | None) -> tuple[Lead | None, dict[str, str]]:
    """A lead typed in the admin: (the lead, {}) once saved, or (None, errors by input name:
    also when the same email was saved at the same moment, by the unique (company, email)).
    Commits when it saves."""
    checked = check(data)
    if checked.errors:
        return None, checked.errors
    try:
        lead = add_lead(company_id, data, checked, MANUAL, user_id)
        db.session.commit()
    except DuplicateLead as error:
        db.session.rollback()
        return None, {"email": str(error)}
    except IntegrityError:  # the same email saved meanwhile (two tabs, a double click)
        db.session.rollback()
        return None, {"email": "A lead with this email was just added."}
    return lead, {}


def may_contact(lead: Lead, channel: str) -> bool:
    """Whether a recovery or outreach message may reach ``lead`` on ``channel``: always for
    leads captured at checkout (their own rules apply); for MANUAL and IMPORT leads only
    with consent: a live PhoneConsent for SMS and VOICE, a CONSENT_RECORDED with EMAIL for
    email."""
    if lead.source not in BROUGHT:
        return True
    if channel in (SMS, VOICE):
        return bool(lead.phone) and has_consent(lead.company_id, lead.phone, channel)
    payloads = db.session.execute(select(LeadActivity.payload).where(
        LeadActivity.lead_id == lead.id, LeadActivity.type == CONSENT_ACTIVITY)).scalars()
    return any(isinstance(p, dict) and channel in (p.get("channels") or []) for p in payloads)
