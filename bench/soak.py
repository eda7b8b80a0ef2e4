"""Soak the service on moto S3/DynamoDB: mixed wrk load, kill -9 restarts, a full DATA_DIR."""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench import _soakcheck as check
from bench.figures import BenchError, Figure, timing
from bench.service import ensure_wrk, stop_process, wait_status
from deploy import stack
from deploy.aws.backend import Backend, start_backend
from deploy.aws.names import DEFAULT_NAMES
from service.server import free_port

ROOT = Path(__file__).resolve().parents[1]
AREA = "soak"
CMD = "python -m bench.run --only soak"
LUA = Path(__file__).with_name("soak.lua")
TMPFS_MB = 64  # DATA_DIR and TMPDIR: the library cache, snapshot staging, the S3 index cache
THREADS = 4  # wrk threads, one connection each: requests on a thread are strictly sequential
WRK_TIMEOUT_S = 10  # a request slower than this is a hang (wrk's "timeout" errors)
PROBE_EVERY_S = 0.5  # probe uploads while the disk is full
SETTLE_S = 2.0  # after a fault ends, errors this much later still count as the fault's


@dataclass(frozen=True)
class Plan:
    """When the faults happen, in seconds after wrk starts."""

    seconds: float
    kills: tuple[float, ...]
    fill_at: float
    fill_hold: float


QUICK = Plan(seconds=13, kills=(4.0,), fill_at=8.0, fill_hold=3.0)
FULL = Plan(seconds=300, kills=(60.0, 200.0), fill_at=120.0, fill_hold=20.0)


@contextmanager
def tmpfs(size_mb: int):
    """Mount a tmpfs of `size_mb` MB on a fresh directory; unmount and remove it afterwards."""
    where = Path(tempfile.mkdtemp(prefix="soak-data-"))
    got = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size_mb}m", "tmpfs", str(where)],
        capture_output=True,
        text=True,
    )
    if got.returncode != 0:
        where.rmdir()
        raise BenchError(
            f"cannot mount a {size_mb} MB tmpfs for DATA_DIR (root is needed): "
            f"{got.stderr.strip() or got.returncode}"
        )
    try:
        yield where
    finally:
        if subprocess.run(["umount", str(where)], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", str(where)], capture_output=True)  # still busy
        where.rmdir()


class Service:
    """The service as a subprocess on a fixed port, restartable after a kill -9."""

    def __init__(self, env: dict[str, str], port: int, log: Path) -> None:
        self.env, self.port, self.log = env, port, log
        self.base = f"http://127.0.0.1:{port}"
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        """Start `python -m service` (its log appended to self.log)."""
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "service"], cwd=ROOT, env=self.env, stdout=out, stderr=out
            )

    def wait(self, path: str, t0: float, limit_s: float = 60.0) -> float:
        """Poll `path` until it answers 200; return the seconds since `t0` (perf_counter)."""
        return wait_status(self.proc, self.base + path, t0, limit_s, log=self.log)

    def kill_and_restart(self) -> tuple[float, float]:
        """kill -9 the process, start a new one; return seconds to /health and /ready 200."""
        t0 = time.perf_counter()
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self.start()
        return self.wait("/health", t0), self.wait("/ready", t0)

    def stop(self) -> None:
        """Stop the process (SIGTERM, then SIGKILL)."""
        if self.proc is not None:
            stop_process(self.proc)


@contextmanager
def disk_full(disk: Path):
    """Keep `disk` full to the last byte while inside; yield a call that fills it again now.

    A thread takes back any space the service frees (a temp dir removed, an old snapshot
    dropped); the yielded call does the same at once, for a probe about to be sent.
    """
    filler = disk / "filler.bin"
    stop = threading.Event()
    lock = threading.Lock()

    def fill(fh) -> None:
        with lock:
            for size in (1 << 20, 4096, 1):
                try:
                    while True:
                        fh.write(b"\0" * size)
                except OSError as exc:
                    if exc.errno != errno.ENOSPC:
                        raise

    def top_up(fh) -> None:
        while not stop.is_set():
            fill(fh)
            stop.wait(0.0005)

    with open(filler, "wb", buffering=0) as fh:
        thread = threading.Thread(target=top_up, args=(fh,), daemon=True)
        thread.start()
        try:
            yield lambda: fill(fh)
        finally:
            stop.set()
            thread.join()
    filler.unlink()


