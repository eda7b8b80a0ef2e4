"""The local data plane as `workbook stack` runs it: its parts, its state file, its status.

`workbook stack emulator` starts the data plane (emulator/dataplane.py) beside its embedded
moto server and keeps a small JSON state file, build/dataplane/<moto port>.json, while it runs:
the process id, the mode (process, podman or docker), the clock and the load balancers' local
URLs. The file is rewritten when a load balancer's URL appears or goes, and removed on exit.
`workbook stack status`, a separate process, reads it for the server it talks to: the ALB's
local URL lives only in the emulator's process, while tasks and target health are in moto,
where the data plane writes them, so status reads those through the ordinary AWS APIs.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from rich.table import Table

from deploy.aws.errors import aws_errors
from deploy.aws.names import StackNames
from service.aws import AwsContext

if TYPE_CHECKING:  # the data plane imports moto's models (~3 s): only `stack emulator` does
    from emulator.clock import Clock
    from emulator.dataplane import DataPlane, Part
    from emulator.tasks import TaskRunner

ROOT = Path(__file__).resolve().parents[1]
STATE_DIR = ROOT / "build" / "dataplane"


def parts(runner: TaskRunner, metrics_clock: Clock | None = None) -> list[Part]:
    """Return the data plane's parts in start order (they stop in reverse order)."""
    from emulator.autoscaler import Autoscaler
    from emulator.logs import LogShipper
    from emulator.metrics import MetricsPublisher
    from emulator.scheduler import ServiceScheduler

    # The log shipper listens before the runner starts and stops after it, so a task's last
    # lines (its SIGTERM handling) are shipped; the service scheduler starts tasks through
    # the runner, so it starts after it and stops first. The metrics (each AWS minute) drive
    # the autoscaler, which changes desired counts for the scheduler: they stop first.
    # `metrics_clock` (default: the plane's) lets the AWS minutes run faster than the health
    # checks, so the 15-minute scale-in takes seconds while tasks still start at their pace.
    metrics = MetricsPublisher(runner, clock=metrics_clock)
    return [LogShipper(runner), runner, ServiceScheduler(runner), metrics, Autoscaler(metrics)]


def task_access(ctx: AwsContext) -> dict[str, str]:
    """Return how tasks reach the emulator as a task role reaches AWS: endpoint and credentials."""
    # The runner rewrites the loopback endpoint as each mode's containers reach the host.
    return {
        k: v for k, v in ctx.environment().items() if k.startswith("AWS_") and "REGION" not in k
    }


def start(
    ctx: AwsContext,
    names: StackNames,
    mode: str | None = None,
    clock: Clock | None = None,
    metrics_clock: Clock | None = None,
    *,
    network_rules: bool = False,
) -> DataPlane:
    """Start the data plane (every part of `parts`) for the emulator's account."""
    # `clock` times the tasks, health checks and drains; `metrics_clock` (default: `clock`)
    # the AWS minutes of the metrics and the autoscaler (see `parts`). `network_rules` makes
    # the runner enforce security groups and the route to ECR (the troubleshooting lab).
    from emulator.dataplane import DataPlane
    from emulator.tasks import TaskRunner

    runner = TaskRunner(
        mode=mode, names=names, task_aws=task_access(ctx), network_rules=network_rules
    )
    return DataPlane.start(ctx, clock=clock, parts=parts(runner, metrics_clock=metrics_clock))


def mode_of(plane: DataPlane) -> str:
    """Return how the plane runs containers: process, podman or docker."""
    return next((p.mode for p in plane.parts if hasattr(p, "engine")), "none")


@dataclass
class PlaneState:
    """What `stack status` learns of a data plane running in another process."""

    pid: int
    endpoint_url: str
    region: str
    mode: str
    clock: str
    urls: dict[str, dict[str, str]] = field(default_factory=dict)  # balancer -> port -> URL


def state_path(endpoint_url: str, directory: Path = STATE_DIR) -> Path:
    """Return the state file of the data plane beside the moto server at `endpoint_url`."""
    port = endpoint_url.rstrip("/").rsplit(":", 1)[-1]
    return directory / f"{port}.json"


def write_state(state: PlaneState, directory: Path = STATE_DIR) -> Path:
    """Write (or replace) the state file; return its path."""
    path = state_path(state.endpoint_url, directory)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(asdict(state), indent=2))
    tmp.replace(path)  # a reader never sees half a file
    return path


