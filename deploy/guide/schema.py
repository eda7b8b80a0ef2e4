"""Define the shape of each guide data file (rollout.yaml, monday.yaml, cost_claims.yaml)."""

from __future__ import annotations

import inspect
import itertools
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

CLOCK = r"^\d{1,2}:\d{2}$"  # H:MM or HH:MM on a 24-hour clock
SOURCE = r"^L\d+(-\d+)?"  # guide line numbers, e.g. L2235-2247


class _Strict(BaseModel):
    # strict: "60" is not 60 and yes/no strings are not booleans; extra: a typo is an error
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


# --- rollout.yaml ----------------------------------------------------------------------------


class ContainerCheck(_Strict):
    """A container healthCheck as the guide's task definition sets it (whole seconds, as in AWS)."""

    interval_s: int = Field(gt=0)
    timeout_s: int = Field(gt=0)
    retries: int = Field(ge=1)
    start_period_s: int = Field(ge=0)


class RolloutSettings(_Strict):
    """The guide's ECS service and target-group settings (RolloutConfig fields)."""

    source: str = Field(pattern=SOURCE)
    desired_count: int = Field(ge=1)
    health_check_grace_period_s: int = Field(ge=0)  # healthCheckGracePeriodSeconds: whole
    circuit_breaker: bool
    rollback: bool
    healthy_threshold: int = Field(ge=2)
    unhealthy_threshold: int = Field(ge=2)
    container_health_check: ContainerCheck | None


class Q5Timeline(_Strict):
    """The guide's Q5 "health checks fail" timeline, seconds after the new task starts."""

    source: str = Field(pattern=SOURCE)
    target_unhealthy_s: int = Field(ge=0)  # the guide's clock has whole seconds
    rollback_starts_s: int = Field(ge=0)
    stable_again_s: int = Field(ge=0)
    failed_tasks: int = Field(ge=0)


class RolloutGuide(_Strict):
    """rollout.yaml: the guide's rollout settings and its Q5 failure timeline."""

    settings: RolloutSettings
    q5: Q5Timeline


# --- monday.yaml -----------------------------------------------------------------------------


class MondayRow(_Strict):
    """One row of the guide's Monday-morning table."""

    clock: str = Field(pattern=CLOCK)
    requests_per_s: float = Field(ge=0)
    cpu_pct: float = Field(ge=0, le=100)
    memory_pct: float = Field(ge=0, le=100)
    tasks_before: int = Field(ge=0)
    tasks_after: int = Field(ge=0)

    @property
    def minute(self) -> int:
        """Return minutes since midnight."""
        hours, minutes = map(int, self.clock.split(":"))
        return hours * 60 + minutes


class MondayPolicy(_Strict):
    """The guide's target-tracking policy for the scenario."""

    source: str = Field(pattern=SOURCE)
    target: float = Field(gt=0, le=100)
    scale_out_cooldown_s: float = Field(ge=0)
    scale_in_cooldown_s: float = Field(ge=0)
    min_capacity: int = Field(ge=0)
    max_capacity: int = Field(ge=1)


class MondayScenario(_Strict):
    """monday.yaml: the guide's Monday-morning load table, its policy and what it claims."""

    source: str = Field(pattern=SOURCE)
    rows: list[MondayRow] = Field(min_length=2)
    policy: MondayPolicy
    claimed_saving_pct: float
    claimed_saving_source: str = Field(pattern=SOURCE)
    claimed_scale_in_wait_min: int = Field(ge=0)  # the guide states whole minutes
    claimed_scale_in_wait_source: str = Field(pattern=SOURCE)

    @field_validator("rows")
    @classmethod
    def _in_time_order(cls, rows: list[MondayRow]) -> list[MondayRow]:
        for before, after in itertools.pairwise(rows):
            if after.minute <= before.minute:
                raise ValueError(f"rows must be in time order: {after.clock} after {before.clock}")
        return rows


# --- cost_claims.yaml ------------------------------------------------------------------------


class Segment(_Strict):
    """A stretch of the guide's Monday morning: this many tasks for this many minutes."""

    tasks: int = Field(ge=0)
    minutes: int = Field(ge=1)


class Compute(_Strict):
    """How the model computes a claim: a named computation and its keyword arguments."""

    function: str
    kwargs: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _known_and_callable(self, info: ValidationInfo) -> Compute:
        # the reader passes its computations as context: {"computations": {name: function}}
        computations = (info.context or {}).get("computations")
        if computations is None:
            return self
        if self.function not in computations:
            known = ", ".join(sorted(computations))
            raise ValueError(f"unknown function {self.function!r}; known: {known}")
        try:
            inspect.signature(computations[self.function]).bind(**self.kwargs)
        except TypeError as exc:
            raise ValueError(f"kwargs do not fit {self.function}: {exc}") from None
        return self


class CostClaim(_Strict):
    """One figure the guide states, and how the model computes the same figure."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9.-]*$")
    guide_line: int = Field(ge=1)
    claim: str = Field(min_length=1)
    guide_value: float | None  # None: the guide leaves this cost out
    unit: str = Field(min_length=1)
    erratum: int | None = Field(ge=1)  # None: the guide's arithmetic is right
    note: str
    tolerance: float = Field(0.005, ge=0)  # in `unit`: how far the guide's rounding may go
    compute: Compute


class CostClaims(_Strict):
    """cost_claims.yaml: the guide's cost figures, and its Monday-morning cost segments."""

    monday_segments: list[Segment] = Field(min_length=1)
    monday_segments_source: str = Field(pattern=SOURCE)
    claims: list[CostClaim] = Field(min_length=1)

    @field_validator("claims")
    @classmethod
    def _unique_ids(cls, claims: list[CostClaim]) -> list[CostClaim]:
        seen: set[str] = set()
        for claim in claims:
            if claim.id in seen:
                raise ValueError(f"claim id {claim.id!r} appears twice")
            seen.add(claim.id)
        return claims
