"""Maximal uploads: the service's memory after 20 of them, and the disk one of them takes."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import httpx

from bench.figures import BenchError
from bench.probe.target import Target
from bench.probe.verdict import Reply, Verdict
from bench.probe.wire import form_type, send, upload_body

CATEGORY = "oversize bodies"
UPLOADS, QUICK_UPLOADS = 20, 3
RSS_GOAL_MB = 1000.0  # 1 GB
# Stop early once memory is this far past the goal (the figure has failed; the machine's
# memory is shared) or once the uploads have taken this long.
RSS_STOP_MB = 2 * RSS_GOAL_MB
BUDGET_S, QUICK_BUDGET_S = 150.0, 60.0
UPLOAD_WAIT_S = 60.0
# Disk one upload request may take (its index and text): the 10 MB .txt took 266 MB.
DISK_MB_PER_UPLOAD = 100.0


@dataclass
class Uploads:
    """What the maximal uploads did to the service."""

    size: int = 0  # bytes per upload
    planned: int = 0
    done: int = 0
    rss_mb: list[float] = field(default_factory=list)  # after each upload
    start_rss_mb: float = 0.0
    disk_first: int = 0  # bytes DATA_DIR grew by per upload, over the first ones
    disk_total: int = 0  # bytes DATA_DIR grew by over all of them
    seconds: list[float] = field(default_factory=list)
    chunks: int | None = None
    stopped: str = ""  # why the loop ended early
    timed_out: bool = False

    @property
    def final_rss_mb(self) -> float | None:
        """Return the RSS after the last upload (None when none was accepted)."""
        return self.rss_mb[-1] if self.rss_mb else None

    @property
    def peak_rss_mb(self) -> float | None:
        """Return the highest RSS measured after an upload (None when none was accepted)."""
        return max(self.rss_mb) if self.rss_mb else None


def _data_bytes(t: Target) -> int:
    return sum(size for size, _ in t.snapshot().values())


def _upload(t: Target, size: int) -> Reply:
    body = upload_body("maximal.txt", b"word " * (size // 5))
    return send(t.client, "POST", t.base + "/upload", content=body,
                headers={"Content-Type": form_type(), **t.auth()},
                timeout=httpx.Timeout(UPLOAD_WAIT_S, connect=10))  # fmt: skip


def maximal_size(t: Target, steps: int = 4) -> tuple[int, Reply, list[Reply]]:
    """Return the largest single-line .txt the service accepts, from MAX_UPLOAD_MB down.

    Halve until one is accepted, then bisect `steps` times between it and the refused size.
    Returns the size, the answer to the last upload of that size, and every accepted answer
    (accepted probes are uploads too: they count toward the memory figure).
    """
    size = t.limits.max_upload_bytes
    reply = _upload(t, size)
    refused = None
    while reply.status not in (200, None) and size // 2 >= 64 * 1024:
        refused, size = size, size // 2
        reply = _upload(t, size)
    accepted = [reply] if reply.status == 200 else []
    best, best_reply = size, reply
    for _ in range(steps if refused and accepted else 0):
        middle = (best + refused) // 2
        probe = _upload(t, middle)
        if probe.status == 200:
            accepted.append(probe)
            best, best_reply = middle, probe
        elif probe.status is None:
            return middle, probe, accepted
        else:
            refused = middle
    return best, best_reply, accepted


def run_uploads(t: Target) -> tuple[list[Verdict], Uploads]:
    """Make maximal uploads to new sessions; measure RSS after each and the disk of the first."""
    if t.service is None:
        raise BenchError("the memory figure needs a service process to measure")
    u = Uploads(planned=QUICK_UPLOADS if t.quick else UPLOADS)
    budget = QUICK_BUDGET_S if t.quick else BUDGET_S
    u.start_rss_mb = t.service.rss_mb()
    disk0 = _data_bytes(t)
    t0 = time.perf_counter()
    u.size, reply, accepted = maximal_size(t)
    for probe in accepted[:-1]:  # bisection uploads that were accepted: count them
        u.done += 1
        u.seconds.append(probe.seconds)
        u.rss_mb.append(t.service.rss_mb())
    first = True
    while True:
        if reply.status != 200:
            u.timed_out = reply.status is None
            u.stopped = f"upload {u.done + 1} answered {reply.short()}"
            break
        u.done += 1
        u.seconds.append(reply.seconds)
        u.rss_mb.append(t.service.rss_mb())
        if first:
            first = False
            u.disk_first = _data_bytes(t) - disk0
            u.disk_first //= max(1, len(accepted))  # every accepted upload so far, averaged
            data = reply.json()
            u.chunks = data.get("chunks_indexed") if isinstance(data, dict) else None
        if u.done >= u.planned:
            break
        if u.rss_mb[-1] > RSS_STOP_MB:
            u.stopped = f"stopped after {u.done}: RSS already {u.rss_mb[-1]:.0f} MB"
            break
        if time.perf_counter() - t0 > budget:
            u.stopped = f"stopped after {u.done}: the probe's {budget:.0f} s budget ran out"
            break
        reply = _upload(t, u.size)
    u.disk_total = _data_bytes(t) - disk0
    return _verdicts(u), u


def _verdicts(u: Uploads) -> list[Verdict]:
    mb = u.size / 1e6
    label = f"{u.planned} maximal uploads"
    each = f" of {mb:.1f} MB"
    out = []
    rss = u.peak_rss_mb
    if rss is None:
        out.append(Verdict(CATEGORY, label, None, f"no maximal upload accepted: {u.stopped}"))
    elif rss > RSS_GOAL_MB:
        out.append(Verdict(
            CATEGORY, label, "high",
            f"RSS {rss:.0f} MB after {u.done} upload(s){each} (goal ≤ {RSS_GOAL_MB:.0f} MB, from "
            f"{u.start_rss_mb:.0f} MB){'; ' + u.stopped if u.stopped else ''}",
        ))  # fmt: skip
    elif u.timed_out:
        out.append(Verdict(CATEGORY, label, "medium", u.stopped))
    else:
        out.append(
            Verdict(CATEGORY, label, None, f"RSS {rss:.0f} MB after {u.done} upload(s){each}")
        )
    if u.done:
        factor = u.disk_first / u.size
        label = "disk taken by one maximal upload"
        severity = "high" if u.disk_first / 1e6 > DISK_MB_PER_UPLOAD else None
        out.append(Verdict(
            CATEGORY, label, severity,
            f"{u.disk_first / 1e6:.0f} MB on disk for {mb:.1f} MB ({factor:.0f}×, "
            f"{u.chunks} chunks; goal ≤ {DISK_MB_PER_UPLOAD:.0f} MB)",
        ))  # fmt: skip
    return out
