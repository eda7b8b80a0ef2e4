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
# Nouns that name a figure: "what is the default", "NAT gateway hourly charge?".
_FIGURE_NOUNS = (
    r"(default|limit|max\w*|min\w*|timeout|interval|threshold|sizes?|percentage|ports?|"
    r"number|count|delay|period|rate|ttl|quota|time|duration|length|lifetime|"
    r"charges?|fees?|prices?|costs?|discount|savings?|allowances?|datapoints|set-?point|"
    r"hourly|per-hour|per-gigabyte)"
)
_ASKS_FIGURE = re.compile(
    r"\bhow (long|many|much|often|big|large|small|fast|soon|quickly|far|old)\b"
    r"|\b(cost|costs|price|priced|bill|pay|charge|charges|per (hour|month|day|gb|request))\b"
    rf"|\b(what|which)(?:'s| is| are)? (the )?(\w+[ -]){{0,2}}{_FIGURE_NOUNS}\b"
    r"|\bup to what\b|\bat most\b|\bat least\b"
    r"|\b(default|limit|timeout|interval|threshold|delay|period|port) (value|of|for|is)\b",
    _I,
)
# A terse question asks without a question word: "Port to open for EFS mounts?", "ECR login
# password lifetime?"; a figure noun anywhere in it asks for the figure.
_QUESTION_WORD = re.compile(r"\b(what|which|who|whom|whose|when|where|why|how|whats)\b", _I)
_TERSE_FIGURE = re.compile(rf"\b({_FIGURE_NOUNS}|values)\b", _I)
# "Price aside, why ..." asks for a reason.
_WHY = re.compile(r"\bwhy\b", _I)
_NUMBER = re.compile(
    r"\d|\b(one|two|three|four|five|six|seven|eight|nine|ten|twice|half|dozen|hundred)\b", _I
)
_UNITS: dict[Unit, re.Pattern[str]] = {
    "time": re.compile(
        r"\b\d+(\.\d+)?(\s*|-)(ms|s|sec|secs|seconds?|minutes?|mins?|hours?|h|days?|weeks?|months?)\b"
        r"|\b(one|two|three|five|ten|fifteen|thirty)[ -](seconds?|minutes?|hours?|days?)\b",
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
    ("percent", re.compile(r"\bdiscount|\bsavings?\b|\bset-?point\b", _I)),
    (
        "money",
        re.compile(
            r"\bcost|\bprice|\bbill|\bpay\b|\bspend|\bper month|\bcharge|\bfees?\b|\bhourly\b"
            r"|\bper-(hour|gigabyte)\b",
            _I,
        ),
    ),
    (
        "time",
        re.compile(
            r"\bhow (long|soon|quickly|often)\b"
            r"|\b(timeout|interval|delay|period|duration|lifetime)\b"
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
    if _WHY.search(question):
        return Intent(False)
    asks = _ASKS_FIGURE.search(question) or (
        not _QUESTION_WORD.search(question) and _TERSE_FIGURE.search(question)
    )
    if not asks:
        return Intent(False)
    return Intent(True, next((u for u, p in _WANTS if p.search(question)), "any"))


def fit(intent: Intent, sentence: str) -> float:
    """Return how well a sentence gives the figure asked for: 1 the unit, less for a number.

    A number answers a count question (0.5); when a unit was asked, a number in some other
    unit ("10 % below" for "how long") is a weaker lead (0.25).
    """
    if not intent.figure:
        return 0.0
    unit = _UNITS.get(intent.unit)
    if unit is not None and unit.search(sentence):
        return 1.0
    return (0.5 if unit is None else 0.25) if _NUMBER.search(sentence) else 0.0
