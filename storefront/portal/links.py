"""The portal's emailed single-use links: sign-in, and confirming a new email address.

A link's token is ``secrets.token_urlsafe(32)`` (256 bits, ARCHITECTURE §3); only its
SHA-256 is stored (``PortalLink.token_hash``), so the table alone signs no one in. A link
is valid for ``LINK_MINUTES`` (15) and once: using it is a conditional UPDATE of
``used_at`` (``WHERE used_at IS NULL AND expires_at > now``), so two clicks at once sign in
once. Asking for a sign-in link answers the same for an unknown address: nothing is sent
then, and the caller cannot tell.

These emails are transactional (asked for a moment ago), so they go through the bare
transport (``notifications.email.send_email``), not past the marketing suppression list.
"""
from __future__ import annotations

import hashlib
import logging
import secrets
from datetime import datetime, timedelta

from flask import current_app, render_template
from sqlalchemy import func, select, update

from storefront.accounts.models import Company
from storefront.accounts.services import AccountError, normalise_email
from storefront.checkout.models import Customer
from storefront.extensions import db
from storefront.notifications.email import build_message, mask_email, send_email
from storefront.portal.models import PortalLink
from storefront.types import utcnow

log = logging.getLogger(__name__)

LINK_MINUTES = 15
TOKEN_MAX = 100  # a token_urlsafe(32) is 43 characters; anything far longer is not one of ours
SIGN_IN, EMAIL_CHANGE = "SIGN_IN", "EMAIL_CHANGE"


class BadLink(ValueError):
    """A link that is unknown (tampered), expired or used; ``str(error)`` is safe to show."""


def token_hash(token: str) -> str:
    """64 hex characters: SHA-256 of the token (a 256-bit random token needs no salt)."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def _new_link(customer: Customer, purpose: str, now: datetime, new_email: str | None = None) -> str:
    token = secrets.token_urlsafe(32)
    db.session.add(PortalLink(company_id=customer.company_id, customer_id=customer.id, purpose=purpose,
                              token_hash=token_hash(token), new_email=new_email,
                              expires_at=now + timedelta(minutes=LINK_MINUTES)))
    db.session.commit()
    return token


def find_customer(company_id: int, address: str) -> Customer | None:
    """The merchant's customer with this address (compared lower-cased), or None."""
    return db.session.execute(
        select(Customer).where(Customer.company_id == company_id, func.lower(Customer.email) == address.lower())
        .order_by(Customer.id).limit(1)
    ).scalar_one_or_none()


def _send(company: Company, to: str, subject: str, template: str, **context) -> None:
    context = {"company": company, "minutes": LINK_MINUTES, **context}
    message = build_message(to, subject, render_template(f"{template}.txt", **context),
                            render_template(f"{template}.html", **context))
    send_email(message)


def _public(path: str) -> str:
    return f"{current_app.config['PUBLIC_URL']}{path}"


def request_sign_in(company: Company, address: str, now: datetime | None = None) -> bool:
    """Email a sign-in link to ``address`` when it is a customer of ``company``; True when
    one was sent. A malformed or unknown address sends nothing (the caller answers the
    same either way). Raises what ``send_email`` raises when delivery fails."""
    now = now or utcnow()
    try:
        address = normalise_email(address)
    except AccountError:
        return False
    customer = find_customer(company.id, address)
    if customer is None:
        log.info("portal sign-in asked for an unknown address %s", mask_email(address))
        return False
    token = _new_link(customer, SIGN_IN, now)
    _send(company, customer.email, f"{company.name}: your sign-in link", "emails/portal_sign_in",
          link=_public(f"/account/{company.slug}/sign-in/{token}"))
    return True


def _valid(token: str, purpose: str, now: datetime) -> PortalLink:
    if not token or len(token) > TOKEN_MAX:
        raise BadLink("This link is not valid.")
    link = db.session.execute(
        select(PortalLink).where(PortalLink.token_hash == token_hash(token), PortalLink.purpose == purpose)
    ).scalar_one_or_none()
    if link is None:
        raise BadLink("This link is not valid.")
    if link.used_at is not None:
        raise BadLink("This link was used already. Ask for a new one.")
    if link.expires_at <= now:
        raise BadLink(f"This link has expired: links work for {LINK_MINUTES} minutes. Ask for a new one.")
    return link


def check_link(token: str, purpose: str, company_id: int | None = None, now: datetime | None = None) -> PortalLink:
    """The unused, unexpired link of ``purpose`` (at ``company_id`` when given), without
    using it (the page that asks "sign in?"). Raises BadLink."""
    link = _valid(token, purpose, now or utcnow())
    if company_id is not None and link.company_id != company_id:
        raise BadLink("This link is not valid.")
    return link


def use_link(token: str, purpose: str, company_id: int | None = None, now: datetime | None = None) -> PortalLink:
    """Use the link once: the conditional UPDATE wins for one request only. Commits; returns
    the link. Raises BadLink (unknown, another merchant's, expired, used)."""
    now = now or utcnow()
    link = check_link(token, purpose, company_id, now)
    won = db.session.execute(
        update(PortalLink).where(PortalLink.id == link.id, PortalLink.used_at.is_(None), PortalLink.expires_at > now)
        .values(used_at=now)
    ).rowcount
    db.session.commit()
    if won != 1:
        raise BadLink("This link was used already. Ask for a new one.")
    return link


def request_email_change(customer: Customer, new_address: str, now: datetime | None = None) -> str:
    """Email a confirmation link to ``new_address`` (already normalised by the form); the
    address changes only when that link is used. Returns the words for the customer.
    Raises AccountError when another customer of this merchant has that address."""
    now = now or utcnow()
    if new_address.lower() == customer.email.lower():
        return "That is already your email address."
    if find_customer(customer.company_id, new_address) is not None:
        raise AccountError("Another account uses that address.")
    company = db.session.get(Company, customer.company_id)
    token = _new_link(customer, EMAIL_CHANGE, now, new_email=new_address)
    _send(company, new_address, f"{company.name}: confirm your new email address", "emails/portal_email_change",
          link=_public(f"/account/email/{token}"))
    return f"We sent a link to {new_address}. Your address changes when you open it."


def confirm_email_change(token: str, now: datetime | None = None) -> Customer:
    """Use an email-change link: the customer it was asked for gets its new address (opening
    the link proves the mailbox is theirs; no sign-in needed). Commits; returns the
    customer. Raises BadLink, or AccountError when the address was taken meanwhile."""
    link = check_link(token, EMAIL_CHANGE, None, now)
    if find_customer(link.company_id, link.new_email) is not None:
        raise AccountError("Another account uses that address.")
    use_link(token, EMAIL_CHANGE, None, now)
    customer = db.session.get(Customer, link.customer_id)
    customer.email = link.new_email
    db.session.commit()
    return customer
