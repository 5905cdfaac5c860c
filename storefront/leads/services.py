"""Lead capture from checkout fields (progressive capture), conversion, and the timeline.

The first valid email or phone creates the Lead; later fields update it. A lead is unique
per (company, email): a phone-only lead that later gets an email merges into the lead that
already has that email (its activities, notes, field events and analysis move to the
survivor). When the email is a known Customer's, the lead links to them (a returning
customer). Erased leads (``erased_at``) are never found again: a new capture makes a new lead.

Every capture sets the identity fields, captured fields, last active field, completion %,
capture stage (PAYMENT once every required field is in, else CHECKOUT), the cart snapshot
and value (refreshed when the cart's version moved), the products the visit added to a cart,
the scores and the estimated value (``leads.value``), and ``last_activity_at``. A visit
that opted out of capture ("Don't save my details") never gets a lead.

Source: a checkout capture is CHECKOUT_ABANDON (the lead exists because a checkout was
started and may be left); ``source_detail`` is the visit's UTM source, else its referrer.
MANUAL, IMPORT, REFERRAL, API, FUNNEL and LANDING_PAGE are for leads made elsewhere.

The capture path is on the checkout's query budget (tests/functional/test_query_counts.py):
the lead of the cart, the merchant's value settings and the visit's field-event aggregates
come back in one statement (``_capture_context``).
"""
from __future__ import annotations

from sqlalchemy import and_, bindparam, select, true, update
from sqlalchemy.exc import IntegrityError

from storefront.accounts.models import Company
from storefront.cart.models import Cart, LineItem
from storefront.catalog.models import Product, Variant
from storefront.checkout.fields import missing_required
from storefront.checkout.models import Customer, Order
from storefront.extensions import db
from storefront.leads import value as lv
from storefront.leads.activities import record_activity
from storefront.leads.field_events import PAGE_TYPES, FieldStats, field_stats, stats_subquery
from storefront.leads.models import AbandonmentAnalysis, FieldEvent, Lead, LeadActivity, LeadNote
from storefront.leads.status import system_transition
from storefront.types import utcnow
from storefront.visits.models import Visit, VisitEvent

ADDRESS_FIELDS = ("address1", "address2", "city", "postcode", "country")
SOURCES = ("FUNNEL", "LANDING_PAGE", "CHECKOUT_ABANDON", "MANUAL", "IMPORT", "REFERRAL", "API")
MAX_PRODUCTS_VIEWED = 50
MAX_NOTE_LENGTH = 5000


def _live(query):
    return query.where(Lead.erased_at.is_(None))


def _capture_context(cart: Cart, visit: Visit | None) -> tuple[Lead | None, dict, FieldStats]:
    """(the cart's newest live lead, the merchant's lead_value_config, the visit's field
    stats) in one statement: the stats are a one-row aggregate joined to the company row."""
    params = {"company_id": cart.company_id, "cart_id": cart.id}
    if visit is not None:
        params["visit_id"] = visit.id
    row = db.session.execute(_capture_context_query(visit is not None), params).one()
    return row.Lead, row.lead_value_config or {}, FieldStats.from_row(row)


# {with a visit: statement}: built once (bound per request), since building the aggregate
# cost more than running it on every field the shopper leaves.
_CAPTURE_CONTEXT: dict[bool, object] = {}


def _capture_context_query(with_visit: bool):
    query = _CAPTURE_CONTEXT.get(with_visit)
    if query is None:
        stats = stats_subquery(visit_id=bindparam("visit_id") if with_visit else None)
        query = _CAPTURE_CONTEXT[with_visit] = (
            select(Company.lead_value_config, stats, Lead)
            .select_from(Company)
            .join(stats, true())
            .outerjoin(Lead, and_(Lead.company_id == Company.id, Lead.cart_id == bindparam("cart_id"),
                                  Lead.erased_at.is_(None)))
            .where(Company.id == bindparam("company_id"))
            .order_by(Lead.id.desc())
            .limit(1)
        )
    return query


