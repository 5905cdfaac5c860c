"""The abandonment job against the database: which leads and visits are due, the analysis
built from their field events, the side effects, and idempotency."""
from __future__ import annotations

import json
import re
import time
from datetime import timedelta

import pytest
from factories import make_page, make_product

from storefront.cart.models import Cart
from storefront.checkout.models import Order
from storefront.leads.abandonment import analyse_idle, due_cart_ids, due_lead_ids
from storefront.leads.models import AbandonmentAnalysis, Lead, LeadActivity
from storefront.types import new_token, utcnow
from storefront.visits.models import Visit

HX = {"HX-Request": "true"}
LATER = timedelta(minutes=31)
FULL = {"email": "ada@example.com", "phone": "(512) 555-0134", "first_name": "Ada", "last_name": "Lovelace",
        "address1": "1 Analytical Way", "city": "Austin", "postcode": "78701", "country": "US"}


@pytest.fixture()
def variant(db, company):
    tee = make_product(company, "Classic Tee", price_cents=6000)
    make_page(company, [tee])
    return tee.variants[0].id


class Shopper:
    """A browser on the checkout page, posting captures and field events."""

    def __init__(self, app, variant_id, quantity=2, client=None):
        self.client = client or app.test_client()
        html = self.client.get("/lp/summer-sale").get_data(as_text=True)
        self.csrf = re.search(r'"X-CSRFToken": "([^"]+)"', html).group(1)
        self.client.post("/cart/add", data={"variant_id": variant_id, "quantity": quantity},
                         headers={"X-CSRFToken": self.csrf, **HX})
        page = self.client.get("/checkout").get_data(as_text=True)
        self.ref = re.search(r'data-ref="([0-9a-f]+)"', page).group(1)

    def type(self, **fields):
        for name, value in fields.items():
            response = self.client.post(f"/checkout/field/{name}", data={name: value},
                                        headers={"X-CSRFToken": self.csrf, **HX})
            assert response.status_code == 200

    def events(self, *spec):
        """``spec``: (seconds ago, type, field, extra dict) tuples."""
        now = int(time.time() * 1000)
        events = [{"type": kind, "field": name, "at": now - int(ago * 1000), **(extra or {})}
                  for ago, kind, name, extra in spec]
        response = self.client.post("/checkout/events", content_type="text/plain", data=json.dumps(
            {"csrf": self.csrf, "ref": self.ref, "sent_at": now, "events": events}))
        assert response.status_code == 204, response.get_data(as_text=True)


def analyses(db):
    return db.session.execute(db.select(AbandonmentAnalysis).order_by(AbandonmentAnalysis.id)).scalars().all()


def test_a_lead_that_stopped_at_the_card(app, db, variant):
    shopper = Shopper(app, variant)
    shopper.events((300, "FOCUS", "email", None))
    shopper.type(**FULL)
    shopper.events(
        (290, "BLUR", "email", {"has_value": True, "length": 15, "focus_ms": 10_000}),
        (280, "FOCUS", "phone", None),
        (270, "VALIDATION_ERROR", "phone", {"has_value": True, "length": 2, "valid": False,
                                            "error": "Enter a valid phone number."}),
        (250, "BLUR", "phone", {"has_value": True, "length": 14, "focus_ms": 30_000}),
        (240, "FOCUS", "address1", None),
        (180, "BLUR", "address1", {"has_value": True, "length": 16, "focus_ms": 60_000}),
        (60, "FOCUS", "card_number", {"has_value": False, "length": 0}),
        (50, "TAB_HIDDEN", "page", None),
        (40, "TAB_VISIBLE", "page", None),
        (30, "EXIT_INTENT", "page", None),
    )
    lead = db.session.execute(db.select(Lead)).scalar_one()

    assert analyse_idle(now=utcnow() + timedelta(minutes=29)) == 0  # not idle long enough
    made = analyse_idle(now=utcnow() + LATER)

    assert made == 1
    (analysis,) = analyses(db)
    assert analysis.lead_id == lead.id and analysis.company_id == lead.company_id and analysis.visit_id is None
    assert analysis.reason == "PAYMENT_FRICTION" and "payment link" in analysis.intervention
    assert analysis.abandoned_stage == "PAYMENT" and analysis.abandoned_section == "payment"
    assert analysis.last_active_field == "card_number"
    assert analysis.completed_sections == ["customer", "shipping"]
    assert analysis.completion_pct == 8 * 100 // 9 and "address2" not in analysis.completed_fields
    assert analysis.total_form_ms >= 100_000 and analysis.idle_ms == pytest.approx(30_000, abs=1500)
    assert analysis.validation_errors == {"phone": {"count": 1, "message": "Enter a valid phone number."}}
    assert analysis.exit_intent is True and analysis.tab_switches == 1
    assert analysis.cart_value_cents == 12_000 and analysis.item_count == 2
    db.session.refresh(lead)
    assert lead.abandonment_reason == "PAYMENT_FRICTION" and lead.abandonment_risk >= 0.7
    # Engagement 0.5 × 88 % + 0.3 × 8/9 captured + 0.2 × (100 s focused ≥ 60 s) ≈ 0.91: high.
    assert lead.engagement_score == pytest.approx(0.5 * 0.88 + 0.3 * 8 / 9 + 0.2, abs=1e-3)
    # The worked example of the value: 350 + 0.05 × 12,000 = 950 ¢; ×2.0 at checkout; ×1.25.
    assert lead.estimated_value_cents == 2375
    activity = db.session.execute(db.select(LeadActivity).filter_by(type="ABANDONMENT_ANALYSED")).scalar_one()
    assert activity.payload == {"analysis_id": analysis.id, "reason": "PAYMENT_FRICTION"}
    assert lead.status == "ENGAGED"

    # Idempotent: nothing is due any more, and a second run makes nothing.
    assert analyse_idle(now=utcnow() + LATER) == 0 and len(analyses(db)) == 1


