"""Benchmark the RAG service: start-up, /chat under load (wrk), PDF upload, memory, size."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import httpx

from bench.figures import BenchError, Figure, median, repeat, timing
from service.server import free_port

ROOT = Path(__file__).resolve().parents[1]
AREA = "service"
CMD = "python -m bench.run --only service"
START_GOAL_S = 1.5
P50_GOAL_MS = 25.0
P99_GOAL_MS = 150.0
UPLOAD_GOAL_S = 5.0
SIZE_GOAL_MB = 300.0
CLIENTS = 20
PDF_PAGES = 100
QUESTIONS = (
    "How does the ECS deployment circuit breaker decide to roll back?",
    "What does the deregistration delay control?",
    "Which role pulls the image from ECR, the task role or the execution role?",
    "How do I pass a secret from Secrets Manager into the container?",
    "Why does the ALB health check fail?",
)
# wrk sends the POST body from Lua and prints its own summary as one JSON line at the end.
WRK_LUA = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local bodies = {%(bodies)s}
local i = 0
request = function()
  i = i + 1
  return wrk.format(nil, "/chat", nil, bodies[(i %% #bodies) + 1])
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests": %%d, "duration_us": %%d, "connect": %%d, "read": %%d, "write": %%d, '
    .. '"status": %%d, "timeout": %%d, "p50_us": %%d, "p90_us": %%d, "p99_us": %%d, '
    .. '"max_us": %%d}\\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
"""


def rss_mb(pid: int) -> float:
    """Return a process's resident set size in MB (psutil when installed, else /proc)."""
    try:
        import psutil

        return psutil.Process(pid).memory_info().rss / 1e6
    except ImportError:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024 / 1e6
        raise BenchError(f"no VmRSS for pid {pid}") from None


