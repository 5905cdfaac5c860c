"""The bench's machinery: processes it starts (and always stops), HTTP, wrk, and the probes
that read each gunicorn worker's CPU, requests, SQL statements and peak RSS.

CPU comes from /proc/<pid>/stat (utime + stime, clock ticks); requests and statements from
the workers themselves (``gunicorn_probe.py``'s memory-mapped counters); the database's share
from the /proc entries of the PostgreSQL backends serving the bench database.
"""
from __future__ import annotations

import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

PERF_DIR = Path(__file__).resolve().parent
PROBE_CONFIG = PERF_DIR / "gunicorn_probe.py"
CONNECTIONS = 32
THREADS = 2  # wrk's threads
WORKERS = 2
# gunicorn threads per worker: the shop and the ceiling are served as ``flask run-demo``
# serves the shop (gthread workers, the `--threads 4` of storefront.cli.GUNICORN_WEB).
# BENCH_GUNICORN_THREADS=1 benches sync workers instead.
WORKER_THREADS = int(os.environ.get("BENCH_GUNICORN_THREADS", "4"))
CLOCK_TICK = os.sysconf("SC_CLK_TCK")

_started: list[subprocess.Popen] = []


# --------------------------------------------------------------------------- processes

def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start(cmd: list[str], cwd: Path, env: dict, log_path: Path) -> subprocess.Popen:
    """Start ``cmd`` in its own process group (so its children stop with it)."""
    log = open(log_path, "ab")  # closed by stop()
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    proc._bench_log = log  # type: ignore[attr-defined]
    _started.append(proc)
    return proc


