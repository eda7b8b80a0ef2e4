"""Hold one benchmark figure (goal, value, spread, reproduce command) and time things."""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field


class BenchError(RuntimeError):
    """Signal a benchmark that could not produce its figure (the message says why)."""


@dataclass
class Figure:
    """One measured figure and the goal it is held to (goal None: reported, not judged)."""

    area: str
    name: str
    goal: float | None
    unit: str
    value: float | None
    samples: list[float] = field(default_factory=list)
    command: str = ""
    note: str = ""
    higher_is_better: bool = False  # recall, agreement; times and sizes are lower-is-better
    # Side-by-side figures (bench/compare.py): `value` is ours, `versus` the compared variant's.
    versus: float | None = None
    versus_samples: list[float] = field(default_factory=list)

    @property
    def ratio(self) -> float | None:
        """Return value / goal (≤ 1 meets a lower-is-better goal, ≥ 1 a higher-is-better one)."""
        if self.goal in (None, 0) or self.value is None:
            return None
        return self.value / self.goal

    @property
    def versus_ratio(self) -> float | None:
        """Return value / versus (ours ÷ theirs), when both were measured."""
        if self.versus in (None, 0) or self.value is None:
            return None
        return self.value / self.versus

    @property
    def met(self) -> bool | None:
        """Say whether the goal is met (None when there is no goal or no value)."""
        if self.goal is None or self.value is None:
            return None
        return self.value >= self.goal if self.higher_is_better else self.value <= self.goal

    @property
    def spread(self) -> tuple[float, float] | None:
        """Return (min, max) of the samples when there is more than one."""
        return (min(self.samples), max(self.samples)) if len(self.samples) > 1 else None

    def to_dict(self) -> dict:
        """Return the figure as plain data (for the JSON results)."""
        out = {**asdict(self), "ratio": self.ratio, "met": self.met}
        if self.versus is not None:
            out["versus_ratio"] = self.versus_ratio
        return out


def median(samples: list[float]) -> float:
    """Return the median of the samples (BenchError when there are none)."""
    if not samples:
        raise BenchError("no samples were measured")
    return statistics.median(samples)


def percentile(samples: list[float], pct: float) -> float:
    """Return the nearest-rank percentile `pct` (0-100) of the samples."""
    ordered = sorted(samples)
    if not ordered:
        raise BenchError("no samples were measured")
    rank = max(1, min(len(ordered), math.ceil(pct / 100 * len(ordered))))
    return ordered[rank - 1]


def repeat(fn: Callable[[], float | None], repeats: int, warmup: int = 1) -> list[float]:
    """Call `fn` warmup + repeats times; return the repeats' durations (or what fn returns)."""
    out: list[float] = []
    for i in range(warmup + repeats):
        start = time.perf_counter()
        got = fn()
        took = time.perf_counter() - start if got is None else got
        if i >= warmup:
            out.append(took)
    return out


def timing(area: str, name: str, goal: float | None, samples: list[float], **kw) -> Figure:
    """Return a seconds Figure whose value is the median of `samples`."""
    return Figure(area, name, goal, "s", median(samples), list(samples), **kw)
