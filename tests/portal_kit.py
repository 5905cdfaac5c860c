"""Builders for portal tests: a customer with a subscription (no card needed unless asked),
and signing in through the emailed link the real SMTP server (fixture ``smtp``) receives."""
from __future__ import annotations

import email
import email.policy
import re
from datetime import timedelta

from billing_kit import make_plan
from factories import csrf_token

from storefront.billing.models import Subscription
from storefront.checkout.models import Customer
from storefront.extensions import db
from storefront.types import utcnow

HX = {"HX-Request": "true"}


def make_customer(company, email_address="sam@example.com", first_name="Sam") -> Customer:
    customer = Customer(company_id=company.id, email=email_address, first_name=first_name, last_name="Lee")
    db.session.add(customer)
    db.session.commit()
    return customer


def make_subscription(company, customer, plan=None, status="ACTIVE", days_left=10, **fields) -> Subscription:
    """A subscription whose current period ends in ``days_left`` days (its next charge)."""
    plan = plan or make_plan(company)
    now = utcnow()
    end = now + timedelta(days=days_left)
    sub = Subscription(company_id=company.id, customer_id=customer.id, plan_id=plan.id, status=status,
                       current_period_start=end - timedelta(days=30), current_period_end=end,
                       next_billing_at=end if status in ("ACTIVE", "TRIALING") else None, **fields)
    db.session.add(sub)
    db.session.commit()
    return sub


def body_of(message) -> str:
    parsed = email.message_from_bytes(message.content, policy=email.policy.default)
    return parsed.get_body(("plain",)).get_content()


def link_in(message, pattern=r"https?://\S+/account/\S+/sign-in/(\S+)") -> str:
    """The token of the link in an email (the plain-text part)."""
    match = re.search(pattern, body_of(message))
    assert match, body_of(message)
    return match.group(1)


def ask_link(client, company, address, headers=None):
    token = csrf_token(client, f"/account/{company.slug}/sign-in")
    return client.post(f"/account/{company.slug}/sign-in", data={"email": address},
                       headers={"X-CSRFToken": token, **(headers or {})})


def sign_in(client, company, customer, smtp) -> str:
    """Sign ``client`` in as ``customer`` through the emailed link; returns a CSRF token."""
    before = len(smtp)
    assert ask_link(client, company, customer.email).status_code == 303
    assert len(smtp) == before + 1
    token = link_in(smtp[-1])
    csrf = csrf_token(client, f"/account/{company.slug}/sign-in/{token}")
    answer = client.post(f"/account/{company.slug}/sign-in/{token}", headers={"X-CSRFToken": csrf})
    assert answer.status_code == 303 and answer.location.endswith("/account/")
    return csrf
