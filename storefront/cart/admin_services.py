"""Cart admin queries: the filtered, sorted, paged list of a merchant's carts, and one cart
with its lines, totals, visit, attribution and order.

The list computes every row's line count, item count and subtotal (at the variants'
current prices, as the drawer does) in one aggregate query, so its cost does not grow
with the rows shown. The detail prices the cart with ``pricing.context.price_cart`` so its
totals match checkout to the cent; it reads the order from ``checkout`` (an upward import
kept to this read-only admin module).
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlalchemy import func

from storefront.accounts.scoping import current_company_id, scoped
from storefront.cart.info import CartInfo
from storefront.cart.models import CART_STATUSES, Cart, LineItem
from storefront.cart.services import cart_info
from storefront.catalog.models import Variant
from storefront.checkout.models import Order
from storefront.extensions import db
from storefront.inputs import optional_int
from storefront.landing.models import LandingPage
from storefront.pricing.context import PricedCart, price_cart
from storefront.types import utcnow
from storefront.visits.models import Visit

PER_PAGE = 25
ABANDONED_AFTER = timedelta(hours=24)
# "abandoned" is not a status: last updated over 24 h ago and not converted. A MERGED cart
# lives on in the cart it was merged into, so it is not counted either.
STATUS_FILTERS = {"abandoned": "Abandoned (24 h+, not converted)", **{s: s.capitalize() for s in CART_STATUSES}}
SORTS = {"updated": "Last updated", "value": "Value"}
MAX_CAMPAIGN = 200


@dataclass(frozen=True)
class CartQuery:
    """What the list shows, from query-string args; unknown values fall back to defaults."""

    status: str = ""
    landing_page: int | None = None
    campaign: str = ""
    sort: str = "updated"
    direction: str = "desc"
    page: int = 1

    @classmethod
    def from_args(cls, args: Mapping[str, str]) -> CartQuery:
        status = args.get("status", "")
        sort = args.get("sort", "updated")
        direction = args.get("dir", "desc")
        page_raw, landing_raw = args.get("page", ""), args.get("landing_page", "")
        return cls(
            status=status if status in STATUS_FILTERS else "",
            landing_page=optional_int(landing_raw, 1),
            campaign=args.get("campaign", "").strip()[:MAX_CAMPAIGN],
            sort=sort if sort in SORTS else "updated",
            direction=direction if direction in ("asc", "desc") else "desc",
            page=optional_int(page_raw, 1, default=1),
        )

    def args(self, **changes) -> dict:
        """Query-string args for a link: this query with ``changes``, defaults left out."""
        query = replace(self, **changes)
        args = {"status": query.status, "landing_page": query.landing_page, "campaign": query.campaign,
                "sort": None if query.sort == "updated" else query.sort,
                "dir": None if query.direction == "desc" else query.direction,
                "page": None if query.page == 1 else query.page}
        return {key: value for key, value in args.items() if value}

    @property
    def filtered(self) -> bool:
        return bool(self.status or self.landing_page or self.campaign)


@dataclass(frozen=True)
class CartRow:
    """A list row: ``subtotal_cents`` at current prices, before discounts, shipping and tax."""

    cart: Cart
    lines: int
    items: int
    subtotal_cents: int
    landing_title: str | None
    campaign: str | None

    @property
    def email(self) -> str | None:
        return (self.cart.checkout_fields or {}).get("email")


@dataclass(frozen=True)
class CartPage:
    rows: list[CartRow]
    total: int
    pages: int
    query: CartQuery
    landing_pages: list[tuple[int, str]]
    campaigns: list[str]

    @property
    def first(self) -> int:
        return (self.query.page - 1) * PER_PAGE + 1

    @property
    def last(self) -> int:
        return self.first + len(self.rows) - 1


def _filters(statement, query: CartQuery, now: datetime):
    if query.status == "abandoned":
        statement = statement.where(Cart.status.not_in(("CONVERTED", "MERGED")), Cart.updated_at <= now - ABANDONED_AFTER)
    elif query.status:
        statement = statement.where(Cart.status == query.status)
    if query.landing_page:
        statement = statement.where(Cart.landing_page_id == query.landing_page)
    if query.campaign:
        statement = statement.where(Visit.utm_campaign == query.campaign)
    return statement


def search_carts(query: CartQuery, now: datetime | None = None) -> CartPage:
    """One page of the merchant's carts (PER_PAGE), filtered and sorted, plus the filter
    choices: the merchant's landing pages and the UTM campaigns their carts came from.
    Four queries whatever the page size."""
    now = now or utcnow()
    company_id = current_company_id()
    totals = (
        db.select(LineItem.cart_id.label("cart_id"), func.count(LineItem.id).label("lines"),
                  func.sum(LineItem.quantity).label("items"),
                  func.sum(LineItem.quantity * Variant.price_cents).label("subtotal"))
        .join(Variant, Variant.id == LineItem.variant_id)
        .join(Cart, Cart.id == LineItem.cart_id)
        .where(Cart.company_id == company_id)
        .group_by(LineItem.cart_id)
        .subquery()
    )
    subtotal = func.coalesce(totals.c.subtotal, 0)
    counting = _filters(scoped(Cart, func.count(Cart.id)).select_from(Cart).outerjoin(Visit, Visit.id == Cart.visit_id), query, now)
    total = db.session.execute(counting).scalar_one()
    pages = max(1, math.ceil(total / PER_PAGE))
    query = replace(query, page=min(query.page, pages))
    key = subtotal if query.sort == "value" else Cart.updated_at
    order = (key.asc(), Cart.id.asc()) if query.direction == "asc" else (key.desc(), Cart.id.desc())
    statement = (
        scoped(Cart, Cart, func.coalesce(totals.c.lines, 0), func.coalesce(totals.c["items"], 0), subtotal,
               LandingPage.title, Visit.utm_campaign)
        .outerjoin(totals, totals.c.cart_id == Cart.id)
        .outerjoin(LandingPage, LandingPage.id == Cart.landing_page_id)
        .outerjoin(Visit, Visit.id == Cart.visit_id)
    )
    rows = db.session.execute(
        _filters(statement, query, now).order_by(*order).limit(PER_PAGE).offset((query.page - 1) * PER_PAGE)
    ).all()
    landing_pages = db.session.execute(
        scoped(LandingPage, LandingPage.id, LandingPage.title).order_by(LandingPage.title, LandingPage.id)
    ).all()
    campaigns = db.session.execute(
        scoped(Cart, Visit.utm_campaign).select_from(Cart).join(Visit, Visit.id == Cart.visit_id)
        .where(Visit.utm_campaign.is_not(None), Visit.utm_campaign != "")
        .distinct().order_by(Visit.utm_campaign).limit(200)
    ).scalars().all()
    return CartPage(
        rows=[CartRow(cart, int(lines), int(items), int(value), title, campaign)
              for cart, lines, items, value, title, campaign in rows],
        total=total, pages=pages, query=query, landing_pages=[(i, t) for i, t in landing_pages], campaigns=list(campaigns),
    )


@dataclass(frozen=True)
class CartDetail:
    """One cart: ``info`` (lines at current prices), ``priced`` (what checkout would charge
    now), its ``visit`` and ``landing_page`` (attribution), its ``order`` when converted,
    and the cart it was merged into, if any."""

    cart: Cart
    info: CartInfo
    priced: PricedCart
    visit: Visit | None
    landing_page: LandingPage | None
    order: Order | None
    merged_into: Cart | None

    @property
    def email(self) -> str | None:
        return (self.cart.checkout_fields or {}).get("email")

    @property
    def abandoned(self) -> bool:
        return self.cart.status not in ("CONVERTED", "MERGED") and self.cart.updated_at <= utcnow() - ABANDONED_AFTER


def cart_detail(cart: Cart) -> CartDetail:
    """Everything the detail page shows of ``cart`` (already scoped by the caller); rows of
    another merchant are never returned."""
    info = cart_info(cart)
    visit = db.session.get(Visit, cart.visit_id) if cart.visit_id else None
    if visit is not None and visit.company_id != cart.company_id:
        visit = None
    page_id = cart.landing_page_id or (visit.landing_page_id if visit else None)
    landing_page = db.session.execute(scoped(LandingPage).where(LandingPage.id == page_id)).scalar_one_or_none() \
        if page_id else None
    order = db.session.execute(
        scoped(Order).where(Order.cart_id == cart.id)).scalar_one_or_none()
    merged_into = db.session.execute(
        scoped(Cart).where(Cart.id == cart.merged_into_id)).scalar_one_or_none() if cart.merged_into_id else None
    return CartDetail(cart, info, price_cart(cart, info), visit, landing_page, order, merged_into)
