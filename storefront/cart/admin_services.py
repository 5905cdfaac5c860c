"""Cart admin queries: the filtered, sorted list of a merchant's carts, and where one cart
came from (its visit, landing page and the cart it was merged into).

The list computes every row's line count, item count and subtotal (at the variants'
current prices, as the drawer does) in one aggregate query, so its cost does not grow
with the rows shown. The cart detail page (``admin.carts``) adds the totals from pricing
and the order from checkout: this module reads nothing above the cart.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlalchemy import Select, func

from storefront.accounts.scoping import current_company_id, scoped
from storefront.cart.models import CART_STATUSES, Cart, LineItem
from storefront.catalog.models import Variant
from storefront.extensions import db
from storefront.inputs import optional_int
from storefront.landing.models import LandingPage
from storefront.types import utcnow
from storefront.visits.models import Visit

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


def cart_statements(query: CartQuery, now: datetime | None = None) -> tuple[Select, Select]:
    """(rows, count) of the merchant's carts matching ``query``, sorted as it asks; each row
    is the ``cart_row`` columns: the cart, its line and item counts and subtotal (one grouped
    subquery), its landing page's title and UTM campaign. Page them with
    ``admin.kit.paginate``."""
    now = now or utcnow()
    totals = (
        db.select(LineItem.cart_id.label("cart_id"), func.count(LineItem.id).label("lines"),
                  func.sum(LineItem.quantity).label("items"),
                  func.sum(LineItem.quantity * Variant.price_cents).label("subtotal"))
        .join(Variant, Variant.id == LineItem.variant_id)
        .join(Cart, Cart.id == LineItem.cart_id)
        .where(Cart.company_id == current_company_id())
        .group_by(LineItem.cart_id)
        .subquery()
    )
    subtotal = func.coalesce(totals.c.subtotal, 0)
    count = _filters(scoped(Cart, func.count(Cart.id)).select_from(Cart).outerjoin(Visit, Visit.id == Cart.visit_id),
                     query, now)
    key = subtotal if query.sort == "value" else Cart.updated_at
    order = (key.asc(), Cart.id.asc()) if query.direction == "asc" else (key.desc(), Cart.id.desc())
    rows = (
        scoped(Cart, Cart, func.coalesce(totals.c.lines, 0), func.coalesce(totals.c["items"], 0), subtotal,
               LandingPage.title, Visit.utm_campaign)
        .outerjoin(totals, totals.c.cart_id == Cart.id)
        .outerjoin(LandingPage, LandingPage.id == Cart.landing_page_id)
        .outerjoin(Visit, Visit.id == Cart.visit_id)
    )
    return _filters(rows, query, now).order_by(*order), count


def cart_row(cart: Cart, lines, items, subtotal, landing_title: str | None, campaign: str | None) -> CartRow:
    """A list row from ``cart_statements``' columns."""
    return CartRow(cart, int(lines), int(items), int(subtotal), landing_title, campaign)


def cart_filter_choices() -> tuple[list[tuple[int, str]], list[str]]:
    """The list's filter choices: the merchant's landing pages as (id, title), and the UTM
    campaigns their carts came from (at most 200). Two queries."""
    landing_pages = db.session.execute(
        scoped(LandingPage, LandingPage.id, LandingPage.title).order_by(LandingPage.title, LandingPage.id)
    ).all()
    campaigns = db.session.execute(
        scoped(Cart, Visit.utm_campaign).select_from(Cart).join(Visit, Visit.id == Cart.visit_id)
        .where(Visit.utm_campaign.is_not(None), Visit.utm_campaign != "")
        .distinct().order_by(Visit.utm_campaign).limit(200)
    ).scalars().all()
    return [(i, t) for i, t in landing_pages], list(campaigns)


@dataclass(frozen=True)
class CartOrigin:
    """Where a cart came from: its ``visit`` and ``landing_page`` (attribution), and the
    cart it was ``merged_into``, if any; each None when absent or another merchant's."""

    visit: Visit | None
    landing_page: LandingPage | None
    merged_into: Cart | None


def cart_origin(cart: Cart) -> CartOrigin:
    """The origin of ``cart`` (already scoped by the caller); rows of another merchant are
    never returned."""
    visit = db.session.get(Visit, cart.visit_id) if cart.visit_id else None
    if visit is not None and visit.company_id != cart.company_id:
        visit = None
    page_id = cart.landing_page_id or (visit.landing_page_id if visit else None)
    landing_page = db.session.execute(scoped(LandingPage).where(LandingPage.id == page_id)).scalar_one_or_none() \
        if page_id else None
    merged_into = db.session.execute(
        scoped(Cart).where(Cart.id == cart.merged_into_id)).scalar_one_or_none() if cart.merged_into_id else None
    return CartOrigin(visit, landing_page, merged_into)


def is_abandoned(cart: Cart, now: datetime | None = None) -> bool:
    """Not converted or merged, and last updated over ABANDONED_AFTER ago."""
    return cart.status not in ("CONVERTED", "MERGED") and cart.updated_at <= (now or utcnow()) - ABANDONED_AFTER