def _lead_of_cart(cart: Cart) -> Lead | None:
    return db.session.execute(_live(
        db.select(Lead).filter_by(company_id=cart.company_id, cart_id=cart.id)
    ).order_by(Lead.id.desc()).limit(1)).scalar_one_or_none()


def _lead_by_email(company_id: int, email: str) -> Lead | None:
    return db.session.execute(_live(
        db.select(Lead).filter_by(company_id=company_id, email=email))).scalar_one_or_none()


def _find_lead(cart: Cart, by_cart: Lead | None, email: str | None,
               phone: str | None) -> tuple[Lead | None, int | None]:
    """(lead, id of a phone-only lead merged into it or None)."""
    by_email = None
    if email and (by_cart is None or by_cart.email != email):
        by_email = _lead_by_email(cart.company_id, email)
    if by_cart is not None and by_email is not None and by_cart.id != by_email.id:
        if by_cart.email is None:
            # The phone-only lead of this cart is the same shopper as the email lead.
            merged_id = by_cart.id
            merge_leads(by_email, by_cart)
            return by_email, merged_id
        return by_email, None
    if by_cart is not None or by_email is not None:
        return by_cart or by_email, None
    if phone:
        return db.session.execute(_live(
            db.select(Lead).filter_by(company_id=cart.company_id, phone=phone, email=None)
        ).order_by(Lead.id).limit(1)).scalar_one_or_none(), None
    return None, None


def merge_leads(survivor: Lead, merged: Lead) -> None:
    """Fold ``merged`` into ``survivor`` (same company): identity fields the survivor lacks,
    products viewed, and every row that points at ``merged`` (activities, notes, field
    events, its abandonment analysis unless the survivor has one, orders); then delete
    ``merged``. Does not commit."""
    for name in ("phone", "first_name", "last_name", "customer_id", "landing_page_id"):
        if getattr(survivor, name) is None:
            setattr(survivor, name, getattr(merged, name))
    survivor.address = survivor.address or merged.address
    survivor.products_viewed = _union(survivor.products_viewed, merged.products_viewed)
    for model in (LeadActivity, LeadNote, FieldEvent, Order):
        db.session.execute(update(model).where(model.lead_id == merged.id).values(lead_id=survivor.id))
    has_analysis = db.session.execute(
        select(AbandonmentAnalysis.id).filter_by(lead_id=survivor.id)).first() is not None
    moved = db.delete(AbandonmentAnalysis) if has_analysis else update(AbandonmentAnalysis).values(lead_id=survivor.id)
    db.session.execute(moved.where(AbandonmentAnalysis.lead_id == merged.id))
    db.session.delete(merged)
    db.session.flush()


def _union(first: list | None, second: list | None) -> list:
    seen, out = set(), []
    for item in [*(first or []), *(second or [])]:
        key = item.get("product_id") if isinstance(item, dict) else item
        if key not in seen:
            seen.add(key)
            out.append(item)
    return out[-MAX_PRODUCTS_VIEWED:]


def _insert_lead(cart: Cart, email: str | None, phone: str | None) -> tuple[Lead, bool]:
    """Insert a new lead, or return the one another request just made for that email."""
    lead = Lead(company_id=cart.company_id, email=email, phone=phone, source="CHECKOUT_ABANDON",
                status="NEW", cart_id=cart.id, captured_fields=[], cart_snapshot={}, products_viewed=[])
    try:
        with db.session.begin_nested():
            db.session.add(lead)
    except IntegrityError:
        # Another tab or device won the race on (company, email): use its lead.
        existing = _lead_by_email(cart.company_id, email) if email else None
        if existing is None:
            raise
        return existing, False
    return lead, True


