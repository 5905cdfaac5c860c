"""The billing tick's time over 100,000 subscriptions with 5,000 due; prints figures, asserts
nothing.

    BENCH_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/storefront_bench_billing \
    BENCH_REDIS_URL=redis://127.0.0.1:6379/11 \
        .venv/bin/python tests/perf/bench_billing_tick.py [SUBSCRIPTIONS] [DUE]

Recreates the named database (never the test database), migrates it, seeds one merchant
with SUBSCRIPTIONS subscriptions of which DUE are due, then runs ``bill_due_subscriptions``
(batches of 500) until nothing is due: each batch claims its rows (FOR UPDATE SKIP LOCKED),
makes their invoices and first attempts and queues one charge job each on Redis (the jobs
are not run: the charges are Stripe's time, not the tick's). Prints the batches' times and
the whole tick's, then empties the queue it filled.
"""
from __future__ import annotations

import os
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402


def recreate(url: str) -> str:
    parsed = make_url(url).set(drivername="postgresql+psycopg")
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{parsed.database}"'))
    admin.dispose()
    return parsed.render_as_string(hide_password=False)


def seed(db, total: int, due: int, now: datetime) -> None:
    from storefront.accounts.models import Company
    from storefront.billing.models import SubscriptionPlan
    from storefront.catalog.models import Product, Variant

    company = Company(name="Bench Coffee", slug="bench", currency="USD")
    db.session.add(company)
    db.session.flush()
    product = Product(company_id=company.id, handle="coffee", title="Coffee")
    product.variants.append(Variant(company_id=company.id, sku="coffee-1", title="Default Title", price_cents=2000,
                                    position=1))
    db.session.add(product)
    db.session.flush()
    plan = SubscriptionPlan(company_id=company.id, product_id=product.id, variant_id=product.variants[0].id,
                            name="Monthly", price_cents=1800, currency="USD")
    db.session.add(plan)
    db.session.commit()
    db.session.execute(text(
        "INSERT INTO customers (company_id, email, created_at) "
        "SELECT :c, 'bench' || n || '@example.com', now() FROM generate_series(1, :total) AS n"),
        {"c": company.id, "total": total})
    # The first DUE customers renew a minute ago; the rest over the next 30 days.
    db.session.execute(text(
        "INSERT INTO subscriptions (company_id, customer_id, plan_id, quantity, status, current_period_start,"
        " current_period_end, next_billing_at, stripe_customer_id, payment_method_id, shipping_address,"
        " created_at, updated_at) "
        "SELECT :c, id, :p, 1, 'ACTIVE', :start, :due_at, :due_at, 'cus_bench', 'pm_bench', '{}', now(), now() "
        "FROM customers WHERE company_id = :c AND id <= (SELECT min(id) FROM customers) + :due - 1"),
        {"c": company.id, "p": plan.id, "start": now - timedelta(days=30), "due_at": now - timedelta(minutes=1),
         "due": due})
    db.session.execute(text(
        "INSERT INTO subscriptions (company_id, customer_id, plan_id, quantity, status, current_period_start,"
        " current_period_end, next_billing_at, stripe_customer_id, payment_method_id, shipping_address,"
        " created_at, updated_at) "
        "SELECT :c, id, :p, 1, 'ACTIVE', :start, :start + (id % 30 + 1) * interval '1 day',"
        " :start + (id % 30 + 1) * interval '1 day', 'cus_bench', 'pm_bench', '{}', now(), now() "
        "FROM customers WHERE company_id = :c AND id > (SELECT min(id) FROM customers) + :due - 1"),
        {"c": company.id, "p": plan.id, "start": now, "due": due})
    db.session.commit()
    db.session.execute(text("ANALYZE"))
    db.session.commit()


def main(total: int = 100_000, due: int = 5_000) -> None:
    url = recreate(os.environ.get("BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/storefront_bench_billing"))
    redis_url = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/11")
    from flask_migrate import upgrade

    from storefront import create_app
    from storefront.extensions import db

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "REDIS_URL": redis_url, "TESTING": True,
                      "RATELIMIT_STORAGE_URI": "memory://"})
    now = datetime.now(UTC)
    with app.app_context():
        upgrade()
        started = time.perf_counter()
        seed(db, total, due, now)
        print(f"seeded {total:,} subscriptions ({due:,} due) in {time.perf_counter() - started:.1f} s")
        from rq import Queue

        from storefront.billing.engine import bill_due_subscriptions
        from storefront.queue import redis_connection

        queue = Queue("default", connection=redis_connection())
        queue.empty()
        batches, billed = [], 0
        tick = time.perf_counter()
        while True:
            started = time.perf_counter()
            count = bill_due_subscriptions(now=now)
            if not count:
                break
            batches.append(time.perf_counter() - started)
            billed += count
        whole = time.perf_counter() - tick
        queued = queue.count
        queue.empty()
        invoices = db.session.execute(text("SELECT count(*) FROM invoices")).scalar()
    print(f"billing tick: {billed:,} subscriptions billed in {len(batches)} batches of up to 500, {whole:.2f} s "
          f"({billed / whole:,.0f} per second); batch min {min(batches):.3f} s, max {max(batches):.3f} s; "
          f"{invoices:,} invoices, {queued:,} charge jobs queued")


if __name__ == "__main__":
    args = [int(a) for a in sys.argv[1:3]]
    main(*args)