def probe_while(
    base: str, seconds: float, fill: Callable[[], None] = lambda: None
) -> list[tuple[int, str]]:
    """Upload a small file to a new session every PROBE_EVERY_S; return (status, detail)s."""
    # wrk's own uploads race the filler for any space the service frees; these probes say
    # what a client sees while the disk stays full, so the disk is filled again right
    # before each one is sent.
    files = {"files": ("probe.md", b"# Probe\n\nA probe written while the disk is full.")}
    out: list[tuple[int, str]] = []
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        time.sleep(PROBE_EVERY_S)
        fill()
        reply = httpx.post(base + "/upload", files=files, timeout=WRK_TIMEOUT_S)
        try:
            out.append((reply.status_code, str(reply.json().get("detail", ""))))
        except ValueError:
            out.append((reply.status_code, reply.text[:200]))
    return out


def backend_and_state() -> tuple[Backend, str, str]:
    """Start a private moto server with the bucket and table; return it, bucket and table."""
    backend = start_backend("moto", fresh=True)
    try:
        applied = stack.apply(backend.ctx, DEFAULT_NAMES, target="state")
    except BaseException:
        backend.stop()
        raise
    return backend, applied.outputs["state"].bucket, DEFAULT_NAMES.history_table


def drive(service: Service, disk: Path, logs: Path, plan: Plan) -> dict:
    """Run wrk for plan.seconds while killing the service and filling the disk on schedule."""
    cmd = [
        ensure_wrk(), "-t", str(THREADS), "-c", str(THREADS), "-d", f"{plan.seconds:g}s",
        "--timeout", f"{WRK_TIMEOUT_S}s", "-s", str(LUA), service.base, "--", str(logs),
    ]  # fmt: skip
    events = sorted([(t, "kill") for t in plan.kills] + [(plan.fill_at, "fill")])
    out: dict = {"health": [], "ready": [], "windows": [], "probes": []}
    wrk = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    started = time.perf_counter()
    try:
        for at, what in events:
            time.sleep(max(0.0, at - (time.perf_counter() - started)))
            begin = time.time()
            if what == "kill":
                health, ready = service.kill_and_restart()
                out["health"].append(health)
                out["ready"].append(ready)
            else:
                with disk_full(disk) as fill:
                    out["probes"] = probe_while(service.base, plan.fill_hold, fill)
            out["windows"].append((begin, time.time() + SETTLE_S))
        stdout, stderr = wrk.communicate(timeout=plan.seconds + 60)
    finally:
        if wrk.poll() is None:
            wrk.kill()
            wrk.wait()
    for line in stdout.splitlines():
        if line.startswith("WRKJSON "):
            out["wrk"] = json.loads(line.removeprefix("WRKJSON "))
            return out
    raise BenchError(f"wrk printed no summary (exit {wrk.returncode}): {stderr[-500:]}")


def soak(plan: Plan) -> dict:
    """Run the whole soak: moto, tmpfs, service, load and faults, then the checks."""
    backend, bucket, table = backend_and_state()
    try:
        with tmpfs(TMPFS_MB) as disk, tempfile.TemporaryDirectory(prefix="soak-") as tmp:
            (disk / "tmp").mkdir()
            logs = Path(tmp) / "acks"
            logs.mkdir()
            port = free_port()
            env = {
                **os.environ,
                **backend.ctx.environment(),  # the emulator's endpoint, region and keys
                "HOST": "127.0.0.1", "PORT": str(port), "DATA_DIR": str(disk),
                "TMPDIR": str(disk / "tmp"), "DOCUMENT_BUCKET": bucket,
                "CHAT_HISTORY_TABLE": table, "LOG_LEVEL": "WARNING",
            }  # fmt: skip
            env.pop("API_KEY", None)
            service = Service(env, port, Path(tmp) / "service.log")
            service.start()
            try:
                service.wait("/ready", time.perf_counter())
                result = drive(service, disk, logs, plan)
                acks = check.read_logs(logs)
                result["errors"] = check.classify_errors(acks, result["windows"])
                result["mismatches"] = acks.mismatches
                result["verified"] = check.verify_acks(service.base, acks)
                result["indexes"] = check.check_indexes(
                    backend.ctx.client("s3"), bucket, acks.sessions, disk / "cache"
                )
                text = service.log.read_text(errors="replace")
                result["unhandled"] = text.count('"unhandled error"')
            finally:
                service.stop()
        return result
    finally:
        backend.stop()


