"""Save for later and the wishlist (SavedCartItem).

A shopper is known to one merchant by their returning-visitor cookie (``VISITOR_COOKIE``) and,
once typed at checkout, by the email on their cart: an item belongs to them when either
matches. When the email is captured, the visitor's items get it too, so they follow the
shopper to another device.

Every changing function either applies the whole change and commits, or raises (CartError for
a refusal to show, SavedItemMissing for an item that is not this shopper's) and changes nothing.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from flask import has_request_context, request
from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.orm import joinedload, selectinload

from storefront.accounts.models import Company
from storefront.cart.models import Cart, SavedCartItem
from storefront.cart.services import (
    CartError,
    _line_for,
    _parse_id,
    add_to_cart,
    current_cart,
    touch,
)
from storefront.catalog.availability import PER_LINE_LIMIT, availability
from storefront.catalog.models import Product, ProductImage, Variant
from storefront.cookies import VISITOR_COOKIE
from storefront.extensions import db
from storefront.visits.models import Visit
from storefront.visits.services import current_visit

KINDS = ("saved", "wishlist")
MAX_QUANTITY = PER_LINE_LIMIT
# A shopper's list is for a handful of things; the cap keeps a scripted client from growing it.
MAX_SAVED_ITEMS = 100


class SavedItemMissing(LookupError):
    """The saved item id names nothing of this shopper's (unknown, or another visitor's)."""

    def __str__(self) -> str:
        return "That item is not in your saved items any more."


@dataclass(frozen=True)
class Shopper:
    """Who the saved items belong to: one merchant, and a visitor id and/or an email."""

    company_id: int
    visitor_id: str | None
    email: str | None

    def owns(self):
        """The SQL condition for this shopper's items."""
        mine = []
        if self.visitor_id:
            mine.append(SavedCartItem.visitor_id == self.visitor_id)
        if self.email:
            mine.append(SavedCartItem.email == self.email)
        return (SavedCartItem.company_id == self.company_id) & or_(*mine)


@dataclass(frozen=True)
class SavedLine:
    """One saved or wishlisted variant as shown: current price (cents), stock (None =
    unlimited) and whether it can be added to the cart now. ``options`` lists the product's
    other buyable variants as (id, label) for the wishlist's choice of size."""

    id: int
    kind: str
    variant_id: int
    product_title: str
    variant_label: str
    image_src: str | None
    quantity: int
    unit_price_cents: int
    available: int | None
    buyable: bool
    options: tuple[tuple[int, str], ...] = ()
    # The product's first image's stored copy (media.models.MediaAsset) when its sizes are made.
    image: object | None = field(default=None, compare=False)


@dataclass(frozen=True)
class SavedList:
    """A shopper's saved items (kind "saved") and wishlist, newest first, in ``currency``."""

    currency: str
    saved: tuple[SavedLine, ...]
    wishlist: tuple[SavedLine, ...]

    def __bool__(self) -> bool:
        return bool(self.saved or self.wishlist)


def visitor_id_from_request() -> str | None:
    """The returning-visitor id from its cookie, or None when absent or malformed."""
    raw = request.cookies.get(VISITOR_COOKIE) or ""
    return raw if 0 < len(raw) <= 64 else None


def _email_of(cart: Cart | None) -> str | None:
    return ((cart.checkout_fields or {}).get("email") or None) if cart is not None else None


def shopper_for_request(visitor_id: str | None, cart: Cart | None = None, *,
                        company_id: int | None = None) -> Shopper | None:
    """The shopper of this request for the merchant of their cart, else of their visit, else
    ``company_id``; None when no merchant or no identity (neither visitor id nor email) is known.
    """
    cart = cart if cart is not None else current_cart()
    if cart is not None:
        company_id = cart.company_id
    else:
        visit = current_visit()
        if visit is not None:
            company_id = visit.company_id
    email = _email_of(cart)
    if company_id is None or not (visitor_id or email):
        return None
    return Shopper(company_id, visitor_id, email)


def _variant_options(product: Product) -> tuple[tuple[int, str], ...]:
    if product.status != "active" or not product.published:
        return ()
    return tuple((v.id, v.label or v.title) for v in product.variants if availability(v).sellable and v.price_cents)


