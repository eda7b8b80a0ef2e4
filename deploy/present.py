"""Show the stack and the models: rich tables, progress bars and matplotlib plots.

The one presentation module: the CLI, `workbook run` and the chapters call these; the
resources and models only return data.
"""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from deploy.models.cost import CostBreakdown
from deploy.models.prices import PRICES_AS_OF
from deploy.models.rollout import RolloutResult
from deploy.models.scaling import METRICS, ScalingResult
from deploy.resources.contract import Change

if TYPE_CHECKING:  # for annotations only: matplotlib loads on the first plot (see _pyplot) and
    # the claims' YAML on first use of GUIDE_CLAIMS
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from deploy.models.cost_claims import GuideClaim
    from deploy.pipeline import Step  # deploy.pipeline imports this module
    from emulator.load import LoadResult

ACTION_COLOURS = {"create": "green", "update": "yellow", "delete": "red"}
STATE_COLOURS = {"present": "green", "missing": "yellow", "drifted": "red"}
# A task's state in the rollout model's timeline -> its colour in rollout_plot.
TASK_STATE_COLOURS = {
    "provisioning": "#c7c7c7",
    "pulling": "#9ecae1",
    "starting": "#fdd0a2",
    "healthy": "#31a354",
    "unhealthy": "#de2d26",
    "draining": "#fd8d3c",
    "stopping": "#756bb1",
}


@contextlib.contextmanager
def step_progress(label: str, total: int) -> Iterator[Callable[[str], None]]:
    """Show a transient progress bar; yield a function to call as each named step starts."""
    with Progress(
        TextColumn(f"[bold]{label}[/] {{task.description:<12}}"),
        BarColumn(),
        MofNCompleteColumn(),
        transient=True,
    ) as bar:
        task = bar.add_task("", total=total)
        started = [False]

        def advance(name: str) -> None:
            if started[0]:
                bar.advance(task)
            started[0] = True
            bar.update(task, description=name)

        yield advance
        bar.update(task, completed=total)


def changes_table(changes: Sequence[Change], title: str) -> Table:
    """Return a table of changes: resource kind, name, action and the fields that differ."""
    table = Table(title=title)
    for col in ("resource", "name", "action", "detail"):
        table.add_column(col)
    for c in changes:
        detail = ", ".join(str(k) for k in c.detail) if c.detail else ""
        table.add_row(
            c.kind, c.name, f"[{ACTION_COLOURS.get(c.action, 'white')}]{c.action}", detail
        )
    return table


def summary(changes: Sequence[Change]) -> str:
    """Return e.g. '3 create, 12 unchanged'."""
    counts = Counter(c.action for c in changes)
    return ", ".join(f"{n} {action}" for action, n in sorted(counts.items()))


def status_tables(report: dict) -> list[Table]:
    """Return rich Tables for a stack status (inventory, deployments, target health)."""
    inv = Table(title="Stack inventory")
    for col in ("resource", "name", "state"):
        inv.add_column(col)
    for row in report["inventory"]:
        colour = STATE_COLOURS.get(row["state"], "white")
        inv.add_row(row["module"], row["name"], f"[{colour}]{row['state']}")
    dep = Table(
        title="Service deployments (moto never rolls them forward: see deploy.models.rollout)"
    )
    for col in ("id", "status", "rollout", "revision", "desired", "running", "failed"):
        dep.add_column(col)
    for d in report["deployments"]:
        dep.add_row(
            d["id"],
            d["status"],
            str(d["rolloutState"]),
            str(d["revision"]),
            str(d["desired"]),
            str(d["running"]),
            str(d["failed"]),
        )
    th = Table(title="Target health (moto calls every target healthy)")
    for col in ("target", "port", "state", "reason"):
        th.add_column(col)
    for t in report["target_health"]:
        th.add_row(t["id"], str(t["port"]), t["state"], str(t["reason"] or ""))
    tables = [inv, dep, th]
    if "endpoint" in report:
        end = report["endpoint"]
        ep = Table(title="Endpoint")
        for col in ("url", "protocol"):
            ep.add_column(col)
        colour = "green" if end["https"] else "yellow"
        ep.add_row(end["url"] or "(no load balancer yet)", f"[{colour}]{end['note']}")
        tables.insert(1, ep)
    return tables


