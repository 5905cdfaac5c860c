"""Cart rules: add, change and remove lines, with quantities and stock checked against the
database. Every function either applies the whole change and commits, or raises CartError
and changes nothing."""
from __future__ import annotations

from flask import request
from sqlalchemy import String, bindparam, case, cast, func
from sqlalchemy.orm import joinedload

from storefront.accounts.models import Company
from storefront.cart.info import CartInfo, LineInfo
from storefront.cart.models import Cart, LineItem
from storefront.catalog.availability import PER_LINE_LIMIT, NotAvailable, check
from storefront.catalog.models import (
    Product,
    ProductImage,
    StockReservation,
    Variant,
    product_categories,
)
from storefront.catalog.plan_terms import PLANS
from storefront.cookies import CART_COOKIE
from storefront.extensions import db
from storefront.inputs import DB_INT_MAX, InputError, parse_int
from storefront.media.models import MediaAsset
from storefront.types import UTCDateTime, new_token, utcnow
from storefront.visits.models import Visit
from storefront.visits.services import current_visit, record_event

MAX_QUANTITY = PER_LINE_LIMIT
# Statuses a shopper's cart cookie may still use; CONVERTED, MERGED and EXPIRED carts are done.
USABLE_STATUSES = ("ACTIVE", "ABANDONED")


class CartError(ValueError):
    """A shopper-facing refusal; ``str(error)`` is the message to show."""


def parse_quantity(raw: str | None) -> int:
    """Parse a quantity from a form: a whole number from 1 to 99.

    Raises CartError("Quantity must be a whole number") for text, and range messages otherwise.
    """
    try:
        quantity = parse_int(raw, -DB_INT_MAX, DB_INT_MAX)
    except InputError as exc:
        raise CartError("Quantity must be a whole number.") from exc
    if quantity < 1:
        raise CartError("Quantity must be at least 1.")
    if quantity > MAX_QUANTITY:
        raise CartError(f"You can buy at most {MAX_QUANTITY} of an item.")
    return quantity


def _parse_id(raw: str | None, what: str) -> int:
    try:
        return parse_int(raw, 1, DB_INT_MAX)
    except InputError as exc:
        raise CartError(f"Unknown {what}.") from exc


# Built once (with and without the row lock): every cart request starts with this query.
_CART_QUERIES = {
    False: db.select(Cart).where(Cart.token == bindparam("token"), Cart.status.in_(USABLE_STATUSES)),
}
_CART_QUERIES[True] = _CART_QUERIES[False].with_for_update()


def current_cart(company_id: int | None = None, lock: bool = False) -> Cart | None:
    """The shopper's open cart from the cart cookie (ACTIVE, or ABANDONED: a shopper who
    comes back keeps it, and its next change makes it ACTIVE again, see ``touch``), or None.

    With ``company_id``, a cart of another merchant counts as none. ``lock`` takes a row lock
    (``FOR UPDATE``) for the rest of the transaction.
    """
    token = request.cookies.get(CART_COOKIE)
    if not token or len(token) > 64:
        return None
    cart = db.session.execute(_CART_QUERIES[lock], {"token": token}).scalar_one_or_none()
    if cart is None or (company_id is not None and cart.company_id != company_id):
        return None
    return cart


def cart_info(cart: Cart | None, currency: str = "USD") -> CartInfo:
    """Build the CartInfo of ``cart`` once, in one SELECT: lines with their variants' current
    prices (a subscribe-and-save line's ACTIVE plan and its price, ``catalog.plan_terms``), the units available to this cart (``Variant.available_for``, the one rule), the
    product's first image and its category ids. Amounts in minor units of ``cart.currency``.

    Plain rows, no ORM objects: the drawer reads a cart on every open, and loading the
    line, variant, product, image and category graph cost ten times the query itself."""
    if cart is None:
        return CartInfo(currency=currency, lines=())
    lines = []
    for row in db.session.execute(_lines_query(), {"cart_id": cart.id, "now": utcnow()}):
        lines.append(
            LineInfo(
                variant_id=row.variant_id,
                product_title=row.product_title,
                variant_label=Variant.label.fget(row),
                sku=row.sku,
                image_src=row.image_src or row.first_image_src,
                image_alt=row.first_image_alt or row.product_title,
                image=_line_image(row),
                quantity=row.quantity,
                unit_price_cents=row.plan_price_cents if row.plan_id else row.price_cents,
                added_price_cents=row.added_price_cents,
                compare_at_cents=row.compare_at_cents,
                available=Variant.available_for(row, row.held or 0),
                product_id=row.product_id,
                category_ids=frozenset(int(c) for c in (row.category_ids or "").split(",") if c),
                grams=row.grams or 0,
                plan_id=row.plan_id,
                plan_interval=row.plan_interval,
                plan_interval_count=row.plan_interval_count or 1,
                regular_price_cents=row.price_cents,
            )
        )
    return CartInfo(currency=cart.currency, lines=tuple(lines))


