"""Walk the stack onto an account one resource at a time: the price first, then a checkpoint.

The steps, their order (the guide's, as far as the dependencies allow), what each adds to the
bill and where to look afterwards are data: deploy/guide/walkthrough.yaml. `run_step` prices
a step with the cost model (`deploy.models.cost`, a model: moto bills nothing), applies it
with `stack.apply(target=step)` and runs its checkpoint, a describe call that works on every
backend. On real AWS each step needs a yes, as `stack.apply` does.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import string
from collections.abc import Callable
from dataclasses import dataclass

from deploy import checkpoints, release, stack
from deploy.aws.errors import ConfirmationRequired, DeployError
from deploy.aws.names import StackNames
from deploy.checkpoints import CheckpointFailed as CheckpointFailed  # check raises it
from deploy.guide import GUIDE_DIR, load
from deploy.guide.schema import WalkStep, Walkthrough
from deploy.models import cost
from deploy.resources.contract import Change
from service.aws import AwsContext

# What a checkpoint command may name besides the StackNames fields.
EXTRA_PLACEHOLDERS = ("account", "region")


class WalkthroughError(DeployError, ValueError):
    """A step the walk-through does not have, or a bad argument (the message names it)."""


def _placeholders() -> set[str]:
    return {f.name for f in dataclasses.fields(StackNames)} | set(EXTRA_PLACEHOLDERS)


@functools.cache
def guide(directory: str = str(GUIDE_DIR)) -> Walkthrough:
    """Return walkthrough.yaml, checked against the stack's map and the cost model's inputs."""
    context = {
        "needs": stack.NEEDS,
        "placeholders": _placeholders(),
        "cost_inputs": set(inspect.signature(cost.stack_cost).parameters),
    }
    return load("walkthrough", Walkthrough, directory=directory, context=context)


def order() -> tuple[str, ...]:
    """Return the steps in walk-through order (every stack resource once)."""
    return tuple(step.id for step in guide().steps)


def step(name: str) -> WalkStep:
    """Return the step called `name` (a stack resource)."""
    for found in guide().steps:
        if found.id == name:
            return found
    raise WalkthroughError(
        f"unknown walk-through step {name!r}; the steps are {', '.join(order())}"
    )


def render(text: str, ctx: AwsContext, names: StackNames) -> str:
    """Return a checkpoint text with its ${placeholders} filled in (names, account, region)."""
    values = dataclasses.asdict(names) | {"account": ctx.account_id, "region": ctx.region}
    return string.Template(text).substitute(values)


def commands(name: str, ctx: AwsContext, names: StackNames) -> list[str]:
    """Return the step's checkpoint commands with this stack's names, account and region."""
    return [render(command, ctx, names) for command in step(name).checkpoint.cli]


# --- the cost before each step -----------------------------------------------------------------


@dataclass(frozen=True)
class StepCost:
    """What one step adds to the modelled bill, line by line, and the stack priced after it."""

    step: str
    items: tuple[cost.LineItem, ...]
    total: cost.CostBreakdown  # the running total: every step so far, this one included
    free: str | None = None

    @property
    def hourly(self) -> float:
        """Return what the step adds per hour."""
        return sum(item.hourly for item in self.items)

    @property
    def monthly(self) -> float:
        """Return what the step adds per month."""
        return sum(item.monthly for item in self.items)

    @property
    def billable(self) -> bool:
        """Return True when the model prices the step above zero."""
        return self.monthly > 0


def _price(names: StackNames, inputs: dict[str, object]) -> cost.CostBreakdown:
    """Price the stack built so far, at this stack's task size (as stack.estimate does)."""
    return cost.stack_cost(vcpu=int(names.cpu) / 1024, memory_gb=int(names.memory) / 1024, **inputs)


def _added(before: cost.CostBreakdown, after: cost.CostBreakdown) -> tuple[cost.LineItem, ...]:
    """Return the line items `after` bills beyond `before` (new lines and increases)."""
    had = {item.name: item for item in before.items}
    out = []
    for item in after.items:
        old = had.get(item.name)
        hourly = item.hourly - (old.hourly if old else 0.0)
        monthly = item.monthly - (old.monthly if old else 0.0)
        if monthly > 1e-12:
            out.append(cost.LineItem(item.name, hourly, monthly, item.note))
    return tuple(out)


def costs(names: StackNames) -> tuple[StepCost, ...]:
    """Return every step's added cost and the running total, in walk-through order."""
    steps = guide().steps
    # The empty stack: every quantity a step adds starts at zero (False for a switch).
    inputs: dict[str, object] = {
        key: type(value)() for s in steps for key, value in (s.adds or {}).items()
    }
    before, out = _price(names, inputs), []
    for s in steps:
        for key, value in (s.adds or {}).items():
            inputs[key] = (inputs[key] or value) if isinstance(value, bool) else inputs[key] + value
        after = _price(names, inputs)
        out.append(StepCost(s.id, _added(before, after), after, s.free))
        before = after
    return tuple(out)


def cost_of(names: StackNames, name: str) -> StepCost:
    """Return what step `name` adds to the modelled bill, and the running total after it."""
    step(name)  # an unknown step is an error naming the known ones
    return next(c for c in costs(names) if c.step == name)


