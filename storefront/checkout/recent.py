"""Recent purchases on a landing page: real paid orders of that page, anonymised.

"Someone in Austin bought Hoodie 5 min ago": the city the order ships to and the title of
its first line, nothing else (no name, email or address line). Built only from PAID orders
attributed to the page in the last 48 hours; none means nothing is shown.

"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func

from storefront.checkout.models import Order, OrderLine
from storefront.extensions import db
from storefront.landing.models import LandingPage
from storefront.types import utcnow

WINDOW = timedelta(hours=48)
MAX_SHOWN = 3
MAX_CITY = 60


@dataclass(frozen=True)
class RecentPurchase:
    """One anonymised order: ``city`` may be None (then "Someone bought ...");
    ``minutes_ago`` is whole minutes since it was paid."""

    city: str | None
    product_title: str
    minutes_ago: int

    @property
    def ago(self) -> str:
        """"just now", "5 min ago", "3 h ago" (rounded down: never younger than it is)."""
        if self.minutes_ago < 1:
            return "just now"
        if self.minutes_ago < 60:
            return f"{self.minutes_ago} min ago"
        return f"{self.minutes_ago // 60} h ago"


def _city(address) -> str | None:
    city = address.get("city") if isinstance(address, dict) else None
    if not isinstance(city, str):
        return None
    city = " ".join(city.split())[:MAX_CITY]
    return city or None


def recent_purchases(page: LandingPage, now: datetime | None = None, limit: int = MAX_SHOWN) -> list[RecentPurchase]:
    """The page's ``limit`` newest PAID orders of the last 48 hours, newest first (one query)."""
    now = now or utcnow()
    first_line = (
        db.select(func.min(OrderLine.id)).where(OrderLine.order_id == Order.id).correlate(Order).scalar_subquery()
    )
    rows = db.session.execute(
        db.select(Order.created_at, Order.shipping_address, OrderLine.product_title)
        .join(OrderLine, OrderLine.id == first_line)
        .where(Order.landing_page_id == page.id, Order.company_id == page.company_id,
               Order.status == "PAID", Order.created_at >= now - WINDOW, Order.created_at <= now)
        .order_by(Order.created_at.desc(), Order.id.desc())
        .limit(limit)
    ).all()
    return [
        RecentPurchase(city=_city(address), product_title=title,
                       minutes_ago=max(0, int((now - created_at).total_seconds() // 60)))
        for created_at, address, title in rows
    ]
