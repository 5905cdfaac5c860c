"""What ``bench.py`` prints: per tree its table (throughput, latency, ratio to the ceiling, CPU
and SQL per request), peak RSS, the event check, the faults and the busiest frames; with two
trees, the before/after table; then the page weight and the targets."""
from __future__ import annotations

import os

from benchkit import CONNECTIONS, THREADS, WORKER_THREADS, WORKERS

KB = 1000  # the targets' KB, in bytes
TARGETS = {
    "landing": {"ratio": 0.35, "p99_ms": 50.0},
    "add to cart": {"ratio": 0.15},
    "field capture": {"ratio": 0.20},
    "drawer": {"ratio": 0.30},
}
JS_TARGET = 20 * KB
PAGE_TARGET = 40 * KB


def verdict(ok: bool) -> str:
    return "met" if ok else "NOT MET"


def ratios(result) -> list[float]:
    out = []
    for i, run in enumerate(result.endpoints):
        ceiling = (result.ceilings[i].rps + result.ceilings[i + 1].rps) / 2
        out.append(run.rps / ceiling if ceiling else 0.0)
    return out


def met(run, ratio: float) -> tuple[bool, str]:
    target = TARGETS[run.name]
    ok = ratio >= target["ratio"]
    text = f"ratio >= {target['ratio']:.2f}"
    if "p99_ms" in target:
        ok = ok and run.p99_ms < target["p99_ms"]
        text += f", p99 < {target['p99_ms']:.0f} ms"
    return ok, text


def tree_table(result) -> None:
    print(f"\n=== {result.label}")
    print("ceiling runs (req/s): " + ", ".join(f"{c.rps:.0f}" for c in result.ceilings)
          + f"; ceiling CPU {sum(c.usage.web_ms for c in result.ceilings) / len(result.ceilings):.2f} ms/req")
    header = (f"{'endpoint':<14} {'req/s':>8} {'p50 ms':>7} {'p99 ms':>7} {'ratio':>6} {'CPU web':>8} "
              f"{'db':>6} {'bg':>6} {'SQL':>5} {'bytes':>6} {'non-2xx':>8}  target")
    print(header)
    print("-" * (len(header) + 34))
    for run, ratio in zip(result.endpoints, ratios(result), strict=True):
        ok, text = met(run, ratio)
        u = run.usage
        non2xx = f"{run.non2xx}" + (f" ({run.bad_status})" if run.non2xx else "")
        if run.socket_errors:
            non2xx += f" +{run.socket_errors} socket errors"
        print(f"{run.name:<14} {run.rps:8.1f} {run.p50_ms:7.1f} {run.p99_ms:7.1f} {ratio:6.3f} {u.web_ms:8.2f} "
              f"{u.db_ms:6.2f} {u.bg_ms:6.2f} {u.sql:5.2f} {run.avg_bytes:6.0f} {non2xx:>8}  {text}: {verdict(ok)}")
    print("(CPU ms per request: web = the gunicorn workers; db = the PostgreSQL backends of the bench "
          "database; bg = Redis, the RQ worker and cron, i.e. the event flush; SQL = statements per request)")
    shop = ", ".join(f"{mb:.1f}" for mb in result.rss["shop"])
    ceiling = ", ".join(f"{mb:.1f}" for mb in result.rss["ceiling"])
    print(f"peak RSS per gunicorn worker (MB): shop {shop}; ceiling {ceiling}")
    rec = result.recorded
    same = rec["page_views"] == result.landing_ok == rec["visits"]
    print(f"event check: 2xx landing responses {result.landing_ok}, page_view events {rec['page_views']}, "
          f"visits {rec['visits']}: {'equal' if same else 'NOT EQUAL'}")
    fallbacks = sum(r.usage.fallbacks for r in result.endpoints)
    print(f"requests through the direct-write fallback in these runs: {fallbacks}")
    if result.fault is not None:
        fault_report(result.fault)
    for name, frames in result.profiles.items():
        if frames:
            print(f"busiest frames, {name} (py-spy, inclusive share of the workers' samples):")
            for share, frame in frames:
                print(f"  {share * 100:5.1f}%  {frame[:150]}")


