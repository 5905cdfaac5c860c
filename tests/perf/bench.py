"""The shopper-path benchmark, run by ``make bench``; it prints figures and asserts nothing.

    TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/storefront_test \
        .venv/bin/python tests/perf/bench.py

1. Drops and recreates the ``storefront_bench`` database on the server named by
   TEST_DATABASE_URL (BENCH_DATABASE overrides the name; the test database is never touched),
   runs the migrations and seeds one merchant with a published 24-product landing page
   (``bench_seed.py``).
2. Starts a Redis of its own on a free loopback port (append-only file, fsync on every write:
   the durability the event buffer is deployed with), the shop (``storefront.wsgi:app``)
   and a ceiling app (``ceiling_app.py``, a bare Flask "ok") under gunicorn as ``flask run-demo``
   serves the shop (2 gthread workers of 4 threads each; BENCH_GUNICORN_THREADS=1 for sync
   workers), and the shop's RQ worker and cron scheduler (they flush the event buffer).
3. Prepares visitors over HTTP (visit + session cookies, CSRF token, carts), then drives each
   endpoint with wrk (32 connections), alternating with ceiling runs, and divides each
   endpoint's req/s by the mean of the two ceiling runs around it. Around each run it reads
   each worker's CPU time, requests and SQL statements (``gunicorn_probe.py``) and the CPU
   time of the database backends, the Redis server and the RQ worker and cron.
4. Checks that every 2xx landing response was recorded exactly once (page_view events and
   visits against the 2xx landing answers the workers counted), then runs the faults: the Redis killed and brought
   back, a web worker killed, gunicorn reloaded and restarted, under landing load; prints
   the 5xx answers (none expected), how many requests wrote through the fallback, and the
   counts again.
5. Prints the table, peak RSS per worker, the landing page's gzipped JS/CSS/HTML bytes and
   the targets. With BENCH_BEFORE=<git revision> it first benches that revision's tree
   (``git archive``, nothing in the work tree changes) the same way and prints both;
   BENCH_AFTER=<git revision> benches that revision instead of the work tree (a shared work
   tree may hold someone's half-made change).

BENCH_SECONDS (10) and BENCH_WARMUP_SECONDS (2) set the run lengths; BENCH_PROFILE=<dir>
records each endpoint's run with py-spy (collapsed stacks in <dir>) and prints the busiest
frames; BENCH_FAULTS=0 skips the fault runs. Every process it starts is stopped on exit,
error or Ctrl-C.
"""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench_faults import FaultResult, fault_runs
from bench_report import report
from bench_visitors import SLUG, page_weight, prepare_visitors, write_scripts
from benchkit import (
    PERF_DIR,
    Run,
    Server,
    free_port,
    gunicorn,
    peak_rss_mb,
    probe_counts,
    profile_start,
    profile_summary,
    sample,
    start,
    stop,
    stop_all,
    usage,
    wrk,
)

ROOT = PERF_DIR.parents[1]
BENCH_DATABASE = os.environ.get("BENCH_DATABASE", "storefront_bench")
FALLBACK_REDIS_URL = "redis://127.0.0.1:6379/13"
DURATION = int(os.environ.get("BENCH_SECONDS", "10"))
WARMUP = int(os.environ.get("BENCH_WARMUP_SECONDS", "2"))
RATE = "1000000/minute"
FLUSH_WAIT_SECONDS = 120
# Longer than the flush lock's expiry (visits.flush.LOCK_SECONDS): a flush killed holding
# the lock holds the next one back that long.
FLUSH_STALL_SECONDS = 40


@dataclass
class TreeResult:
    """One tree's run: ceilings and endpoints (with usage), page weight, peak RSS per worker,
    the landing responses counted against what the database recorded, and the faults."""

    label: str
    ceilings: list[Run]
    endpoints: list[Run]
    weight: dict
    rss: dict[str, list[float]]
    landing_ok: int
    recorded: dict
    fault: FaultResult | None = None
    profiles: dict[str, list] = field(default_factory=dict)


# --------------------------------------------------------------------------- trees

def bench_database_url() -> str:
    from sqlalchemy.engine import make_url

    raw = os.environ.get("TEST_DATABASE_URL") or "postgresql://postgres@127.0.0.1:5432/storefront_bench"
    url = make_url(raw)
    if not url.drivername.startswith("postgresql"):
        raise SystemExit("bench.py needs PostgreSQL: set TEST_DATABASE_URL=postgresql://...")
    return url.set(drivername="postgresql", database=BENCH_DATABASE).render_as_string(hide_password=False)


def in_tree(root: Path, command: str, url: str, *more: str):
    """Run ``bench_seed.py command url [more]`` with ``root``'s code; returns its JSON answer."""
    env = {**os.environ, "PYTHONPATH": str(root), "PYTHONDONTWRITEBYTECODE": "1"}
    env.pop("STOREFRONT_ENV", None)
    done = subprocess.run([sys.executable, str(PERF_DIR / "bench_seed.py"), command, url, *more], cwd=root, env=env,
                          capture_output=True, text=True, timeout=300)
    match = re.search(r"^SEEDJSON (.*)$", done.stdout, re.MULTILINE)
    if done.returncode or not match:
        raise RuntimeError(f"bench_seed.py {command} failed:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}")
    return json.loads(match.group(1))


