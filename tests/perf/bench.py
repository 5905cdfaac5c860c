"""The shopper-path benchmark, run by ``make bench``; it prints figures and asserts nothing.

    TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/storefront_test \
        .venv/bin/python tests/perf/bench.py

1. Drops and recreates the ``storefront_bench`` database on the server named by
   TEST_DATABASE_URL (BENCH_DATABASE overrides the name; the test database is never touched),
   runs the migrations and seeds one merchant with a published 24-product landing page.
2. Serves the shop (``storefront.wsgi:app``) and a ceiling app (``ceiling_app.py``, a bare
   Flask "ok") under gunicorn, 2 sync workers each, on free loopback ports.
3. Prepares visitors over HTTP (visit + session cookies, CSRF token, carts), then drives each
   endpoint with wrk (32 connections), alternating with ceiling runs, and divides each
   endpoint's req/s by the mean of the two ceiling runs around it.
4. Prints the table, the landing page's gzipped JS/CSS/HTML bytes and the issue's targets.

Every process it starts is stopped on exit, error or Ctrl-C. BENCH_SECONDS (10) and
BENCH_WARMUP_SECONDS (2) set the run lengths.
"""
from __future__ import annotations

import gzip
import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlencode, urljoin, urlsplit

ROOT = Path(__file__).resolve().parents[2]
PERF_DIR = Path(__file__).resolve().parent
BENCH_DATABASE = os.environ.get("BENCH_DATABASE", "storefront_bench")
REDIS_URL = "redis://127.0.0.1:6379/13"
DURATION = int(os.environ.get("BENCH_SECONDS", "10"))
WARMUP = int(os.environ.get("BENCH_WARMUP_SECONDS", "2"))
CONNECTIONS = 32
THREADS = 2
WORKERS = 2
SLUG = "bench-sale"
RATE = "1000000/minute"
KB = 1000  # the targets' KB, in bytes

# Visitors per role. Add-to-cart visitors cycle over 3 untracked variants each, so a line
# reaches the 99 limit only after 3 * 99 * ADD_VISITORS adds in one run.
ADD_VISITORS = 128
ADD_WARM_VISITORS = 32
CART_VISITORS = 64
ADD_VARIANTS_PER_VISITOR = 3
CART_LINES = 3
FIRST_NAMES = ("Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances", "Ken")

TARGETS = {
    "landing": {"ratio": 0.35, "p99_ms": 50.0},
    "add to cart": {"ratio": 0.15},
    "field capture": {"ratio": 0.20},
    "drawer": {"ratio": 0.30},
}
JS_TARGET = 20 * KB
PAGE_TARGET = 40 * KB

_started: list[subprocess.Popen] = []


# --------------------------------------------------------------------------- processes

def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start(cmd: list[str], env: dict, log_path: Path) -> subprocess.Popen:
    """Start ``cmd`` in its own process group (so its workers stop with it)."""
    log = open(log_path, "wb")  # closed by stop_all
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    proc._bench_log = log  # type: ignore[attr-defined]
    _started.append(proc)
    return proc


def stop_all() -> None:
    """Stop every process this script started: TERM to each group, then KILL stragglers."""
    if not _started:
        return
    # A second Ctrl-C must not cut the clean-up short.
    saved = {s: signal.signal(s, signal.SIG_IGN) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    try:
        _stop_started()
    finally:
        for signum, handler in saved.items():
            signal.signal(signum, handler)


def _stop_started() -> None:
    for proc in _started:
        if proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
    deadline = time.monotonic() + 10
    for proc in _started:
        try:
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait(timeout=5)
        log = getattr(proc, "_bench_log", None)
        if log is not None:
            log.close()
    _started.clear()


def _on_term(_signum, _frame):
    raise KeyboardInterrupt


def gunicorn(app_spec: str, chdir: Path, port: int, env: dict, log_path: Path) -> str:
    """Serve ``app_spec`` with 2 sync workers on 127.0.0.1:``port``; returns the base URL."""
    # --no-control-socket: gunicorn 27's control-socket thread can deadlock the master on stop.
    cmd = [sys.executable, "-m", "gunicorn", "--no-control-socket", "--workers", str(WORKERS), "--worker-class", "sync",
           "--bind", f"127.0.0.1:{port}", "--chdir", str(chdir), "--log-level", "warning",
           app_spec]
    proc = start(cmd, env, log_path)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"gunicorn {app_spec} exited:\n{log_path.read_text()[-3000:]}")
        try:
            status, _, _ = http_request(base, "GET", "/healthz" if "storefront" in app_spec else "/")
            if status == 200:
                return base
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"gunicorn {app_spec} did not answer in 30 s:\n{log_path.read_text()[-3000:]}")


