"""Time boxes for a mock interview: how long each question gets and what overtime costs."""

from dataclasses import dataclass

from quizzes.schema import FreeTextItem, Item

# An answer over its box loses OVERTIME_BASE of its score at once, plus OVERTIME_SLOPE times
# the overtime as a share of the box, at most OVERTIME_CAP (reached at twice the box).
OVERTIME_BASE = 0.1
OVERTIME_SLOPE = 0.4
OVERTIME_CAP = 0.5


@dataclass(frozen=True)
class TimeBoxes:
    """Seconds per question: a spoken (free-text) answer, a quick check, a follow-up."""

    free_text: float = 180.0
    other: float = 60.0
    follow_up: float = 120.0
    follow_up_share: float = 0.25  # share of the interview kept free for follow-ups

    def for_item(self, item: Item, *, follow_up: bool = False) -> float:
        """Return the box for an item (a follow-up gets the shorter follow-up box)."""
        if follow_up:
            return self.follow_up
        return self.free_text if isinstance(item, FreeTextItem) else self.other


DEFAULT_BOXES = TimeBoxes()


def overtime_penalty(seconds: float, box: float | None) -> float:
    """Return the share of the score an answer loses for taking `seconds` in a `box` (0..cap)."""
    if box is None or box <= 0 or seconds <= box:
        return 0.0
    return round(min(OVERTIME_CAP, OVERTIME_BASE + OVERTIME_SLOPE * (seconds - box) / box), 3)


def clock_text(seconds: float) -> str:
    """Return seconds as m:ss (e.g. 185 -> '3:05')."""
    whole = max(0, round(seconds))
    return f"{whole // 60}:{whole % 60:02d}"
