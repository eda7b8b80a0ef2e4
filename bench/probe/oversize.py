"""Oversize bodies: an 88 MB JSON body (timed, /health polled meanwhile), slow headers."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import httpx
import psutil

from bench.probe.target import Target
from bench.probe.verdict import Verdict, judge
from bench.probe.wire import Timed, send, timed_refusal

CATEGORY = "oversize bodies"
JSON_MB = 88
REFUSAL_GOAL_MS = 50.0
HEALTH_GOAL_MS = 100.0
# A /health stall that is a problem whatever the machine's load (the figure judges 100 ms).
STALL_S = 1.0
REPEATS, QUICK_REPEATS = 3, 1


@dataclass
class JsonRefusal:
    """Timings of oversize JSON bodies sent without a key."""

    refusal_ms: list[float] = field(default_factory=list)
    health_ms: list[float] = field(default_factory=list)  # the worst /health per attempt
    statuses: list[int | None] = field(default_factory=list)
    peak_rss_mb: float | None = None


def big_json(megabytes: int = JSON_MB) -> bytes:
    """Return a /chat body of about `megabytes` MB: a question padded with a long array."""
    # Many small values cost a JSON parser far more time and memory than one long string.
    pad = b"0," * (megabytes * 10**6 // 2)
    return b'{"session_id": "library", "message": "What is ECS?", "pad": [' + pad + b"0]}"


def _head(t: Target, size: int, key: bool) -> bytes:
    host, _ = t.host_port
    auth = f"Authorization: Bearer {t.api_key}\r\n" if key and t.api_key else ""
    return (
        f"POST /chat HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n{auth}"
        f"Content-Length: {size}\r\nConnection: close\r\n\r\n"
    ).encode()


def _poll(t: Target, stop: threading.Event, worst: list[float]) -> None:
    """GET /health every 10 ms until `stop`; keep the slowest answer in worst[0]."""
    with httpx.Client(timeout=60) as client:
        while not stop.is_set():
            t0 = time.perf_counter()
            with contextlib.suppress(httpx.HTTPError):
                client.get(t.base + "/health")
            worst[0] = max(worst[0], time.perf_counter() - t0)
            stop.wait(0.01)


def _watch_rss(t: Target, stop: threading.Event, peak: list[float]) -> None:
    """Sample the service's RSS every 20 ms until `stop`; keep the peak in peak[0]."""
    while t.service is not None and not stop.is_set():
        with contextlib.suppress(psutil.Error):  # the process may be gone: judged elsewhere
            peak[0] = max(peak[0], t.service.rss_mb())
        stop.wait(0.02)


def json_refusal(t: Target, body: bytes, key: bool = False) -> tuple[Timed, float, float]:
    """Send the body; return the timed answer, the worst /health ms meanwhile and peak RSS."""
    stop, worst, peak = threading.Event(), [0.0], [0.0]
    watchers = [
        threading.Thread(target=_poll, args=(t, stop, worst), daemon=True),
        threading.Thread(target=_watch_rss, args=(t, stop, peak), daemon=True),
    ]
    for thread in watchers:
        thread.start()
    time.sleep(0.05)  # the poller's first request is in
    timed = timed_refusal(*t.host_port, _head(t, len(body), key), body, timeout=120)
    time.sleep(0.05)
    stop.set()
    for thread in watchers:
        thread.join(60)
    return timed, worst[0] * 1000, peak[0]


def measure(t: Target, result: JsonRefusal) -> Iterator[Verdict]:
    """Time the 88 MB body without a key (the figure), then send it once with the key."""
    body = big_json()
    label = f"{JSON_MB} MB JSON to /chat without the key"
    read_first = False
    for _ in range(QUICK_REPEATS if t.quick else REPEATS):
        timed, health, peak = json_refusal(t, body)
        result.refusal_ms.append(timed.first_s * 1000)
        result.health_ms.append(health)
        result.statuses.append(timed.reply.status)
        result.peak_rss_mb = max(result.peak_rss_mb or 0.0, peak) if t.service else None
        read_first = read_first or timed.body_sent_first
        if timed.body_sent_first:
            break  # the body was read before the answer: one sample says so
    status, ms, health = result.statuses[0], result.refusal_ms[0], max(result.health_ms)
    if status is None or status >= 500:
        yield Verdict(CATEGORY, label, "medium", f"answer {status} after {ms:.0f} ms")
    elif read_first or health > STALL_S * 1000:
        yield Verdict(
            CATEGORY, label, "medium",
            f"{status} after {ms / 1000:.1f} s, once the whole body was read; /health stalled up "
            f"to {health / 1000:.1f} s",
        )  # fmt: skip
    else:
        yield Verdict(CATEGORY, label, None, f"{status} after {ms:.0f} ms, body unread")
    timed, _, _ = json_refusal(t, body, key=True)
    label = f"{JSON_MB} MB JSON to /chat with the key"
    status, ms = timed.reply.status, timed.first_s * 1000
    if status != 413 or timed.body_sent_first:
        yield Verdict(
            CATEGORY, label, "medium",
            f"answered {status} after {ms / 1000:.1f} s; a 413 naming the limit was expected "
            "before the body is read",
        )  # fmt: skip
    else:
        yield Verdict(CATEGORY, label, None, f"413 after {ms:.0f} ms: {timed.reply.detail[:80]}")


def slow_headers(t: Target, connections: int = 50) -> Verdict:
    """Hold connections open mid-headers; /health must still answer within a second."""
    host, port = t.host_port
    socks = []
    try:
        for _ in range(connections):
            s = socket.create_connection((host, port), timeout=5)
            s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: ")
            socks.append(s)
        reply = send(t.client, "GET", t.base + "/health")
    finally:
        for s in socks:
            s.close()
    label = f"{connections} connections stalled mid-headers"
    if reply.status != 200 or reply.seconds > 1.0:
        return Verdict(CATEGORY, label, "low", f"/health {reply.short()} in {reply.seconds:.1f} s")
    return Verdict(CATEGORY, label, None, f"/health answered in {reply.seconds * 1000:.0f} ms")


def open_checks(t: Target) -> Iterator[Verdict]:
    """Oversize inputs against the service without a key: a big JSON body, stalled headers."""
    before = t.snapshot()
    reply = send(t.client, "POST", t.base + "/chat", content=big_json(16),
                 headers={"Content-Type": "application/json"}, timeout=120)  # fmt: skip
    wrote, outside = t.changes(before)
    yield judge(CATEGORY, "16 MB JSON to /chat (no API_KEY set)", reply, wrote=wrote,
                outside=outside)  # fmt: skip
    yield slow_headers(t)