def export_tree(revision: str, into: Path) -> Path:
    """The files of ``revision`` in ``into`` (git archive: the work tree is not touched)."""
    into.mkdir(parents=True)
    archive = subprocess.run(["git", "archive", "--format=tar", revision], cwd=ROOT, capture_output=True,
                             check=True, timeout=120)
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive.stdout, check=True, timeout=120)
    return into


def start_redis(tmp: Path, name: str) -> tuple[subprocess.Popen | None, str, dict]:
    """A Redis of the bench's own (AOF, fsync always) on a free port, or the shared one's
    index 13 when no redis-server is installed. Returns (process, URL, how to restart it)."""
    server = "/usr/bin/redis-server"
    if not Path(server).exists():
        return None, FALLBACK_REDIS_URL, {}
    port = free_port()
    data = tmp / f"redis-{name}"
    data.mkdir(exist_ok=True)
    cmd = [server, "--bind", "127.0.0.1", "--port", str(port), "--dir", str(data), "--save", "",
           "--appendonly", "yes", "--appendfsync", "always", "--daemonize", "no"]
    spec = {"cmd": cmd, "cwd": data, "log": tmp / f"redis-{name}.log"}
    proc = start(cmd, data, dict(os.environ), spec["log"])
    wait_redis(port)
    return proc, f"redis://127.0.0.1:{port}/0", spec


def wait_redis(port: int, seconds: float = 15) -> None:
    import redis

    deadline = time.monotonic() + seconds
    client = redis.Redis(port=port, socket_connect_timeout=0.5)
    while time.monotonic() < deadline:
        try:
            client.ping()
            return
        except redis.RedisError:
            time.sleep(0.1)
    raise RuntimeError(f"Redis on port {port} did not answer")


def shop_env(url: str, redis_url: str) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("STOREFRONT_ENV", "SECTION_CACHE_SECONDS")}
    env.update(DATABASE_URL=url, REDIS_URL=redis_url, RATELIMIT_CART=RATE, RATELIMIT_CAPTURE=RATE,
               RATELIMIT_CHECKOUT=RATE, PYTHONDONTWRITEBYTECODE="1")
    return env


def start_background(root: Path, env: dict, tmp: Path, name: str,
                     which: tuple[str, ...] = ("worker", "cron")) -> list[subprocess.Popen]:
    """The shop's RQ worker and cron scheduler, as ``flask run-demo`` starts them."""
    commands = {"worker": [sys.executable, "worker.py"],
                "cron": [sys.executable, "-m", "rq.cli", "cron", "storefront.cron", "--url", env["REDIS_URL"]]}
    return [start(commands[w], root, env, tmp / f"{name}-{w}.log") for w in which]


