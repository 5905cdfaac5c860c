"""A lead the merchant brought (MANUAL or IMPORT) enters the recovery flow only with its
consent: its cart's email goes out with recorded email consent and is cancelled without,
whatever the checkout captured; leads captured at checkout keep their own rules."""
from __future__ import annotations

from datetime import timedelta

from helpers import EMAIL, abandoned_cart, interventions

from storefront.leads.intake import IMPORT, LeadInput, add_lead, check
from storefront.leads.models import Lead
from storefront.recovery import delivery


def _brought(db, company, channels=()):
    data = LeadInput(email=EMAIL, channels=tuple(channels), consent_text="Email me offers." if channels else "")
    lead = add_lead(company.id, data, check(data), IMPORT, None)
    db.session.commit()
    return lead


def _attach(db, lead, cart):
    db.session.execute(db.update(Lead).where(Lead.id == lead.id).values(cart_id=cart.id))
    db.session.commit()


def test_an_imported_lead_without_email_consent_gets_no_email(app, db, company, smtp):
    app.config["REDIS_URL"] = ""
    lead = _brought(db, company)
    cart, attempt, left = abandoned_cart(company, left=None)
    _attach(db, lead, cart)
    db.session.execute(db.update(type(attempt)).where(type(attempt).id == attempt.id).values(lead_id=lead.id))
    db.session.commit()
    delivery.claim_due(left + timedelta(hours=1))
    reminder = interventions(attempt)["REMINDER_EMAIL"]
    assert reminder.status == "CANCELLED" and "no EMAIL consent recorded" in reminder.status_reason
    assert smtp == []
    # Every later email of the attempt is cancelled with it: the consent holds per channel.
    assert {row.status for row in interventions(attempt).values() if row.channel == "EMAIL"} == {"CANCELLED"}


def test_with_recorded_email_consent_the_email_goes_out(app, db, company, smtp):
    app.config["REDIS_URL"] = ""
    lead = _brought(db, company, channels=("EMAIL",))
    cart, attempt, left = abandoned_cart(company)
    db.session.execute(db.update(type(attempt)).where(type(attempt).id == attempt.id).values(lead_id=lead.id))
    db.session.commit()
    delivery.claim_due(left + timedelta(hours=1))
    assert interventions(attempt)["REMINDER_EMAIL"].status == "SENT" and len(smtp) == 1


def test_a_checkout_lead_keeps_its_own_rules(app, db, company, smtp):
    app.config["REDIS_URL"] = ""
    cart, attempt, left = abandoned_cart(company, lead=True)
    delivery.claim_due(left + timedelta(hours=1))
    assert interventions(attempt)["REMINDER_EMAIL"].status == "SENT" and len(smtp) == 1
