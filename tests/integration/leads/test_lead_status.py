"""The lead rules against the database: the status lifecycle, the capture's cart snapshot,
value and timeline, conversion, payment failures and notes."""
from __future__ import annotations

import re

import pytest
from factories import make_page, make_product, make_user

from storefront.cart.models import Cart
from storefront.leads.models import Lead, LeadActivity, LeadNote
from storefront.leads.services import add_note, convert_lead, record_payment_failed
from storefront.leads.status import (
    STATUSES,
    TRANSITIONS,
    LeadStatusError,
    allowed_transitions,
    change_status,
    system_transition,
)

HX = {"HX-Request": "true"}


def activities(db, lead, kind=None):
    query = db.select(LeadActivity).filter_by(lead_id=lead.id).order_by(LeadActivity.id)
    if kind:
        query = query.filter_by(type=kind)
    return db.session.execute(query).scalars().all()


@pytest.fixture()
def lead(db, company):
    row = Lead(company_id=company.id, email="ada@example.com", status="NEW")
    db.session.add(row)
    db.session.commit()
    return row


def test_the_table_is_closed_and_converted_is_final():
    assert set(TRANSITIONS) == set(STATUSES)
    assert all(targets <= set(STATUSES) for targets in TRANSITIONS.values())
    assert all("CONVERTED" not in targets and "NEW" not in targets for targets in TRANSITIONS.values())
    assert allowed_transitions("CONVERTED") == ()
    assert allowed_transitions("NEW") == ("CONTACTED", "ENGAGED", "QUALIFIED", "LOST", "UNQUALIFIED", "NURTURE")


def test_moving_to_the_same_status_is_a_no_op(db, company, lead):
    user = make_user(company)
    assert change_status(lead, "CONTACTED", user) is True
    assert change_status(lead, "CONTACTED", user) is False
    assert len(activities(db, lead, "STATUS_CHANGED")) == 1


def test_allowed_and_refused_moves(db, company, lead):
    user = make_user(company)
    for status in ("CONTACTED", "ENGAGED", "OPPORTUNITY", "LOST", "NURTURE", "QUALIFIED"):
        assert change_status(lead, status, user) is True
    assert lead.status == "QUALIFIED"
    (first, *_rest) = activities(db, lead, "STATUS_CHANGED")
    assert first.payload == {"from": "NEW", "to": "CONTACTED", "by": "user", "user_id": user.id}

    with pytest.raises(LeadStatusError, match="only when its order is placed"):
        change_status(lead, "CONVERTED", user)
    with pytest.raises(LeadStatusError, match="Unknown status"):
        change_status(lead, "WON", user)
    with pytest.raises(LeadStatusError, match="can't move to New"):
        change_status(lead, "NEW", user)
    change_status(lead, "UNQUALIFIED", user)
    with pytest.raises(LeadStatusError, match="Unqualified lead can't move to Opportunity"):
        change_status(lead, "OPPORTUNITY", user)
    db.session.rollback()
    assert db.session.get(Lead, lead.id).status == "UNQUALIFIED"


def test_system_moves_follow_the_table_and_converted_is_the_systems(db, lead):
    assert system_transition(lead, "ENGAGED", "test") is True
    assert system_transition(lead, "NEW", "test") is False
    assert system_transition(lead, "CONVERTED", "order placed") is True
    assert system_transition(lead, "NURTURE", "test") is False
    db.session.commit()
    with pytest.raises(LeadStatusError, match="converted lead keeps its status"):
        change_status(lead, "LOST")
    assert [a.payload["by"] for a in activities(db, lead, "STATUS_CHANGED")] == ["system", "system"]


def test_conversion_is_idempotent_per_cart_and_sums_orders(db, company, lead):
    carts = []
    for n in range(2):
        cart = Cart(token=f"tok-{n}".ljust(43, "x"), company_id=company.id, currency="USD")
        db.session.add(cart)
        carts.append(cart)
    db.session.flush()
    lead.cart_id = carts[0].id
    db.session.commit()

    assert convert_lead(company.id, carts[0].id, "ada@example.com", None, 8500) is lead
    convert_lead(company.id, carts[0].id, "ada@example.com", None, 8500)  # repeated: no change
    db.session.commit()
    assert lead.status == "CONVERTED" and lead.actual_value_cents == 8500
    assert len(activities(db, lead, "ORDER_PLACED")) == 1
    # A later order by the same email, from another cart, adds up.
    assert convert_lead(company.id, carts[1].id, "ada@example.com", None, 1500) is lead
    db.session.commit()
    assert lead.actual_value_cents == 10_000 and len(activities(db, lead, "ORDER_PLACED")) == 2
    assert convert_lead(company.id, 999_999, "nobody@example.com", None, 100) is None