def db_backends(url: str) -> list[int]:
    """Server pids of the connections to the bench database (for their CPU time)."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    engine = create_engine(make_url(url).set(drivername="postgresql+psycopg"))
    with engine.connect() as conn:
        pids = conn.execute(text("SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                                 "AND pid <> pg_backend_pid()")).scalars().all()
    engine.dispose()
    return list(pids)


def wait_recorded(root: Path, url: str, expected: int) -> dict:
    """What the database recorded, once the flush has caught up with ``expected`` page views
    (or has stopped moving for FLUSH_STALL_SECONDS, or after FLUSH_WAIT_SECONDS)."""
    deadline = time.monotonic() + FLUSH_WAIT_SECONDS
    last, still_since = None, time.monotonic()
    while True:
        recorded = in_tree(root, "counts", url)
        if recorded["page_views"] >= expected or time.monotonic() > deadline:
            return recorded
        if recorded != last:
            last, still_since = recorded, time.monotonic()
        elif time.monotonic() - still_since > FLUSH_STALL_SECONDS:
            return recorded
        time.sleep(1)


# --------------------------------------------------------------------------- one tree

def measure(name: str, url: str, script: Path, warm_script: Path | None, shop: Server | None,
            others: list[int], url_db: str | None, profile_dir: Path | None) -> tuple[Run, list]:
    """Warm up, then one measured run; with ``shop``, its usage per request."""
    warm = wrk(name + " (warm-up)", url, warm_script or script, WARMUP)
    first = sample(shop, db_backends(url_db), others) if shop else None
    spies = profile_start(shop.workers, profile_dir, name, DURATION) if shop and profile_dir else []
    run = wrk(name, url, script, DURATION)
    run.warm_ok = warm.ok
    for spy in spies:
        spy.wait(timeout=60)
    if shop:
        run.usage = usage(first, sample(shop, db_backends(url_db), others))
    print(f"  {name:<14} {run.rps:9.1f} req/s  p50 {run.p50_ms:6.1f} ms  p99 {run.p99_ms:6.1f} ms"
          f"  non-2xx {run.non2xx}" + (f"  CPU {run.usage.web_ms:.2f} ms/req  SQL {run.usage.sql:.2f}/req"
                                       if shop else ""), flush=True)
    summary = []
    if spies:
        summary = profile_summary([Path(a) for a in profile_dir.glob(f"{name.replace(' ', '-')}-*.txt")])
    return run, summary


def bench_tree(root: Path, label: str, key: str, tmp: Path, faults: bool) -> TreeResult:
    """Bench the code in ``root`` (``key`` names its files in ``tmp``)."""
    url = bench_database_url()
    print(f"[{label}] {root}: database {BENCH_DATABASE} (dropped and recreated)", flush=True)
    untracked = in_tree(root, "seed", url)
    redis_proc, redis_url, _ = start_redis(tmp, key)
    if redis_proc is None:
        import redis

        redis.Redis.from_url(redis_url).flushdb()
    env = shop_env(url, redis_url)
    profile_dir = None
    if os.environ.get("BENCH_PROFILE"):
        profile_dir = Path(os.environ["BENCH_PROFILE"]).resolve() / key
        profile_dir.mkdir(parents=True, exist_ok=True)
    shop = gunicorn("storefront.wsgi:app", root, env, tmp, f"{key}-shop", "/healthz")
    ceiling = gunicorn("ceiling_app:app", PERF_DIR, env, tmp, f"{key}-ceiling", "/")
    background = start_background(root, env, tmp, key)
    others = [p.pid for p in background] + ([redis_proc.pid] if redis_proc else [])
    print(f"[{label}] shop at {shop.base}, ceiling at {ceiling.base}; preparing visitors", flush=True)
    visitors = prepare_visitors(shop.base, untracked)
    scripts = write_scripts(tmp / key, visitors)
    weight = page_weight(shop.base)
    plan = [
        ("landing", f"{shop.base}/lp/{SLUG}", scripts["plain"], None),
        ("add to cart", f"{shop.base}/cart/add", scripts["add"], scripts["add-warm"]),
        ("field capture", f"{shop.base}/checkout/field/first_name", scripts["capture"], None),
        ("drawer", f"{shop.base}/cart/drawer", scripts["drawer"], None),
    ]
    ceilings, endpoints, profiles = [], [], {}
    for name, endpoint_url, script, warm in plan:
        ceilings.append(measure("ceiling", ceiling.base + "/", scripts["plain"], None, ceiling, [], url, None)[0])
        run, profiles[name] = measure(name, endpoint_url, script, warm, shop, others, url, profile_dir)
        endpoints.append(run)
    ceilings.append(measure("ceiling", ceiling.base + "/", scripts["plain"], None, ceiling, [], url, None)[0])
    rss = {"shop": [peak_rss_mb(p) for p in shop.workers], "ceiling": [peak_rss_mb(p) for p in ceiling.workers]}
    # Counted by the server: wrk leaves up to one request per connection unread at the end
    # of a run, which the shop still answers (and records); stopped gracefully first, it has
    # finished every request it took.
    stop(shop.proc, timeout=60)
    landing_ok = probe_counts(shop)["landing_2xx"]
    recorded = wait_recorded(root, url, landing_ok)
    for proc in [ceiling.proc, *background]:
        stop(proc)
    if redis_proc is not None:
        stop(redis_proc)
    result = TreeResult(label, ceilings, endpoints, weight, rss, landing_ok, recorded, profiles=profiles)
    if faults:
        try:
            result.fault = fault_runs(root, tmp, url, key, shop_env, start_redis, start_background,
                                      lambda expected: wait_recorded(root, url, expected),
                                      lambda redis_url: in_tree(root, "flush", url, redis_url)["flushed"])
        except RuntimeError as error:
            # The endpoint figures stand on their own; say what failed instead of losing them.
            print(f"faults: the fault runs failed: {error}", flush=True)
            stop_all()
    return result


# --------------------------------------------------------------------------- main

def _on_term(_signum, _frame):
    raise KeyboardInterrupt


def main() -> int:
    # Explicit handlers: a shell may start us with SIGINT ignored (a background job).
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _on_term)
    started = time.monotonic()
    faults = os.environ.get("BENCH_FAULTS", "1") != "0"
    results = []
    with tempfile.TemporaryDirectory(prefix="storefront-bench-") as tmp_name:
        tmp = Path(tmp_name)
        try:
            before = os.environ.get("BENCH_BEFORE")
            if before:
                tree = export_tree(before, tmp / "before-tree")
                results.append(bench_tree(tree, f"before ({before})", "before", tmp, faults=False))
            after = os.environ.get("BENCH_AFTER")
            now_root = export_tree(after, tmp / "after-tree") if after else ROOT
            results.append(bench_tree(now_root, f"now ({after})" if after else "now", "now", tmp, faults=faults))
        except Exception:
            for log in sorted(tmp.glob("*.log")):
                if log.stat().st_size:
                    print(f"--- {log.name} (tail)\n{log.read_text()[-2000:]}", file=sys.stderr)
            raise
        finally:
            stop_all()
    report(results, DURATION, WARMUP)
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