def test_high_engagement_moves_new_to_engaged_and_a_chosen_status_stays(app, db, variant):
    engaged = Shopper(app, variant)
    engaged.type(**FULL)
    engaged.events(*[(200 - i * 10, kind, name, extra) for i, (kind, name, extra) in enumerate(
        [("FOCUS", "email", None), ("BLUR", "email", {"has_value": True, "length": 15, "focus_ms": 70_000})])])
    contacted = Shopper(app, variant)
    contacted.type(email="grace@example.com", phone="(512) 555-0199")
    db.session.execute(db.update(Lead).filter_by(email="grace@example.com").values(status="CONTACTED"))
    db.session.commit()

    assert analyse_idle(now=utcnow() + LATER) == 2

    leads = {lead.email: lead for lead in db.session.execute(db.select(Lead)).scalars()}
    assert leads["ada@example.com"].engagement_score >= 0.7 and leads["ada@example.com"].status == "ENGAGED"
    assert leads["grace@example.com"].status == "CONTACTED"
    changed = db.session.execute(db.select(LeadActivity).filter_by(type="STATUS_CHANGED")).scalar_one()
    assert changed.payload["by"] == "system" and changed.payload["to"] == "ENGAGED"


def test_what_is_not_due(app, db, company, variant):
    recent = Shopper(app, variant)
    recent.type(email="recent@example.com")
    bought = Shopper(app, variant)
    bought.type(email="bought@example.com")
    erased = Shopper(app, variant)
    erased.type(email="erased@example.com")
    db.session.rollback()
    bought_lead = db.session.execute(db.select(Lead).filter_by(email="bought@example.com")).scalar_one()
    db.session.add(Order(company_id=company.id, number="1", token=new_token(), cart_id=bought_lead.cart_id,
                         currency="USD", subtotal_cents=1, total_cents=1, amount_paid_cents=1))
    db.session.execute(db.update(Lead).filter_by(email="erased@example.com").values(erased_at=utcnow(), email=None))
    db.session.execute(db.update(Lead).filter_by(email="recent@example.com").values(last_activity_at=utcnow() + LATER))
    db.session.execute(db.update(Cart).values(updated_at=utcnow() + LATER))
    db.session.commit()

    cutoff = utcnow() + LATER - timedelta(minutes=30)
    assert due_lead_ids(cutoff) == [] and due_cart_ids(cutoff) == []
    assert analyse_idle(now=utcnow() + LATER) == 0


def test_a_visit_with_a_cart_but_no_lead(app, db, variant):
    shopper = Shopper(app, variant, quantity=1)
    shopper.events((60, "FOCUS", "email", None), (50, "INPUT", "email", {"has_value": True, "length": 3}),
                   (45, "CLEAR", "email", None), (44, "BLUR", "email", {"focus_ms": 16_000}))
    assert db.session.execute(db.select(Lead)).first() is None

    assert analyse_idle(now=utcnow() + LATER) == 1

    (analysis,) = analyses(db)
    cart = db.session.execute(db.select(Cart)).scalar_one()
    assert (analysis.visit_id, analysis.cart_id, analysis.lead_id) == (cart.visit_id, cart.id, None)
    assert analysis.reason == "TRUST_CONCERN" and analysis.abandoned_stage == "CHECKOUT"
    assert analysis.abandoned_section == "customer" and analysis.cart_value_cents == 6000 and analysis.item_count == 1
    assert analyse_idle(now=utcnow() + LATER) == 0


def test_an_opted_out_visit_is_not_analysed(app, db, variant):
    shopper = Shopper(app, variant)
    shopper.client.post("/checkout/consent", data={"csrf_token": shopper.csrf})
    assert analyse_idle(now=utcnow() + LATER) == 0


def test_a_returning_visitor_who_never_buys_is_comparison_shopping(app, db, company, variant):
    shopper = Shopper(app, variant)
    shopper.type(email="ada@example.com")
    visit = db.session.execute(db.select(Visit)).scalar_one()
    for _ in range(2):  # two earlier visits by the same browser
        db.session.add(Visit(token=new_token(), company_id=company.id, visitor_id=visit.visitor_id))
    db.session.commit()

    assert analyse_idle(now=utcnow() + LATER) == 1

    lead = db.session.execute(db.select(Lead)).scalar_one()
    assert lead.abandonment_reason == "COMPARISON_SHOPPING" and lead.status == "NURTURE"


def test_idle_minutes_come_from_the_config(app, db, variant):
    Shopper(app, variant).type(email="ada@example.com")
    app.config["ABANDON_IDLE_MINUTES"] = 60
    assert analyse_idle(now=utcnow() + LATER) == 0
    assert analyse_idle(now=utcnow() + timedelta(minutes=61)) == 1


def test_the_cron_table_runs_the_job(app, db, variant):
    from storefront import cron

    Shopper(app, variant).type(email="ada@example.com")
    assert cron.analyse_abandonment in [job for job, _ in cron.JOBS]
    db.session.execute(db.update(Lead).values(last_activity_at=utcnow() - LATER))
    db.session.commit()
    assert cron.analyse_abandonment() == 1
