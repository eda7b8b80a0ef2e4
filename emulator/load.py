"""A load generator: GET a URL at a steady rate for a while, and count the answers.

Pointed at the local ALB's port it is the traffic that makes the service scale out (ALB
RequestCountPerTarget, the tasks' CPU). Requests go out on a schedule (one every 1/rps real
seconds: the load is never on a compressed clock) from a small pool of threads, so a slow
answer does not slow the rate down; each answer's status is counted, a failed connection as
status 0. When it stops, requests not sent yet are dropped, not sent late.
"""

from __future__ import annotations

import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

MAX_RPS = 500  # beyond this a Python client measures itself, not the service
REQUEST_TIMEOUT = 10.0


@dataclass
class LoadResult:
    """What a run sent and what came back."""

    url: str
    rps: float
    seconds: float  # how long it ran (real seconds)
    statuses: Counter = field(default_factory=Counter)

    @property
    def sent(self) -> int:
        """Return how many requests went out."""
        return sum(self.statuses.values())

    @property
    def ok(self) -> int:
        """Return how many answers were 2xx."""
        return sum(n for s, n in self.statuses.items() if 200 <= s < 300)

    def summary(self) -> str:
        """Return one line: sent, 2xx, and every other status."""
        others = ", ".join(f"{s or 'no answer'}: {n}" for s, n in sorted(self.statuses.items()))
        return (
            f"{self.sent} requests to {self.url} at {self.rps:g}/s for {self.seconds:g} s "
            f"(real time): {self.ok} 2xx ({others})"
        )


def check(url: str, rps: float, seconds: float) -> None:
    """Raise ValueError naming what is wrong with a run's settings."""
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise ValueError(f"url must be an http:// or https:// URL (the ALB's), not {url!r}")
    if not 0 < rps <= MAX_RPS:
        raise ValueError(
            f"rps (requests a second) must be above 0 and at most {MAX_RPS}, not {rps!r}"
        )
    if not seconds > 0:
        raise ValueError(f"seconds must be a positive number of seconds, not {seconds!r}")


def _get(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=REQUEST_TIMEOUT) as resp:
            resp.read()
            return resp.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except (urllib.error.URLError, OSError):
        return 0


def generate(
    url: str, rps: float, seconds: float, stop: threading.Event | None = None
) -> LoadResult:
    """GET `url` `rps` times a second for `seconds` (or until `stop` is set); count the answers."""
    check(url, rps, seconds)
    result = LoadResult(url, rps, 0.0)
    lock = threading.Lock()
    stop = stop or threading.Event()

    def one() -> None:
        status = _get(url)
        with lock:
            result.statuses[status] += 1

    pool = ThreadPoolExecutor(max_workers=max(2, min(32, int(rps))), thread_name_prefix="load")
    start = time.monotonic()
    try:
        n = 0
        while True:
            due = start + n / rps
            if due - start >= seconds or stop.wait(max(0.0, due - time.monotonic())):
                break
            pool.submit(one)
            n += 1
    finally:
        pool.shutdown(wait=True, cancel_futures=True)  # answers in flight still count
        result.seconds = round(time.monotonic() - start, 3)
    return result
