"""Who is signed in to the portal: one customer of one merchant, in the signed session
cookie (``session["portal"]``), for ``SESSION_HOURS`` after the sign-in link was used.

The cookie names ids only; each request loads the customer and checks it still belongs to
the merchant the cookie names, so a session never reaches another merchant's rows.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import session

from storefront.accounts.models import Company
from storefront.checkout.models import Customer
from storefront.extensions import db
from storefront.types import utcnow

KEY = "portal"
SESSION_HOURS = 24


@dataclass(frozen=True)
class Signed:
    """The signed-in customer and their merchant."""

    customer: Customer
    company: Company


def sign_in(company_id: int, customer_id: int, now: datetime | None = None) -> None:
    """Start the portal session (replacing any other merchant's)."""
    session[KEY] = {"c": company_id, "u": customer_id, "t": int((now or utcnow()).timestamp())}


def sign_out() -> None:
    session.pop(KEY, None)


def current(now: datetime | None = None) -> Signed | None:
    """The signed-in customer, or None (no session, an expired one, or a customer gone)."""
    data = session.get(KEY)
    if not isinstance(data, dict) or not all(isinstance(data.get(k), int) for k in ("c", "u", "t")):
        return None
    started = datetime.fromtimestamp(data["t"], tz=(now or utcnow()).tzinfo)
    if (now or utcnow()) - started > timedelta(hours=SESSION_HOURS):
        return None
    customer = db.session.get(Customer, data["u"])
    if customer is None or customer.company_id != data["c"]:
        return None
    return Signed(customer, db.session.get(Company, data["c"]))