# --------------------------------------------------------------------------- database

def bench_database_url() -> str:
    from sqlalchemy.engine import make_url

    raw = os.environ.get("TEST_DATABASE_URL") or "postgresql://postgres@127.0.0.1:5432/storefront_bench"
    url = make_url(raw)
    if not url.drivername.startswith("postgresql"):
        raise SystemExit("bench.py needs PostgreSQL: set TEST_DATABASE_URL=postgresql://...")
    return url.set(drivername="postgresql", database=BENCH_DATABASE).render_as_string(hide_password=False)


def recreate_database(url: str) -> None:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    target = make_url(url).set(drivername="postgresql+psycopg")
    admin = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{target.database}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{target.database}"'))
    admin.dispose()


def migrate_and_seed(url: str) -> list[int]:
    """Run the migrations and seed one merchant with 24 products on a published page.

    Returns the ids of the untracked-stock variants (never refused for stock)."""
    import logging

    from flask_migrate import upgrade

    from storefront import create_app
    from storefront.accounts.models import Company
    from storefront.catalog.models import Product, ProductImage, Variant
    from storefront.extensions import db
    from storefront.landing.models import LandingPage, LandingPageProduct, Section

    app = create_app({"SQLALCHEMY_DATABASE_URI": url.replace("postgresql://", "postgresql+psycopg://", 1),
                      "RATELIMIT_STORAGE_URI": "memory://"})
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


# --------------------------------------------------------------------------- HTTP visitors

def http_request(base: str, method: str, path: str, headers: dict | None = None,
                 body: str | None = None) -> tuple[int, list[tuple[str, str]], bytes]:
    parts = urlsplit(base)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=15)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.getheaders(), response.read()
    finally:
        conn.close()


@dataclass
class Visitor:
    cookies: dict
    csrf: str
    variants: tuple[int, ...] = ()

    @property
    def cookie_header(self) -> str:
        return "; ".join(f"{k}={v}" for k, v in self.cookies.items())

    def keep_cookies(self, headers: list[tuple[str, str]]) -> None:
        for name, value in headers:
            if name.lower() == "set-cookie":
                key, _, val = value.split(";", 1)[0].partition("=")
                self.cookies[key.strip()] = val.strip()

    def post(self, base: str, path: str, data: dict) -> tuple[int, bytes]:
        status, headers, body = http_request(base, "POST", path, {
            "Cookie": self.cookie_header, "X-CSRFToken": self.csrf, "HX-Request": "true",
            "Content-Type": "application/x-www-form-urlencoded",
        }, urlencode(data))
        self.keep_cookies(headers)
        if status != 200:
            raise RuntimeError(f"POST {path} {data} answered {status}: {body[:300]!r}")
        return status, body


def new_visitor(base: str) -> Visitor:
    status, headers, body = http_request(base, "GET", f"/lp/{SLUG}", {"User-Agent": "bench-setup"})
    if status != 200:
        raise RuntimeError(f"landing page answered {status}")
    match = re.search(rb'"X-CSRFToken": "([^"]+)"', body)
    if not match:
        raise RuntimeError("no CSRF token on the landing page")
    visitor = Visitor(cookies={}, csrf=match.group(1).decode())
    visitor.keep_cookies(headers)
    return visitor


def add_visitor(base: str, variants: tuple[int, ...]) -> Visitor:
    """A visitor whose own cart already holds one line."""
    visitor = new_visitor(base)
    visitor.variants = variants
    visitor.post(base, "/cart/add", {"variant_id": variants[0], "quantity": 1})
    if "sf_cart" not in visitor.cookies:
        raise RuntimeError("add to cart set no cart cookie")
    return visitor


def cart_visitor(base: str, variants: tuple[int, ...], k: int) -> Visitor:
    """A visitor at checkout: a cart of a few lines and a captured email (so a Lead exists)."""
    visitor = new_visitor(base)
    for variant in variants:
        visitor.post(base, "/cart/add", {"variant_id": variant, "quantity": 1})
    visitor.post(base, "/checkout/field/email", {"email": f"shopper{k}@example.com"})
    return visitor


