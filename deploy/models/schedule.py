"""When an Application Auto Scaling schedule fires: `at(...)`, `rate(...)` and AWS's 6-field cron.

A model of the documented expression rules, used by the emulator to run scheduled actions:
- `at(yyyy-mm-ddThh:mm:ss)` runs once; `rate(value unit)` runs every interval from the action's
  start time (else its creation); `cron(minutes hours day-of-month month day-of-week year)` runs
  at each matching minute, in the action's time zone (UTC unless `Timezone` is set).
- cron fields take `*`, lists `a,b`, ranges `a-b`, steps `a/n` or `*/n`, month names JAN-DEC
  and day names SUN-SAT; day-of-week 1 is Sunday; one of day-of-month and day-of-week must be
  `?`. `L` (last day of the month) is modelled in day-of-month, `d#n` (the nth weekday) in
  day-of-week; `W` and `L` in day-of-week are refused as not modelled.
  https://docs.aws.amazon.com/autoscaling/application/userguide/scheduled-scaling-using-cron-expressions.html
  https://docs.aws.amazon.com/autoscaling/application/APIReference/API_PutScheduledAction.html
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from deploy.models.common import ModelError

MONTHS = {name.upper(): i for i, name in enumerate(calendar.month_abbr) if name}  # JAN -> 1
DAYS = {"SUN": 1, "MON": 2, "TUE": 3, "WED": 4, "THU": 5, "FRI": 6, "SAT": 7}
UNITS = {"minute": 60, "minutes": 60, "hour": 3600, "hours": 3600, "day": 86400, "days": 86400}
# field -> (lowest, highest, names)
FIELDS = {
    "minutes": (0, 59, {}),
    "hours": (0, 23, {}),
    "day-of-month": (1, 31, {}),
    "month": (1, 12, MONTHS),
    "day-of-week": (1, 7, DAYS),
    "year": (1970, 2199, {}),
}


def _number(text: str, field: str, names: dict[str, int]) -> int:
    low, high, _ = FIELDS[field]
    value = names.get(text.upper()) if not text.isdigit() else int(text)
    if value is None or not low <= value <= high:
        raise ModelError(f"cron {field} {text!r} is not a value in {low}-{high} or a known name")
    return value


def _values(text: str, field: str) -> set[int]:
    """Return the values one cron field admits (`*`, lists, ranges, steps, names)."""
    low, high, names = FIELDS[field]
    found: set[int] = set()
    for part in text.split(","):
        body, _, step_text = part.partition("/")
        step = int(step_text) if step_text.isdigit() and int(step_text) > 0 else None
        if step_text and step is None:
            raise ModelError(f"cron {field} step {step_text!r} must be a positive number")
        if body == "*":
            first, last = low, high
        elif "-" in body:
            a, b = body.split("-", 1)
            first, last = _number(a, field, names), _number(b, field, names)
        else:
            first = _number(body, field, names)
            last = high if step else first
        found.update(range(first, last + 1, step or 1))
    return found


@dataclass(frozen=True)
class Cron:
    """A parsed AWS cron expression (six fields)."""

    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int] | None  # None: '?'
    last_day: bool
    months: frozenset[int]
    weekdays: frozenset[int] | None  # 1 = Sunday; None: '?'
    nth: tuple[int, int] | None  # (weekday, n) for d#n
    years: frozenset[int]

    def matches(self, when: datetime) -> bool:
        """Say whether the cron fires at this minute (a wall-clock time in its zone)."""
        if when.minute not in self.minutes or when.hour not in self.hours:
            return False
        if when.month not in self.months or when.year not in self.years:
            return False
        weekday = (when.isoweekday() % 7) + 1  # Sunday = 1 ... Saturday = 7
        if self.nth is not None:
            day, n = self.nth
            return weekday == day and (when.day - 1) // 7 + 1 == n
        if self.weekdays is not None:
            return weekday in self.weekdays
        if self.last_day:
            return when.day == calendar.monthrange(when.year, when.month)[1]
        return self.days is not None and when.day in self.days


def parse_cron(body: str) -> Cron:
    """Parse the inside of `cron(...)`; raise ModelError naming the field that is wrong."""
    fields = body.split()
    if len(fields) != 6:
        raise ModelError(
            f"cron({body}) has {len(fields)} fields; AWS's cron has six: minutes hours "
            "day-of-month month day-of-week year"
        )
    minute, hour, dom, month, dow, year = fields
    if (dom == "?") == (dow == "?"):
        raise ModelError(f"cron({body}): exactly one of day-of-month and day-of-week must be '?'")
    if "W" in dom.upper() or dow.upper().endswith("L"):
        raise ModelError(f"cron({body}): W and day-of-week L are valid on AWS but not modelled")
    nth = None
    if "#" in dow:
        day, _, n = dow.partition("#")
        if not n.isdigit() or not 1 <= int(n) <= 5:
            raise ModelError(f"cron day-of-week {dow!r}: the n of d#n is 1 to 5")
        nth = (_number(day, "day-of-week", DAYS), int(n))
    return Cron(
        minutes=frozenset(_values(minute, "minutes")),
        hours=frozenset(_values(hour, "hours")),
        days=None if dom in ("?", "L") else frozenset(_values(dom, "day-of-month")),
        last_day=dom == "L",
        months=frozenset(_values(month, "month")),
        weekdays=None if dow == "?" or nth else frozenset(_values(dow, "day-of-week")),
        nth=nth,
        years=frozenset(_values(year, "year")),
    )


def _zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        raise ModelError(
            f"time zone {name!r} is not an IANA zone name (e.g. Europe/Paris)"
        ) from None


def _utc(when: datetime) -> datetime:
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def _minutes(start: datetime, end: datetime) -> Iterator[datetime]:
    """Yield each whole minute in [start, end) (aware UTC)."""
    t = start.replace(second=0, microsecond=0)
    if t < start:
        t += timedelta(minutes=1)
    while t < end:
        yield t
        t += timedelta(minutes=1)


def firings(
    expression: str,
    start: datetime,
    end: datetime,
    *,
    timezone: str | None = None,
    created: datetime | None = None,
) -> list[datetime]:
    """Return when a schedule fires in [start, end) as aware UTC times (naive input is UTC)."""
    start, end = _utc(start), _utc(end)
    text = expression.strip()
    match = re.fullmatch(r"(at|rate|cron)\((.*)\)", text)
    if match is None:
        raise ModelError(f"schedule {expression!r} must be at(...), rate(...) or cron(...)")
    kind, body = match.groups()
    zone = _zone(timezone)
    if kind == "at":
        try:
            local = datetime.fromisoformat(body)
        except ValueError:
            raise ModelError(f"at({body}) is not yyyy-mm-ddThh:mm:ss") from None
        when = local.replace(tzinfo=zone).astimezone(UTC)
        return [when] if start <= when < end else []
    if kind == "rate":
        value, _, unit = body.partition(" ")
        if not value.isdigit() or int(value) < 1 or unit not in UNITS:
            raise ModelError(f"rate({body}) must be a positive number and minute(s)/hour(s)/day(s)")
        every = timedelta(seconds=int(value) * UNITS[unit])
        origin = _utc(created or start)
        n = max(1, -(-(start - origin) // every))  # the first run after the origin in the window
        out, when = [], origin + n * every
        while when < end:
            out.append(when)
            when += every
        return out
    cron = parse_cron(body)
    return [
        t for t in _minutes(start, end) if cron.matches(t.astimezone(zone).replace(tzinfo=None))
    ]
