"""Work out a cost the notes give only as a rate: an hourly price over days or months, a
per-GB price over gigabytes, times a count of things; a price per million (or per N) requests
times a count, or over a month of a count per day, hour or second; a task size's price from
the prices per vCPU-hour and GB-hour."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

_I = re.IGNORECASE
# "$0.005 per hour", "$0.0832/h", "$0.25 per GB", "$0.023 per GB-month". Prices per
# vCPU-hour or GB-hour need a task size as well (_size_cost).
_RATE = re.compile(
    r"\$(?P<price>\d+(?:\.\d+)?)\s*(?:per\s+|/\s*|an?\s+)(?P<unit>hour|h|GB-month|GB)(?![-\w])",
    _I,
)
# AWS's monthly estimates use 730 hours (8,760 / 12); the notes do too.
HOURS = {"day": 24, "week": 168, "month": 730, "year": 8760}
_WORDS = {
    "a": 1, "an": 1, "one": 1, "single": 1, "two": 2, "three": 3, "four": 4, "five": 5,
    "eight": 8, "sixteen": 16, "half a": 0.5, "half an": 0.5,
}  # fmt: skip
_NUMBER = r"(?P<n>\d[\d,]*(?:\.\d+)?|a|an|one|single|two|three|four|five)"
_HOURS_Q = re.compile(rf"{_NUMBER}[\s-]*(?:hours?|h)\b", _I)
_PERIOD_Q = re.compile(
    rf"(?:{_NUMBER}\s+|\b(?:per|each|every)\s+)(?P<period>day|week|month|year)s?\b"
    r"|\b(?P<adj>daily|weekly|monthly|yearly|annually)\b",
    _I,
)
_GB_Q = re.compile(r"(?P<n>\d+(?:\.\d+)?)\s*(?:GB|gigabytes?)\b(?![-\w])", _I)
_COUNT_Q = re.compile(
    r"\b(?P<n>\d+|two|three|four|five)\s+(?:public\s+)?"
    r"(?P<what>tasks|addresses|IPs|IPv4 addresses|NAT gateways|load balancers|ALBs)\b",
    _I,
)
# "$0.625 per million write request units", "$0.05 per 10,000 API calls": a price per count.
_PER_COUNT = re.compile(
    r"\$(?P<price>\d+(?:\.\d+)?)\s+per\s+(?P<per>million|thousand|\d[\d,]*)\s+(?P<what>[a-z]+(?:\s+(?!per\b|and\b|since\b|in\b)[a-z]+){0,2})",
    _I,
)
_PER = {"million": 1_000_000, "thousand": 1_000}
# "30,000 chat messages a day", "200 requests per second": a count over a period.
_RATE_Q = re.compile(
    r"(?P<n>\d[\d,]*(?:\.\d+)?)\s+(?:[a-z-]+\s+){0,2}?[a-z-]+\s+(?:a|an|per|each|every)\s+"
    r"(?P<period>second|minute|hour|day|week)\b",
    _I,
)
# A count a day makes a monthly count over 30 days, as the notes' own example does (10,000
# messages a day, about 300,000 writes a month); hourly prices use AWS's 730-hour month.
_SECONDS = {"second": 1, "minute": 60, "hour": 3600, "day": 86_400, "week": 604_800}
_MONTH_S = 30 * 86_400
# "3 million read request units", "500,000 writes": a count of the priced thing.
_SCALE = {"million": 1_000_000, "thousand": 1_000}
# "$0.04048 per vCPU-hour", "$0.004445 per GB-hour": Fargate's prices per unit of task size.
_SIZE_RATE = re.compile(r"\$(?P<price>\d+(?:\.\d+)?)\s+per\s+(?P<unit>vCPU|GB)-hour\b", _I)
_VCPU_Q = re.compile(
    r"(?P<n>\d+(?:\.\d+)?|\.\d+|half an?|one|two|four|eight|sixteen)\s*-?\s*v?CPUs?\b", _I
)
_MEMORY_Q = re.compile(r"(?P<n>\d+(?:\.\d+)?)\s*(?:GB|GiB)\b(?![-\w])", _I)
_ADJ = {"daily": "day", "weekly": "week", "monthly": "month", "yearly": "year", "annually": "year"}


@dataclass(frozen=True)
class Worked:
    """A computed figure: the sentence that states it and the sentence whose rate it uses."""

    text: str
    source: str


def _number(text: str) -> float:
    return float(_WORDS.get(text.lower(), text.replace(",", "")) or 0)


def _hours(question: str) -> tuple[float, str] | None:
    """Return the hours a question asks about and how it said them, or None."""
    if m := _HOURS_Q.search(question):
        return _number(m.group("n")), f"{m.group('n')} hours"
    if m := _PERIOD_Q.search(question):
        period = m.group("period") or _ADJ[m.group("adj").lower()]
        n = _number(m.group("n")) if m.group("n") else 1.0
        label = f"{n:g} × {HOURS[period]} hours" if n != 1 else f"{HOURS[period]} hours"
        return n * HOURS[period], label
    return None


def _money(value: float) -> str:
    return f"${value:,.2f}" if value >= 0.1 else f"${value:.4f}".rstrip("0")


def _per_count(sentences: list[str]) -> Iterator[tuple[str, re.Match[str], float]]:
    """Yield each price per count with its sentence and its price for one thing."""
    for sentence in sentences:
        for rate in _PER_COUNT.finditer(sentence):
            per = _PER.get(rate.group("per").lower()) or _number(rate.group("per"))
            yield sentence, rate, float(rate.group("price")) / per


def _priced(rate: re.Match[str]) -> str:
    """Say a price per count as the notes do: "$0.125 per million read request units"."""
    return f"${rate.group('price')} per {rate.group('per')} {rate.group('what')}"


def _counted(question: str, sentences: list[str]) -> Worked | None:
    """Return a cost from a price per count and a count of the priced thing in the question."""
    for sentence, rate, each in _per_count(sentences):
        first = rate.group("what").split()[0].rstrip("s")
        asked = re.search(
            rf"(?P<n>\d[\d,]*(?:\.\d+)?|one|two|three|four|five)\s*(?P<scale>million|thousand)?"
            rf"\s+(?:[\w-]+\s+){{0,3}}?{re.escape(first)}",
            question,
            _I,
        )
        if asked is None:
            continue
        n = _number(asked.group("n")) * _SCALE.get((asked.group("scale") or "").lower(), 1)
        return Worked(f"Worked out: {n:,.0f} × {_priced(rate)} = {_money(n * each)}.", sentence)
    return None


def _size_cost(question: str, sentences: list[str]) -> Worked | None:
    """Return a task size's cost over the question's period from per vCPU/GB-hour prices."""
    cpu, memory, hours = _VCPU_Q.search(question), _MEMORY_Q.search(question), _hours(question)
    if cpu is None or memory is None or hours is None:
        return None
    for sentence in sentences:
        prices = {m.group("unit").lower(): m.group("price") for m in _SIZE_RATE.finditer(sentence)}
        if set(prices) != {"vcpu", "gb"}:
            continue
        vcpu, gb = _number(cpu.group("n")), float(memory.group("n"))
        hourly = vcpu * float(prices["vcpu"]) + gb * float(prices["gb"])
        text = (
            f"Worked out: ({vcpu:g} vCPU × ${prices['vcpu']} + {gb:g} GB × ${prices['gb']}) "
            f"per hour = ${hourly:.5f} per hour × {hours[1]} = {_money(hourly * hours[0])}."
        )
        return Worked(text, sentence)
    return None


def _count_cost(question: str, sentences: list[str]) -> Worked | None:
    """Return a monthly cost from a price per count and a count per period in the question."""
    asked = _RATE_Q.search(question)
    if asked is None or not re.search(r"\bmonth|\bmonthly\b", question, _I):
        return _counted(question, sentences)
    n, period = _number(asked.group("n")), asked.group("period").lower()
    monthly = n * _MONTH_S / _SECONDS[period]
    for sentence, rate, each in _per_count(sentences):
        # The priced thing must be what the question counts or names ("writes").
        words = rate.group("what").split()
        if not any(re.search(rf"\b{re.escape(w.rstrip('s'))}", question, _I) for w in words):
            continue
        text = (
            f"Worked out: {asked.group('n')} a {period} × {_MONTH_S // _SECONDS[period]:,} "
            f"{period}s = {monthly:,.0f} a month × {_priced(rate)} = {_money(monthly * each)}."
        )
        return Worked(text, sentence)
    return None


def work_out(question: str, sentences: list[str]) -> Worked | None:
    """Return the cost the question asks for, from the first sentence with a usable rate."""
    if worked := _count_cost(question, sentences) or _size_cost(question, sentences):
        return worked
    count = 1.0
    if m := _COUNT_Q.search(question):
        count = _number(m.group("n"))
    hours = _hours(question)
    gigabytes = _GB_Q.search(question)
    for sentence in sentences:
        for rate in _RATE.finditer(sentence):
            price, unit = float(rate.group("price")), rate.group("unit").lower()
            parts = [f"{count:g} × "] if count != 1 else []
            if unit in ("hour", "h") and hours is not None:
                total = price * hours[0] * count
                parts.append(f"${rate.group('price')} per hour × {hours[1]}")
            elif unit == "gb" and gigabytes is not None:
                total = price * float(gigabytes.group("n")) * count
                parts.append(f"${rate.group('price')} per GB × {gigabytes.group('n')} GB")
            else:
                continue
            return Worked(f"Worked out: {''.join(parts)} = {_money(total)}.", sentence)
    return None
