"""Set every cost figure the guide states beside the figure the cost model computes.

The figures, the guide's lines and the errata (docs/errata.md) that explain a difference live
in deploy/guide/cost_claims.yaml; each names one of `CLAIM_COMPUTATIONS` below and its
arguments, so every number here is computed by `deploy.models.cost`, never typed.
"""

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from deploy.guide import GUIDE_DIR, GuideDataError, load, path
from deploy.guide.schema import CostClaim, CostClaims
from deploy.models.common import ModelError, require_int, require_non_negative, require_positive
from deploy.models.cost import stack_cost
from deploy.models.prices import (
    HOURS_PER_MONTH,
    PRICES,
    SOURCES,
    alb_hourly,
    dynamodb_on_demand_monthly,
    ec2_monthly,
    ecr_storage_monthly,
    fargate_hourly,
    logs_monthly,
    monthly,
    percent_saving,
    public_ipv4_hourly,
    schedule_fraction,
)

__all__ = ["CLAIM_COMPUTATIONS", "GUIDE_CLAIMS", "GuideClaim", "guide_claims"]


@dataclass(frozen=True)
class GuideClaim:
    """A number the guide states, the number the model computes, and the erratum that explains."""

    id: str
    guide_line: int
    claim: str
    guide_value: float | None  # None: the guide leaves this cost out
    computed: float
    unit: str
    erratum: int | None  # None: the guide's arithmetic is right
    note: str
    tolerance: float = 0.005  # in `unit`: how far the guide's rounding may go and still agree

    @property
    def agrees(self) -> bool:
        """Return True when the guide's figure equals the computed one up to its rounding."""
        if self.guide_value is None:
            return False
        return abs(self.guide_value - self.computed) <= self.tolerance


def fargate_cost(
    vcpu: float, memory_gb: float, task_hours: float, rate_decimals: int | None = None
) -> float:
    """Return `task_hours` of Fargate at the hourly rate (rounded to `rate_decimals` if given)."""
    rate = fargate_hourly(vcpu, memory_gb)
    return require_non_negative("task_hours", task_hours) * (
        rate if rate_decimals is None else round(rate, rate_decimals)
    )


def _segment_minutes(segments: Sequence[Mapping[str, int]]) -> tuple[float, float]:
    """Return (task-minutes, minutes) of segments {tasks, minutes}."""
    for s in segments:
        require_int("segment tasks", s["tasks"])
        require_int("segment minutes", s["minutes"], minimum=1)
    return sum(s["tasks"] * s["minutes"] for s in segments), sum(s["minutes"] for s in segments)


def segments_task_hours(segments: Sequence[Mapping[str, int]]) -> float:
    """Return the task-hours of segments of {tasks, minutes}."""
    task_minutes, _ = _segment_minutes(segments)
    return task_minutes / 60


def segments_saving_pct(segments: Sequence[Mapping[str, int]], always_tasks: int) -> float:
    """Return how much cheaper the segments are than `always_tasks` tasks for as long."""
    task_minutes, minutes = _segment_minutes(segments)
    return percent_saving(always_tasks * minutes, task_minutes)


def segments_cost_ratio(segments: Sequence[Mapping[str, int]], always_tasks: int) -> float:
    """Return the segments' cost as a multiple of `always_tasks` tasks for as long."""
    task_minutes, minutes = _segment_minutes(segments)
    return task_minutes / (require_positive("always_tasks", always_tasks) * minutes)


def schedule_saving_pct(hours_per_day: float, days_per_week: float) -> float:
    """Return the percent saved by running only on a weekly schedule instead of 24/7."""
    return (1 - schedule_fraction(hours_per_day, days_per_week)) * 100


def dynamodb_messages_monthly(messages_per_day: float) -> float:
    """Return a month of on-demand writes for `messages_per_day` one-unit writes a day."""
    require_non_negative("messages_per_day", messages_per_day)
    return dynamodb_on_demand_monthly(messages_per_day * HOURS_PER_MONTH / 24, 0)


def price(name: str) -> float:
    """Return one price of the table by its field name (e.g. "alb_hour")."""
    if name not in SOURCES:
        raise ModelError(f"no price called {name!r}; known: {', '.join(sorted(SOURCES))}")
    return getattr(PRICES, name)


# What a claim's `compute.function` may name in deploy/guide/cost_claims.yaml.
CLAIM_COMPUTATIONS: dict[str, Callable[..., float]] = {
    "fargate_hourly": fargate_hourly,
    "fargate_cost": fargate_cost,
    "stack_monthly": lambda **kwargs: stack_cost(**kwargs).monthly_total,
    "alb_monthly": lambda lcu=0.0: monthly(alb_hourly(lcu)),
    "public_ipv4_monthly": lambda n_addresses: monthly(public_ipv4_hourly(n_addresses)),
    "ec2_monthly": ec2_monthly,
    "ecr_storage_monthly": ecr_storage_monthly,
    "logs_monthly": logs_monthly,
    "percent_saving": percent_saving,
    "segments_task_hours": segments_task_hours,
    "segments_saving_pct": segments_saving_pct,
    "segments_cost_ratio": segments_cost_ratio,
    "schedule_saving_pct": schedule_saving_pct,
    "dynamodb_messages_monthly": dynamodb_messages_monthly,
    "price": price,
}


def _computed(index: int, spec: CostClaim, file: Path) -> GuideClaim:
    """Return the claim with its computed value; a failing computation names file and claim."""
    try:
        value = CLAIM_COMPUTATIONS[spec.compute.function](**spec.compute.kwargs)
    except (ModelError, KeyError, TypeError) as exc:
        where = f"claims[{index}] (id {spec.id!r}).compute"
        raise GuideDataError(
            f"{file}: {where}: {spec.compute.function} failed: {type(exc).__name__}: {exc}"
        ) from None
    return GuideClaim(
        spec.id,
        spec.guide_line,
        spec.claim,
        spec.guide_value,
        float(value),
        spec.unit,
        spec.erratum,
        spec.note,
        spec.tolerance,
    )


def guide_claims(directory: Path = GUIDE_DIR) -> tuple[GuideClaim, ...]:
    """Return every cost figure the guide states beside the one computed (cost_claims.yaml)."""
    data = load(
        "cost_claims", CostClaims, directory=directory, context={"computations": CLAIM_COMPUTATIONS}
    )
    file = path("cost_claims", directory)
    return tuple(_computed(i, spec, file) for i, spec in enumerate(data.claims))


GUIDE_CLAIMS: tuple[GuideClaim, ...] = guide_claims()