def cost_rows(names: StackNames) -> list[dict[str, object]]:
    """Return one row per step: what it adds per hour and month, and the running totals."""
    rows = []
    for number, priced in enumerate(costs(names), 1):
        rows.append(
            {
                "#": number,
                "step": priced.step,
                "adds $/h": f"{priced.hourly:.4f}" if priced.billable else "no charge",
                "adds $/month": f"{priced.monthly:.2f}" if priced.billable else "no charge",
                "total $/h": f"{priced.total.hourly_total:.4f}",
                "total $/month": f"{priced.total.monthly_total:.2f}",
                "what bills": ", ".join(i.name for i in priced.items) or "-",
            }
        )
    return rows


def order_rows() -> list[dict[str, object]]:
    """Return the walk-through's order beside the package's and the guide's sections."""
    package = stack.steps()
    return [
        {
            "#": number,
            "step": s.id,
            "stack.steps()": package.index(s.id) + 1,
            "guide": s.guide,
            "why here": s.moved or "the guide's order",
        }
        for number, s in enumerate(guide().steps, 1)
    ]


# --- the checkpoints ---------------------------------------------------------------------------


@dataclass(frozen=True)
class CheckResult:
    """What a step's checkpoint verified, one line per fact."""

    step: str
    seen: tuple[str, ...]


def check(
    ctx: AwsContext, names: StackNames, name: str, options: dict[str, dict] | None = None
) -> CheckResult:
    """Run step `name`'s checkpoint: plan it, describe what it made; raise CheckpointFailed."""
    step(name)
    return CheckResult(name, tuple(checkpoints.check(ctx, names, name, options)))


# --- one step, and the walk --------------------------------------------------------------------


@dataclass(frozen=True)
class StepReport:
    """One applied step: what it costs, what it changed and what its checkpoint saw."""

    step: str
    cost: StepCost
    changes: tuple[Change, ...]
    check: CheckResult


def run_step(
    ctx: AwsContext,
    names: StackNames,
    name: str,
    *,
    options: dict[str, dict] | None = None,
    yes: bool = False,
    confirm: Callable[[StepCost], bool] | None = None,
    timeout: float = 15 * 60,
    delay: float = 15,
) -> StepReport:
    """Price step `name`, apply it (a yes first on real AWS), wait if it says so, check it.

    On `aws` the step's own price goes to `confirm` (or `yes=True` accepts it); once said,
    `stack.apply` is told yes, so one step is asked about once.
    """
    wanted = step(name)
    priced = cost_of(names, name)
    if ctx.kind == "aws" and not yes and (confirm is None or not confirm(priced)):
        raise ConfirmationRequired(
            f"step {name!r} not confirmed: it adds ${priced.hourly:.4f}/hour, "
            f"${priced.monthly:.2f}/month (running total ${priced.total.monthly_total:.2f}/month,"
            " deploy.models.cost model); pass yes=True or a confirm that says yes"
        )
    applied = stack.apply(ctx, names, target=name, options=options, yes=True)
    if wanted.wait_stable:
        release.wait_stable(ctx, names, timeout=timeout, delay=delay)
    return StepReport(name, priced, tuple(applied.changed), check(ctx, names, name, options))


def walk(
    ctx: AwsContext,
    names: StackNames,
    *,
    options: dict[str, dict] | None = None,
    yes: bool = False,
    confirm: Callable[[StepCost], bool] | None = None,
    after: Callable[[StepReport], None] = lambda _: None,
    timeout: float = 15 * 60,
    delay: float = 15,
) -> list[StepReport]:
    """Run every step in order, calling `after` with each report; a failure stops there."""
    reports = []
    for name in order():
        report = run_step(
            ctx,
            names,
            name,
            options=options,
            yes=yes,
            confirm=confirm,
            timeout=timeout,
            delay=delay,
        )
        after(report)
        reports.append(report)
    return reports


def lines(report: StepReport, ctx: AwsContext, names: StackNames) -> list[str]:
    """Return a step's story: cost, changes, where to look, success, failure, what was seen."""
    wanted, priced = step(report.step), report.cost
    number = order().index(report.step) + 1
    out = [f"step {number}/{len(order())} {report.step}: {wanted.title} (guide: {wanted.guide})"]
    if priced.billable:
        out.append(
            f"  cost: adds ${priced.hourly:.4f}/h, ${priced.monthly:.2f}/month "
            f"({', '.join(i.name for i in priced.items)}); running total "
            f"${priced.total.hourly_total:.4f}/h, ${priced.total.monthly_total:.2f}/month (model)"
        )
    else:
        out.append(f"  cost: no charge: {priced.free}")
    out.append(f"  bills: {wanted.billing}")
    made = [f"{c.action} {c.kind} {c.name}" for c in report.changes]
    out.append(f"  changed: {'; '.join(made) or 'nothing (already as wanted)'}")
    out += [f"  look: $ {command}" for command in commands(report.step, ctx, names)]
    point = wanted.checkpoint
    out.append(f"  console: {render(point.console, ctx, names)}")
    out.append(f"  success looks like: {render(point.success, ctx, names)}")
    out.append(f"  failure looks like: {render(point.failure, ctx, names)}")
    out += [f"  checked ({ctx.kind}): {seen}" for seen in report.check.seen]
    return out
