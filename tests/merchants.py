"""A merchant with one object of every type the admin manages, for walks over the URL map
(the tenancy walk, the hostile-input walk). Every text it stores is a "marker" built from
the merchant's stem, so a walk can tell whose data an answer shows."""
from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import timedelta
from urllib.parse import urlsplit

from factories import (
    csrf_token,
    make_page,
    make_product,
    make_promotion,
    make_user,
    make_zone,
    sign_in,
)
from sqlalchemy import select

from storefront.accounts.models import Company
from storefront.cart.models import Cart, LineItem, SavedCartItem
from storefront.catalog.models import Category, ProductImage
from storefront.checkout.models import Customer
from storefront.landing.models import LandingPageProduct, Section, SlugRedirect
from storefront.leads.models import AbandonmentAnalysis, FieldEvent, Lead, LeadActivity, LeadNote
from storefront.pricing.models import PromotionCode, PromotionUsage, TaxRate
from storefront.types import new_token, utcnow
from storefront.visits.models import Visit, VisitEvent

PASSWORD = "correct horse battery"


def shopify_csv(stem: str) -> str:
    low = stem.lower()
    return ("Handle,Title,Body (HTML),Vendor,Type,Tags,Published,Option1 Name,Option1 Value,Variant SKU,"
            "Variant Inventory Qty,Variant Price,Variant Compare At Price,Image Src,Image Position,Image Alt Text\n"
            f"{low}-import-tee,{stem}-IMPORT Tee,<p>{stem}-IMPORT-BODY</p>,{stem}-VENDOR,Shirts,,true,"
            f"Title,Default Title,{stem}-IMPORT-SKU,5,25.00,,,,\n")


@dataclass
class Merchant:
    stem: str
    company: Company
    email: str
    client: object
    ids: dict = field(default_factory=dict)  # URL argument name -> this merchant's value
    markers: list = field(default_factory=list)
    token: str = ""  # the client's CSRF token

    def sign_in(self) -> None:
        assert sign_in(self.client, self.email).status_code == 303, f"{self.stem} cannot sign in"
        self.token = csrf_token(self.client, "/admin/")


