"""The leads CSV export's memory, streamed, at 10,000 and 100,000 leads (issue 4, section 6).
It prints figures and asserts nothing.

    TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/storefront_test \
        .venv/bin/python tests/perf/bench_leads_export.py

1. Drops and recreates the ``storefront_bench_leads`` database on the server named by
   TEST_DATABASE_URL (BENCH_DATABASE overrides the name; the test database is never
   touched), runs the migrations, and makes one merchant with an owner, a landing page and
   a visit.
2. Bulk-inserts the leads with one ``INSERT ... SELECT generate_series`` per size (each lead
   with an email, phone, name, address, captured fields and a 3-line cart snapshot).
3. Signs in through the real form (Flask's test client) and reads
   ``GET /admin/leads/export.csv`` chunk by chunk, as a browser download would. Two passes
   per size: one measures the process's peak RSS growth (VmHWM, reset through
   /proc/self/clear_refs) and the time; one measures the peak of Python allocations
   (tracemalloc, which slows the run, hence its own pass).

"Flat" means the peaks at 100,000 leads are about those at 10,000: the export holds one
batch (``leads.export.BATCH`` rows) at a time, never the whole file.
"""
from __future__ import annotations

import gc
import os
import re
import sys
import time
import tracemalloc
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
BENCH_DATABASE = os.environ.get("BENCH_DATABASE", "storefront_bench_leads")
SIZES = (10_000, 100_000)
PASSWORD = "bench password 123"
OWNER = "owner@bench.test"

INSERT_LEADS = """
INSERT INTO leads (company_id, email, phone, first_name, last_name, address, source, source_detail,
                   landing_page_id, visit_id, capture_stage, captured_fields, last_active_field,
                   completion_pct, status, engagement_score, abandonment_risk, purchase_intent,
                   estimated_value_cents, cart_snapshot, cart_value_cents, products_viewed,
                   last_activity_at, created_at, updated_at)
SELECT CAST(:company AS integer), 'shopper' || g || '@example.com', '+1512' || lpad(g::text, 7, '0'),
       'First' || g, 'Last' || g,
       json_build_object('address1', g || ' Long Street', 'city', 'Austin', 'postcode', '78701', 'country', 'US'),
       'CHECKOUT_ABANDON', 'newsletter', CAST(:page AS integer), CAST(:visit AS integer), 'CHECKOUT',
       '["email", "phone", "first_name", "last_name"]'::json, 'address1', 44,
       (ARRAY['NEW', 'CONTACTED', 'NURTURE', 'LOST'])[1 + g % 4], 0.5, 0.4, 0.3, 150 + g % 5000,
       json_build_object('currency', 'USD', 'value_cents', 6000, 'item_count', 3, 'lines', json_build_array(
           json_build_object('title', 'Classic Tee', 'quantity', 1, 'unit_price_cents', 2000, 'line_total_cents', 2000),
           json_build_object('title', 'Hoodie', 'quantity', 1, 'unit_price_cents', 3000, 'line_total_cents', 3000),
           json_build_object('title', 'Cap', 'quantity', 1, 'unit_price_cents', 1000, 'line_total_cents', 1000))),
       6000, '[]'::json,
       now() - (g || ' seconds')::interval, now() - (g || ' seconds')::interval, now()
FROM generate_series(CAST(:start AS integer), CAST(:stop AS integer)) AS g
"""


def bench_url() -> str:
    raw = os.environ.get("TEST_DATABASE_URL")
    if not raw:
        sys.exit("Set TEST_DATABASE_URL to a PostgreSQL server (the bench database is created beside it).")
    url = make_url(raw).set(drivername="postgresql+psycopg")
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{BENCH_DATABASE}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{BENCH_DATABASE}"'))
    admin.dispose()
    return url.set(database=BENCH_DATABASE).render_as_string(hide_password=False)


def rss_kb(field: str = "VmRSS") -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def reset_peak_rss() -> bool:
    """Reset VmHWM to the current RSS (Linux 4.0+); False when the kernel does not allow it."""
    try:
        with open("/proc/self/clear_refs", "w") as refs:
            refs.write("5")
        return True
    except OSError:
        return False


