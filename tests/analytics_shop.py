"""A merchant's random commerce traffic for the analytics tests: a page of two products in
categories (a third product sells without being on the page), visits with page views and
adds to cart, orders with lines and carts left with lines, of several source types, with
the product, source type and category rollups they must give counted here in Python,
independently of the rollups' SQL."""
from __future__ import annotations

import random
from collections import Counter, defaultdict
from datetime import timedelta

from analytics_data import hour_of
from factories import make_page, make_product

from storefront.analytics.commerce import TABLES
from storefront.analytics.commerce_models import DAILY
from storefront.cart.models import Cart, LineItem
from storefront.catalog.models import Category
from storefront.checkout.models import Order, OrderLine
from storefront.extensions import db as _db
from storefront.types import new_token
from storefront.visits.models import Visit, VisitEvent


class Shop:
    """Random traffic on one merchant's page of two products (a third product sells
    without being on the page), with the expected rollups counted here."""

    def __init__(self, company, seed: int):
        self.rng = random.Random(seed)
        self.company = company
        shirts = Category(company_id=company.id, name="Shirts", slug=f"shirts-{company.id}")
        hats = Category(company_id=company.id, name="Hats", slug=f"hats-{company.id}")
        _db.session.add_all([shirts, hats])
        self.products = [make_product(company, title=f"Tee {company.id}"),
                         make_product(company, title=f"Cap {company.id}"),
                         make_product(company, title=f"Sock {company.id}")]
        self.products[0].categories.append(shirts)
        self.products[1].categories.extend([shirts, hats])
        self.category_of = {self.products[0].id: {shirts.id}, self.products[1].id: {shirts.id, hats.id},
                            self.products[2].id: set()}
        self.page = make_page(company, self.products[:2], slug=f"sale-{company.id}")
        self.product: dict[tuple, Counter] = defaultdict(Counter)
        self.source: dict[tuple, Counter] = defaultdict(Counter)
        self.category: dict[tuple, Counter] = defaultdict(Counter)

    def key(self, part, at):
        return (self.company.id, part, hour_of(at))

    def visit(self, at) -> Visit:
        visit = Visit(token=new_token(), company_id=self.company.id, landing_page_id=self.page.id,
                      visitor_id=new_token(), started_at=at, last_activity_at=at)
        _db.session.add(visit)
        _db.session.flush()
        return visit

    def event(self, visit, kind, at, payload=None):
        _db.session.add(VisitEvent(visit_id=visit.id, company_id=self.company.id, landing_page_id=self.page.id,
                                   type=kind, payload=payload or {}, created_at=at))

    def lines(self):
        chosen = self.rng.sample(self.products, self.rng.randrange(1, 4))
        return [(p, self.rng.randrange(1, 4)) for p in chosen]

    def order(self, visit, at, source_type):
        lines = self.lines()
        paid = self.rng.randrange(500, 9000)
        order = Order(company_id=self.company.id, number=new_token()[:12], token=new_token(), currency="USD",
                      subtotal_cents=paid, total_cents=paid, amount_paid_cents=paid, source_type=source_type,
                      landing_page_id=self.page.id, visit_id=visit.id, created_at=at)
        _db.session.add(order)
        _db.session.flush()
        for product, quantity in lines:
            _db.session.add(OrderLine(order_id=order.id, variant_id=product.variants[0].id, product_title=product.title,
                                      unit_price_cents=1000, quantity=quantity, line_total_cents=1000 * quantity))
            self.product[self.key(product.id, at)].update(orders=1, units_sold=quantity, revenue_cents=1000 * quantity)
        for category in set().union(*(self.category_of[p.id] for p, _q in lines)):
            self.category[self.key(category, at)]["orders"] += 1
        self.source[self.key(source_type, at)].update(orders=1, revenue_cents=paid,
                                                      units_ordered=sum(q for _p, q in lines))
        return order

    def cart(self, visit, at, status, source_type):
        lines = self.lines()
        cart = Cart(token=new_token(), company_id=self.company.id, visit_id=visit.id, landing_page_id=self.page.id,
                    currency="USD", status=status, source_type=source_type,
                    checkout_fields={"email": "x@example.test"}, created_at=at, updated_at=at)
        _db.session.add(cart)
        _db.session.flush()
        for product, quantity in lines:
            _db.session.add(LineItem(cart_id=cart.id, variant_id=product.variants[0].id, quantity=quantity,
                                     unit_price_cents=1000))
        if status in ("ABANDONED", "EXPIRED"):
            for product, _q in lines:
                self.product[self.key(product.id, at)]["abandoned_carts"] += 1
            for category in set().union(*(self.category_of[p.id] for p, _q in lines)):
                self.category[self.key(category, at)]["abandoned_carts"] += 1
            self.source[self.key(source_type, at)].update(abandoned_carts=1,
                                                          units_abandoned=sum(q for _p, q in lines))
        return cart

    def traffic(self, start, hours, n):
        for _ in range(n):
            at = start + timedelta(seconds=self.rng.randrange(hours * 3600))
            visit = self.visit(at)
            for _ in range(self.rng.randrange(1, 4)):
                self.event(visit, "page_view", at)
                for product in self.products[:2]:
                    self.product[self.key(product.id, at)]["views"] += 1
            if self.rng.random() < 0.5:
                product = self.rng.choice(self.products)
                quantity = self.rng.randrange(1, 3)
                self.event(visit, "add_to_cart", at, {"variant_id": product.variants[0].id, "quantity": quantity,
                                                      "price_cents": 2000})
                self.product[self.key(product.id, at)].update(adds=1, units_added=quantity)
            source = self.rng.choice(["LANDING_PAGE", "EMAIL", "DIRECT"])
            roll = self.rng.random()
            if roll < 0.3:
                self.order(visit, at + timedelta(minutes=2), source)
            elif roll < 0.6:
                self.cart(visit, at, self.rng.choice(["ABANDONED", "EXPIRED", "ACTIVE"]), source)
        _db.session.commit()


def summed(expected: dict[tuple, Counter], company_id: int, start, end) -> dict[object, Counter]:
    """Expected counters per key (product id, source type, category id) of one merchant over
    the hours [start, end), zero counters and keys left out."""
    totals: dict[object, Counter] = defaultdict(Counter)
    for (company, key, hour), counts in expected.items():
        if company == company_id and start <= hour < end:
            totals[key].update(counts)
    return {key: +counts for key, counts in totals.items() if +counts}


def days_and_their_hours() -> list[tuple[str, dict, dict]]:
    """For each commerce rollup: (daily table name, its rows, the sums of the hourly rows per
    UTC day), each {(company id, key, day): Counter}, zero rows left out; the two must be equal."""
    _db.session.rollback()
    result = []
    for hourly, key, counters, _sources in TABLES:
        from_hours: dict[tuple, Counter] = defaultdict(Counter)
        for row in _db.session.execute(_db.select(hourly)).scalars():
            day = row.hour.replace(hour=0)
            from_hours[(row.company_id, getattr(row, key), day)].update({n: getattr(row, n) for n in counters})
        daily = DAILY[hourly]
        days = {(r.company_id, getattr(r, key), r.day): +Counter({n: getattr(r, n) for n in counters})
                for r in _db.session.execute(_db.select(daily)).scalars()}
        result.append((daily.__tablename__, {k: v for k, v in days.items() if v},
                       {k: +v for k, v in from_hours.items() if +v}))
    return result