_LINES_QUERIES: dict[str, object] = {}
_ASSET_COLUMNS = ("sha256", "ext", "width", "height", "color", "widths", "status")


def _line_image(row) -> MediaAsset | None:
    """The line's picture: a transient MediaAsset of the first image's stored copy when its
    sizes are made, else None (the placeholder)."""
    if row.image_status != "ready":
        return None
    return MediaAsset(**{name: getattr(row, f"image_{name}") for name in _ASSET_COLUMNS})


def _lines_query():
    """The cart's lines (bound ``cart_id``, at ``now``) joined to their variants and
    products, oldest line first; the first image, the category ids ("3,7": PostgreSQL's
    string_agg, SQLite's group_concat), this cart's own hold and every cart's active holds
    come as correlated subqueries. Built once per dialect: building it cost more than
    running it."""
    dialect = db.session.get_bind().dialect.name
    query = _LINES_QUERIES.get(dialect)
    if query is not None:
        return query
    items, variants, products = LineItem.__table__.c, Variant.__table__.c, Product.__table__.c
    images, reservations = ProductImage.__table__.c, StockReservation.__table__.c
    now = bindparam("now", type_=UTCDateTime())
    first_image = (db.select(images.src, images.alt).where(images.product_id == products.id)
                   .order_by(images.position, images.id).limit(1))
    # The first image's stored copy, for the drawer's picture (never the remote src).
    assets = MediaAsset.__table__.c
    first_asset = first_image.with_only_columns(images.asset_id).scalar_subquery()
    if dialect == "postgresql":
        joined = func.string_agg(cast(product_categories.c.category_id, String), ",")
    else:
        joined = func.group_concat(product_categories.c.category_id)
    categories = db.select(joined).where(product_categories.c.product_id == products.id)
    held = db.select(reservations.quantity).where(
        reservations.cart_id == items.cart_id, reservations.variant_id == items.variant_id,
        reservations.expires_at > now)
    reserved = db.select(func.coalesce(func.sum(reservations.quantity), 0)).where(
        reservations.variant_id == variants.id, reservations.expires_at > now)
    query = (
        db.select(
            items.variant_id, items.quantity, items.unit_price_cents.label("added_price_cents"),
            variants.sku, variants.options, variants.price_cents, variants.compare_at_cents,
            variants.track_inventory, variants.stock, variants.in_stock_flag, variants.grams, variants.image_src,
            products.id.label("product_id"), products.title.label("product_title"),
            first_image.with_only_columns(images.src).scalar_subquery().label("first_image_src"),
            first_image.with_only_columns(images.alt).scalar_subquery().label("first_image_alt"),
            *(assets[name].label(f"image_{name}") for name in _ASSET_COLUMNS),
            categories.scalar_subquery().label("category_ids"),
            held.scalar_subquery().label("held"),
            reserved.scalar_subquery().label("reserved"),
            PLANS.c.id.label("plan_id"), PLANS.c.price_cents.label("plan_price_cents"),
            PLANS.c.interval.label("plan_interval"), PLANS.c.interval_count.label("plan_interval_count"),
        )
        .select_from(LineItem.__table__.join(Variant.__table__, variants.id == items.variant_id)
                     .join(Product.__table__, products.id == variants.product_id)
                     .outerjoin(MediaAsset.__table__, assets.id == first_asset)
                     # A line's plan counts while the merchant sells it; else it is one-time.
                     .outerjoin(PLANS, (PLANS.c.id == items.plan_id) & (PLANS.c.status == "ACTIVE")))
        .where(items.cart_id == bindparam("cart_id"))
        .order_by(items.id)
    )
    _LINES_QUERIES[dialect] = query
    return query