@contextmanager
def running_service(
    data_dir: Path, *, python: str | Path = sys.executable, env: dict[str, str] | None = None
):
    """Start `python -m service` on a free loopback port; yield (process, base URL, t0)."""
    port = free_port()
    env = {**os.environ, **(env or {})}
    env.update({"HOST": "127.0.0.1", "PORT": str(port), "DATA_DIR": str(data_dir)})
    env.pop("API_KEY", None)
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [str(python), "-m", "service"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        yield proc, f"http://127.0.0.1:{port}", t0
    finally:
        stop_process(proc)


def stop_process(proc: subprocess.Popen, timeout: float = 15.0) -> None:
    """Stop a child process: SIGTERM, then SIGKILL if it is still there after `timeout`."""
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def wait_status(proc, url: str, t0: float, limit_s: float = 60.0, log: Path | None = None) -> float:
    """Poll `url` every 10 ms until it answers 200; return seconds since t0."""
    while time.perf_counter() - t0 < limit_s:
        if proc.poll() is not None:  # say why, from its stderr or the log it writes to
            err = (
                log.read_text(errors="replace")
                if log
                else proc.stderr.read().decode("utf-8", "replace")
            )
            err = err[-2000:]
            raise BenchError(f"the service exited with {proc.returncode}: {err}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return time.perf_counter() - t0
        except httpx.TransportError:
            pass
        time.sleep(0.01)
    raise BenchError(f"{url} did not answer 200 within {limit_s:.0f} s")


def start_samples(repeats: int, warmup: int) -> dict[str, list[float]]:
    """Start the service repeatedly; time first /health 200, /ready 200 (fresh and cached)."""
    out: dict[str, list[float]] = {"health": [], "ready": [], "ready_cached": [], "rss": []}
    for i in range(warmup + repeats):
        with tempfile.TemporaryDirectory(prefix="bench-service-") as tmp:
            with running_service(Path(tmp)) as (proc, base, t0):
                health = wait_status(proc, base + "/health", t0)
                ready = wait_status(proc, base + "/ready", t0)
                rss = rss_mb(proc.pid)
            # Second start on the same DATA_DIR: the library index is read from its cache.
            with running_service(Path(tmp)) as (proc, base, t0):
                cached = wait_status(proc, base + "/ready", t0)
        if i >= warmup:
            for key, value in zip(out, (health, ready, cached, rss), strict=True):
                out[key].append(value)
    return out


def ensure_wrk() -> str:
    """Return the wrk binary; when missing, say why and try Debian's package (root only)."""
    found = shutil.which("wrk")
    if found:
        return found
    print(
        "bench.service: `wrk` (the HTTP load generator) is not installed; the /chat load "
        "figures need it. It is a Debian package: scripts/system-deps.sh should install it.",
        file=sys.stderr,
    )
    if shutil.which("apt-get") and os.geteuid() == 0:
        print("bench.service: running `apt-get install -y wrk`", file=sys.stderr)
        subprocess.run(["apt-get", "install", "-y", "wrk"], check=False, capture_output=True)
    found = shutil.which("wrk")
    if not found:
        raise BenchError("wrk is missing: install it with `apt-get install -y wrk` (as root)")
    return found


def wrk_run(base: str, seconds: float, script: Path) -> dict:
    """Run wrk with CLIENTS connections for `seconds` against /chat; return its summary."""
    cmd = [
        ensure_wrk(), "-t", "2", "-c", str(CLIENTS), "-d", f"{seconds:g}s",
        "--timeout", "5s", "-s", str(script), base,
    ]  # fmt: skip
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 60)
    for line in out.stdout.splitlines():
        if line.startswith("WRKJSON "):
            return json.loads(line.removeprefix("WRKJSON "))
    raise BenchError(f"wrk printed no summary (exit {out.returncode}): {out.stderr[-500:]}")


def watch_rss(pid: int, stop: threading.Event, peak: list[float]) -> None:
    """Sample a process's RSS every 100 ms until `stop`; keep the peak in peak[0]."""
    while not stop.is_set():
        try:
            peak[0] = max(peak[0], rss_mb(pid))
        except (OSError, BenchError):
            return
        stop.wait(0.1)


def sample_pdf(pages: int = PDF_PAGES) -> bytes:
    """Return a text PDF of `pages` pages made from the study notes (about 450 words each)."""
    from service.rag.samplepdf import text_pdf

    words = " ".join(p.read_text() for p in sorted((ROOT / "notes").glob("*.md"))).split()
    per_page = 450
    return text_pdf(
        [" ".join(words[(i * per_page) % len(words) :][:per_page]) for i in range(pages)]
    )


def chat_load(proc, base: str, quick: bool) -> dict:
    """Drive /chat (library questions) with wrk after a warm-up; return its summary figures."""
    runs, seconds = (1, 2.0) if quick else (5, 8.0)
    bodies = ", ".join(
        "'" + json.dumps({"session_id": "library", "message": q}) + "'" for q in QUESTIONS
    )
    with tempfile.TemporaryDirectory(prefix="bench-chat-") as tmp:
        script = Path(tmp) / "chat.lua"
        script.write_text(WRK_LUA % {"bodies": bodies})
        wrk_run(base, 1.0 if quick else 3.0, script)  # warm-up (wrk takes whole seconds)
        peak, stop = [0.0], threading.Event()
        watcher = threading.Thread(target=watch_rss, args=(proc.pid, stop, peak), daemon=True)
        watcher.start()
        results = [wrk_run(base, seconds, script) for _ in range(runs)]
        stop.set()
        watcher.join()
    return {
        "p50": [r["p50_us"] / 1000 for r in results],
        "p99": [r["p99_us"] / 1000 for r in results],
        "rps": [r["requests"] / (r["duration_us"] / 1e6) for r in results],
        "errors": [sum(r[k] for k in ("connect", "read", "write", "status", "timeout"))
                   for r in results],
        "requests": sum(r["requests"] for r in results),
        "peak_rss": peak[0],
        "load": f"{CLIENTS} wrk connections, {runs} × {seconds:g} s after a warm-up",
    }  # fmt: skip


def load_and_upload(quick: bool) -> list[Figure]:
    """Start one service; drive /chat with wrk, sample its memory, then time PDF uploads."""
    pdf = sample_pdf()
    files = [("bench.pdf", pdf, "application/pdf")]
    with (
        tempfile.TemporaryDirectory(prefix="bench-load-") as tmp,
        running_service(Path(tmp) / "data") as (proc, base, t0),
    ):
        wait_status(proc, base + "/ready", t0)
        load = chat_load(proc, base, quick)
        uploads = repeat(lambda: upload(base, files), 1 if quick else 5, warmup=0 if quick else 1)
        rss_after = rss_mb(proc.pid)
    p50, p99, errors, rps, note = (load[k] for k in ("p50", "p99", "errors", "rps", "load"))
    figures: list[Figure] = []
    figures += [
        Figure(AREA, "/chat p50 latency (library, offline)", P50_GOAL_MS, "ms", median(p50), p50,
               CMD, note),
        Figure(AREA, "/chat p99 latency", P99_GOAL_MS, "ms", median(p99), p99, CMD, note),
        Figure(AREA, "/chat errors (non-2xx, socket, timeout)", 0, "requests", sum(errors),
               errors, CMD, f"total over {load['requests']} requests"),
        Figure(AREA, "/chat throughput", None, "req/s", median(rps), rps, CMD, note),
        Figure(AREA, "RSS peak under /chat load", None, "MB", load["peak_rss"], [], CMD, note),
        Figure(AREA, "RSS after the PDF uploads", None, "MB", rss_after, [], CMD,
               f"{len(uploads) + (0 if quick else 1)} sessions of {PDF_PAGES} pages held"),
        timing(AREA, f"POST /upload of a {PDF_PAGES}-page PDF", UPLOAD_GOAL_S, uploads,
               command=CMD, note=f"{len(pdf) / 1e3:.0f} kB text PDF; parse, split, embed, index"),
    ]  # fmt: skip
    return figures


def upload(base: str, files: list[tuple[str, bytes, str]]) -> float:
    """POST files to /upload as one new session; return the seconds it took."""
    t0 = time.perf_counter()
    reply = httpx.post(
        base + "/upload", files=[("files", f) for f in files], timeout=httpx.Timeout(900)
    )
    took = time.perf_counter() - t0
    if reply.status_code != 200:
        raise BenchError(f"upload answered {reply.status_code}: {reply.text[:300]}")
    return took


def installed_size_mb() -> float:
    """Install requirements/service.txt into a fresh venv; return its site-packages in MB."""
    uv = shutil.which("uv")
    if uv is None:
        raise BenchError("uv is not on PATH: it makes the throw-away venv for the size figure")
    with tempfile.TemporaryDirectory(prefix="bench-size-") as tmp:
        venv = Path(tmp) / "venv"
        subprocess.run([uv, "venv", "-q", "--python", sys.executable, str(venv)], check=True)
        subprocess.run(
            [uv, "pip", "install", "-q", "--python", str(venv / "bin" / "python"),
             "-r", str(ROOT / "requirements" / "service.txt")],
            check=True, capture_output=True, timeout=600,
        )  # fmt: skip
        site = next(venv.glob("lib/python*/site-packages"))
        return sum(f.stat().st_size for f in site.rglob("*") if f.is_file()) / 1e6


def run(quick: bool) -> list[Figure]:
    """Return the service figures (quick: every measurement once, shorter load)."""
    starts = start_samples(1 if quick else 5, warmup=0 if quick else 1)
    figures = [
        timing(AREA, "start → first /health 200", START_GOAL_S, starts["health"], command=CMD,
               note="`python -m service` subprocess, empty DATA_DIR"),
        timing(AREA, "start → /ready 200 (library indexed)", None, starts["ready"],
               command=CMD, note="notes indexed in the background thread"),
        timing(AREA, "start → /ready 200 (library from cache)", None, starts["ready_cached"],
               command=CMD, note="second start on the same DATA_DIR"),
        Figure(AREA, "RSS at /ready (fresh start)", None, "MB", median(starts["rss"]), starts["rss"],
               CMD),
    ]  # fmt: skip
    figures += load_and_upload(quick)
    size = installed_size_mb()
    figures.append(
        Figure(AREA, "installed size of the `service` extra", SIZE_GOAL_MB, "MB", size, [], CMD,
               "site-packages of a fresh venv from requirements/service.txt")
    )  # fmt: skip
    return figures