def prepare_visitors(base: str, untracked: list[int]) -> dict[str, list[Visitor]]:
    def variants_for(k: int, count: int) -> tuple[int, ...]:
        return tuple(untracked[(k * count + j) % len(untracked)] for j in range(count))

    with ThreadPoolExecutor(max_workers=6) as pool:
        add = list(pool.map(lambda k: add_visitor(base, variants_for(k, ADD_VARIANTS_PER_VISITOR)),
                            range(ADD_VISITORS)))
        warm = list(pool.map(lambda k: add_visitor(base, variants_for(k + 7, ADD_VARIANTS_PER_VISITOR)),
                             range(ADD_WARM_VISITORS)))
        carts = list(pool.map(lambda k: cart_visitor(base, variants_for(k + 3, CART_LINES), k),
                              range(CART_VISITORS)))
    return {"add": add, "add-warm": warm, "cart": carts}


# --------------------------------------------------------------------------- wrk scripts

STATS_LUA = """
local threads = {}
local next_id = 1
function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

ok, non2xx, body_bytes, bad_status = 0, 0, 0, 0
function response(status, headers, body)
  if status >= 200 and status < 300 then
    ok = ok + 1
    body_bytes = body_bytes + #body
  else
    non2xx = non2xx + 1
    bad_status = status
  end
end

function done(summary, latency, requests)
  local t_ok, t_non, t_bytes, t_bad = 0, 0, 0, 0
  for _, thread in ipairs(threads) do
    t_ok = t_ok + thread:get("ok")
    t_non = t_non + thread:get("non2xx")
    t_bytes = t_bytes + thread:get("body_bytes")
    local bad = thread:get("bad_status")
    if bad ~= 0 then t_bad = bad end
  end
  local e = summary.errors
  io.write(string.format(
    'BENCHJSON {"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, "ok": %d, ' ..
    '"non2xx": %d, "body_bytes": %d, "bad_status": %d, "connect": %d, "read": %d, ' ..
    '"write": %d, "timeout": %d}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    t_ok, t_non, t_bytes, t_bad, e.connect, e.read, e.write, e.timeout))
end
"""

VISITOR_REQUEST_LUA = """
local mine = {}
local k = 0
function init(args)
  for i, v in ipairs(visitors) do
    if (i - 1) % __THREADS__ == id - 1 then table.insert(mine, v) end
  end
end

function request()
  k = k + 1
  local v = mine[(k - 1) % #mine + 1]
  local round = math.floor((k - 1) / #mine)
  local headers = {["Cookie"] = v.cookie, ["HX-Request"] = "true", ["User-Agent"] = "wrk"}
  if method == "GET" then
    return wrk.format("GET", path, headers)
  end
  headers["X-CSRFToken"] = v.csrf
  headers["Content-Type"] = "application/x-www-form-urlencoded"
  return wrk.format("POST", path, headers, body(v, round))
end
"""


def lua_string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def visitors_lua(visitors: list[Visitor]) -> str:
    rows = []
    for v in visitors:
        variants = ", ".join(str(x) for x in v.variants)
        rows.append(f"  {{cookie = {lua_string(v.cookie_header)}, csrf = {lua_string(v.csrf)}, "
                    f"variants = {{{variants}}}}},")
    return "visitors = {\n" + "\n".join(rows) + "\n}\n"


def write_scripts(tmp: Path, visitors: dict[str, list[Visitor]]) -> dict[str, Path]:
    request_lua = VISITOR_REQUEST_LUA.replace("__THREADS__", str(THREADS))
    names = ", ".join(lua_string(n) for n in FIRST_NAMES)
    scripts = {
        "plain": STATS_LUA + 'wrk.headers["User-Agent"] = "wrk"\n',
        "add": None, "add-warm": None,
        "capture": (STATS_LUA + visitors_lua(visitors["cart"]) + request_lua
                    + 'method, path = "POST", "/checkout/field/first_name"\n'
                    + f"local names = {{{names}}}\n"
                    + 'function body(v, round) return "first_name=" .. names[round % #names + 1] end\n'),
        "drawer": (STATS_LUA + visitors_lua(visitors["cart"]) + request_lua
                   + 'method, path = "GET", "/cart/drawer"\n'),
    }
    add_body = ('method, path = "POST", "/cart/add"\n'
                'function body(v, round)\n'
                '  return "variant_id=" .. v.variants[round % #v.variants + 1] .. "&quantity=1"\n'
                'end\n')
    scripts["add"] = STATS_LUA + visitors_lua(visitors["add"]) + request_lua + add_body
    scripts["add-warm"] = STATS_LUA + visitors_lua(visitors["add-warm"]) + request_lua + add_body
    paths = {}
    for name, text in scripts.items():
        path = tmp / f"{name}.lua"
        path.write_text(text)
        paths[name] = path
    return paths


