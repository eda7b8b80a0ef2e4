"""The data plane's clock: real time, or a compressed clock that runs AWS durations faster."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass


@dataclass(frozen=True)
class Clock:
    """Turn AWS durations (health-check interval, timeouts, delays) into real seconds.

    `scale` 1.0 is real time. A smaller scale is a compressed clock (0.1: a 5 s interval
    passes in 0.5 s); everything it times is labelled as such, never passed off as real.
    """

    scale: float = 1.0

    def __post_init__(self) -> None:
        if not self.scale > 0:
            raise ValueError(f"clock scale must be a positive number, not {self.scale!r}")

    @property
    def compressed(self) -> bool:
        """Say whether AWS durations run faster than real time."""
        return self.scale != 1.0

    @property
    def label(self) -> str:
        """Name the clock for every output that reports a duration."""
        if not self.compressed:
            return "real time"
        return f"compressed clock (1 AWS second = {self.scale:g} s)"

    def seconds(self, aws_seconds: float) -> float:
        """Return how many real seconds `aws_seconds` of AWS time take on this clock."""
        return aws_seconds * self.scale

    def now(self) -> float:
        """Return a monotonic reading in real seconds (deadlines compare against it)."""
        return time.monotonic()

    async def sleep(self, aws_seconds: float) -> None:
        """Wait `aws_seconds` of AWS time."""
        await asyncio.sleep(self.seconds(aws_seconds))