def cart_summary_for_request(company_id: int) -> CartInfo | None:
    """The shopper's cart for the page chrome (badge); None without a cart cookie (no query)."""
    if not request.cookies.get(CART_COOKIE):
        return None
    cart = current_cart(company_id)
    return cart_info(cart) if cart else None


def _source_type(visit: Visit | None) -> str:
    if visit is None:
        return "DIRECT"
    if (visit.utm_medium or "").lower() == "email":
        return "EMAIL"
    return "LANDING_PAGE" if visit.landing_page_id else "DIRECT"


def _held(cart_id, variant_id):
    """The units a cart's own active stock reservation holds of a variant (one row at most:
    unique per cart and variant); they are this cart's to buy, not someone else's."""
    return db.select(StockReservation.quantity).where(
        StockReservation.cart_id == cart_id, StockReservation.variant_id == variant_id,
        StockReservation.expires_at > utcnow(),
    )


def _check_stock(variant: Variant, wanted: int, cart: Cart) -> None:
    # Only a variant someone holds needs the look at this cart's own hold.
    held = (db.session.execute(_held(cart.id, variant.id)).scalar() or 0) if variant.reserved else 0
    try:
        check(variant, wanted, held)
    except NotAvailable as error:
        raise CartError(str(error)) from error


def _plan_for(plan_raw: str, variant: Variant, cart: Cart | None) -> tuple[int, int]:
    """(plan id, price in cents) of the subscription plan the shopper chose for ``variant``:
    an ACTIVE plan of the variant's merchant for this variant or its whole product. Raises
    CartError for anything else (malformed, another merchant's, another product's, archived),
    and when another line of the cart is a subscription already: one subscription per
    checkout, so its first period is paid by exactly one order."""
    plan_id = _parse_id(plan_raw, "subscription")
    plan = db.session.execute(db.select(PLANS).where(PLANS.c.id == plan_id)).one_or_none()
    if (plan is None or plan.company_id != variant.company_id or plan.status != "ACTIVE"
            or plan.product_id != variant.product_id or plan.variant_id not in (None, variant.id)):
        raise CartError("That subscription is not available for this product.")
    if cart is not None and any(line.plan_id and line.variant_id != variant.id for line in cart.lines):
        raise CartError("Your cart already holds a subscription. Check it out first, or remove it.")
    return plan.id, plan.price_cents


def add_to_cart(variant_raw: str | None, quantity_raw: str | None, plan_raw: str | None = None) -> Cart:
    """Add ``quantity`` of a variant to the shopper's cart, creating the cart on the first add.

    The merchant is the one of the shopper's cart, else of their visit; a variant of another
    merchant is refused as unknown. Raises CartError for an unknown variant, a quantity that is
    not 1..99, a line total over 99, or more than is available to this cart (stock minus other
    shoppers' active holds, ``Variant.available_for``). Commits.

    ``plan_raw`` (the product form's "subscribe and save" radio; empty for one-time) names the
    plan the line renews on (``_plan_for``); the line follows the shopper's latest choice.
    """
    variant_id = _parse_id(variant_raw, "product")
    quantity = parse_quantity(quantity_raw)
    visit = current_visit()
    cart = current_cart(lock=True)
    company_id = cart.company_id if cart else (visit.company_id if visit else None)
    variant = db.session.get(Variant, variant_id, options=[joinedload(Variant.product)])
    if variant is None or (company_id is not None and variant.company_id != company_id):
        raise CartError("Unknown product: it may have been removed.")
    plan_id, price_cents = _plan_for(plan_raw, variant, cart) if plan_raw else (None, variant.price_cents)
    if cart is None:
        company = db.session.get(Company, variant.company_id)
        cart = Cart(
            token=new_token(),
            company_id=variant.company_id,
            visit_id=visit.id if visit else None,
            landing_page_id=visit.landing_page_id if visit else None,
            source_type=_source_type(visit),
            currency=company.currency,
        )
        db.session.add(cart)
        db.session.flush()
    # One upsert adds the line or grows it; the cart's row lock keeps the quantity it returns
    # ours until the commit. Past the limits, nothing of it stays.
    new_quantity = db.session.execute(*_add_line(cart.id, variant.id, quantity, price_cents, plan_id)).scalar_one()
    try:
        if new_quantity > MAX_QUANTITY:
            raise CartError(f"You can buy at most {MAX_QUANTITY} of an item.")
        _check_stock(variant, new_quantity, cart)
    except CartError:
        db.session.rollback()
        raise
    touch(cart)
    record_event(visit if visit and cart.visit_id == visit.id else None, "add_to_cart",
                 {"variant_id": variant.id, "quantity": quantity, "price_cents": price_cents})
    db.session.commit()
    return cart