def saved_list(shopper: Shopper | None, currency: str | None = None) -> SavedList:
    """The shopper's saved items and wishlist (at most 100), with current prices and stock;
    ``currency`` defaults to the merchant's."""
    if shopper is None:
        return SavedList(currency or "USD", (), ())
    rows = db.session.execute(
        select(SavedCartItem)
        .where(shopper.owns())
        .order_by(SavedCartItem.created_at.desc(), SavedCartItem.id.desc())
        .limit(MAX_SAVED_ITEMS)
        .options(
            selectinload(SavedCartItem.variant)
            .joinedload(Variant.product)
            .options(selectinload(Product.images).joinedload(ProductImage.asset), selectinload(Product.variants))
        )
    ).scalars().all()
    lines: dict[str, list[SavedLine]] = {kind: [] for kind in KINDS}
    seen: set[tuple[str, int]] = set()
    for item in rows:
        # Two devices may have saved the same variant before the email joined them: show it once.
        if (item.kind, item.variant_id) in seen or item.kind not in lines:
            continue
        seen.add((item.kind, item.variant_id))
        variant, product = item.variant, item.variant.product
        lines[item.kind].append(SavedLine(
            id=item.id, kind=item.kind, variant_id=variant.id, product_title=product.title,
            variant_label=variant.label, quantity=item.quantity, unit_price_cents=variant.price_cents,
            image_src=variant.image_src or (product.images[0].src if product.images else None),
            image=product.images[0].asset if product.images and product.images[0].asset and product.images[0].asset.ready else None,
            available=variant.available,
            buyable=availability(variant).sellable,
            options=_variant_options(product) if len(product.variants) > 1 else (),
        ))
    if currency is None:
        currency = db.session.get(Company, shopper.company_id).currency if rows else "USD"
    return SavedList(currency, tuple(lines["saved"]), tuple(lines["wishlist"]))


def _count(shopper: Shopper) -> int:
    return db.session.execute(
        select(func.count()).select_from(SavedCartItem).where(shopper.owns())
    ).scalar_one()


def _find_same(shopper: Shopper, variant_id: int, kind: str) -> SavedCartItem | None:
    return db.session.execute(
        select(SavedCartItem)
        .where(shopper.owns(), SavedCartItem.variant_id == variant_id, SavedCartItem.kind == kind)
        .order_by(SavedCartItem.id).limit(1)
    ).scalar_one_or_none()


def _keep(shopper: Shopper, variant_id: int, kind: str, quantity: int) -> SavedCartItem:
    """Add ``quantity`` (capped at 99) to the shopper's item of that variant and kind, or create it."""
    item = _find_same(shopper, variant_id, kind)
    if item is not None:
        item.quantity = min(item.quantity + quantity, MAX_QUANTITY) if kind == "saved" else 1
        return item
    if _count(shopper) >= MAX_SAVED_ITEMS:
        raise CartError(f"You can keep at most {MAX_SAVED_ITEMS} saved items. Remove some first.")
    item = SavedCartItem(company_id=shopper.company_id, visitor_id=shopper.visitor_id, email=shopper.email,
                         variant_id=variant_id, kind=kind, quantity=min(quantity, MAX_QUANTITY))
    db.session.add(item)
    return item


def save_for_later(variant_raw: str | None, visitor_id: str) -> Cart:
    """Move a cart line (form field ``variant_id``) out of the cart into the shopper's saved
    items, adding to the quantity already saved (at most 99). Raises CartError when the line
    is not in the cart. Commits; returns the cart."""
    cart = current_cart(lock=True)
    line = _line_for(cart, variant_raw)
    shopper = Shopper(cart.company_id, visitor_id, _email_of(cart))
    try:
        _keep(shopper, line.variant_id, "saved", line.quantity)
    except CartError:
        db.session.rollback()
        raise
    cart.lines.remove(line)
    touch(cart)
    db.session.commit()
    return cart


def _owned_item(shopper: Shopper | None, saved_raw: str | None) -> SavedCartItem:
    try:
        saved_id = _parse_id(saved_raw, "saved item")
    except CartError as error:
        raise SavedItemMissing() from error
    if shopper is None:
        raise SavedItemMissing()
    item = db.session.execute(
        select(SavedCartItem).where(SavedCartItem.id == saved_id, shopper.owns())
    ).scalar_one_or_none()
    if item is None:
        raise SavedItemMissing()
    return item


