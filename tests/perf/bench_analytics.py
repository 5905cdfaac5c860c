"""Analytics at scale: the rollup refresh, the dashboard and the experiment results over a
generated event log. It prints figures and asserts nothing but that the rollups count every
event once.

    TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/storefront_test \
        BENCH_VISITS=100000 .venv/bin/python tests/perf/bench_analytics.py

1. Drops and recreates ``storefront_bench_analytics`` (BENCH_DATABASE) beside the test
   database, runs the migrations, makes one merchant with an owner and 20 landing pages.
2. Generates with ``INSERT ... SELECT generate_series`` BENCH_VISITS visits (default 100,000;
   1,000,000 is the issue's scale) over 90 days from 50 campaigns, 10 events per visit
   (page views, adds to cart of the page's products, checkout starts, payments), carts
   (abandoned or converted, of three source types) with their lines, orders for one visit in
   ten with theirs, 20 products in 5 categories, and two running experiments with their
   exposures.
3. Prints: the first refresh (all 90 days), the rewrite of one hour of about 100,000
   events (BENCH_BURST_VISITS visits of ten events, added two days back), a second refresh
   (nothing new), the dashboard's p50/p95 over 7, 30 and 90 days and the experiment results
   page's, through the Flask test client signed in; the sizes on
   disk of the event log and the rollups, with EXPLAIN ANALYZE of a retention batch and of
   one day's events on the BRIN index; checks that the rollups' page views equal the event
   log's; then purges the oldest 30 days (retention 60 days) and checks the rollups kept
   their counts.

``BENCH_REUSE=1`` skips steps 1 and 2 and the refresh, rewrite and purge of step 3: it reuses
the database a full run left (BENCH_DATABASE, as it is: its oldest 30 days of events purged,
the rollups whole) and measures only the screens: for measuring a change to the dashboard's
queries without generating again. Both modes also time each dashboard part apart
(``dashboard.build``'s queries: the range per page and UTM, the period before's totals, the
daily series, the commerce tables) before the screens.
"""
from __future__ import annotations

import os
import re
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
BENCH_DATABASE = os.environ.get("BENCH_DATABASE", "storefront_bench_analytics")
VISITS = int(os.environ.get("BENCH_VISITS", "100000"))
DAYS, PAGES, CAMPAIGNS, REQUESTS, PRODUCTS = 90, 20, 50, 15, 20
BURST = int(os.environ.get("BENCH_BURST_VISITS", "10000"))
REUSE = os.environ.get("BENCH_REUSE") == "1"
PASSWORD, OWNER = "bench password 123", "owner@bench.test"

VISITS_SQL = """
INSERT INTO visits (token, company_id, landing_page_id, visitor_id, utm_source, utm_medium, utm_campaign,
                    started_at, last_activity_at, capture_opt_out)
SELECT md5('v' || g), :company, :first_page + g % :pages, md5('visitor' || (g % (:visits / 3 + 1))),
       (ARRAY['google', 'meta', 'tiktok', 'newsletter', 'bing'])[1 + g % 5], 'cpc', 'campaign-' || (g % :campaigns),
       :start + (g * (CAST(:seconds AS float8) / :visits)) * interval '1 second',
       :start + (g * (CAST(:seconds AS float8) / :visits)) * interval '1 second', false
FROM generate_series(1, :visits) AS g
"""
# Ten events a visit: page views, then an add to cart (1 in 3, of one of the page's
# products), a checkout (1 in 6) and a payment (1 in 10), thirty seconds apart. Written in
# time order, as the visit buffer's flush writes them (the BRIN index on time relies on it).
EVENTS_SQL = """
INSERT INTO visit_events (visit_id, company_id, landing_page_id, type, payload, created_at)
SELECT v.id, v.company_id, v.landing_page_id,
       CASE WHEN k = 7 AND v.id % 3 = 0 THEN 'add_to_cart' WHEN k = 8 AND v.id % 6 = 0 THEN 'checkout_started'
            WHEN k = 9 AND v.id % 10 = 0 THEN 'payment_submitted' ELSE 'page_view' END,
       CASE WHEN k = 7 AND v.id % 3 = 0
            THEN json_build_object('variant_id', :first_variant + (v.landing_page_id - :first_page + v.id % 4) % :products,
                                   'quantity', 1 + v.id % 2, 'price_cents', 2000)
            ELSE '{}'::json END,
       v.started_at + k * interval '30 seconds'
FROM visits v CROSS JOIN generate_series(0, 9) AS k
WHERE v.id > :visits_before
ORDER BY v.started_at + k * interval '30 seconds'
"""
CARTS_SQL = """
INSERT INTO carts (token, company_id, visit_id, landing_page_id, source_type, status, currency, version,
                   checkout_fields, created_at, updated_at)
SELECT md5('c' || v.id), v.company_id, v.id, v.landing_page_id,
       CASE WHEN v.id % 7 = 0 THEN 'EMAIL' WHEN v.id % 11 = 0 THEN 'DIRECT' ELSE 'LANDING_PAGE' END,
       CASE WHEN v.id % 10 = 0 THEN 'CONVERTED' ELSE 'ABANDONED' END, 'USD', 1,
       json_build_object('email', 'shopper' || v.id || '@example.com'), v.started_at, v.started_at + interval '5 minutes'
FROM visits v WHERE (v.id % 3 = 0 OR v.id % 10 = 0) AND v.id > :visits_before
"""
# One or two lines a cart, of the page's products.
LINES_SQL = """
INSERT INTO line_items (cart_id, variant_id, quantity, unit_price_cents, created_at)
SELECT c.id, :first_variant + (c.landing_page_id - :first_page + c.visit_id % 4 + n) % :products, 1 + (c.id + n) % 3,
       2000, c.created_at
FROM carts c CROSS JOIN generate_series(0, 1) AS n WHERE n = 0 OR c.id % 2 = 0
"""
ORDER_LINES_SQL = """
INSERT INTO order_lines (order_id, variant_id, product_title, variant_title, unit_price_cents, quantity,
                         line_total_cents, discount_cents, tax_cents)
SELECT o.id, li.variant_id, 'Product', '', li.unit_price_cents, li.quantity, li.unit_price_cents * li.quantity, 0, 0
FROM orders o JOIN line_items li ON li.cart_id = o.cart_id
"""
ORDERS_SQL = """
INSERT INTO orders (company_id, number, token, cart_id, shipping_address, currency, subtotal_cents, total_cents,
                    amount_paid_cents, status, source_type, landing_page_id, visit_id, utm_source, utm_medium,
                    utm_campaign, created_at)
SELECT c.company_id, 'B' || c.id, md5('o' || c.id), c.id, '{}'::json, 'USD', 2000 + c.id % 8000,
       2000 + c.id % 8000, 2000 + c.id % 8000, 'PAID', c.source_type, v.landing_page_id, v.id, v.utm_source,
       v.utm_medium, v.utm_campaign, v.started_at + interval '6 minutes'
FROM carts c JOIN visits v ON v.id = c.visit_id WHERE c.status = 'CONVERTED'
"""
# The busiest hour: BURST visits of ten events each in one hour, for the rewrite of one
# hour with about 100,000 events.
BURST_VISITS_SQL = """
INSERT INTO visits (token, company_id, landing_page_id, visitor_id, utm_source, utm_medium, utm_campaign,
                    started_at, last_activity_at, capture_opt_out)
SELECT md5('burst' || g), :company, :first_page + g % :pages, md5('burst-visitor' || g), 'google', 'cpc',
       'campaign-' || (g % :campaigns), :hour + (g * 3300.0 / :burst) * interval '1 second',
       :hour + (g * 3300.0 / :burst) * interval '1 second', false
FROM generate_series(1, :burst) AS g
"""
# Exposures: every visitor of the two experiments' pages, split 50/50 by their id.
EXPOSURES_SQL = """
INSERT INTO experiment_exposures (company_id, experiment_id, variant_id, visitor_id, created_at)
SELECT DISTINCT ON (e.id, v.visitor_id) v.company_id, e.id,
       (SELECT ev.id FROM experiment_variants ev WHERE ev.experiment_id = e.id
        ORDER BY ev.position OFFSET (abs(hashtext(v.visitor_id)) % 2) LIMIT 1),
       v.visitor_id, v.started_at
FROM visits v JOIN experiments e ON e.landing_page_id = v.landing_page_id AND v.started_at >= e.started_at
ORDER BY e.id, v.visitor_id, v.started_at
"""


def bench_url() -> str:
    raw = os.environ.get("TEST_DATABASE_URL")
    if not raw:
        sys.exit("Set TEST_DATABASE_URL to a PostgreSQL server (the bench database is created beside it).")
    url = make_url(raw).set(drivername="postgresql+psycopg")
    if REUSE:
        return url.set(database=BENCH_DATABASE).render_as_string(hide_password=False)
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{BENCH_DATABASE}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{BENCH_DATABASE}"'))
    admin.dispose()
    return url.set(database=BENCH_DATABASE).render_as_string(hide_password=False)


def timed(label: str, func):
    started = time.perf_counter()
    result = func()
    print(f"{label}: {time.perf_counter() - started:.2f} s")
    return result


def percentiles(client, url: str) -> str:
    times = []
    for _ in range(REQUESTS):
        started = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (url, response.status_code)
    times.sort()
    return f"p50 {statistics.median(times):.0f} ms, p95 {times[int(len(times) * 0.95) - 1]:.0f} ms"


def explain_time_index(db, start: datetime) -> None:
    """EXPLAIN ANALYZE of the two reads on time the event log serves: one retention batch
    (the oldest month's ids, one merchant) and one day's events; index sizes beside."""
    for label, sql in (
        ("retention batch (5,000 ids older than 30 days)",
         "SELECT id FROM visit_events WHERE created_at < :cut AND company_id = 1 LIMIT 5000"),
        ("one day's events", "SELECT count(*) FROM visit_events WHERE created_at >= :day AND created_at < :day2"),
    ):
        plan = db.session.execute(text(f"EXPLAIN (ANALYZE, COSTS OFF) {sql}"), {
            "cut": start + timedelta(days=30), "day": start + timedelta(days=45),
            "day2": start + timedelta(days=46)}).scalars().all()
        scan = next((line.strip() for line in plan if "Scan" in line), plan[0].strip())
        print(f"  {label}: {plan[-1].strip()} ({scan})")
    sizes = db.session.execute(text(
        "SELECT indexrelname, pg_size_pretty(pg_relation_size(indexrelid)) FROM pg_stat_user_indexes "
        "WHERE relname = 'visit_events' ORDER BY indexrelname")).all()
    print("  visit_events indexes: " + ", ".join(f"{name} {size}" for name, size in sizes))


def generate(app, now: datetime, start: datetime) -> int:
    """Steps 1 to 3 before the screens: the merchant, the generated data, the refreshes and
    the event-count check. Returns the page views in the rollups."""
    from flask_migrate import upgrade
    from werkzeug.security import generate_password_hash

    from storefront.accounts.models import Company, User
    from storefront.analytics.experiments import create_experiment
    from storefront.analytics.models import HourlyRollup
    from storefront.analytics.rollups import HOUR, _rewrite, floor_hour, refresh
    from storefront.catalog.models import Category, Product, Variant
    from storefront.extensions import db
    from storefront.landing.models import LandingPage, LandingPageProduct, Section
    from storefront.visits.models import VisitEvent

    with app.app_context():
        upgrade()
        company = Company(name="Bench Shop", slug="bench", currency="USD", timezone="America/New_York")
        db.session.add(company)
        db.session.flush()
        db.session.add(User(company_id=company.id, email=OWNER, password_hash=generate_password_hash(PASSWORD),
                            role="owner", session_nonce="bench"))
        pages = [LandingPage(company_id=company.id, slug=f"page-{n}", title=f"Page {n}", status="published")
                 for n in range(PAGES)]
        db.session.add_all(pages)
        # PRODUCTS products in five categories; each page shows four of them in a grid (no hero:
        # the experiments' variant B is a plain copy of its page, as the rollups only need the split).
        categories = [Category(company_id=company.id, name=f"Category {n}", slug=f"category-{n}") for n in range(5)]
        products = [Product(company_id=company.id, handle=f"product-{n}", title=f"Product {n}",
                            categories=[categories[n % 5]],
                            variants=[Variant(company_id=company.id, price_cents=2000, position=1)])
                    for n in range(PRODUCTS)]
        db.session.add_all([*categories, *products])
        db.session.flush()
        for n, page in enumerate(pages):
            grid = Section(landing_page_id=page.id, type="product_grid", position=1, settings={})
            db.session.add(grid)
            db.session.flush()
            db.session.add_all([LandingPageProduct(landing_page_id=page.id, section_id=grid.id,
                                                   product_id=products[(n + k) % PRODUCTS].id, position=k)
                                for k in range(4)])
        db.session.commit()
        first_variant = min(p.variants[0].id for p in products)
        experiments = []
        for page in pages[:2]:
            experiment = create_experiment(company.id, page.id, f"Test on {page.title}", "", "conversion_rate",
                                           [("Control", 50, None), ("B", 50, None)])
            experiment.status, experiment.started_at = "running", start
            experiments.append(experiment)
        db.session.commit()
        params = {"company": company.id, "first_page": pages[0].id, "pages": PAGES, "visits": VISITS,
                  "campaigns": CAMPAIGNS, "start": start, "seconds": DAYS * 86400, "visits_before": 0,
                  "first_variant": first_variant, "products": PRODUCTS}
        print(f"generating {VISITS:,} visits and {VISITS * 10:,} events over {DAYS} days, {PAGES} pages, "
              f"{CAMPAIGNS} campaigns, 2 running experiments")
        for label, sql in (("visits", VISITS_SQL), ("events", EVENTS_SQL), ("carts", CARTS_SQL),
                           ("cart lines", LINES_SQL), ("orders", ORDERS_SQL), ("order lines", ORDER_LINES_SQL),
                           ("exposures", EXPOSURES_SQL)):
            timed(f"  insert {label}", lambda sql=sql: db.session.execute(text(sql), params))
            db.session.commit()
        db.session.commit()
        # What autovacuum does after a bulk load: statistics, and the BRIN ranges summarised.
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))

        first = timed("refresh, first run (all 90 days)", lambda: refresh(now=now))
        db.session.execute(text("ANALYZE analytics_hourly"))
        db.session.commit()
        # The busiest hour: BURST visits (ten events each) two days ago.
        hour = floor_hour(now - timedelta(days=2))
        before = db.session.execute(text("SELECT max(id) FROM visits")).scalar()
        db.session.execute(text(BURST_VISITS_SQL), {**params, "hour": hour, "burst": BURST})
        db.session.execute(text(EVENTS_SQL), {**params, "visits_before": before})
        db.session.commit()
        burst = db.session.execute(text("SELECT count(*) FROM visit_events WHERE created_at >= :h "
                                        "AND created_at < :h + interval '1 hour'"), {"h": hour}).scalar()
        timed(f"rewrite of one hour ({burst:,} events)", lambda: _rewrite(hour, hour + HOUR, None))
        db.session.commit()
        again = timed("refresh, second run (nothing new: the grace window)", lambda: refresh(now=now))
        print(f"  rollup rows: {first.rows:,} written by the first run, {again.rows:,} by the second")

        events = db.session.execute(
            db.select(db.func.count()).select_from(VisitEvent).where(VisitEvent.type == "page_view")).scalar()
        rolled = db.session.execute(db.select(db.func.sum(HourlyRollup.page_views))).scalar()
        print(f"page views: {events:,} in the event log, {rolled:,} in the rollups"
              f" ({'equal' if events == rolled else 'DIFFERENT'})")
        return rolled


def parts(company_id: int, zone: str, today) -> None:
    """Each query group of ``dashboard.build`` timed apart (median of REQUESTS runs), per range."""
    from zoneinfo import ZoneInfo

    from storefront.analytics import breakdowns, dashboard

    for days in (7, 30, 90):
        span = dashboard.DateRange("custom", today - timedelta(days=days - 1), today, ZoneInfo(zone))
        before = span.previous()
        steps = {
            "per page and UTM": lambda span=span: dashboard.grouped(
                company_id, span.start, span.end, ("landing_page_id", "utm_source", "utm_medium", "utm_campaign")),
            "period before": lambda before=before: dashboard.totals(company_id, before.start, before.end),
            "series": lambda span=span: dashboard.series(company_id, span),
            "commerce tables": lambda span=span: breakdowns.build(company_id, span.start, span.end),
        }
        figures = []
        for label, step in steps.items():
            times = []
            for _ in range(REQUESTS):
                started = time.perf_counter()
                step()
                times.append((time.perf_counter() - started) * 1000)
            figures.append(f"{label} {statistics.median(times):.0f} ms")
        print(f"  dashboard parts, {days} days (median): " + ", ".join(figures))


def main() -> None:
    from storefront import create_app
    from storefront.accounts.models import Company
    from storefront.analytics.models import Experiment, HourlyRollup
    from storefront.analytics.retention import purge_events
    from storefront.analytics.rollups import grace, refresh
    from storefront.extensions import db

    app = create_app({"SQLALCHEMY_DATABASE_URI": bench_url(), "REDIS_URL": "", "WTF_CSRF_ENABLED": True,
                      "RATELIMIT_STORAGE_URI": "memory://", "SECRET_KEY": "bench"})
    now = datetime.now(UTC).replace(microsecond=0)
    start = now - timedelta(days=DAYS)
    rolled = None if REUSE else generate(app, now, start)
    with app.app_context():
        sizes = db.session.execute(text(
            "SELECT pg_size_pretty(pg_total_relation_size('visit_events')), "
            "pg_size_pretty(pg_total_relation_size('analytics_hourly')), "
            "(SELECT count(*) FROM analytics_hourly), pg_size_pretty(pg_total_relation_size('analytics_daily')), "
            "(SELECT count(*) FROM analytics_daily)")).one()
        print(f"on disk: visit_events {sizes[0]} (with indexes), analytics_hourly {sizes[1]} ({sizes[2]:,} rows), "
              f"analytics_daily {sizes[3]} ({sizes[4]:,} rows)")
        for name in ("analytics_product_hourly", "analytics_source_hourly", "analytics_category_hourly",
                     "analytics_product_daily", "analytics_source_daily", "analytics_category_daily"):
            size, rows = db.session.execute(text(
                f"SELECT pg_size_pretty(pg_total_relation_size('{name}')), (SELECT count(*) FROM {name})")).one()
            print(f"  {name} {size} ({rows:,} rows)")
        explain_time_index(db, start)
        experiment_id = db.session.execute(db.select(Experiment.id).order_by(Experiment.id)).scalars().first()
        company = db.session.execute(db.select(Company).where(Company.slug == "bench")).scalar_one()
        parts(company.id, company.timezone, now.astimezone().date())

    client = app.test_client()
    html = client.get("/admin/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    assert client.post("/admin/login", data={"email": OWNER, "password": PASSWORD, "csrf_token": token}).status_code == 303
    local_today = now.astimezone().date()
    for days in (7, 30, 90):
        first_day = local_today - timedelta(days=days - 1)
        url = f"/admin/analytics?range=custom&start={first_day}&end={local_today}"
        print(f"dashboard, {days} days: {percentiles(client, url)}")
    # The same screens read from the hourly rows alone (no whole day taken from analytics_daily),
    # as before the daily rollup: the before/after of docs/analytics.md.
    from storefront.analytics import spans

    split = spans.split
    spans.split = lambda start, end, zone=None: ([], [(start, end)])
    try:
        for days in (7, 30, 90):
            first_day = local_today - timedelta(days=days - 1)
            url = f"/admin/analytics?range=custom&start={first_day}&end={local_today}"
            print(f"dashboard, {days} days, hourly rows only: {percentiles(client, url)}")
    finally:
        spans.split = split
    print(f"experiment results page: {percentiles(client, f'/admin/experiments/{experiment_id}')}")
    print(f"admin home (headline from the rollups): {percentiles(client, '/admin/')}")

    if REUSE:
        return
    # Retention: keep 60 of the 90 days; the nightly purge deletes the oldest 30 in batches.
    with app.app_context():
        db.session.execute(text("UPDATE companies SET event_retention_days = 60"))
        db.session.commit()
        count = db.session.execute(text("SELECT count(*) FROM visit_events")).scalar()
        started = time.perf_counter()
        deleted = purge_events(grace(), now=now)
        seconds = time.perf_counter() - started
        print(f"retention purge: {deleted:,} of {count:,} events deleted in {seconds:.1f} s "
              f"({deleted / max(seconds, 0.001):,.0f} a second, batches of 5,000)")
        again = refresh(now=now + timedelta(minutes=5))
        rolled_after = db.session.execute(db.select(db.func.sum(HourlyRollup.page_views))).scalar()
        print(f"  after the purge and a refresh ({again.rows:,} rows): {rolled_after:,} page views in the rollups "
              f"({'kept' if rolled_after == rolled else 'CHANGED'})")


if __name__ == "__main__":
    main()