# --- the models: tables -----------------------------------------------------------------------


def rows_table(rows: Sequence[Mapping[str, object]], title: str) -> Table:
    """Return a table of rows of plain data (e.g. a model's guide-vs-model comparison)."""
    table = Table(title=title)
    columns = list(dict.fromkeys(key for row in rows for key in row))
    for column in columns:
        table.add_column(str(column))
    for row in rows:
        table.add_row(*("" if row.get(c) is None else str(row.get(c)) for c in columns))
    return table


def load_table(result: LoadResult) -> Table:
    """Return a load run's answers by HTTP status (0: no answer), with their share."""
    table = Table(title=f"{result.sent} requests in {result.seconds:g} s to {result.url}")
    for column in ("status", "answers", "share"):
        table.add_column(column, justify="left" if column == "status" else "right")
    for status, n in sorted(result.statuses.items()):
        table.add_row(str(status or "no answer"), str(n), f"{n / max(1, result.sent):.0%}")
    return table


def rollout_table(result: RolloutResult) -> Table:
    """Return the modelled rolling deployment's timeline: time, actor, event, detail."""
    table = Table(title=f"Modelled rolling deployment: {result.outcome}")
    for column in ("time", "actor", "event", "detail"):
        table.add_column(column)
    for row in result.table():
        table.add_row(row["time"], row["actor"], row["event"], row["detail"])
    return table


def cost_table(breakdown: CostBreakdown) -> Table:
    """Return a priced stack's line items and total: $/hour, $/month and how each was priced."""
    table = Table(title=f"Monthly cost ({breakdown.hours:g} h, us-east-1, prices {PRICES_AS_OF})")
    for column in ("item", "$/hour", "$/month", "note"):
        table.add_column(column, justify="right" if column.startswith("$") else "left")
    for row in breakdown.table():
        table.add_row(row["item"], f"{row['hourly']:.4f}", f"{row['monthly']:.2f}", row["note"])
    return table


def claims_table(claims: Sequence[GuideClaim]) -> Table:
    """Return the guide's cost figures beside the computed ones, with the erratum that explains."""
    table = Table(title="The guide's cost figures and the model's (docs/errata.md)")
    for column in ("claim", "guide", "model", "unit", "verdict"):
        table.add_column(column, justify="right" if column in ("guide", "model") else "left")
    for c in claims:
        guide = "-" if c.guide_value is None else f"{c.guide_value:g}"
        verdict = "agrees" if c.agrees else f"errata {c.erratum}" if c.erratum else "rounding"
        colour = "green" if c.agrees else "red" if c.erratum else "yellow"
        table.add_row(c.claim, guide, f"{c.computed:.6g}", c.unit, f"[{colour}]{verdict}")
    return table


# --- the models: plots ------------------------------------------------------------------------


def _pyplot():
    """Return matplotlib.pyplot, imported on first use."""
    # matplotlib is a lab extra and takes about a second to import; the CLI, which imports this
    # module for its tables, never plots.
    import matplotlib.pyplot as plt

    return plt