def move_to_cart(saved_raw: str | None, visitor_id: str | None, variant_raw: str | None = None) -> tuple[Cart, str]:
    """Put a saved item (form field ``saved_id``) into the cart through ``add_to_cart``, so
    stock and the 99 limit apply. A "saved" item leaves the list; a wishlist item stays.
    ``variant_raw`` picks another variant of the same product (the wishlist's size choice).

    Returns (cart, kind). Raises SavedItemMissing for an item that is not this shopper's, and
    CartError (nothing changed) when the cart refuses it. Commits.
    """
    shopper = shopper_for_request(visitor_id)
    item = _owned_item(shopper, saved_raw)
    kind, variant_id, quantity = item.kind, item.variant_id, item.quantity
    if variant_raw and kind == "wishlist":
        chosen = db.session.get(Variant, _parse_id(variant_raw, "product option"))
        if chosen is None or chosen.product_id != item.variant.product_id:
            raise CartError("Unknown product option.")
        variant_id = chosen.id
    if kind == "saved":
        _delete_same(shopper, item)
    else:
        quantity = 1
    try:
        # add_to_cart commits the whole change (the removal above included) or raises first.
        cart = add_to_cart(str(variant_id), str(quantity))
    except CartError:
        db.session.rollback()
        raise
    return cart, kind


def remove_saved(saved_raw: str | None, visitor_id: str | None) -> str:
    """Delete a saved or wishlisted item (form field ``saved_id``); returns its kind.
    Raises SavedItemMissing when it is not this shopper's. Commits."""
    shopper = shopper_for_request(visitor_id)
    item = _owned_item(shopper, saved_raw)
    kind = item.kind
    _delete_same(shopper, item)
    db.session.commit()
    return kind


def _delete_same(shopper: Shopper, item: SavedCartItem) -> None:
    # Rows of the same variant and kind (saved on two devices before the email joined them)
    # are shown as one, so they leave together.
    db.session.execute(
        delete(SavedCartItem)
        .where(shopper.owns(), SavedCartItem.variant_id == item.variant_id, SavedCartItem.kind == item.kind)
        .execution_options(synchronize_session=False)
    )
    db.session.expunge(item)


def add_to_wishlist(variant_raw: str | None, visitor_id: str) -> bool:
    """Add a variant (form field ``variant_id``) to the shopper's wishlist; returns False when
    it was there already. The merchant is the one of the shopper's cart, else of their visit,
    else the variant's. Raises CartError for an unknown variant or another merchant's. Commits.
    """
    variant_id = _parse_id(variant_raw, "product")
    cart = current_cart()
    variant = db.session.get(Variant, variant_id, options=[joinedload(Variant.product)])
    shopper = shopper_for_request(visitor_id, cart, company_id=variant.company_id if variant else None)
    if variant is None or shopper is None or variant.company_id != shopper.company_id:
        raise CartError("Unknown product: it may have been removed.")
    if _find_same(shopper, variant.id, "wishlist") is not None:
        return False
    try:
        _keep(shopper, variant.id, "wishlist", 1)
    except CartError:
        db.session.rollback()
        raise
    db.session.commit()
    return True


def attach_saved_items(cart: Cart, email: str) -> int:
    """Give the email typed at checkout to the saved items of this visitor (the cookie's id and
    the cart's visit's), so the shopper finds them on another device. Returns the rows changed.
    Does not commit: the checkout service owns the transaction."""
    visitor_ids = {visitor_id_from_request()} if has_request_context() else set()
    if cart.visit_id:
        visit = db.session.get(Visit, cart.visit_id)
        if visit is not None:
            visitor_ids.add(visit.visitor_id)
    visitor_ids.discard(None)
    if not visitor_ids or not email:
        return 0
    result = db.session.execute(
        update(SavedCartItem)
        .where(SavedCartItem.company_id == cart.company_id, SavedCartItem.visitor_id.in_(visitor_ids),
               or_(SavedCartItem.email.is_(None), SavedCartItem.email != email))
        .values(email=email)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount

