"""The bench's database: recreate it, run the migrations of the tree on PYTHONPATH, seed one
merchant with a published 24-product landing page, and count what the bench recorded.

    python tests/perf/bench_seed.py seed   URL    # prints the untracked variant ids (JSON)
    python tests/perf/bench_seed.py counts URL    # prints {"page_views", "visits", ...}
    python tests/perf/bench_seed.py flush URL REDIS_URL   # one flush of the visit buffer

Run as a subprocess with the benched tree first on PYTHONPATH, so the "before" code is
migrated and seeded by its own models.
"""
from __future__ import annotations

import json
import logging
import re
import sys

SLUG = "bench-sale"


def recreate_database(url: str) -> None:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    target = make_url(url).set(drivername="postgresql+psycopg")
    admin = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{target.database}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{target.database}"'))
    admin.dispose()


def _app(url: str):
    from storefront import create_app

    return create_app({"SQLALCHEMY_DATABASE_URI": url.replace("postgresql://", "postgresql+psycopg://", 1),
                       "RATELIMIT_STORAGE_URI": "memory://", "REDIS_URL": ""})


def seed(url: str) -> list[int]:
    """Migrate and seed; returns the ids of the untracked-stock variants (never refused)."""
    from flask_migrate import upgrade

    from storefront.accounts.models import Company
    from storefront.catalog.models import Product, ProductImage, Variant
    from storefront.extensions import db
    from storefront.landing.models import LandingPage, LandingPageProduct, Section

    recreate_database(url)
    app = _app(url)
    with app.app_context():
        upgrade()
        logging.getLogger().setLevel(logging.WARNING)
        company = Company(name="Bench Outfitters", slug="bench", currency="USD",
                          support_email="help@bench.test")
        db.session.add(company)
        db.session.flush()
        nouns = ("Tee", "Hoodie", "Cap", "Sneaker", "Tote", "Scarf", "Jacket", "Sock Pack")
        adjectives = ("Classic", "Organic", "Heavyweight")
        products = []
        for i in range(24):
            title = f"{adjectives[i % 3]} {nouns[i % 8]} {i + 1:02d}"
            handle = re.sub(r"\W+", "-", title.lower())
            product = Product(company_id=company.id, handle=handle, title=title,
                              description_html="<p>Soft, durable and made to last.</p>")
            product.images.append(ProductImage(src=f"https://example.invalid/{handle}.jpg", alt=title, position=1))
            kind = i % 4
            if kind == 0:  # three sizes, untracked stock, the first on sale
                product.option_names = ["Size"]
                specs = [({"Size": s}, 2500, 3200 if p == 1 else None, False, 0)
                         for p, s in enumerate(("S", "M", "L"), start=1)]
            elif kind == 1:  # tracked and low: "Only N left"
                specs = [({}, 1800, None, True, 4 + i)]
            elif kind == 2:  # untracked, on sale
                specs = [({}, 1500, 2000, False, 0)]
            else:  # two colours, tracked; one sold out (the last product sold out entirely)
                product.option_names = ["Color"]
                specs = [({"Color": "Black"}, 4000, None, True, 0 if i == 23 else 40),
                         ({"Color": "Sand"}, 4000, None, True, 0)]
            for position, (options, price, compare, tracked, stock) in enumerate(specs, start=1):
                product.variants.append(Variant(
                    company_id=company.id, sku=f"{handle}-{position}",
                    title=" / ".join(options.values()) or "Default Title", options=options,
                    price_cents=price, compare_at_cents=compare, track_inventory=tracked,
                    stock=stock, position=position,
                ))
            db.session.add(product)
            products.append(product)
        page = LandingPage(company_id=company.id, slug=SLUG, title="Bench Sale", status="published",
                           meta_description="Everything 20% off this week.")
        hero = Section(type="hero", position=1, settings={
            "heading": "Bench Sale", "subheading": "Everything 20% off this week.", "cta_label": "Shop now"})
        grid = Section(type="product_grid", position=2, settings={"heading": "Bestsellers", "columns": 4})
        page.sections.extend([hero, grid])
        db.session.add(page)
        db.session.flush()
        for position, product in enumerate(products, start=1):
            db.session.add(LandingPageProduct(landing_page_id=page.id, section_id=grid.id,
                                              product_id=product.id, position=position))
        db.session.commit()
        untracked = [v.id for p in products for v in p.variants if not v.track_inventory]
        db.session.remove()
        db.engine.dispose()
    return untracked


def counts(url: str) -> dict:
    """What the database recorded: page_view events, visits, and events per type."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.connect() as conn:
        by_type = dict(conn.execute(text("SELECT type, count(*) FROM visit_events GROUP BY type")).all())
        visits = conn.execute(text("SELECT count(*) FROM visits")).scalar_one()
    engine.dispose()
    return {"page_views": by_type.get("page_view", 0), "visits": visits, "events": by_type}


def flush(url: str, redis_url: str) -> dict:
    """One flush of the visit buffer in ``redis_url`` by this tree's ``flush_buffer``, as an
    operator would run it; returns how many entries it moved."""
    import redis

    from storefront.extensions import db
    from storefront.visits.flush import flush_buffer

    app = _app(url)
    with app.app_context():
        moved = flush_buffer(redis.Redis.from_url(redis_url))
        db.session.remove()
        db.engine.dispose()
    return {"flushed": moved}


if __name__ == "__main__":
    command, database_url = sys.argv[1], sys.argv[2]
    if command == "flush":
        result = flush(database_url, sys.argv[3])
    else:
        result = seed(database_url) if command == "seed" else counts(database_url)
    print("SEEDJSON " + json.dumps(result))