def fault_report(fault) -> None:
    print("faults (landing under load, on a shop and Redis of their own):")
    for step in fault.steps:
        print(f"  {step}")
    for run in fault.runs:
        print(f"  {run.name:<20} {run.rps:8.1f} req/s  p99 {run.p99_ms:7.1f} ms  2xx {run.ok}  5xx {run.n5xx}  "
              f"other non-2xx {run.non2xx - run.n5xx}  socket errors {run.socket_errors}")
    for note in fault.notes:
        print(f"  note: {note}")
    views = fault.recorded_after["page_views"] - fault.recorded_before["page_views"]
    visits = fault.recorded_after["visits"] - fault.recorded_before["visits"]
    exact = views == fault.landing_ok == visits
    within = fault.landing_ok <= views <= fault.landing_ok + fault.cut and views == visits
    state = "equal" if exact else ("equal but for requests cut by the killed worker" if within else "NOT EQUAL")
    print(f"  5xx answers: {fault.n5xx}; requests through the direct-write fallback: {fault.fallbacks}")
    print(f"  event check: 2xx landing responses (counted by the shop) {fault.landing_ok}, page_view events "
          f"{views}, visits {visits}; begun but never answered (worker killed): {fault.cut}; wrk's socket "
          f"errors (timeouts: the shop answered later, or never read): {fault.client_errors}: {state}")


def before_after(before, after) -> None:
    print(f"\n=== before/after ({before.label} -> {after.label})")
    header = (f"{'endpoint':<14} {'req/s':>15} {'p50 ms':>13} {'p99 ms':>13} {'ratio':>13} "
              f"{'CPU ms/req':>13} {'SQL/req':>11}")
    print(header)
    print("-" * len(header))
    for b, a, rb, ra in zip(before.endpoints, after.endpoints, ratios(before), ratios(after), strict=True):
        print(f"{a.name:<14} {b.rps:6.0f} -> {a.rps:5.0f} {b.p50_ms:5.1f} -> {a.p50_ms:4.1f} "
              f"{b.p99_ms:5.1f} -> {a.p99_ms:4.1f} {rb:5.3f}->{ra:5.3f} "
              f"{b.usage.web_ms + b.usage.db_ms + b.usage.bg_ms:5.2f} -> {a.usage.web_ms + a.usage.db_ms + a.usage.bg_ms:4.2f} "
              f"{b.usage.sql:4.1f} -> {a.usage.sql:3.1f}")
    print("(CPU ms/req here is web + db + bg)")
    rss_b = max(before.rss["shop"] or [0])
    rss_a = max(after.rss["shop"] or [0])
    print(f"peak RSS of a shop worker (MB): {rss_b:.1f} -> {rss_a:.1f}")


def weight_report(weight) -> None:
    print(f"\nlanding page weight (gzip -9; KB = {KB} bytes):")
    for kind in ("js", "css"):
        for path, raw, gz in weight[kind]:
            print(f"  {kind:<4} {path:<36} {raw:8d} B raw {gz:8d} B gz")
    js = sum(gz for _, _, gz in weight["js"])
    css = sum(gz for _, _, gz in weight["css"])
    html_raw, html_gz = weight["html"]
    print(f"  html /lp/<slug>{'':<26} {html_raw:8d} B raw {html_gz:8d} B gz")
    total = js + css + html_gz
    print(f"  JS total        {js:8d} B gz  target <= {JS_TARGET // KB} KB: {verdict(js <= JS_TARGET)}")
    print(f"  JS+CSS+HTML     {total:8d} B gz  target <= {PAGE_TARGET // KB} KB: {verdict(total <= PAGE_TARGET)}")


def report(results, duration: int, warmup: int) -> None:
    print()
    print(f"wrk: {THREADS} threads, {CONNECTIONS} connections, {duration} s per run after {warmup} s "
          f"warm-up; gunicorn {WORKERS} "
          + (f"gthread workers of {WORKER_THREADS} threads" if WORKER_THREADS > 1 else "sync workers")
          + f" (shop and ceiling alike); {os.cpu_count()} cores")
    for result in results:
        tree_table(result)
    if len(results) == 2:
        before_after(results[0], results[1])
        if results[0].weight["html"][0] != results[1].weight["html"][0]:
            print(f"landing HTML: {results[0].weight['html'][0]} B -> {results[1].weight['html'][0]} B raw")
    weight_report(results[-1].weight)
    bad = [r.name for result in results for r in result.endpoints + result.ceilings if r.non2xx or r.socket_errors]
    if bad:
        print("\nWARNING: some runs had error responses; their figures do not measure the real path: "
              + ", ".join(bad))
