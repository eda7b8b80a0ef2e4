"""Check the rollout model against a real run: the same milestones, in order, at close times.

The rollout model (`deploy.models.rollout_sim`) is trusted for what cannot run locally (a
4.4 GB image pull, the guide's 30 s intervals) only if, fed the timings the local data plane
measured, it tells the data plane's own story. This module reduces both to the same
milestones: from the data plane, the ECS service events (describe-services, with their
createdAt); from the model, its event timeline. It then says whether they come in the same
order, and how far apart in time they are.

Milestones of a healthy deploy (desired 1): new task started, new target registered, old task
stopping, old target draining, steady state. Of a failing one: each failed task started and
stopped for failed health checks, the circuit breaker's failure, the rollback's start and the
steady state after it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from deploy.models.common import ModelError
from deploy.models.rollout import RolloutResult

__all__ = [
    "Comparison",
    "Milestone",
    "compare",
    "model_milestones",
    "real_events",
    "real_milestones",
]

KINDS = ("healthy", "failing")
FLOOR_S = 1.0  # milestones earlier than this are compared for order only (relative to ~0)

# Service-event wording (emulator/scheduler.py, ECS's own) -> what it marks.
STARTED = "has started 1 tasks"
REGISTERED = ") registered 1 targets in"  # not "deregistered"
STOPPING = "running tasks:"
DRAINING = "has begun draining connections"
UNHEALTHY = "is unhealthy in (target-group"
BREAKER = "deployment failed: tasks failed to start."
ROLLING_BACK = "rolling back to deployment"
STEADY = "has reached a steady state."


@dataclass(frozen=True)
class Milestone:
    """One step of a deployment, in seconds after update-service."""

    name: str
    time_s: float


@dataclass(frozen=True)
class Comparison:
    """The real and modelled milestones side by side, and how well they agree."""

    kind: str
    real: list[Milestone]
    model: list[Milestone]
    same_order: bool
    max_relative_diff: float  # over milestones at or after FLOOR_S in the real run
    worst: str  # the milestone with that difference
    floor_s: float = FLOOR_S  # milestones earlier than this: order only

    def rows(self) -> list[dict[str, object]]:
        """Return one row per milestone: name, real s, model s, relative difference."""
        model = {m.name: m.time_s for m in self.model}
        return [
            {
                "milestone": m.name,
                "real_s": round(m.time_s, 2),
                "model_s": round(model[m.name], 2) if m.name in model else None,
                "relative_diff": _relative(m.time_s, model.get(m.name), self.floor_s),
            }
            for m in self.real
        ]


def real_events(events: list[dict], t0: datetime) -> list[tuple[float, str]]:
    """Turn describe-services events (newest first) into (seconds after t0, message), oldest first."""
    out = []
    for event in events:
        at = event["createdAt"]
        if not isinstance(at, datetime):
            raise ModelError(f"service event createdAt must be a datetime, got {at!r}")
        seconds = (at - t0).total_seconds()
        if seconds >= 0:
            out.append((seconds, event["message"]))
    return sorted(out, key=lambda e: e[0])


def _check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise ModelError(f"kind must be one of {KINDS}, got {kind!r}")


def _first(events: list[tuple[float, str]], text: str, what: str) -> float:
    for seconds, message in events:
        if text in message:
            return seconds
    raise ModelError(f"the real run has no {what} event (no message containing {text!r})")


def real_milestones(events: list[tuple[float, str]], kind: str) -> list[Milestone]:
    """Return the milestones of a real run from its (seconds, message) events, oldest first."""
    _check_kind(kind)
    if kind == "healthy":
        found = [
            Milestone("new task started", _first(events, STARTED, "task start")),
            Milestone("new target registered", _first(events, REGISTERED, "registration")),
            Milestone("old task stopping", _first(events, STOPPING, "task stop")),
            Milestone("old target draining", _first(events, DRAINING, "draining")),
            Milestone("steady state", _first(events, STEADY, "steady state")),
        ]
        return sorted(found, key=lambda m: m.time_s)
    breaker = _first(events, BREAKER, "circuit breaker")
    started = [s for s, m in events if STARTED in m and s <= breaker]
    failed = [s for s, m in events if UNHEALTHY in m and s <= breaker]
    # A replacement can start in the same scheduler pass as the failure that trips the
    # breaker: it is still starting when the deployment fails (the rollback stops it), so
    # only the first started tasks, one per failure, are the failed ones.
    if not failed or len(started) < len(failed):
        raise ModelError(
            f"the real run started {len(started)} and failed {len(failed)} tasks before the "
            "circuit breaker; a failing deploy fails every task it starts"
        )
    started = started[: len(failed)]
    found = [Milestone(f"failed task {i} started", s) for i, s in enumerate(started, 1)]
    found += [Milestone(f"failed task {i} stopped", s) for i, s in enumerate(failed, 1)]
    found += [
        Milestone("circuit breaker failed the deployment", breaker),
        Milestone("rollback started", _first(events, ROLLING_BACK, "rollback")),
        Milestone("steady state", _first([e for e in events if e[0] >= breaker], STEADY, "steady state after the rollback")),
    ]  # fmt: skip
    return sorted(found, key=lambda m: m.time_s)


def _model_first(result: RolloutResult, event: str, detail: str = "", actor: str = "") -> float:
    for e in result.events:
        if event in e.event and e.detail.startswith(detail) and e.actor.startswith(actor):
            return e.time_s
    raise ModelError(f"the model's timeline has no {event!r} event ({actor or 'any'} {detail})")


def model_milestones(result: RolloutResult, kind: str) -> list[Milestone]:
    """Return the same milestones from the model's timeline (desired count 1)."""
    _check_kind(kind)
    if result.config.desired_count != 1:
        raise ModelError("the comparison covers a service of desired count 1")
    if kind == "healthy":
        found = [
            Milestone("new task started", _model_first(result, "PROVISIONING", actor="new-1")),
            Milestone("new target registered", _model_first(result, "target registered", "new-1")),
            Milestone("old task stopping", _model_first(result, "stopping task", "old-1")),
            Milestone("old target draining", _model_first(result, "target draining", "old-1")),
            Milestone("steady state", _model_first(result, "deployment COMPLETED")),
        ]
        return sorted(found, key=lambda m: m.time_s)
    found = []
    for i in range(1, result.threshold + 1):
        found.append(
            Milestone(
                f"failed task {i} started", _model_first(result, "PROVISIONING", actor=f"new-{i}")
            )
        )
        found.append(
            Milestone(
                f"failed task {i} stopped",
                _model_first(result, "stopping task", f"new-{i}: failed"),
            )
        )
    found += [
        Milestone("circuit breaker failed the deployment", _model_first(result, "deployment FAILED", actor="circuit-breaker")),
        Milestone("rollback started", _model_first(result, "rollback started")),
        Milestone("steady state", _model_first(result, "rollback COMPLETED")),
    ]  # fmt: skip
    return sorted(found, key=lambda m: m.time_s)


