"""Tell whether a question asks for a figure, and which kind, and whether a sentence gives it."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

# Only quantity questions get a preference: on bench/tuning, cues for definitions, reasons,
# steps and comparisons ("because", "whereas", a list item) picked worse sentences than the
# question's own words did, so they are not used (issue 15 asked for them; measured there).
Unit = Literal["time", "money", "size", "percent", "port", "any"]

_I = re.IGNORECASE
_ASKS_FIGURE = re.compile(
    r"\bhow (long|many|much|often|big|large|small|fast|soon|quickly|far|old)\b"
    r"|\b(cost|costs|price|priced|bill|pay|per (hour|month|day|gb|request))\b"
    r"|\bwhat(?:'s| is| are)? (the )?(\w+ )?(default|limit|max\w*|min\w*|timeout|interval|"
    r"threshold|size|percentage|port|number|count|value|delay|period|rate|ttl|quota|"
    r"time|duration)\b"
    r"|\bwhich port\b|\bup to what\b|\bat most\b|\bat least\b"
    r"|\b(default|limit|timeout|interval|threshold|delay|period|port) (value|of|for|is)\b"
    # terse: the figure's noun first ("Port to open for EFS mounts?", "Default timeout?")
    r"|^\W*(default|port|timeout|limit|max\w*|min\w*|interval|threshold|delay|ttl|quota)\b",
    _I,
)
_NUMBER = re.compile(
    r"\d|\b(one|two|three|four|five|six|seven|eight|nine|ten|twice|half|dozen|hundred)\b", _I
)
_UNITS: dict[Unit, re.Pattern[str]] = {
    "time": re.compile(
        r"\b\d+(\.\d+)?\s*(ms|s|sec|secs|seconds?|minutes?|mins?|hours?|h|days?|weeks?|months?)\b"
        r"|\b(one|two|three|five|ten|fifteen|thirty) (seconds?|minutes?|hours?|days?)\b",
        _I,
    ),
    "money": re.compile(r"\$\s?\d|\b\d+(\.\d+)?\s*(usd|dollars?|cents?)\b|per (hour|month)", _I),
    "size": re.compile(r"\b\d+(\.\d+)?\s*(kb|mb|gb|gib|mib|tb|vcpu|cpu units?|bytes?)\b", _I),
    "percent": re.compile(r"\d\s*%|\bpercent\b", _I),
    "port": re.compile(r"\b(ports?|tcp|udp)\s+\d{2,5}\b|:\d{2,5}\b|\b\d{2,5}/(tcp|udp)\b", _I),
}
# Which unit a figure question wants, first match wins ("how much does it cost per hour"
# wants money, not time).
_WANTS: tuple[tuple[Unit, re.Pattern[str]], ...] = (
    ("money", re.compile(r"\bcost|\bprice|\bbill|\bpay\b|\bspend|\bper month", _I)),
    (
        "time",
        re.compile(
            r"\bhow (long|soon|quickly|often)\b|\b(timeout|interval|delay|period|duration)\b"
            r"|\bwhat (\w+ )?time\b",
            _I,
        ),
    ),
    ("percent", re.compile(r"\bpercent|\bpercentage\b|%", _I)),
    ("port", re.compile(r"\bports?\b", _I)),
    ("size", re.compile(r"\bhow (big|large|small)\b|\bsize\b|\bmemory\b|\bstorage\b|\bdisk\b", _I)),
)


@dataclass(frozen=True)
class Intent:
    """Whether a question asks for a figure, and which kind of figure ("any": a count)."""

    figure: bool
    unit: Unit = "any"


@lru_cache(maxsize=4096)
def intent_of(question: str) -> Intent:
    """Classify a question: does it ask for a figure, and in which unit?"""
    if not _ASKS_FIGURE.search(question):
        return Intent(False)
    return Intent(True, next((u for u, p in _WANTS if p.search(question)), "any"))


def fit(intent: Intent, sentence: str) -> float:
    """Return how well a sentence gives the figure asked for: 1 the unit, 0.5 a number."""
    if not intent.figure:
        return 0.0
    unit = _UNITS.get(intent.unit)
    if unit is not None and unit.search(sentence):
        return 1.0
    return 0.5 if _NUMBER.search(sentence) else 0.0