def stop(proc: subprocess.Popen, timeout: float = 10) -> None:
    """TERM ``proc``'s group, KILL it when still there after ``timeout`` seconds."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(timeout=5)
    log = getattr(proc, "_bench_log", None)
    if log is not None and not log.closed:
        log.close()
    if proc in _started:
        _started.remove(proc)


def stop_all() -> None:
    """Stop every process this script started (a second Ctrl-C cannot cut this short)."""
    saved = {s: signal.signal(s, signal.SIG_IGN) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    try:
        for proc in list(reversed(_started)):
            stop(proc)
    finally:
        for signum, handler in saved.items():
            signal.signal(signum, handler)


def children(pid: int) -> list[int]:
    """The pids whose parent is ``pid`` (a gunicorn master's workers)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found.append(int(entry.name))
    return sorted(found)


def cpu_ticks(pid: int) -> int:
    """utime + stime of ``pid`` in clock ticks; 0 when it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0
    return int(fields[11]) + int(fields[12])


def peak_rss_mb(pid: int) -> float:
    """VmHWM (peak resident set) of ``pid`` in MB; 0 when it is gone."""
    try:
        match = re.search(r"^VmHWM:\s+(\d+) kB", Path(f"/proc/{pid}/status").read_text(), re.MULTILINE)
    except OSError:
        return 0.0
    return int(match.group(1)) / 1024 if match else 0.0


# --------------------------------------------------------------------------- HTTP

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
class Server:
    """A gunicorn master this bench started, with its probe directory."""

    proc: subprocess.Popen
    base: str
    probe_dir: Path
    log_path: Path

    @property
    def workers(self) -> list[int]:
        return children(self.proc.pid)


def gunicorn(app_spec: str, root: Path, env: dict, tmp: Path, name: str, health: str) -> Server:
    """Serve ``app_spec`` from ``root`` with WORKERS workers of WORKER_THREADS threads each
    (sync workers for 1) on a free loopback port, probed."""
    port = free_port()
    probe_dir = tmp / f"probe-{name}"
    probe_dir.mkdir(exist_ok=True)
    log_path = tmp / f"{name}.log"
    # --no-control-socket: gunicorn 27's control-socket thread can deadlock the master on stop.
    cmd = [sys.executable, "-m", "gunicorn", "--no-control-socket", "--workers", str(WORKERS),
           *server_kind(), "--bind", f"127.0.0.1:{port}", "--chdir", str(root),
           "--log-level", "warning", "-c", str(PROBE_CONFIG), app_spec]
    proc = start(cmd, root, {**env, "BENCH_PROBE_DIR": str(probe_dir)}, log_path)
    server = Server(proc, f"http://127.0.0.1:{port}", probe_dir, log_path)
    wait_healthy(server, health)
    return server


def server_kind() -> list[str]:
    """gunicorn's worker class arguments for WORKER_THREADS."""
    if WORKER_THREADS <= 1:
        return ["--worker-class", "sync"]
    return ["--worker-class", "gthread", "--threads", str(WORKER_THREADS)]


def wait_healthy(server: Server, health: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            raise RuntimeError(f"gunicorn exited:\n{server.log_path.read_text()[-3000:]}")
        try:
            if http_request(server.base, "GET", health)[0] == 200 and len(server.workers) == WORKERS:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"gunicorn did not answer in {seconds} s (workers now: {server.workers}):\n"
                       f"{server.log_path.read_text()[-3000:]}")


# --------------------------------------------------------------------------- probes

@dataclass
class Sample:
    """Counters at one moment: per pid CPU ticks, and the workers' own counts."""

    web_ticks: dict[int, int]
    db_ticks: dict[int, int]
    bg_ticks: dict[int, int]
    requests: int
    statements: int
    fallbacks: int


def probe_counts(server: Server) -> dict[str, int]:
    """The workers' counters summed over every worker this server ever had (the probe's
    files outlive their workers, killed or replaced)."""
    sys.path.insert(0, str(PERF_DIR))
    from gunicorn_probe import COUNTERS, read

    totals = dict.fromkeys(COUNTERS, 0)
    for path in server.probe_dir.glob("*.bin"):
        for name, value in read(path).items():
            totals[name] += value
    return totals


def sample(server: Server, db_pids: list[int], bg_pids: list[int]) -> Sample:
    counts = probe_counts(server)
    return Sample(
        web_ticks={pid: cpu_ticks(pid) for pid in server.workers},
        db_ticks={pid: cpu_ticks(pid) for pid in db_pids},
        bg_ticks={pid: cpu_ticks(pid) for pid in bg_pids},
        requests=counts["requests"],
        statements=counts["statements"],
        fallbacks=counts["fallbacks"],
    )


def ticks_between(start: dict[int, int], end: dict[int, int]) -> int:
    return sum(ticks - start.get(pid, 0) for pid, ticks in end.items())


@dataclass
class Usage:
    """What a run cost per request: CPU ms of the web workers, of the database backends and
    of the background processes (RQ worker and cron: the event flush), and SQL statements."""

    requests: int = 0
    web_ms: float = 0.0
    db_ms: float = 0.0
    bg_ms: float = 0.0
    sql: float = 0.0
    fallbacks: int = 0
    extra: dict = field(default_factory=dict)


def usage(first: Sample, last: Sample) -> Usage:
    requests = max(last.requests - first.requests, 1)

    def per_request(ticks: int) -> float:
        return ticks * 1000 / CLOCK_TICK / requests

    return Usage(
        requests=last.requests - first.requests,
        web_ms=per_request(ticks_between(first.web_ticks, last.web_ticks)),
        db_ms=per_request(ticks_between(first.db_ticks, last.db_ticks)),
        bg_ms=per_request(ticks_between(first.bg_ticks, last.bg_ticks)),
        sql=(last.statements - first.statements) / requests,
        fallbacks=last.fallbacks - first.fallbacks,
    )


# --------------------------------------------------------------------------- wrk

STATS_LUA = """
local threads = {}
local next_id = 1
function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

ok, non2xx, body_bytes, bad_status, n5xx = 0, 0, 0, 0, 0
function response(status, headers, body)
  if status >= 200 and status < 300 then
    ok = ok + 1
    body_bytes = body_bytes + #body
  else
    non2xx = non2xx + 1
    bad_status = status
    if status >= 500 then n5xx = n5xx + 1 end
  end
end

function done(summary, latency, requests)
  local t_ok, t_non, t_bytes, t_bad, t_5xx = 0, 0, 0, 0, 0
  for _, thread in ipairs(threads) do
    t_ok = t_ok + thread:get("ok")
    t_non = t_non + thread:get("non2xx")
    t_bytes = t_bytes + thread:get("body_bytes")
    t_5xx = t_5xx + thread:get("n5xx")
    local bad = thread:get("bad_status")
    if bad ~= 0 then t_bad = bad end
  end
  local e = summary.errors
  io.write(string.format(
    'BENCHJSON {"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, "ok": %d, ' ..
    '"non2xx": %d, "n5xx": %d, "body_bytes": %d, "bad_status": %d, "connect": %d, "read": %d, ' ..
    '"write": %d, "timeout": %d}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    t_ok, t_non, t_5xx, t_bytes, t_bad, e.connect, e.read, e.write, e.timeout))
end
"""


@dataclass
class Run:
    name: str
    rps: float
    p50_ms: float
    p99_ms: float
    ok: int
    non2xx: int
    n5xx: int
    bad_status: int
    socket_errors: int
    avg_bytes: float
    usage: Usage = field(default_factory=Usage)
    warm_ok: int = 0


def wrk(name: str, url: str, script: Path, seconds: float) -> Run:
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
        name=name, rps=data["requests"] / seconds_run, p50_ms=data["p50_us"] / 1000,
        p99_ms=data["p99_us"] / 1000, ok=data["ok"], non2xx=data["non2xx"], n5xx=data["n5xx"],
        bad_status=data["bad_status"],
        socket_errors=data["connect"] + data["read"] + data["write"] + data["timeout"],
        avg_bytes=data["body_bytes"] / data["ok"] if data["ok"] else 0.0,
    )


# --------------------------------------------------------------------------- py-spy

def profile_start(pids: list[int], out_dir: Path, name: str, seconds: float) -> list[subprocess.Popen]:
    """py-spy record of each pid for ``seconds`` (collapsed stacks), or nothing without py-spy."""
    spy = Path(sys.executable).parent / "py-spy"
    if not spy.exists():
        return []
    procs = []
    for pid in pids:
        out = out_dir / f"{name.replace(' ', '-')}-{pid}.txt"
        cmd = [str(spy), "record", "--nonblocking", "-r", "200", "-d", str(int(seconds)), "-p", str(pid),
               "-f", "raw", "-o", str(out)]
        procs.append(subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                      start_new_session=True))
    return procs


def profile_summary(paths: list[Path], top: int = 25) -> list[tuple[float, str]]:
    """(inclusive share, frame) of the busiest frames over the collapsed stacks in ``paths``,
    leaving out the frames every request passes through (gunicorn and WSGI plumbing)."""
    inclusive: dict[str, int] = {}
    total = 0
    for path in paths:
        if not path.exists():
            continue
        for line in path.read_text().splitlines():
            stack, _, count = line.rpartition(" ")
            if not count.isdigit():
                continue
            n = int(count)
            total += n
            for frame in set(stack.split(";")):
                inclusive[frame] = inclusive.get(frame, 0) + n
    if not total:
        return []
    ranked = sorted(((n / total, frame) for frame, n in inclusive.items()), reverse=True)
    return [(share, frame) for share, frame in ranked if share < 0.97][:top]
