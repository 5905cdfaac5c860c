"""The one-click upsell offer in the admin (/admin/upsell): set with and without htmx,
refused field by field (another merchant's product, no headline), and shown to shoppers
only while it is on."""
from __future__ import annotations

import html

from factories import csrf_token, make_product

from storefront.accounts.models import Company
from storefront.billing.upsell_models import UpsellOffer

HX = {"HX-Request": "true"}


def _post(admin, data, headers=None):
    token = csrf_token(admin, "/admin/upsell")
    return admin.post("/admin/upsell", data={"csrf_token": token, **data}, headers=headers or {})


def test_the_merchant_sets_the_offer_without_and_with_htmx(admin, db, company):
    mug = make_product(company, "Travel Mug", price_cents=1200)
    page = admin.get("/admin/upsell")
    assert page.status_code == 200 and "Travel Mug" in page.get_data(as_text=True)
    saved = _post(admin, {"variant": mug.variants[0].id, "headline": "Add a mug", "active": "1"})
    assert saved.status_code == 303
    offer = db.session.execute(db.select(UpsellOffer)).scalar_one()
    assert (offer.company_id, offer.variant_id, offer.headline, offer.active) == (
        company.id, mug.variants[0].id, "Add a mug", True)
    # Switched off over htmx: the same row changes.
    again = _post(admin, {"variant": mug.variants[0].id, "headline": "Add a mug"}, HX)
    assert again.status_code in (200, 204) or again.headers.get("HX-Redirect")
    db.session.expire_all()
    assert db.session.execute(db.select(UpsellOffer)).scalar_one().active is False
    assert "Add a mug" in admin.get("/admin/upsell").get_data(as_text=True)


def test_another_merchants_product_or_no_headline_is_refused_field_by_field(admin, db, company):
    other = Company(name="Other", slug="other", currency="USD", support_email="o@other.test")
    db.session.add(other)
    db.session.commit()
    theirs = make_product(other, "Their Mug", price_cents=900)
    mine = make_product(company, "Travel Mug", price_cents=1200)
    assert "Their Mug" not in admin.get("/admin/upsell").get_data(as_text=True)
    refused = _post(admin, {"variant": theirs.variants[0].id, "headline": "Add it", "active": "1"}, HX)
    assert refused.status_code == 422 and "Choose a product offered from the list" in html.unescape(
        refused.get_data(as_text=True))
    for bad in ("abc", "²", str(2**31), ""):
        assert _post(admin, {"variant": bad, "headline": "Add it"}).status_code == 422, bad
    empty = _post(admin, {"variant": mine.variants[0].id, "headline": ""})
    assert empty.status_code == 422 and "Headline is required" in empty.get_data(as_text=True)
    assert db.session.execute(db.select(db.func.count(UpsellOffer.id))).scalar() == 0


def test_signed_out_is_sent_to_sign_in(client, db, company):
    assert client.get("/admin/upsell").status_code in (302, 303)