def figures(r: dict, plan: Plan) -> list[Figure]:
    """Turn a soak's result into figures (goals: nothing lost, nothing corrupt, no hangs)."""
    w, v, e = r["wrk"], r["verified"], r["errors"]
    load = (
        f"{THREADS} wrk connections, {plan.seconds:g} s, {len(plan.kills)} kill -9, "
        f"DATA_DIR (and TMPDIR) full for {plan.fill_hold:g} s (tmpfs {TMPFS_MB} MB)"
    )
    lost = (
        (v["sessions"] - v["sessions found"])
        + (v["chats"] - v["chats found"])
        + (v["uploads"] - v["uploads listed"])
    )
    probes = r["probes"]
    refused = [detail for status, detail in probes if status == 507]
    statuses = ", ".join(f"{k}: {n}" for k, n in sorted(Counter(s for s, _ in probes).items()))

    def fig(name, goal, unit, value, note="", **kw):
        return Figure(AREA, name, goal, unit, value, [], CMD, note, **kw)

    return [
        fig("requests served", None, "requests", w["requests"], load),
        fig("responses 2xx", None, "requests", w["s2xx"]),
        fig("responses 4xx", 0, "requests", w["s4xx"], "a 4xx would mean a session went missing"),
        fig("responses 5xx during the faults", None, "requests", e.get("5xx in faults", 0),
            ", ".join(f"{k}: {n}" for k, n in sorted(e.items()) if k.startswith("status"))),
        fig("responses 5xx outside the faults", 0, "requests", e.get("5xx outside faults", 0)),
        fig("error answers without a clear JSON detail", 0, "requests", e.get("unclear", 0),
            f"{r['unhandled']} unhandled exceptions in the service log"),
        fig("throughput", None, "req/s", w["requests"] / (w["duration_us"] / 1e6),
            "requests served / wrk's duration, faults included"),
        fig("wrk connect errors", None, "errors", w["connect"]),
        fig("wrk read errors", None, "errors", w["read"], "connections cut by kill -9"),
        fig("wrk write errors", None, "errors", w["write"],
            "refused while the service was down: wrk reconnects at once, without back-off"),
        fig("wrk timeouts (hangs)", 0, "errors", w["timeout"],
            f"--timeout {WRK_TIMEOUT_S}s; max latency {w['max_us'] / 1e6:.2f} s"),
        timing(AREA, "kill -9 → /health 200 (restarted)", None, r["health"], command=CMD),
        timing(AREA, "kill -9 → /ready 200 (restarted)", None, r["ready"], command=CMD),
        fig("probe uploads answered 507 while DATA_DIR was full", None, "uploads",
            len(refused), f"statuses {statuses}; detail: {refused[0][:140] if refused else '-'}"),
        fig("acknowledged uploads queryable", v["uploads"], "uploads", v["uploads cited"],
            f"{v['uploads cited']} of {v['uploads']} cited by a chat about their marker word; "
            f"{v['uploads listed']} listed in their session", higher_is_better=True),
        fig("acknowledged chat turns verified", v["chats"], "turns", v["chats found"],
            f"{v['chats found']} of {v['chats']} in their session's history",
            higher_is_better=True),
        fig("acknowledged sessions verified", v["sessions"], "sessions", v["sessions found"],
            f"{v['sessions found']} of {v['sessions']}", higher_is_better=True),
        fig("acknowledged writes lost", 0, "writes", lost),
        fig("corrupt indexes", 0, "indexes", r["indexes"]["indexes corrupt"],
            f"{r['indexes']['indexes loaded']} loaded (S3 snapshots and the DATA_DIR cache)"),
        fig("request/response pairing mismatches", 0, "responses", r["mismatches"],
            "each response checked against the request its wrk thread sent"),
    ]  # fmt: skip


def run(quick: bool) -> list[Figure]:
    """Return the soak figures (quick: 13 s, one kill, a 3 s full disk)."""
    if os.geteuid() != 0:
        raise BenchError("the soak mounts a tmpfs for DATA_DIR: root is needed")
    plan = QUICK if quick else FULL
    return figures(soak(plan), plan)