def test_capture_fills_snapshot_value_and_timeline(app, db, company):
    tee = make_product(company, "Classic Tee", price_cents=3000)
    cap = make_product(company, "Cap", price_cents=1000)
    make_page(company, [tee, cap])
    client = app.test_client()
    html = client.get("/lp/summer-sale?utm_source=spring-mail").get_data(as_text=True)
    csrf = {"X-CSRFToken": re.search(r'"X-CSRFToken": "([^"]+)"', html).group(1), **HX}
    for variant, quantity in ((tee.variants[0].id, 2), (cap.variants[0].id, 1)):
        client.post("/cart/add", data={"variant_id": variant, "quantity": quantity}, headers=csrf)
    client.post("/cart/remove", data={"variant_id": cap.variants[0].id}, headers=csrf)
    client.get("/checkout")

    client.post("/checkout/field/email", data={"email": "ada@example.com"}, headers=csrf)

    lead = db.session.execute(db.select(Lead)).scalar_one()
    assert lead.source == "CHECKOUT_ABANDON" and lead.source_detail == "spring-mail"
    assert lead.cart_value_cents == 6000 and lead.cart_snapshot["item_count"] == 2
    assert lead.cart_snapshot["lines"] == [{"variant_id": tee.variants[0].id, "product_id": tee.id,
                                            "title": "Classic Tee", "variant": "", "quantity": 2,
                                            "unit_price_cents": 3000, "line_total_cents": 6000}]
    assert [p["title"] for p in lead.products_viewed] == ["Classic Tee", "Cap"]  # the cap was added once
    # email 50 + 0.05 × 6,000 = 350 ¢, ×2.0 at checkout = 700 ¢ (not highly engaged yet).
    assert lead.estimated_value_cents == 700 and lead.capture_stage == "CHECKOUT"
    assert 0 < lead.engagement_score < 0.7 and lead.purchase_intent > 0 and lead.abandonment_risk > 0
    assert [a.type for a in activities(db, lead)] == ["EMAIL_CAPTURED", "CHECKOUT_STARTED"]

    client.post("/cart/add", data={"variant_id": cap.variants[0].id, "quantity": 1}, headers=csrf)
    for name, value in {"first_name": "Ada", "last_name": "Lovelace", "address1": "1 Way", "city": "Austin",
                        "postcode": "78701", "country": "US"}.items():
        client.post(f"/checkout/field/{name}", data={name: value}, headers=csrf)

    db.session.refresh(lead)
    assert lead.cart_value_cents == 7000 and lead.capture_stage == "PAYMENT"
    types = [a.type for a in activities(db, lead)]
    assert types.count("CART_UPDATED") == 1 and types.count("FIELD_CAPTURED") == 6
    cart_updated = activities(db, lead, "CART_UPDATED")[0]
    assert cart_updated.payload == {"value_cents": 7000, "item_count": 3, "currency": "USD"}
    # 50 + 25 + 25 + 150 + 0.05 × 7,000 = 600 ¢; ×2.0 = 1,200 ¢ (engagement below 0.7 here).
    assert lead.engagement_score < 0.7 and lead.estimated_value_cents == 1200


def test_payment_failure_from_the_webhook_reaches_the_timeline(db, company, lead, stripe_copies):
    from stripe_copies import real_object

    from storefront.payments.payloads import EventRef
    from storefront.payments.webhooks import on_payment_intent_failed

    cart = Cart(token="failing".ljust(43, "x"), company_id=company.id, currency="USD")
    db.session.add(cart)
    db.session.flush()
    lead.cart_id = cart.id
    db.session.commit()
    # Stripe's copy of the declined intent (the real payload), read back by the handler.
    intent = stripe_copies.put(real_object("event.payment_intent.payment_failed.json",
                                           metadata={"cart_id": str(cart.id)}))

    on_payment_intent_failed(EventRef("evt_failed", "payment_intent.payment_failed", intent["id"]))

    (failed,) = activities(db, lead, "PAYMENT_FAILED")
    assert failed.payload == {"code": "card_declined", "decline_code": "generic_decline",
                              "message": "Your card was declined."}
    assert lead.last_activity_at is not None
    assert record_payment_failed(999_999) is False


def test_notes(db, company, lead):
    user = make_user(company)
    note = add_note(lead, "  Called, will order Friday.  ", user)
    assert db.session.get(LeadNote, note.id).body == "Called, will order Friday."
    assert activities(db, lead, "NOTE_ADDED")[0].payload == {"note_id": note.id, "user_id": user.id}
    for bad in ("", "   ", "x" * 5001):
        with pytest.raises(ValueError):
            add_note(lead, bad, user)