@dataclass
class Run:
    name: str
    rps: float
    p50_ms: float
    p99_ms: float
    ok: int
    non2xx: int
    bad_status: int
    socket_errors: int
    avg_bytes: float


def wrk(name: str, url: str, script: Path, seconds: int) -> Run:
    cmd = ["wrk", "-t", str(THREADS), "-c", str(CONNECTIONS), "-d", f"{seconds}s", "--timeout", "5s",
           "-s", str(script), url]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)
    _started.append(proc)
    try:
        out, _ = proc.communicate(timeout=seconds + 30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        _started.remove(proc)
    match = re.search(r"^BENCHJSON (.*)$", out, re.MULTILINE)
    if not match:
        raise RuntimeError(f"wrk printed no figures:\n{out}")
    data = json.loads(match.group(1))
    seconds_run = data["duration_us"] / 1e6
    return Run(
        name=name,
        rps=data["requests"] / seconds_run,
        p50_ms=data["p50_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        ok=data["ok"],
        non2xx=data["non2xx"],
        bad_status=data["bad_status"],
        socket_errors=data["connect"] + data["read"] + data["write"] + data["timeout"],
        avg_bytes=data["body_bytes"] / data["ok"] if data["ok"] else 0.0,
    )


def measure(name: str, url: str, script: Path, warm_script: Path | None = None) -> Run:
    wrk(name + " (warm-up)", url, warm_script or script, WARMUP)
    run = wrk(name, url, script, DURATION)
    print(f"  {name:<14} {run.rps:9.1f} req/s  p50 {run.p50_ms:6.1f} ms  p99 {run.p99_ms:6.1f} ms"
          f"  non-2xx {run.non2xx}", flush=True)
    return run


# --------------------------------------------------------------------------- page weight

class _Assets(HTMLParser):
    def __init__(self):
        super().__init__()
        self.scripts: list[str] = []
        self.styles: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "script" and a.get("src"):
            self.scripts.append(a["src"])
        elif tag == "link" and "stylesheet" in (a.get("rel") or "").lower().split() and a.get("href"):
            self.styles.append(a["href"])


def page_weight(base: str) -> dict:
    status, _, html = http_request(base, "GET", f"/lp/{SLUG}")
    if status != 200:
        raise RuntimeError(f"landing page answered {status}")
    parser = _Assets()
    parser.feed(html.decode())
    origin = urlsplit(base).netloc

    def fetch_gz(refs: list[str]) -> list[tuple[str, int, int]]:
        out = []
        for ref in refs:
            url = urljoin(base + f"/lp/{SLUG}", ref)
            parts = urlsplit(url)
            if parts.netloc != origin:
                continue
            path = parts.path + (f"?{parts.query}" if parts.query else "")
            code, _, body = http_request(base, "GET", path)
            if code != 200:
                raise RuntimeError(f"{path} answered {code}")
            out.append((parts.path, len(body), len(gzip.compress(body, 9))))
        return out

    return {"js": fetch_gz(parser.scripts), "css": fetch_gz(parser.styles),
            "html": (len(html), len(gzip.compress(html, 9)))}


# --------------------------------------------------------------------------- report

def verdict(ok: bool) -> str:
    return "met" if ok else "NOT MET"


def report(ceilings: list[Run], endpoints: list[Run], weight: dict) -> None:
    print()
    print(f"wrk: {THREADS} threads, {CONNECTIONS} connections, {DURATION} s per run after {WARMUP} s "
          f"warm-up; gunicorn {WORKERS} sync workers; {os.cpu_count()} cores")
    print("ceiling runs (req/s): " + ", ".join(f"{c.rps:.0f}" for c in ceilings))
    print()
    header = f"{'endpoint':<14} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'ratio':>7} {'bytes':>7} {'non-2xx':>8}  target"
    print(header)
    print("-" * (len(header) + 30))
    for i, run in enumerate(endpoints):
        ceiling = (ceilings[i].rps + ceilings[i + 1].rps) / 2
        ratio = run.rps / ceiling if ceiling else 0.0
        target = TARGETS[run.name]
        met = ratio >= target["ratio"]
        text = f"ratio >= {target['ratio']:.2f}"
        if "p99_ms" in target:
            met = met and run.p99_ms < target["p99_ms"]
            text += f", p99 < {target['p99_ms']:.0f} ms"
        non2xx = f"{run.non2xx}" + (f" ({run.bad_status})" if run.non2xx else "")
        if run.socket_errors:
            non2xx += f" +{run.socket_errors} socket errors"
        print(f"{run.name:<14} {run.rps:9.1f} {run.p50_ms:8.1f} {run.p99_ms:8.1f} {ratio:7.3f} "
              f"{run.avg_bytes:7.0f} {non2xx:>8}  {text}: {verdict(met)}")
    print(f"{'ceiling (mean)':<14} {sum(c.rps for c in ceilings) / len(ceilings):9.1f} "
          f"{sum(c.p50_ms for c in ceilings) / len(ceilings):8.1f} "
          f"{sum(c.p99_ms for c in ceilings) / len(ceilings):8.1f} {1:7.3f} {ceilings[0].avg_bytes:7.0f}")
    print()
    print(f"landing page weight (gzip -9; KB = {KB} bytes):")
    for kind in ("js", "css"):
        for path, raw, gz in weight[kind]:
            print(f"  {kind:<4} {path:<36} {raw:8d} B raw {gz:8d} B gz")
    js = sum(gz for _, _, gz in weight["js"])
    css = sum(gz for _, _, gz in weight["css"])
    html_raw, html_gz = weight["html"]
    print(f"  html /lp/{SLUG:<31} {html_raw:8d} B raw {html_gz:8d} B gz")
    total = js + css + html_gz
    print(f"  JS total        {js:8d} B gz  target <= {JS_TARGET // KB} KB: {verdict(js <= JS_TARGET)}")
    print(f"  JS+CSS+HTML     {total:8d} B gz  target <= {PAGE_TARGET // KB} KB: {verdict(total <= PAGE_TARGET)}")
    bad = [r for r in endpoints + ceilings if r.non2xx or r.socket_errors]
    if bad:
        print("\nWARNING: some runs had error responses; their figures do not measure the real path: "
              + ", ".join(r.name for r in bad))


# --------------------------------------------------------------------------- main

def main() -> int:
    # Explicit handlers: a shell may start us with SIGINT ignored (a background job).
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _on_term)
    started = time.monotonic()
    url = bench_database_url()
    print(f"database: {BENCH_DATABASE} (dropped and recreated)", flush=True)
    recreate_database(url)
    untracked = migrate_and_seed(url)

    import redis

    redis.Redis.from_url(REDIS_URL).flushdb()

    env = {k: v for k, v in os.environ.items() if k != "STOREFRONT_ENV"}
    env.pop("SECTION_CACHE_SECONDS", None)
    env.update(DATABASE_URL=url, REDIS_URL=REDIS_URL, RATELIMIT_CART=RATE, RATELIMIT_CAPTURE=RATE,
               RATELIMIT_CHECKOUT=RATE, PYTHONDONTWRITEBYTECODE="1")
    with tempfile.TemporaryDirectory(prefix="storefront-bench-") as tmp_name:
        tmp = Path(tmp_name)
        try:
            shop = gunicorn("storefront.wsgi:app", ROOT, free_port(), env, tmp / "shop.log")
            ceiling = gunicorn("ceiling_app:app", PERF_DIR, free_port(), env, tmp / "ceiling.log")
            print(f"shop at {shop}, ceiling at {ceiling}; preparing visitors", flush=True)
            visitors = prepare_visitors(shop, untracked)
            scripts = write_scripts(tmp, visitors)
            weight = page_weight(shop)

            plan = [
                ("landing", f"{shop}/lp/{SLUG}", scripts["plain"], None),
                ("add to cart", f"{shop}/cart/add", scripts["add"], scripts["add-warm"]),
                ("field capture", f"{shop}/checkout/field/first_name", scripts["capture"], None),
                ("drawer", f"{shop}/cart/drawer", scripts["drawer"], None),
            ]
            ceilings, endpoints = [], []
            for name, endpoint_url, script, warm in plan:
                ceilings.append(measure("ceiling", ceiling + "/", scripts["plain"]))
                endpoints.append(measure(name, endpoint_url, script, warm))
            ceilings.append(measure("ceiling", ceiling + "/", scripts["plain"]))
        except Exception:
            for log in ("shop.log", "ceiling.log"):
                if (tmp / log).exists() and (tmp / log).stat().st_size:
                    print(f"--- {log} (tail)\n{(tmp / log).read_text()[-2000:]}", file=sys.stderr)
            raise
        finally:
            stop_all()
    report(ceilings, endpoints, weight)
    print(f"\nbench took {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        stop_all()
        print("interrupted; every started process was stopped", file=sys.stderr)
        sys.exit(130)
    finally:
        stop_all()
