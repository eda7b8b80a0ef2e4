"""Define the shape of each guide data file (the YAML files in deploy/guide)."""

from __future__ import annotations

import inspect
import itertools
import re
import string
from collections.abc import Iterable
from typing import Any, Literal

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


# --- walkthrough.yaml ------------------------------------------------------------------------


class Checkpoint(_Strict):
    """Where to look after a step, what success looks like and what a typical failure does."""

    # ${name} placeholders in each text: the StackNames fields, ${account} and ${region}
    cli: list[str] = Field(min_length=1)
    console: str = Field(min_length=1)
    success: str = Field(min_length=1)
    failure: str = Field(min_length=1)

    @field_validator("cli", "console", "success", "failure")
    @classmethod
    def _known_placeholders(cls, value: str | list[str], info: ValidationInfo) -> str | list[str]:
        # the reader passes what a text may name as context: {"placeholders": {...}}
        known = (info.context or {}).get("placeholders")
        for text in [value] if isinstance(value, str) else value:
            template = string.Template(text)
            if not template.is_valid():
                raise ValueError(f"bad placeholder in {text!r}: write ${{name}}, and $$ for $")
            unknown = set(template.get_identifiers()) - set(known or ())
            if known is not None and unknown:
                raise ValueError(
                    f"unknown placeholder(s) {sorted(unknown)} in {text!r}; "
                    f"known: {', '.join(sorted(known))}"
                )
        return value


class WalkStep(_Strict):
    """One step of the real-account walk-through: a stack resource, its price and checkpoint."""

    id: str  # the stack resource (deploy.stack.NEEDS) this step applies
    title: str = Field(min_length=1)
    guide: str = Field(min_length=1)  # where the guide creates or explains it
    source: str = Field(pattern=SOURCE)
    moved: str | None = None  # why the step is not where the guide has it
    # What the step adds to the priced stack (deploy.models.cost.stack_cost arguments, summed
    # over the steps so far), or why it costs nothing: exactly one of the two.
    adds: dict[str, bool | int | float] | None = None
    free: str | None = None
    billing: str = Field(min_length=1)  # when the meter starts (or why there is none)
    wait_stable: bool = False  # wait for the ECS service to be stable before the checkpoint
    checkpoint: Checkpoint

    @model_validator(mode="after")
    def _priced_or_free(self, info: ValidationInfo) -> WalkStep:
        if (self.adds is None) == (self.free is None):
            raise ValueError("give exactly one of adds (what it costs) or free (why it is free)")
        inputs = (info.context or {}).get("cost_inputs")
        unknown = set(self.adds or ()) - set(inputs or ())
        if inputs is not None and unknown:
            known = ", ".join(sorted(inputs))
            raise ValueError(f"adds names unknown cost input(s) {sorted(unknown)}; known: {known}")
        return self


class Walkthrough(_Strict):
    """walkthrough.yaml: the stack's resources in the guide's order, each priced and checked."""

    source: str = Field(pattern=SOURCE)
    steps: list[WalkStep] = Field(min_length=1)

    @field_validator("steps")
    @classmethod
    def _every_resource_once_after_its_needs(
        cls, steps: list[WalkStep], info: ValidationInfo
    ) -> list[WalkStep]:
        order = [step.id for step in steps]
        repeated = sorted({name for name in order if order.count(name) > 1})
        if repeated:
            raise ValueError(f"step(s) {repeated} appear more than once")
        # the reader passes the stack's dependency map as context: {"needs": {name: (deps)}}
        needs = (info.context or {}).get("needs")
        if needs is None:
            return steps
        unknown = [name for name in order if name not in needs]
        missing = [name for name in needs if name not in order]
        if unknown or missing:
            raise ValueError(
                f"the steps must be the stack's resources: unknown {unknown}, missing {missing}"
            )
        for position, name in enumerate(order):
            late = [dep for dep in needs[name] if order.index(dep) > position]
            if late:
                raise ValueError(f"step {name!r} comes before {late}, which it needs")
        return steps


# --- cli_commands.yaml -----------------------------------------------------------------------

FILE_REF = re.compile(r"file://([\w./-]+)")


def _unknown_placeholders(text: str, known: Iterable[str] | None) -> list[str]:
    """Return the ${names} in `text` that are not `known` (shell `$(...)` and `$VAR` are allowed)."""
    named = set(re.findall(r"\$\{(\w+)\}", text))
    return [] if known is None else sorted(named - set(known))


class CliCommand(_Strict):
    """One distinct `aws ...` command of the guide: its status, the fix and how moto runs it."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    guide_line: int = Field(ge=1)
    section: str = Field(min_length=1)  # the guide's `##` section the command is in
    command: str = Field(pattern=r"^aws ")  # as the guide writes it
    status: Literal["as-written", "with-fix", "real-aws-only"]
    fix: str | None = None  # the command(s) to run instead; ${placeholders} from the stack
    why: str = Field(min_length=1)
    erratum: int | None = Field(None, ge=1)  # the docs/errata.md item, if one applies
    # when the runner executes it on moto: on the applied stack, in the clean-up (destructive,
    # after every `stack` command), after the clean-up (it creates what the clean-up removed),
    # or never (it cannot run there; `why` says why)
    when: Literal["stack", "cleanup", "after-cleanup", "never"] = "stack"
    setup: str | None = None  # run first, to make the case the guide's command is for
    broken: Literal["fails", "null"] | None = None  # how the guide's form goes wrong (checked)

    @model_validator(mode="after")
    def _consistent(self, info: ValidationInfo) -> CliCommand:
        if self.status == "with-fix" and self.fix is None:
            raise ValueError("a with-fix command needs its fix")
        if self.status == "as-written" and self.fix is not None:
            raise ValueError("an as-written command has no fix")
        if self.broken and self.status == "as-written":
            raise ValueError("an as-written command is not broken")
        known = (info.context or {}).get("placeholders")
        for text in (self.fix or "", self.setup or ""):
            unknown = _unknown_placeholders(text, known)
            if unknown:
                raise ValueError(f"unknown placeholder(s) {unknown}; known: {sorted(known)}")
        return self

    @property
    def runs(self) -> str:
        """Return what the runner executes: the fix of a with-fix command, else the command."""
        return self.fix if self.status == "with-fix" and self.fix else self.command


class CliCommands(_Strict):
    """cli_commands.yaml: the guide's AWS CLI commands, the values and files they need."""

    source: str = Field(pattern=SOURCE)
    guide_values: dict[str, str]  # the guide's stand-ins (<TASK_ARN>, ACCOUNT_ID) -> ${names}
    files: dict[str, str]  # files the commands read (file://name), ${placeholders} filled
    commands: list[CliCommand] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_and_known(self, info: ValidationInfo) -> CliCommands:
        ids = [c.id for c in self.commands]
        repeated = sorted({i for i in ids if ids.count(i) > 1})
        if repeated:
            raise ValueError(f"command id(s) {repeated} appear more than once")
        placeholders = (info.context or {}).get("placeholders")
        for where, text in [*self.guide_values.items(), *self.files.items()]:
            unknown = _unknown_placeholders(text, placeholders)
            if unknown:
                raise ValueError(f"{where}: unknown placeholder(s) {unknown}")
        known = set(self.files) | set((info.context or {}).get("files", ()))
        for entry in self.commands:
            text = entry.runs if entry.when != "never" else ""
            missing = sorted(set(FILE_REF.findall(text)) - known)
            if missing:
                raise ValueError(f"{entry.id} reads file(s) {missing} that files does not give")
        return self