def cart_snapshot(cart: Cart, checkout_started: bool) -> dict:
    """The cart now: lines (variant, product, titles, quantity, prices), item count, value in
    cents at current prices (before discounts, shipping and tax), currency, version."""
    rows = db.session.execute(
        select(LineItem.variant_id, LineItem.quantity, Variant.price_cents, Variant.title,
               Product.id, Product.title)
        .join(Variant, Variant.id == LineItem.variant_id).join(Product, Product.id == Variant.product_id)
        .where(LineItem.cart_id == cart.id).order_by(LineItem.id)
    ).all()
    lines = [{"variant_id": v, "product_id": pid, "title": title,
              "variant": "" if vtitle == "Default Title" else vtitle, "quantity": qty,
              "unit_price_cents": price, "line_total_cents": price * qty}
             for v, qty, price, vtitle, pid, title in rows]
    return {"version": cart.version, "currency": cart.currency, "lines": lines,
            "item_count": sum(line["quantity"] for line in lines),
            "value_cents": sum(line["line_total_cents"] for line in lines),
            "checkout_started": checkout_started}


def _products_added(visit: Visit) -> list[dict]:
    """Products of the visit's add_to_cart events (the JSON payload's ``variant_id``)."""
    rows = db.session.execute(
        select(Product.id, Product.title).distinct()
        .join(Variant, Variant.product_id == Product.id)
        .join(VisitEvent, Variant.id == VisitEvent.payload["variant_id"].as_integer())
        .where(VisitEvent.visit_id == visit.id, VisitEvent.type == "add_to_cart",
               Product.company_id == visit.company_id)
        .order_by(Product.id)
    ).all()
    return [{"product_id": pid, "title": title} for pid, title in rows]


def _refresh_cart(lead: Lead, cart: Cart, visit: Visit | None, created: bool) -> None:
    snapshot = dict(lead.cart_snapshot or {})
    started = cart.checkout_started_at is not None
    if snapshot.get("version") != cart.version or lead.cart_id != cart.id:
        fresh = cart_snapshot(cart, started or bool(snapshot.get("checkout_started")))
        if not created and snapshot.get("version") is not None:
            record_activity(lead, "CART_UPDATED", {"value_cents": fresh["value_cents"],
                                                   "item_count": fresh["item_count"], "currency": cart.currency})
        snapshot = {**fresh, "checkout_started": snapshot.get("checkout_started", False)}
        lead.cart_value_cents = fresh["value_cents"]
        if visit is not None:
            lead.products_viewed = _union(lead.products_viewed, _products_added(visit))
    if started and not snapshot.get("checkout_started"):
        record_activity(lead, "CHECKOUT_STARTED", {"cart_id": cart.id}, at=cart.checkout_started_at)
        snapshot["checkout_started"] = True
    lead.cart_snapshot = snapshot


def signals_for(lead: Lead, stats: FieldStats) -> lv.Signals:
    """The lead's ``leads.value.Signals`` from its own state and its field-event stats."""
    snapshot = lead.cart_snapshot or {}
    return lv.Signals(
        completion_pct=lead.completion_pct or 0, captured_fields=frozenset(lead.captured_fields or ()),
        fields_touched=stats.fields_touched, focus_ms=stats.focus_ms,
        payment_touched=stats.payment_touched, tab_switches=stats.tab_switches,
        exit_intent=stats.exit_intent, validation_errors=stats.validation_errors,
        added_to_cart=bool(snapshot.get("item_count")),
        reached_checkout=bool(snapshot.get("checkout_started")),
    )


def apply_scores(lead: Lead, stats: FieldStats, config_overrides: dict | None) -> None:
    """Recompute the three scores and the estimated value (cents) of ``lead``. An analysed
    lead (``abandonment_reason`` set) keeps the analysed risk rule."""
    signals = signals_for(lead, stats)
    lead.engagement_score = lv.engagement_score(signals)
    lead.purchase_intent = lv.purchase_intent(signals)
    lead.abandonment_risk = (lv.analysed_risk(signals) if lead.abandonment_reason
                             else lv.abandonment_risk(signals))
    lead.estimated_value_cents = lv.calculate_lead_value(lv.ValueInputs(
        captured_fields=signals.captured_fields, cart_value_cents=lead.cart_value_cents or 0,
        reached_checkout=signals.reached_checkout, added_to_cart=signals.added_to_cart,
        engagement_score=lead.engagement_score,
    ), lv.value_config(config_overrides))