def rollout_plot(result: RolloutResult, ax: Axes | None = None) -> Figure:
    """Return a figure with one bar per task, coloured by its state over time."""
    from matplotlib.patches import Patch  # with _pyplot: only the plots need matplotlib

    if ax is None:
        fig, ax = _pyplot().subplots(figsize=(10, 0.5 * len(result.tasks) + 1.5))
    else:
        fig = ax.figure
    for row, task in enumerate(result.tasks):
        for start, end, state in task.spans:
            ax.barh(
                row,
                end - start,
                left=start,
                color=TASK_STATE_COLOURS[state],
                edgecolor="white",
                height=0.6,
            )
    ax.set_yticks(
        range(len(result.tasks)),
        [f"{t.task_id} ({t.revision}){' x' if t.failed else ''}" for t in result.tasks],
    )
    ax.invert_yaxis()
    for e in result.events:
        if e.actor == "circuit-breaker" and "FAILED" in e.event:
            ax.axvline(e.time_s, color="black", linestyle="--", linewidth=1)
    if result.time_to_complete_s is not None:
        ax.axvline(result.time_to_complete_s, color="green", linestyle=":", linewidth=1)
    ax.set_xlabel("seconds since update-service")
    ax.set_title(f"Modelled rolling deployment ({result.outcome}, model not emulator)")
    ax.legend(
        handles=[Patch(color=c, label=s) for s, c in TASK_STATE_COLOURS.items()],
        loc="upper center",
        bbox_to_anchor=(0.5, -0.15),
        ncol=4,
        fontsize="small",
    )
    fig.tight_layout()
    return fig


def scaling_plot(result: ScalingResult) -> Figure:
    """Return a figure: the metric against the target above, desired and running tasks below."""
    fig, (top, bottom) = _pyplot().subplots(2, 1, figsize=(10, 6), sharex=True)
    minutes = range(len(result.load))
    top.plot(
        minutes,
        [m if m is not None else float("nan") for m in result.metric],
        label=METRICS[result.metric_name],
    )
    for (name, value), style in zip(result.targets.items(), ["--", ":", "-."] * 4, strict=False):
        top.axhline(value, linestyle=style, linewidth=1, label=name, color="grey")
    top.set_ylabel(result.metric_name)
    top.legend(fontsize="small")
    top.set_title("Modelled auto-scaling (model, not the emulator)")
    bottom.step(minutes, result.desired, where="post", label="desired")
    bottom.step(minutes, result.running, where="post", label="running (serving)")
    if result.metric_name == "cpu":
        bottom.plot(minutes, result.load, linestyle=":", label="CPU demand (task-units)")
    for a in result.activities:
        bottom.axvline(a.time_s / 60, color="red", alpha=0.3, linewidth=1)
    bottom.set_ylabel("tasks")
    bottom.set_xlabel(
        "minute" if result.start_label is None else f"minutes after {result.start_label}"
    )
    bottom.legend(fontsize="small")
    fig.tight_layout()
    return fig


def cost_compare_plot(rows: Sequence[Mapping[str, object]], ax: Axes | None = None) -> Figure:
    """Return a bar chart of `deploy.models.cost.compare` rows: $/month per scenario."""
    if ax is None:
        fig, ax = _pyplot().subplots(figsize=(9, 0.45 * len(rows) + 1))
    else:
        fig = ax.figure
    ax.barh([r["scenario"] for r in rows], [r["monthly"] for r in rows], color="#4c72b0")
    ax.axvline(rows[0]["monthly"], color="grey", linestyle="--", linewidth=1)
    ax.invert_yaxis()
    ax.set_xlabel("USD per month (model, us-east-1)")
    ax.set_title("What the same service costs, scenario by scenario")
    fig.tight_layout()
    return fig


def timeline(steps: Sequence[Step]) -> Table:
    """Return a rich table of rehearsal steps: start offset, duration and detail."""
    table = Table(title="Deploy rehearsal (aws.yml on moto + podman)")
    for column in ("start (s)", "took (s)", "step", "detail"):
        table.add_column(column, justify="right" if "(s)" in column else "left")
    offset = 0.0
    for step in steps:
        table.add_row(f"{offset:.1f}", f"{step.seconds:.2f}", step.name, step.detail)
        offset += step.seconds
    table.add_row("", f"{offset:.2f}", "total", f"{len(steps)} steps", style="bold")
    return table
