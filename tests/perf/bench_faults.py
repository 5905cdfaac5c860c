"""The bench's fault runs: landing load while the things the event buffer relies on fail.

On a shop of its own (fresh gunicorn, RQ worker, cron, and a Redis with an append-only file
that this module kills), in one wrk run of FAULT_SECONDS:

    t=1.5 s  the RQ worker is killed (SIGKILL, mid-flush or not) and started again
    t=3   s  a web worker is killed (SIGKILL); gunicorn starts another
    t=4.5 s  Redis is killed (SIGKILL): requests write visits and events directly
    t=7.5 s  Redis starts again from its append-only file
    t=9.5 s  gunicorn reloads (SIGHUP: new workers, the old ones finish their request)

then gunicorn is stopped and started again (a deploy) for a short run, and Redis is killed
for a whole run. Afterwards: 5xx answers (0 expected), the requests that wrote through the
fallback and the 2xx landing answers (the workers' own counts, kept by gunicorn_probe even
for workers that went), and the page views and visits recorded against those answers.
"""
from __future__ import annotations

import os
import signal
import threading
import time
from dataclasses import dataclass, field

from bench_visitors import SLUG
from benchkit import STATS_LUA, Run, gunicorn, probe_counts, start, stop, wait_healthy, wrk

FAULT_SECONDS = 12
RESTART_SECONDS = 3


@dataclass
class FaultResult:
    runs: list[Run]
    steps: list[str]
    fallbacks: int
    landing_ok: int
    recorded_before: dict
    recorded_after: dict
    cut: int = 0  # landing requests begun but never answered (their worker was killed)
    client_errors: int = 0  # what wrk saw as socket errors (timeouts included)
    notes: list[str] = field(default_factory=list)

    @property
    def n5xx(self) -> int:
        return sum(r.n5xx for r in self.runs)