def read_state(endpoint_url: str | None, directory: Path = STATE_DIR) -> PlaneState | None:
    """Return the state of a live data plane beside `endpoint_url` (None: none runs)."""
    if not endpoint_url:
        return None
    path = state_path(endpoint_url, directory)
    try:
        state = PlaneState(**json.loads(path.read_text()))
    except (OSError, ValueError, TypeError):
        return None
    if state.endpoint_url.rstrip("/") != endpoint_url.rstrip("/"):
        return None
    if not _alive(state.pid):  # left by an emulator that was killed: its plane is gone
        path.unlink(missing_ok=True)
        return None
    return state


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def urls(plane: DataPlane) -> dict[str, dict[str, str]]:
    """Return the plane's load balancers' local URLs, by balancer name and listener port."""
    return {lb: {str(p): u for p, u in ports.items()} for lb, ports in plane.urls().items()}


def watch(
    plane: DataPlane, state: PlaneState, say: Callable[[str], None], directory: Path = STATE_DIR
) -> None:
    """Refresh the state file's URLs from the plane; say each URL that appears."""
    now = urls(plane)
    if now == state.urls:
        return
    for lb, ports in now.items():
        for port, url in ports.items():
            if state.urls.get(lb, {}).get(port) != url:
                say(f"ALB {lb} listener :{port} -> {url}")
    state.urls = now
    write_state(state, directory)


def tasks(ctx: AwsContext, cluster: str) -> list[dict]:
    """Return describe-tasks rows of the cluster's tasks (running first, then stopped)."""
    ecs = ctx.client("ecs")
    rows: list[dict] = []
    with aws_errors(f"tasks of cluster {cluster}", "ecs"):
        if not ecs.describe_clusters(clusters=[cluster])["clusters"]:
            return []
        arns: list[str] = []
        for desired in ("RUNNING", "STOPPED"):
            arns += ecs.list_tasks(cluster=cluster, desiredStatus=desired)["taskArns"]
        for at in range(0, len(arns), 100):  # DescribeTasks takes up to 100
            rows += ecs.describe_tasks(cluster=cluster, tasks=arns[at : at + 100])["tasks"]
    return rows


def target_health(ctx: AwsContext) -> list[dict]:
    """Return describe-target-health rows of every target group the data plane checks."""
    elbv2 = ctx.client("elbv2")
    rows: list[dict] = []
    with aws_errors("target groups", "elbv2"):
        for group in elbv2.describe_target_groups()["TargetGroups"]:
            found = elbv2.describe_target_health(TargetGroupArn=group["TargetGroupArn"])
            for row in found["TargetHealthDescriptions"]:
                health = row["TargetHealth"]
                rows.append(
                    {
                        "group": group["TargetGroupName"],
                        "id": row["Target"]["Id"],
                        "port": row["Target"].get("Port"),
                        "state": health["State"],
                        "reason": health.get("Reason") or "",
                    }
                )
    return rows


def _host_port(task: dict) -> str:
    for container in task.get("containers", []):
        for binding in container.get("networkBindings") or []:
            if binding.get("hostPort"):
                return str(binding["hostPort"])
    return "-"


def tables(state: PlaneState, rows: list[dict], target_health: list[dict]) -> list[Table]:
    """Return the local data plane's tables: its URLs, its tasks, its target health."""
    plane = Table(title=f"Local data plane ({state.mode} mode, {state.clock})")
    for col in ("load balancer", "listener", "local URL"):
        plane.add_column(col)
    for lb, ports in state.urls.items():
        for port, url in ports.items():
            plane.add_row(lb, port, url)
    if not state.urls:
        plane.add_row("(no listener yet)", "", "")
    task_table = Table(title="Tasks (local data plane)")
    task_table.add_column("task", no_wrap=True, min_width=36)  # a whole id, to copy into the CLI
    for col in ("revision", "status", "health", "host port", "stopped reason"):
        task_table.add_column(col)
    for task in rows:
        task_table.add_row(
            task["taskArn"].rsplit("/", 1)[-1],
            task["taskDefinitionArn"].rsplit(":", 1)[-1],
            task["lastStatus"],
            task.get("healthStatus", "UNKNOWN"),
            _host_port(task),
            task.get("stoppedReason") or "",
        )
    health = Table(title="Target health (local data plane: real health checks)")
    for col in ("target group", "target", "port", "state", "reason"):
        health.add_column(col)
    for t in target_health:
        health.add_row(t["group"], t["id"], str(t["port"]), t["state"], t["reason"])
    return [plane, task_table, health]
