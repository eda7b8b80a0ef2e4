"""Crafted PDFs: each must be refused or finished within 5 s of CPU, writing nothing if refused."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import httpx

from bench.probe import pdfs
from bench.probe.target import Target
from bench.probe.verdict import Verdict
from bench.probe.wire import Part, form_type, multipart, send

CATEGORY = "crafted PDFs"
CPU_GOAL_S = 5.0
# Seconds a client waits for one crafted PDF (the goal is 5 s of CPU: anything past this
# is a problem whatever it ends in). Quick mode waits less.
WAIT_S, QUICK_WAIT_S = 30.0, 15.0
# (label, builder, whether the figures hold it to the CPU goal)
CRAFTED: list[tuple[str, Callable[[], bytes], bool]] = [
    ("3 pages sharing one 5 MB content stream", pdfs.shared_stream, True),
    ("1 page whose 16 KB stream inflates to 14 MB", pdfs.expanding_page, True),
    ("55,000 pages", pdfs.many_pages, True),
    ("page tree 5,000 levels deep", pdfs.nested_pages, True),
    ("arrays nested 50,000 deep", pdfs.nested_arrays, False),
    ("page tree that contains itself", pdfs.cyclic_tree, False),
    ("page count claiming 10**9 pages", pdfs.lying_count, False),
    ("stream Length past the end of the file", pdfs.bad_length, False),
    ("first half of a PDF", pdfs.truncated, False),
    ("unknown encryption handler", pdfs.encrypted_marker, False),
]


@dataclass
class Cost:
    """What one crafted PDF cost the service."""

    label: str
    size: int
    inflated: int
    cpu_s: float | None  # None: no service process to measure
    status: int | None  # None: no answer before the client gave up
    wrote: int
    figure: bool
    reason: str = ""


def _busy_after(t: Target, seconds: float = 1.5) -> float:
    """Return the CPU seconds the service burns in the next `seconds` (0 without a process)."""
    if t.service is None:
        return 0.0
    start = t.service.cpu_seconds()
    time.sleep(seconds)
    return t.service.cpu_seconds() - start


def check_pdf(t: Target, label: str, data: bytes, figure: bool = False) -> tuple[Verdict, Cost]:
    """Upload one crafted PDF; measure the service's CPU and what it wrote; judge both."""
    wait = QUICK_WAIT_S if t.quick else WAIT_S
    body = multipart([Part("files", data, "crafted.pdf", content_type="application/pdf")])
    before = t.snapshot()
    cpu0 = t.service.cpu_seconds() if t.service else None
    reply = send(t.client, "POST", t.base + "/upload", content=body,
                 headers={"Content-Type": form_type(), **t.auth()},
                 timeout=httpx.Timeout(wait, connect=10))  # fmt: skip
    cpu = t.service.cpu_seconds() - cpu0 if t.service and cpu0 is not None else None
    busy = _busy_after(t) if reply.status is None else 0.0
    if reply.status is None and t.service is not None:
        t.service.kill()  # the work goes on without a client: stop it, then start afresh
        t.service.start()
        t.base = t.service.base
    wrote, outside = t.changes(before)
    size, inflated = pdfs.bomb_sizes(data)
    cost = Cost(label, size, inflated, cpu, reply.status, len(wrote), figure)
    severity, cost.reason = _judge(reply, cost, wait, busy, wrote, outside)
    return Verdict(CATEGORY, label, severity, cost.reason), cost


def _judge(reply, cost: Cost, wait: float, busy: float, wrote, outside) -> tuple[str | None, str]:
    cpu = "" if cost.cpu_s is None else f" after {cost.cpu_s:.1f} s of CPU"
    if outside:
        return "high", f"wrote outside DATA_DIR: {outside[:3]}"
    if reply.status is None:
        went_on = f"; it went on working after the client left ({busy:.1f} s CPU in 1.5 s)"
        return "medium", f"no answer within {wait:g} s{cpu}" + (went_on if busy > 0.5 else "")
    data = reply.json() if reply.status == 200 else None
    chunks = f", {data.get('chunks_indexed')} chunks" if isinstance(data, dict) else ""
    what = "accepted" if reply.status == 200 else f"refused ({reply.short()})"
    if reply.status >= 500:
        return "medium", f"server error {reply.short()}{cpu}"
    if cost.cpu_s is not None and cost.cpu_s > CPU_GOAL_S:
        return "medium", f"{what}{cpu}{chunks} (goal ≤ {CPU_GOAL_S:g} s)"
    if reply.status >= 400 and wrote:
        return "medium", f"{what} but wrote {len(wrote)} file(s)"
    return None, f"{what}{cpu}{chunks}"


def checks(t: Target, costs: list[Cost]) -> Iterator[Verdict]:
    """Upload every crafted PDF; append what each cost to `costs`."""
    for label, build, figure in CRAFTED:
        verdict, cost = check_pdf(t, label, build(), figure)
        costs.append(cost)
        yield verdict
