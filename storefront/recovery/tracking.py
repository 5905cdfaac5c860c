"""Opens of recovery emails (issue 11, the intervention's OPENED): each email carries a
1×1 image at ``/recover/<token>/open.gif``, under the message's own 256-bit restore token
(``CartIntervention.token``, ``secrets.token_urlsafe(32)``), so no other message's open can
be guessed or forged.

The statuses only move forward: SENT (or UNKNOWN, which an open proves was delivered) →
OPENED → CLICKED → EXECUTED. An open of a message already CLICKED or EXECUTED keeps its
status and only fills ``opened_at``; an open while the row is still SENDING (the image
fetched before the worker recorded the provider's answer) fills ``opened_at`` and
``delivery.mirror`` then records OPENED instead of SENT. The first open is kept: a replay
(mail clients and image proxies fetch images again) changes nothing. An open marks
nothing else: "opened" is neither "clicked" nor "recovered".
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from storefront.extensions import db
from storefront.leads.activities import record_activity
from storefront.leads.models import Lead
from storefront.recovery.models import (
    CLICKED,
    EXECUTED,
    OPENED,
    SENDING,
    SENT,
    UNKNOWN,
    CartIntervention,
)
from storefront.recovery.restore import MAX_TOKEN
from storefront.recovery.services import history
from storefront.types import utcnow

# Statuses in which the email has (or may have) reached the shopper: an open counts.
OPENABLE = (SENDING, SENT, UNKNOWN, OPENED, CLICKED, EXECUTED)
# Statuses an open moves to OPENED; later ones (CLICKED, EXECUTED) stay as they are.
BEFORE_OPENED = (SENT, UNKNOWN)
# A transparent 1×1 GIF (43 bytes), the smallest image every mail client shows.
PIXEL = (b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00"
         b",\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;")


class UnknownOpen(LookupError):
    """No email of ours has this token (malformed, unknown, or not an email)."""


def well_formed(token: str | None) -> bool:
    """A token as ``secrets.token_urlsafe`` writes it: 1..64 URL-safe base64 characters."""
    if not token or len(token) > MAX_TOKEN:
        return False
    bare = token.replace("-", "").replace("_", "")
    return bare.isascii() and bare.isalnum()


def mark_opened(token: str, now: datetime | None = None) -> bool:
    """Record that the email whose restore token is ``token`` was opened (see the module
    doc); returns True when this was its first open. Adds EMAIL_OPENED to its lead's
    timeline and OPENED to the attempt's history, once. A message not yet sent, failed or
    cancelled is left as it is (False). Commits.

    Raises UnknownOpen for a malformed token, or one no email of ours carries.
    """
    if not well_formed(token):
        raise UnknownOpen(token)
    now = now or utcnow()
    intervention = db.session.execute(select(CartIntervention).where(CartIntervention.token == token)
                                      .with_for_update()).scalar_one_or_none()
    if intervention is None or intervention.channel != "EMAIL":
        db.session.rollback()
        raise UnknownOpen(token)
    if intervention.opened_at is not None or intervention.status not in OPENABLE:
        db.session.rollback()
        return False
    intervention.opened_at, intervention.updated_at = now, now
    if intervention.status in BEFORE_OPENED:
        intervention.status = OPENED
    attempt = intervention.attempt
    history(attempt, OPENED, now, intervention.stage, "email opened")
    lead = db.session.get(Lead, attempt.lead_id) if attempt.lead_id else None
    if lead is not None and lead.erased_at is None:
        record_activity(lead, "EMAIL_OPENED", {"intervention_id": intervention.id, "stage": intervention.stage},
                        at=now)
    db.session.commit()
    return True

