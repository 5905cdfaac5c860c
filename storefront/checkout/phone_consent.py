"""Consent to texts and calls at checkout (issue 11, "Channels": "consent is an unticked
checkbox at checkout, recorded with the time and the exact text shown").

Two boxes sit under the phone field, both unticked until the shopper ticks them: texts
(``sms_consent``) and calls (``voice_consent``). A ticked box is kept on the cart
(``checkout_fields[<box>] = {"text", "at"}``: the words shown, from ``consent_text``, and
when it was ticked) and, once the cart has a valid phone, recorded as a
``notifications.PhoneConsent`` (source CHECKOUT) for that number: that record is what the
SMS and voice stages of recovery check when they send (``recovery.stops.reachable``).

- Unticking withdraws the consent (source CHECKOUT).
- A phone typed after the box was ticked gets the consent with the words and time of the
  tick; a phone changed or emptied withdraws the old number's consent (it may have been a
  typo, someone else's number).
- Nothing here runs on a field capture unless a box is ticked on the cart, so capturing the
  other fields costs no statement more (tests/functional/test_query_counts.py).
"""
from __future__ import annotations

from datetime import datetime

from storefront.accounts.models import Company
from storefront.cart.models import Cart
from storefront.extensions import db
from storefront.notifications.consent import record_consent, withdraw
from storefront.notifications.models import SMS, VOICE
from storefront.types import utcnow

SMS_CONSENT, VOICE_CONSENT = "sms_consent", "voice_consent"
# Box name -> the notifications channel it consents to.
CONSENT_BOXES: dict[str, str] = {SMS_CONSENT: SMS, VOICE_CONSENT: VOICE}
TICKED = "yes"  # the checkbox's value; an unticked box sends nothing
SOURCE = "CHECKOUT"
# The exact words shown beside each box ({store}: the merchant's name). Stored word for
# word with the consent, so what the shopper agreed to can be shown later (CTIA, TCPA).
TEXTS = {
    SMS_CONSENT: "Text me at this number about my cart and my order from {store}. Message and data rates may "
                 "apply. Reply STOP to opt out, HELP for help.",
    VOICE_CONSENT: "{store} may call me at this number about my cart. Press 2 during a call for no more calls.",
}


class ConsentBoxError(ValueError):
    """A box posted with a value no checkbox of ours sends; ``str(error)`` is shown."""


def consent_text(box: str, store: str | None) -> str:
    """The words shown beside ``box`` (a key of CONSENT_BOXES) for the merchant ``store``.
    Raises KeyError for another name."""
    return TEXTS[box].format(store=store or "This shop")


def consent_texts(store: str | None) -> dict[str, str]:
    """Every box's words, for the checkout template."""
    return {box: consent_text(box, store) for box in CONSENT_BOXES}


def ticked(raw: str | None) -> bool:
    """True for the box's value ("yes"), False for nothing sent (unticked) or "". Raises
    ConsentBoxError for any other value."""
    if raw is None or raw == "":
        return False
    if raw == TICKED:
        return True
    raise ConsentBoxError("Tick the box, or leave it unticked.")


def is_ticked(cart: Cart, box: str) -> bool:
    """Whether ``box`` is ticked on the cart (for the page)."""
    return bool((cart.checkout_fields or {}).get(box))


def set_box(cart: Cart, box: str, on: bool, now: datetime | None = None) -> bool:
    """Tick (``on``) or untick ``box`` on the cart and record or withdraw the consent of the
    cart's phone. Returns True when something changed. Does not commit (the caller commits
    with its other changes, holding the cart's lock). Raises KeyError for an unknown box."""
    channel = CONSENT_BOXES[box]
    fields = dict(cart.checkout_fields or {})
    phone = fields.get("phone")
    if bool(fields.get(box)) == on:
        return False
    now = now or utcnow()
    if on:
        company = db.session.get(Company, cart.company_id)
        text = consent_text(box, company.name if company else None)
        fields[box] = {"text": text, "at": now.isoformat()}
        if phone:
            record_consent(cart.company_id, phone, text, SOURCE, channel=channel, now=now, commit=False)
    else:
        fields.pop(box, None)
        if phone:
            withdraw(cart.company_id, phone, SOURCE, channel=channel, now=now, commit=False)
    cart.checkout_fields = fields
    return True


def phone_changed(cart: Cart, old: str | None, new: str | None) -> None:
    """The cart's phone went from ``old`` to ``new`` (E.164 or None): each ticked box's
    consent moves to the new number (with the words and time of the tick), and the old
    number's is withdrawn. Costs nothing when no box is ticked. Does not commit."""
    fields = cart.checkout_fields or {}
    for box, channel in CONSENT_BOXES.items():
        given = fields.get(box)
        if not given or old == new:
            continue
        if old:
            withdraw(cart.company_id, old, SOURCE, channel=channel, commit=False)
        if new:
            record_consent(cart.company_id, new, given["text"], SOURCE, channel=channel,
                           now=datetime.fromisoformat(given["at"]), commit=False)
