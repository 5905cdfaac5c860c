"""Random shop traffic for the analytics tests: visits, their events, carts, orders and
leads at chosen times, written through the models, with the counts a rollup must give
worked out here in Python, independently of the rollup's SQL."""
from __future__ import annotations

import random
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta

from storefront.cart.models import Cart, LineItem
from storefront.checkout.models import Order
from storefront.extensions import db
from storefront.leads.models import Lead
from storefront.types import new_token
from storefront.visits.models import Visit, VisitEvent

SOURCES = [(None, None, None), ("google", "cpc", "spring"), ("meta", "paid", "spring"), ("newsletter", "email", "june")]


def hour_of(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


class Traffic:
    """Everything written, and ``expected``: {(company_id, hour): Counter of counters}."""

    def __init__(self, seed: int):
        self.rng = random.Random(seed)
        self.expected: dict[tuple[int, datetime], Counter] = defaultdict(Counter)
        self.first_add: dict[int, tuple[int, datetime]] = {}

    def count(self, company_id: int, moment: datetime, **counters) -> None:
        self.expected[(company_id, hour_of(moment))].update(counters)

    def visit(self, company, page, at: datetime, visitor: str | None = None, source=None) -> Visit:
        utm = source if source is not None else self.rng.choice(SOURCES)
        visit = Visit(token=new_token(), company_id=company.id, landing_page_id=page.id if page else None,
                      visitor_id=visitor or new_token(), utm_source=utm[0], utm_medium=utm[1], utm_campaign=utm[2],
                      started_at=at, last_activity_at=at)
        db.session.add(visit)
        db.session.flush()
        self.count(company.id, at, visits=1)
        return visit

    def event(self, visit: Visit, kind: str, at: datetime, payload=None, key: str | None = None) -> VisitEvent:
        event = VisitEvent(visit_id=visit.id, company_id=visit.company_id, landing_page_id=visit.landing_page_id,
                           type=kind, payload=payload or {}, created_at=at, event_key=key)
        db.session.add(event)
        counter = {"page_view": "page_views", "checkout_started": "checkout_starts",
                   "payment_submitted": "payments_submitted"}.get(kind)
        if counter:
            self.count(visit.company_id, at, **{counter: 1})
        if kind == "add_to_cart":
            before = self.first_add.get(visit.id)
            if before is None or at < before[1]:
                if before is not None:
                    self.count(visit.company_id, before[1], add_to_cart_visits=-1)
                self.first_add[visit.id] = (visit.company_id, at)
                self.count(visit.company_id, at, add_to_cart_visits=1)
        return event

    def order(self, visit: Visit, at: datetime, cents: int) -> Order:
        cart = Cart(token=new_token(), company_id=visit.company_id, visit_id=visit.id,
                    landing_page_id=visit.landing_page_id, currency="USD", status="CONVERTED")
        db.session.add(cart)
        db.session.flush()
        order = Order(company_id=visit.company_id, number=new_token()[:12], token=new_token(), cart_id=cart.id,
                      currency="USD", subtotal_cents=cents, total_cents=cents, amount_paid_cents=cents,
                      landing_page_id=visit.landing_page_id, visit_id=visit.id, utm_source=visit.utm_source,
                      utm_medium=visit.utm_medium, utm_campaign=visit.utm_campaign, created_at=at)
        db.session.add(order)
        self.count(visit.company_id, at, orders=1, revenue_cents=cents, revenue_sq_cents=cents * cents)
        return order

    def abandoned_cart(self, visit: Visit, variant_id: int, at: datetime, status="ABANDONED") -> Cart:
        cart = Cart(token=new_token(), company_id=visit.company_id, visit_id=visit.id,
                    landing_page_id=visit.landing_page_id, currency="USD", status=status,
                    checkout_fields={"email": f"{new_token()[:8]}@example.test"}, created_at=at, updated_at=at)
        db.session.add(cart)
        db.session.flush()
        db.session.add(LineItem(cart_id=cart.id, variant_id=variant_id, quantity=1, unit_price_cents=1000))
        self.count(visit.company_id, at, abandoned_carts=1)
        return cart

    def lead(self, visit: Visit, at: datetime) -> Lead:
        email = self.rng.random() < 0.8
        phone = self.rng.random() < 0.4
        name = self.rng.random() < 0.5
        address = self.rng.random() < 0.3
        lead = Lead(company_id=visit.company_id, email=f"{new_token()[:10]}@example.test" if email else None,
                    phone=f"+1555{self.rng.randrange(10**7):07d}" if phone else None,
                    first_name="Ada" if name else None, address={"address1": "1 Main St"} if address else {},
                    landing_page_id=visit.landing_page_id, visit_id=visit.id, created_at=at)
        db.session.add(lead)
        self.count(visit.company_id, at, new_leads=1, leads_with_email=int(email), leads_with_phone=int(phone),
                   leads_with_name=int(name), leads_with_address=int(address))
        return lead

    def shoppers(self, company, page, variant_id: int, start: datetime, hours: int, n: int) -> None:
        """``n`` visits spread over ``hours`` from ``start``, each walking the funnel some way."""
        visitors = [new_token() for _ in range(max(1, n // 2))]
        for _ in range(n):
            at = start + timedelta(seconds=self.rng.randrange(hours * 3600))
            visit = self.visit(company, page, at, visitor=self.rng.choice(visitors))
            step = lambda: timedelta(seconds=self.rng.randrange(1, 3000))  # noqa: E731
            self.event(visit, "page_view", at, {"slug": "x"})
            for _ in range(self.rng.randrange(3)):
                at += step()
                self.event(visit, "page_view", at, {"returning": True})
            if self.rng.random() < 0.4:
                for _ in range(self.rng.randrange(1, 3)):
                    at += step()
                    self.event(visit, "add_to_cart", at)
                if self.rng.random() < 0.5:
                    at += step()
                    self.event(visit, "checkout_started", at)
                    if self.rng.random() < 0.6:
                        at += step()
                        self.lead(visit, at)
                    if self.rng.random() < 0.6:
                        at += step()
                        self.event(visit, "payment_submitted", at)
                        self.order(visit, at, self.rng.randrange(500, 20000))
                    elif self.rng.random() < 0.5:
                        self.abandoned_cart(visit, variant_id, at)
        db.session.commit()

    def unique_visitors(self) -> dict[tuple[int, datetime], int]:
        """Distinct visitors per (company, hour), counted per rollup key (page and UTM) and
        summed: a visitor who came from two campaigns in one hour is one for each."""
        seen: dict[tuple, set] = defaultdict(set)
        for visit in db.session.execute(db.select(Visit)).scalars():
            key = (visit.company_id, hour_of(visit.started_at), visit.landing_page_id, visit.utm_source,
                   visit.utm_medium, visit.utm_campaign)
            seen[key].add(visit.visitor_id)
        totals: Counter = Counter()
        for key, ids in seen.items():
            totals[key[:2]] += len(ids)
        return dict(totals)