def build_merchant(app, db, stem: str) -> Merchant:
    """A merchant with one object of every type the admin manages, each named with a marker
    built from ``stem``, and a signed-in client."""
    low = stem.lower()
    markers: list[str] = []

    def mark(value: str) -> str:
        markers.append(value)
        return value

    company = Company(name=mark(f"{stem}-COMPANY Goods"), slug=mark(f"{low}-shop"), currency="USD",
                      timezone="America/New_York", support_email=mark(f"help@{low}.test"),
                      exit_offer={"enabled": True, "percent_bp": 1500, "headline": mark(f"{stem}-OFFER come back"),
                                  "valid_hours": 24})
    db.session.add(company)
    db.session.commit()
    user = make_user(company, email=mark(f"owner@{low}.test"), password=PASSWORD)
    merchant = Merchant(stem, company, user.email, app.test_client(), markers=markers)
    merchant.sign_in()

    # Catalogue: a product with two variants, two images and a category; an upsell product.
    category = Category(company_id=company.id, name=mark(f"{stem}-CATEGORY"), slug=mark(f"{low}-category"))
    db.session.add(category)
    product = make_product(company, mark(f"{stem}-PRODUCT Tee"), price_cents=2000, stock=50,
                           variants=[{"Size": "S"}, {"Size": "M"}], handle=mark(f"{low}-product-tee"))
    mug = make_product(company, mark(f"{stem}-UPSELL Mug"), price_cents=900, handle=mark(f"{low}-upsell-mug"))
    product.categories.append(category)
    product.description_html = f"<p>{mark(f'{stem}-DESCRIPTION')}</p>"
    product.vendor = mark(f"{stem}-VENDOR")
    product.tags = [mark(f"{low}-tag")]
    product.upsell_product_ids = [mug.id]
    product.images[0].alt = mark(f"{stem}-IMAGE-ALT")
    product.images.append(ProductImage(src=f"https://example.invalid/{low}-back.jpg", alt=mark(f"{stem}-IMAGE-BACK"),
                                       position=2))
    for variant in product.variants:
        variant.sku = mark(f"{stem}-SKU-{variant.position}")
    # The main image's stored copy (its derivatives exist only as names here).
    import hashlib

    from storefront.media.models import MediaAsset

    asset = MediaAsset(company_id=company.id, sha256=mark(hashlib.sha256(stem.encode()).hexdigest()), ext="jpg",
                       byte_size=1234, width=800, height=800, color="#aa3300", widths=[320, 640], status="ready")
    db.session.add(asset)
    db.session.flush()
    product.images[0].asset_id = asset.id
    db.session.commit()

    # Landing page: hero + grid (factories), rich text, testimonials, FAQ; old address,
    # preview token and theme.
    page = make_page(company, [product, mug], slug=mark(f"{low}-page"))
    page.title = mark(f"{stem}-PAGE")
    page.meta_title = mark(f"{stem}-META-TITLE")
    page.meta_description = mark(f"{stem}-META-DESCRIPTION")
    page.preview_token = mark(new_token())
    page.theme = {"preset": "bold", "overrides": {"color-primary": "#aa3300"}}
    hero, grid = page.sections
    hero.settings = {"heading": mark(f"{stem}-HERO"), "subheading": "", "cta_label": "Shop now"}
    grid.settings = {"heading": mark(f"{stem}-GRID"), "columns": 3}
    page.sections.extend([
        Section(type="rich_text", position=3, settings={"html": f"<p>{mark(f'{stem}-RICH-TEXT')}</p>"}),
        Section(type="testimonials", position=4, settings={"heading": "Said", "items": [
            {"quote": mark(f"{stem}-QUOTE"), "author": mark(f"{stem}-AUTHOR")}]}),
        Section(type="faq", position=5, settings={"heading": "Asked", "items": [
            {"question": mark(f"{stem}-QUESTION"), "answer": mark(f"{stem}-ANSWER")}]}),
    ])
    db.session.add(SlugRedirect(company_id=company.id, landing_page_id=page.id, old_slug=mark(f"{low}-old-page")))
    db.session.commit()
    item = db.session.execute(select(LandingPageProduct).filter_by(section_id=grid.id, product_id=product.id)).scalar_one()

    # Pricing: zone and method, tax rate, promotion with codes generated on its admin screen.
    zone = make_zone(company, name=mark(f"{stem}-ZONE"), countries=("US",),
                     methods=[{"name": mark(f"{stem}-METHOD"), "type": "FLAT_RATE", "amount_cents": 595}])
    rate = TaxRate(company_id=company.id, country="US", state="NY", rate_micro=40000, name=mark(f"{stem}-TAX"))
    db.session.add(rate)
    db.session.commit()
    promotion = make_promotion(company, name=mark(f"{stem}-PROMO"), code=mark(f"{stem}10"))
    made = merchant.client.post(f"/admin/promotions/{promotion.id}/codes", data={
        "csrf_token": merchant.token, "count": "2", "prefix": stem, "expires_at": "2031-01-01T00:00"})
    assert made.status_code == 303, made.get_data(as_text=True)[:500]
    codes = list(db.session.execute(select(PromotionCode).filter_by(promotion_id=promotion.id)
                                    .order_by(PromotionCode.id)).scalars())
    assert len(codes) == 2
    markers.extend(code.code for code in codes)

    # A visit, a cart paid with a generated code (the real order path: order, customer,
    # promotion usage), and an abandoned cart with lines, visit and checkout fields.
    visit = Visit(token=mark(new_token()), company_id=company.id, landing_page_id=page.id, visitor_id=new_token(),
                  utm_source=mark(f"{low}-source"), utm_medium="email", utm_campaign=mark(f"{low}-campaign"),
                  referrer=mark(f"https://{low}.example/ref"))
    db.session.add(visit)
    db.session.flush()
    db.session.add(VisitEvent(visit_id=visit.id, company_id=company.id, landing_page_id=page.id, type="page_view",
                              payload={"path": f"/lp/{low}-page"}))
    paid = Cart(token=mark(new_token()), company_id=company.id, currency="USD", visit_id=visit.id,
                landing_page_id=page.id, source_type="LANDING_PAGE", promotion_code=codes[0].code,
                checkout_fields={"email": mark(f"buyer@{low}.test"), "first_name": mark(f"{stem}-BUYER"),
                                 "last_name": "Buyer"})
    paid.lines.append(LineItem(variant_id=product.variants[0].id, quantity=2, unit_price_cents=2000))
    db.session.add(paid)
    db.session.commit()
    from storefront.cart.services import cart_info
    from storefront.checkout.orders import complete_order
    from storefront.pricing.context import price_cart

    total = price_cart(paid, cart_info(paid)).totals.total_cents
    order, created = complete_order(paid.id, amount_paid_cents=total, currency="USD", company_id=company.id)
    assert created and order.status == "PAID", order.status
    markers.append(order.token)
    usage = db.session.execute(select(PromotionUsage).filter_by(order_id=order.id)).scalar_one()
    assert usage.promotion_code_id == codes[0].id
    customer = db.session.get(Customer, order.customer_id)

    # The one-click upsell: the merchant's offer, and a purchase of it after the order.
    from storefront.billing.upsell_models import UpsellOffer, UpsellPurchase

    db.session.add(UpsellOffer(company_id=company.id, variant_id=product.variants[0].id,
                               headline=mark(f"{stem}-UPSELL-HEADLINE")))
    db.session.add(UpsellPurchase(company_id=company.id, order_id=order.id, variant_id=product.variants[0].id,
                                  product_title=mark(f"{stem}-UPSELL-TITLE"), amount_cents=1800, currency="USD",
                                  idempotency_key=f"upsell-{low}", status="FAILED"))
    # "Frequently bought together": the nightly co-purchase count of the tee and the mug.
    from storefront.catalog.co_purchase import ProductPair

    db.session.add_all([ProductPair(company_id=company.id, product_id=product.id, other_product_id=mug.id,
                                    orders_together=2, computed_at=utcnow()),
                        ProductPair(company_id=company.id, product_id=mug.id, other_product_id=product.id,
                                    orders_together=2, computed_at=utcnow())])
    db.session.commit()
    converted_lead = db.session.execute(select(Lead).filter_by(company_id=company.id)).scalar_one_or_none()
    if converted_lead is None:
        converted_lead = Lead(company_id=company.id, email=f"buyer@{low}.test", customer_id=customer.id,
                              status="CONVERTED")
        db.session.add(converted_lead)
        db.session.commit()

    then = utcnow() - timedelta(hours=30)
    cart = Cart(token=mark(new_token()), company_id=company.id, currency="USD", visit_id=visit.id,
                landing_page_id=page.id, source_type="LANDING_PAGE", shipping_method_id=zone.methods[0].id,
                checkout_fields={"email": mark(f"lead@{low}.test"), "first_name": mark(f"{stem}-LEADNAME"),
                                 "last_name": mark(f"{stem}-SURNAME"), "phone": "+15125550100",
                                 "address1": mark(f"{stem}-STREET 1"), "city": "Albany", "country": "US"},
                checkout_started_at=then, created_at=then, updated_at=then)
    cart.lines.append(LineItem(variant_id=product.variants[1].id, quantity=1, unit_price_cents=2000))
    cart.lines.append(LineItem(variant_id=mug.variants[0].id, quantity=3, unit_price_cents=900))
    db.session.add(cart)
    db.session.add(SavedCartItem(company_id=company.id, visitor_id=visit.visitor_id, email=mark(f"saved@{low}.test"),
                                 variant_id=mug.variants[0].id, kind="wishlist"))
    db.session.commit()
    # The shopper got as far as Pay: the cart's tracked tee is held (a stock reservation).
    from storefront.checkout.reservations import reserve_cart

    reserve_cart(cart)

    # A lead from that cart, with its note, activity, field event and analysis.
    lead = Lead(company_id=company.id, email=f"lead@{low}.test", phone="+15125550100", first_name=f"{stem}-LEADNAME",
                last_name=f"{stem}-SURNAME", source="CHECKOUT_ABANDON", source_detail=mark(f"{stem}-SOURCE-DETAIL"),
                landing_page_id=page.id, visit_id=visit.id, cart_id=cart.id, captured_fields=["email", "phone"],
                last_active_field="address1", completion_pct=40, status="NEW", estimated_value_cents=4700,
                cart_value_cents=4700, cart_snapshot={"lines": [], "value_cents": 4700, "currency": "USD"},
                last_activity_at=then, abandonment_reason="FORM_FATIGUE", created_at=then, updated_at=then)
    db.session.add(lead)
    db.session.flush()
    note = LeadNote(company_id=company.id, lead_id=lead.id, user_id=user.id, body=mark(f"{stem}-NOTE called them"))
    activity = LeadActivity(company_id=company.id, lead_id=lead.id, type="EMAIL_CAPTURED",
                            payload={"created": True, "email": f"lead@{low}.test"}, created_at=then)
    event = FieldEvent(company_id=company.id, visit_id=visit.id, cart_id=cart.id, lead_id=lead.id, event_type="BLUR",
                       field_name="address1", field_group="shipping", has_value=True, value_length=12, is_valid=False,
                       error_message=mark(f"{stem}-FIELD-ERROR"), focus_ms=4000, occurred_at=then)
    analysis = AbandonmentAnalysis(company_id=company.id, lead_id=lead.id, cart_id=cart.id, abandoned_stage="CHECKOUT",
                                   abandoned_section="shipping", last_active_field="address1", completion_pct=40,
                                   reason="FORM_FATIGUE", intervention=mark(f"{stem}-INTERVENTION"))
    db.session.add_all([note, activity, event, analysis])
    db.session.commit()

    # A staged product CSV, uploaded through the merchant's own route: its preview token.
    uploaded = merchant.client.post("/admin/products/import", content_type="multipart/form-data", data={
        "csrf_token": merchant.token, "format": "",
        "file": (io.BytesIO(shopify_csv(stem).encode()), mark(f"{low}-upload.csv"))})
    assert uploaded.status_code == 303, uploaded.get_data(as_text=True)[:800]
    upload_token = urlsplit(uploaded.headers["Location"]).path.rsplit("/", 1)[1]
    markers.extend([upload_token, f"{stem}-IMPORT Tee", f"{stem}-IMPORT-SKU"])

    # Notifications: a text sent (the outbox), an SMS consent and a suppressed address.
    from storefront.notifications.consent import record_consent
    from storefront.notifications.models import OutboundMessage
    from storefront.notifications.suppression import suppress

    message = OutboundMessage(company_id=company.id, channel="SMS", recipient="+15125550100",
                              idempotency_key=mark(f"{low}-outbox-key"), status="DELIVERED",
                              body=mark(f"{stem}-SMS-BODY your cart is waiting"), provider_id=mark(f"SM{low}"),
                              sending_at=then, sent_at=then, finished_at=then, created_at=then)
    db.session.add(message)
    db.session.commit()
    record_consent(company.id, "+15125550100", mark(f"{stem}-CONSENT text me about my cart"), "CHECKOUT")
    suppress(company.id, f"gone@{low}.test", "UNSUBSCRIBED", "link")

    # An experiment on the page (stopped, so landing views stay as they are) with the
    # visit's visitor exposed to its variant: the rollups key the visit by it.
    from storefront.analytics.models import Experiment, ExperimentExposure, ExperimentVariant

    experiment = Experiment(company_id=company.id, landing_page_id=page.id, name=mark(f"{stem}-EXPERIMENT"),
                            hypothesis=mark(f"{stem}-HYPOTHESIS"), metric="conversion_rate", status="stopped",
                            started_at=then - timedelta(days=1), stopped_at=utcnow())
    db.session.add(experiment)
    db.session.flush()
    treatment = ExperimentVariant(experiment_id=experiment.id, company_id=company.id, position=1, weight=50,
                                  name=mark(f"{stem}-VARIANT"), headline=mark(f"{stem}-HEADLINE"))
    db.session.add_all([ExperimentVariant(experiment_id=experiment.id, company_id=company.id, position=0,
                                          name="Control", is_control=True, weight=50), treatment])
    db.session.flush()
    db.session.add(ExperimentExposure(company_id=company.id, experiment_id=experiment.id, variant_id=treatment.id,
                                      visitor_id=visit.visitor_id, created_at=then))

    # Analytics: this merchant's rollup rows (only its own: a refresh would rewrite every
    # merchant's and empty the queue) and an hour queued for the next refresh.
    from storefront.analytics.models import HourlyRollup
    from storefront.analytics.rollups import mark_dirty, rollup_rows

    now = utcnow()
    db.session.execute(HourlyRollup.__table__.insert(),
                       rollup_rows(now - timedelta(days=400), now + timedelta(hours=1), frozenset({company.id})))
    from storefront.analytics.rollups import rewrite_days

    rewrite_days(now - timedelta(days=400), now + timedelta(hours=1), frozenset({company.id}))
    mark_dirty(company.id, then)
    # The commerce rollups: one row of each table, whatever the traffic above gives.
    from storefront.analytics.commerce_models import CategoryRollup, ProductRollup, SourceRollup

    db.session.add_all([ProductRollup(company_id=company.id, hour=then.replace(minute=0, second=0, microsecond=0),
                                      product_id=product.id, views=3, adds=1, units_added=1, orders=1, units_sold=1,
                                      revenue_cents=1800, abandoned_carts=0),
                        SourceRollup(company_id=company.id, hour=then.replace(minute=0, second=0, microsecond=0),
                                     source_type="LANDING_PAGE", orders=1, units_ordered=1, revenue_cents=1800,
                                     abandoned_carts=1, units_abandoned=2),
                        CategoryRollup(company_id=company.id, hour=then.replace(minute=0, second=0, microsecond=0),
                                       category_id=0, orders=1, abandoned_carts=1)])
    db.session.flush()
    from storefront.analytics.commerce import rewrite_days as commerce_days

    commerce_days(then, then + timedelta(hours=1), frozenset({company.id}))  # and their daily rows
    db.session.commit()

    # Billing: a plan with its retry settings, a subscription, an invoice and an attempt's reason.
    from storefront.billing.models import Invoice, PaymentAttempt, Subscription, SubscriptionPlan

    plan = SubscriptionPlan(company_id=company.id, product_id=product.id, variant_id=product.variants[0].id,
                            name=mark(f"{stem}-PLAN monthly"), price_cents=1800, currency="USD")
    db.session.add(plan)
    db.session.flush()
    subscription = Subscription(company_id=company.id, customer_id=customer.id, plan_id=plan.id, status="PAST_DUE",
                                current_period_start=then, current_period_end=then, next_billing_at=then,
                                stripe_customer_id=mark(f"cus_{low}"), payment_method_id=mark(f"pm_{low}"))
    db.session.add(subscription)
    db.session.flush()
    invoice = Invoice(company_id=company.id, subscription_id=subscription.id, period_start=then, period_end=then,
                      amount_cents=1800, currency="USD")
    db.session.add(invoice)
    db.session.flush()
    failed = PaymentAttempt(company_id=company.id, invoice_id=invoice.id, number=1, status="FAILED",
                            idempotency_key=mark(f"invoice-{low}-attempt-1"), scheduled_at=then,
                            reason=mark(f"{stem}-RETRY-REASON payday"))
    db.session.add(failed)
    # Dunning: the merchant's own message variant for a first failure, sent by that attempt.
    from storefront.billing.message_variants import MessageVariant

    dunning = MessageVariant(company_id=company.id, plan_id=plan.id, name=mark(f"{stem}-DUNNING-NAME"),
                             notice="first_failure", subject=mark(f"{stem}-DUNNING-SUBJECT"),
                             body=mark(f"{stem}-DUNNING-BODY") + " {amount}")
    db.session.add(dunning)
    db.session.flush()
    failed.message_variant_id = dunning.id
    # The portal: a sign-in link (only its hash is stored) and the save offer a cancel met.
    from storefront.billing.models import SaveOffer
    from storefront.portal.links import token_hash
    from storefront.portal.models import PortalLink

    db.session.add(PortalLink(company_id=company.id, customer_id=customer.id, token_hash=token_hash(f"{low}-portal"),
                              expires_at=then))
    offer = SaveOffer(company_id=company.id, subscription_id=subscription.id, key=f"cancel-{subscription.id}",
                      trigger="CANCEL")
    db.session.add(offer)
    db.session.commit()

    # Recovery: the merchant's flow settings, an attempt on the abandoned cart and its
    # reminder email, already sent.
    from storefront.recovery.models import CartIntervention, CartSaveAttempt, CartSaveConfig
    from storefront.recovery.services import history

    db.session.add(CartSaveConfig(company_id=company.id, enabled=True, stages=[]))
    attempt = CartSaveAttempt(company_id=company.id, cart_id=cart.id, lead_id=lead.id, email=f"lead@{low}.test",
                              status="ACTIVE", current_stage="REMINDER_EMAIL", reason="FORM_FATIGUE",
                              cart_value_cents=4700, currency="USD", last_activity_at=then, started_at=then)
    history(attempt, "started", then, detail=mark(f"{stem}-RECOVERY-HISTORY"))
    db.session.add(attempt)
    db.session.flush()
    intervention = CartIntervention(company_id=company.id, attempt_id=attempt.id, stage="REMINDER_EMAIL",
                                    channel="EMAIL", type="REMINDER", status="SENT", token=mark(new_token()),
                                    message_key=f"recovery-{low}", scheduled_at=then, sent_at=then,
                                    schedule_reason=mark(f"{stem}-SCHEDULE-REASON"))
    db.session.add(intervention)
    db.session.commit()

    merchant.ids = {
        "page_id": page.id, "landing_page_id": page.id, "section_id": grid.id, "item_id": item.id,
        "redirect_id": db.session.execute(select(SlugRedirect.id).filter_by(landing_page_id=page.id)).scalar_one(),
        "product_id": product.id, "variant_id": product.variants[0].id, "image_id": product.images[0].id,
        "category_id": category.id, "promotion_id": promotion.id, "code_id": codes[0].id, "usage_id": usage.id,
        "zone_id": zone.id, "method_id": zone.methods[0].id, "rate_id": rate.id, "cart_id": cart.id,
        "converted_cart_id": paid.id, "line_id": cart.lines[0].id, "saved_item_id": db.session.execute(
            select(SavedCartItem.id).filter_by(company_id=company.id)).scalar_one(),
        "visit_id": visit.id, "order_id": order.id, "customer_id": customer.id, "lead_id": lead.id,
        "converted_lead_id": converted_lead.id, "note_id": note.id, "activity_id": activity.id,
        "event_id": event.id, "field_event_id": event.id, "analysis_id": analysis.id, "user_id": user.id,
        "message_id": message.id, "token": upload_token, "upload_token": upload_token, "preview_token": page.preview_token,
        "cart_token": cart.token, "order_token": order.token, "visit_token": visit.token,
        "plan_id": plan.id, "subscription_id": subscription.id, "sub_id": subscription.id, "offer_id": offer.id,
        "message_variant_id": dunning.id,
        "shop": company.slug,
        "attempt_id": attempt.id, "intervention_id": intervention.id,
    }
    merchant.ids["experiment_id"] = experiment.id
    return merchant