def capture_lead(
    cart: Cart, visit: Visit | None, last_field: str | None, form_fields: tuple[str, ...]
) -> Lead | None:
    """Create or update the cart's Lead from ``cart.checkout_fields`` (valid values only).

    Returns None while there is neither a valid email nor a valid phone, and always when
    ``visit`` opted out of capture. ``form_fields`` names every field of the form, in order;
    ``last_field`` is the field just left (None for a whole-form submit). Completion % is
    the whole percent of the form's fields captured. Records EMAIL_CAPTURED, PHONE_CAPTURED,
    FIELD_CAPTURED (newly captured fields), CART_UPDATED and CHECKOUT_STARTED activities.
    Concurrent captures of one cart or one email make one lead (the cart row is locked
    before an insert; a lost race on the unique email takes the winner's lead). Does not
    commit: the caller's service owns the transaction.
    """
    if visit is not None and visit.capture_opt_out:
        return None
    fields = cart.checkout_fields or {}
    email, phone = fields.get("email"), fields.get("phone")
    if not email and not phone:
        return None
    by_cart, config, stats = _capture_context(cart, visit)
    lead, merged_id = _find_lead(cart, by_cart, email, phone)
    created = False
    if lead is None:
        # Lock the cart, then look again: a second tab may have made the lead meanwhile.
        db.session.execute(select(Cart.id).where(Cart.id == cart.id).with_for_update())
        lead, merged_id = _find_lead(cart, _lead_of_cart(cart), email, phone)
        if lead is None:
            lead, created = _insert_lead(cart, email, phone)
    old_email, old_phone = (None, None) if created else (lead.email, lead.phone)
    old_captured = set() if created else set(lead.captured_fields or ())
    if email and lead.email != email:
        lead.email = email
    if phone:
        lead.phone = phone
    lead.first_name = fields.get("first_name") or lead.first_name
    lead.last_name = fields.get("last_name") or lead.last_name
    address = {k: fields[k] for k in ADDRESS_FIELDS if fields.get(k)}
    # Mirror this cart's address; a lead met again in another cart keeps its old one
    # until this cart has one.
    if address or lead.cart_id == cart.id:
        lead.address = address
    lead.landing_page_id = cart.landing_page_id or lead.landing_page_id
    if visit is not None:
        lead.visit_id = visit.id
        detail = visit.utm_source or visit.referrer
        lead.source_detail = detail[:500] if detail else lead.source_detail
    captured = [name for name in form_fields if fields.get(name)]
    lead.captured_fields = captured
    lead.completion_pct = len(captured) * 100 // len(form_fields)
    lead.capture_stage = "PAYMENT" if not missing_required(fields) else "CHECKOUT"
    if last_field:
        lead.last_active_field = last_field
    if lead.email and lead.email != old_email and lead.customer_id is None:
        lead.customer_id = db.session.execute(select(Customer.id).filter_by(
            company_id=cart.company_id, email=lead.email)).scalar_one_or_none()
    if created:
        db.session.flush()
        if visit is not None:
            # Events sent before the lead existed belong to it too.
            db.session.execute(update(FieldEvent).where(
                FieldEvent.visit_id == visit.id, FieldEvent.lead_id.is_(None)).values(lead_id=lead.id))
    visit_id = visit.id if visit else None
    if lead.email and (lead.email != old_email or merged_id):
        record_activity(lead, "EMAIL_CAPTURED", {"created": created, "visit_id": visit_id,
                                                 "merged_lead_id": merged_id})
    if lead.phone and lead.phone != old_phone:
        record_activity(lead, "PHONE_CAPTURED", {"created": created and not email, "visit_id": visit_id})
    new_fields = [n for n in captured if n not in old_captured and n not in ("email", "phone")]
    if new_fields:
        record_activity(lead, "FIELD_CAPTURED", {"fields": new_fields})
    _refresh_cart(lead, cart, visit, created)
    lead.cart_id = cart.id
    lead.last_activity_at = utcnow()
    apply_scores(lead, stats, config)
    return lead