def fault_runs(root, tmp, url, key, shop_env, start_redis, start_background, wait_recorded,
               flush_by_hand) -> FaultResult | None:
    name = f"{key}-fault"
    redis_proc, redis_url, spec = start_redis(tmp, name)
    if redis_proc is None:
        print("faults: no redis-server of our own to kill; skipped", flush=True)
        return None
    recorded_before = wait_recorded(0)
    env = shop_env(url, redis_url)
    shop = gunicorn("storefront.wsgi:app", root, env, tmp, f"{name}-shop", "/healthz")
    background = start_background(root, env, tmp, name)
    script = tmp / f"{name}-plain.lua"
    script.write_text(STATS_LUA + 'wrk.headers["User-Agent"] = "wrk"\n')
    steps: list[str] = []
    state = {"redis": redis_proc, "background": background}
    print(f"faults: shop at {shop.base}, Redis {redis_url}", flush=True)

    def at(moment: float, t0: float) -> None:
        time.sleep(max(0.0, t0 + moment - time.monotonic()))

    def timeline(t0: float) -> None:
        at(1.5, t0)
        worker = state["background"][0]
        os.killpg(worker.pid, signal.SIGKILL)
        stop(worker)
        state["background"][0] = start_background(root, env, tmp, name + "-again", ("worker",))[0]
        steps.append("1.5 s: RQ worker killed and started again")
        at(3.0, t0)
        victim = shop.workers[0]
        os.kill(victim, signal.SIGKILL)
        steps.append(f"3.0 s: web worker {victim} killed")
        at(4.5, t0)
        os.killpg(state["redis"].pid, signal.SIGKILL)
        stop(state["redis"])
        steps.append("4.5 s: Redis killed")
        at(7.5, t0)
        state["redis"] = start(spec["cmd"], spec["cwd"], dict(os.environ), spec["log"])
        steps.append("7.5 s: Redis started again from its append-only file")
        at(9.5, t0)
        os.kill(shop.proc.pid, signal.SIGHUP)
        steps.append("9.5 s: gunicorn reloaded (SIGHUP)")

    runs = []
    thread = threading.Thread(target=timeline, args=(time.monotonic(),), daemon=True)
    thread.start()
    runs.append(wrk("landing, faults", f"{shop.base}/lp/{SLUG}", script, FAULT_SECONDS))
    thread.join(timeout=30)
    # A deploy: gunicorn stopped (finishing what it serves) and started again. On a busy
    # machine the reloaded workers may take a while to import the app.
    wait_healthy(shop, "/healthz", seconds=120)
    stop(shop.proc)
    shop = gunicorn("storefront.wsgi:app", root, env, tmp, f"{name}-shop", "/healthz")
    steps.append("after: gunicorn stopped and started again; a short run")
    runs.append(wrk("landing, restarted", f"{shop.base}/lp/{SLUG}", script, RESTART_SECONDS))
    os.killpg(state["redis"].pid, signal.SIGKILL)
    stop(state["redis"])
    steps.append("then: Redis killed for a whole run")
    runs.append(wrk("landing, no Redis", f"{shop.base}/lp/{SLUG}", script, RESTART_SECONDS))
    state["redis"] = start(spec["cmd"], spec["cwd"], dict(os.environ), spec["log"])
    steps.append("then: Redis started again; the buffer drains")
    # wrk stops with requests still queued at the shop, which it goes on answering (and
    # recording) after wrk has gone: stop it gracefully first (it finishes what it took),
    # so the counts below are final.
    stop(shop.proc, timeout=60)
    counts = probe_counts(shop)  # the same probe directory for every gunicorn of these runs
    fallbacks, landing_ok = counts["fallbacks"], counts["landing_2xx"]
    cut = counts["landing_started"] - counts["landing_done"]
    notes = []
    for i, proc in enumerate(state["background"]):
        if proc.poll() is not None:
            notes.append(f"background process {i} exited with {proc.returncode}; started again")
            state["background"][i] = start_background(root, env, tmp, name + f"-restart{i}",
                                                      (("worker",), ("cron",))[i])[0]
    recorded_after = wait_recorded(recorded_before["page_views"] + landing_ok)
    left = _buffer_left(redis_url)
    notes.append(left)
    if not left.startswith("left in the buffer after the wait: 0 entries"):
        # The flush job fell behind or stopped: show its logs, then flush once by hand, so the
        # count says whether anything was lost rather than merely not flushed yet.
        for log in sorted(tmp.glob(f"{name}*-worker.log")) + sorted(tmp.glob(f"{name}*-cron.log")):
            tail = log.read_text(errors="replace").splitlines()[-6:]
            notes.append(f"{log.name} (last lines):\n      " + "\n      ".join(tail))
        notes.append(f"flushed by hand after the wait: {flush_by_hand(redis_url)} entries")
        recorded_after = wait_recorded(recorded_before["page_views"] + landing_ok)
    for proc in [shop.proc, *state["background"], state["redis"]]:
        stop(proc)
    for run in runs:
        print(f"  {run.name:<20} {run.rps:8.1f} req/s  p99 {run.p99_ms:7.1f} ms  2xx {run.ok}  "
              f"5xx {run.n5xx}  socket errors {run.socket_errors}", flush=True)
    return FaultResult(runs, steps, fallbacks, landing_ok, recorded_before, recorded_after, cut=cut, notes=notes,
                       client_errors=sum(r.socket_errors for r in runs))


def _buffer_left(redis_url: str) -> str:
    """What the buffer still holds after the wait: not flushed is not lost, so say which."""
    import redis

    from storefront.visits.buffer import STREAM
    from storefront.visits.flush import DEAD_STREAM, LOCK_KEY

    try:
        conn = redis.Redis.from_url(redis_url, socket_timeout=5)
        return (f"left in the buffer after the wait: {conn.xlen(STREAM)} entries not flushed, "
                f"{conn.xlen(DEAD_STREAM)} dead letters, flush lock {'held' if conn.exists(LOCK_KEY) else 'free'} "
                f"(ttl {conn.ttl(LOCK_KEY)} s)")
    except redis.RedisError as error:
        return f"left in the buffer after the wait: Redis did not answer ({error})"