def _relative(real: float, model: float | None, floor_s: float = FLOOR_S) -> float | None:
    if model is None:
        return None
    if real < floor_s:
        return None  # both near the update call: a ratio of two tiny numbers says nothing
    return abs(model - real) / real


def _order(milestones: list[Milestone]) -> list[str]:
    """Return the names in time order; names at the same time keep the canonical order."""
    return [m.name for m in sorted(milestones, key=lambda m: round(m.time_s, 3))]


def compare(
    real: list[Milestone], model: list[Milestone], kind: str = "healthy", floor_s: float = FLOOR_S
) -> Comparison:
    """Compare two milestone lists: the same order, and the largest relative time difference.

    Milestones earlier than `floor_s` (near the update call) are compared for order only.
    """
    _check_kind(kind)
    names = {m.name for m in real}
    if names != {m.name for m in model}:
        missing = sorted(names ^ {m.name for m in model})
        raise ModelError(f"the real run and the model name different milestones: {missing}")
    by_name = {m.name: m.time_s for m in model}
    diffs = [(_relative(m.time_s, by_name[m.name], floor_s), m.name) for m in real]
    judged = [(d, n) for d, n in diffs if d is not None]
    worst = max(judged, default=(0.0, ""))
    same = _order(real) == _order(model)
    return Comparison(kind, list(real), list(model), same, worst[0], worst[1], floor_s)


def describe(comparison: Comparison) -> str:
    """Return a one-line account of the comparison for a figure's note."""
    parts = []
    for row in comparison.rows():
        model: Any = row["model_s"]
        shown = "-" if model is None else f"{model:g}"
        parts.append(f"{row['milestone']} {row['real_s']:g}/{shown} s")
    order = "same order" if comparison.same_order else "ORDER DIFFERS"
    return f"{order}; real/model: " + "; ".join(parts)