def refresh_from_events(lead: Lead, cart: Cart, visit: Visit | None, events: tuple[dict, ...]) -> None:
    """After a batch of field events: the last active field and activity time (form and
    payment events; page events are not activity), then fresh scores and value. Does not
    commit."""
    active = [e for e in events if e["event_type"] not in PAGE_TYPES]
    if active:
        # The latest event; among events of the same millisecond, the one sent last.
        last = max(reversed(active), key=lambda e: e["occurred_at"])
        if lead.last_activity_at is None or last["occurred_at"] >= lead.last_activity_at:
            lead.last_active_field = last["field_name"]
            lead.last_activity_at = last["occurred_at"]
    company = db.session.get(Company, cart.company_id)
    stats = field_stats(visit_id=visit.id) if visit is not None else field_stats(lead_id=lead.id)
    apply_scores(lead, stats, company.lead_value_config if company else None)


def convert_lead(company_id: int, cart_id: int, email: str | None, customer_id: int | None,
                 value_cents: int) -> Lead | None:
    """Mark the lead of this cart (or, failing that, of this email) CONVERTED and record
    ORDER_PLACED with the order's value in cents. ``actual_value_cents`` is the sum of its
    orders. Only the system sets CONVERTED. Idempotent per cart (a second call for the same
    cart changes nothing). No lead is looked up by email for a visit that opted out of
    capture. Does not commit.
    """
    cart = db.session.get(Cart, cart_id)
    visit = db.session.get(Visit, cart.visit_id) if cart is not None and cart.visit_id else None
    lead = db.session.execute(_live(db.select(Lead).filter_by(company_id=company_id, cart_id=cart_id))
                              .order_by(Lead.id.desc()).limit(1)).scalar_one_or_none()
    if lead is None and email and not (visit is not None and visit.capture_opt_out):
        lead = _lead_by_email(company_id, email)
    if lead is None:
        return None
    placed = db.session.execute(db.select(LeadActivity.payload).filter_by(
        lead_id=lead.id, type="ORDER_PLACED")).scalars().all()
    if any(p.get("cart_id") == cart_id for p in placed):
        return lead
    lead.actual_value_cents = (lead.actual_value_cents or 0) + value_cents if placed else value_cents
    system_transition(lead, "CONVERTED", "order placed")
    lead.customer_id = customer_id or lead.customer_id
    lead.purchase_intent, lead.abandonment_risk = 1.0, 0.0
    record_activity(lead, "ORDER_PLACED", {"cart_id": cart_id, "value_cents": value_cents})
    return lead


def record_payment_failed(cart_id: int, code: str | None = None, decline_code: str | None = None,
                          message: str | None = None) -> bool:
    """Add PAYMENT_FAILED to the timeline of the cart's lead: Stripe's error code, decline
    code and message (no card data). Returns False when the cart has no lead. Commits."""
    cart = db.session.get(Cart, cart_id)
    if cart is None:
        return False
    lead = _lead_of_cart(cart)
    if lead is None:
        return False
    record_activity(lead, "PAYMENT_FAILED", {
        "code": (code or None) and str(code)[:64], "decline_code": (decline_code or None) and str(decline_code)[:64],
        "message": (message or None) and str(message)[:200],
    })
    db.session.commit()
    return True


def add_note(lead: Lead, body: str | None, user=None) -> LeadNote:
    """Add a merchant's note to ``lead`` and NOTE_ADDED to its timeline. ``body`` is trimmed;
    raises ValueError("...") when empty or longer than 5,000 characters. Commits. The caller
    has checked the tenant (``accounts.scoping``)."""
    text = (body or "").strip()
    if not text:
        raise ValueError("Write a note first.")
    if len(text) > MAX_NOTE_LENGTH:
        raise ValueError(f"A note has at most {MAX_NOTE_LENGTH} characters.")
    note = LeadNote(company_id=lead.company_id, lead_id=lead.id, user_id=getattr(user, "id", None), body=text)
    db.session.add(note)
    db.session.flush()
    record_activity(lead, "NOTE_ADDED", {"note_id": note.id, "user_id": note.user_id})
    db.session.commit()
    return note