def sign_in(client) -> None:
    html = client.get("/admin/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    response = client.post("/admin/login", data={"email": OWNER, "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 303, "sign-in failed"


def stream_export(client) -> tuple[int, int]:
    """(lines, bytes) of the export, read chunk by chunk and dropped as it goes."""
    response = client.get("/admin/leads/export.csv", buffered=False)
    assert response.status_code == 200 and response.is_streamed
    lines = size = 0
    for chunk in response.response:
        data = chunk if isinstance(chunk, bytes) else chunk.encode()
        lines += data.count(b"\n")
        size += len(data)
    response.close()
    return lines, size


def measure(app, client) -> dict:
    gc.collect()
    with app.app_context():
        base = rss_kb()
        hwm_reset = reset_peak_rss()
        started = time.perf_counter()
        lines, size = stream_export(client)
        seconds = time.perf_counter() - started
        peak = rss_kb("VmHWM") if hwm_reset else rss_kb()
    gc.collect()
    with app.app_context():
        tracemalloc.start()
        tracemalloc.reset_peak()
        stream_export(client)
        _current, traced_peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    return {"lines": lines, "bytes": size, "seconds": seconds, "rss_growth_kb": max(peak - base, 0),
            "rss_kb": peak, "traced_peak_kb": traced_peak // 1024, "hwm": hwm_reset}


def main() -> None:
    url = bench_url()
    from flask_migrate import upgrade

    from storefront import create_app
    from storefront.accounts.models import Company
    from storefront.accounts.services import create_user
    from storefront.extensions import db
    from storefront.landing.models import LandingPage
    from storefront.types import new_token
    from storefront.visits.models import Visit

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "REDIS_URL": "", "RATELIMIT_STORAGE_URI": "memory://",
                      "WTF_CSRF_ENABLED": True, "TESTING": False})
    with app.app_context():
        upgrade()
        company = Company(name="Bench Goods", slug="bench", currency="USD", timezone="America/Chicago")
        db.session.add(company)
        db.session.commit()
        create_user("bench", OWNER, PASSWORD, role="owner")
        page = LandingPage(company_id=company.id, slug="bench-sale", title="Bench Sale", status="published")
        db.session.add(page)
        db.session.commit()
        visit = Visit(token=new_token(), company_id=company.id, landing_page_id=page.id,
                      visitor_id=new_token(), utm_campaign="june")
        db.session.add(visit)
        db.session.commit()
        ids = {"company": company.id, "page": page.id, "visit": visit.id}

    client = app.test_client()
    sign_in(client)
    print(f"Leads CSV export, streamed ({BENCH_DATABASE} on PostgreSQL; Python {sys.version.split()[0]})")
    print(f"{'leads':>8} {'CSV lines':>10} {'MB':>7} {'s':>6} {'peak RSS':>10} {'peak RSS growth':>16} "
          f"{'tracemalloc peak':>17}")
    inserted = 0
    results = []
    for size in SIZES:
        with app.app_context():
            db.session.execute(text(INSERT_LEADS), {**ids, "start": inserted + 1, "stop": size})
            db.session.commit()
            db.session.execute(text("ANALYZE leads"))
            db.session.commit()
            db.session.remove()
        inserted = size
        stream_export(client)  # warm up: imports, template and statement caches
        figures = measure(app, client)
        results.append((size, figures))
        print(f"{size:>8,} {figures['lines']:>10,} {figures['bytes'] / 1e6:>7.1f} {figures['seconds']:>6.1f} "
              f"{figures['rss_kb'] / 1024:>7.1f} MB {figures['rss_growth_kb'] / 1024:>13.1f} MB "
              f"{figures['traced_peak_kb'] / 1024:>14.1f} MB")
    (small, a), (large, b) = results
    print(f"\n{large // small}x the leads: peak RSS {a['rss_kb'] / 1024:.1f} -> {b['rss_kb'] / 1024:.1f} MB "
          f"(growth during the stream {a['rss_growth_kb'] / 1024:.1f} -> "
          f"{b['rss_growth_kb'] / 1024:.1f} MB), Python allocations peak {a['traced_peak_kb'] / 1024:.1f} -> "
          f"{b['traced_peak_kb'] / 1024:.1f} MB, while the file grows {a['bytes'] / 1e6:.1f} -> {b['bytes'] / 1e6:.1f} MB.")
    if not b["hwm"]:
        print("(VmHWM could not be reset here: the RSS figures are the RSS after the stream.)")
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


if __name__ == "__main__":
    main()
