"""The per-merchant email suppression list and the unsubscribe token (issue "Channels").

An address is kept only as a hash: HMAC-SHA256 with the server's IP_HASH_SECRET (the HMAC
secret for personal data, ARCHITECTURE §3) over "email:" and the normalised address, so
the list tells whether an address is suppressed without holding addresses. Rotating
IP_HASH_SECRET forgets the list: do not.

The unsubscribe token is signed with Flask's SECRET_KEY (itsdangerous, no timestamp: it
never expires, as RFC 8058 links must keep working) and carries the merchant id and the
address hash, never the address: it works without cookies, in any browser, from a mail
client's one-click POST.
"""
from __future__ import annotations

import hashlib
import hmac

from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from storefront.accounts.services import AccountError
from storefront.accounts.services import normalise_email as _accounts_normalise
from storefront.extensions import db
from storefront.notifications.models import EmailSuppression

TOKEN_SALT = "storefront.unsubscribe"
REASONS = ("UNSUBSCRIBED", "BOUNCED", "COMPLAINED", "MANUAL")


class BadUnsubscribeToken(ValueError):
    """A tampered or malformed unsubscribe token."""


def normalise_email(address: str) -> str:
    """The address as we compare and send it: the accounts' rule (validated, lowercased; the
    reserved .test domain allowed). Raises ValueError for an address that is not one."""
    try:
        return _accounts_normalise(address)
    except AccountError as error:
        raise ValueError(str(error)) from error


def email_hash(address: str) -> str:
    """64 hex characters: HMAC-SHA256 of the normalised ``address`` (the suppression key).
    Raises ValueError for an address that is not one."""
    key = current_app.config["IP_HASH_SECRET"].encode()
    return hmac.new(key, b"email:" + normalise_email(address).encode(), hashlib.sha256).hexdigest()


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=TOKEN_SALT)


def unsubscribe_token(company_id: int, address: str) -> str:
    """A URL-safe token for ``address`` at this merchant, for the caller's unsubscribe link
    and List-Unsubscribe header. Never expires; carries no address."""
    return _serializer().dumps([company_id, email_hash(address)])


def read_unsubscribe_token(token: str) -> tuple[int, str]:
    """(company id, address hash) of a token. Raises BadUnsubscribeToken when tampered,
    malformed or over 300 characters."""
    if not token or len(token) > 300:
        raise BadUnsubscribeToken("This unsubscribe link is not valid.")
    try:
        company_id, digest = _serializer().loads(token)
    except (BadSignature, TypeError, ValueError) as error:
        raise BadUnsubscribeToken("This unsubscribe link is not valid.") from error
    if not isinstance(company_id, int) or not isinstance(digest, str) or len(digest) != 64:
        raise BadUnsubscribeToken("This unsubscribe link is not valid.")
    return company_id, digest


def suppress_hash(company_id: int, digest: str, reason: str = "UNSUBSCRIBED", source: str | None = None) -> bool:
    """Add an address hash to the merchant's list and commit; True when newly added (a repeat
    unsubscribe is a no-op). ``reason`` is one of REASONS."""
    if reason not in REASONS:
        raise ValueError(f"unknown suppression reason {reason!r}")
    if is_hash_suppressed(company_id, digest):
        return False
    db.session.add(EmailSuppression(company_id=company_id, email_hash=digest, reason=reason, source=source))
    try:
        db.session.commit()
    except IntegrityError:  # the same unsubscribe, twice at once
        db.session.rollback()
        return False
    return True


def suppress(company_id: int, address: str, reason: str = "UNSUBSCRIBED", source: str | None = None) -> bool:
    """``suppress_hash`` for a plain address (a bounce, the admin)."""
    return suppress_hash(company_id, email_hash(address), reason, source)


def unsubscribe(token: str, source: str = "link") -> int:
    """Suppress the address a token names; returns the merchant id. Raises
    BadUnsubscribeToken. Idempotent: the caller's page says "unsubscribed" either way."""
    company_id, digest = read_unsubscribe_token(token)
    suppress_hash(company_id, digest, "UNSUBSCRIBED", source)
    return company_id


def is_hash_suppressed(company_id: int, digest: str) -> bool:
    return db.session.execute(select(EmailSuppression.id).filter_by(
        company_id=company_id, email_hash=digest)).first() is not None


def is_suppressed(company_id: int, address: str) -> bool:
    """True when this merchant must not email ``address``. Raises ValueError for an address
    that is not one."""
    return is_hash_suppressed(company_id, email_hash(address))


def resubscribe(company_id: int, address: str) -> bool:
    """Take ``address`` off this merchant's list when the person unsubscribed themselves
    (the portal's email preferences); True when it was on it. Bounces and complaints stay:
    the person cannot undo those by asking. Commits."""
    removed = db.session.execute(
        delete(EmailSuppression).where(EmailSuppression.company_id == company_id,
                                       EmailSuppression.email_hash == email_hash(address),
                                       EmailSuppression.reason == "UNSUBSCRIBED")
    ).rowcount
    db.session.commit()
    return removed > 0