_ADD_LINE: dict[str, object] = {}


def _add_line(cart_id: int, variant_id: int, quantity: int, price_cents: int, plan_id: int | None = None):
    """(statement, parameters): ``INSERT ... ON CONFLICT (cart_id, variant_id) DO UPDATE``
    adding ``quantity`` to the line and setting its plan (None: one-time), returning the
    line's new quantity. A line whose plan changes takes the new price as its added price.
    Built once per dialect (PostgreSQL or SQLite)."""
    dialect = db.session.get_bind().dialect.name
    statement = _ADD_LINE.get(dialect)
    if statement is None:
        if dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        else:
            from sqlalchemy.dialects.sqlite import insert
        table = LineItem.__table__
        values = insert(table).values(
            cart_id=bindparam("line_cart"), variant_id=bindparam("line_variant"),
            quantity=bindparam("line_quantity"), unit_price_cents=bindparam("line_price"),
            plan_id=bindparam("line_plan"), created_at=bindparam("line_now", type_=UTCDateTime()))
        plan_changed = table.c.plan_id.is_distinct_from(values.excluded.plan_id)
        statement = _ADD_LINE[dialect] = values.on_conflict_do_update(
            index_elements=[table.c.cart_id, table.c.variant_id],
            set_={"quantity": table.c.quantity + values.excluded.quantity, "plan_id": values.excluded.plan_id,
                  "unit_price_cents": case((plan_changed, values.excluded.unit_price_cents),
                                           else_=table.c.unit_price_cents)},
        ).returning(table.c.quantity)
    return statement, {"line_cart": cart_id, "line_variant": variant_id, "line_quantity": quantity,
                       "line_price": price_cents, "line_plan": plan_id, "line_now": utcnow()}


def _line_for(cart: Cart | None, variant_raw: str | None) -> LineItem:
    if cart is None:
        raise CartError("Your cart is empty.")
    variant_id = _parse_id(variant_raw, "cart line")
    line = next((item for item in cart.lines if item.variant_id == variant_id), None)
    if line is None:
        raise CartError("That item is no longer in your cart.")
    return line


def update_quantity(variant_raw: str | None, quantity_raw: str | None) -> Cart:
    """Set a line's quantity (1..99, within stock). Raises CartError otherwise. Commits."""
    cart = current_cart(lock=True)
    line = _line_for(cart, variant_raw)
    quantity = parse_quantity(quantity_raw)
    if quantity > line.quantity:
        _check_stock(line.variant, quantity, cart)
    line.quantity = quantity
    touch(cart)
    db.session.commit()
    return cart


def remove_line(variant_raw: str | None) -> Cart:
    """Remove a line from the cart. Raises CartError when it is not there. Commits."""
    cart = current_cart(lock=True)
    line = _line_for(cart, variant_raw)
    cart.lines.remove(line)
    touch(cart)
    db.session.commit()
    return cart


def touch(cart: Cart) -> None:
    """Mark the cart changed: a new version gives the next PaymentIntent a new idempotency key.
    An ABANDONED cart that changes is in use again: it becomes ACTIVE."""
    cart.version = (cart.version or 0) + 1
    cart.updated_at = utcnow()
    if cart.status == "ABANDONED":
        cart.status = "ACTIVE"
