"""The `workbook stack` commands: plan, apply, status, teardown, deploy, roll back, scale, logs.

Backends: moto (default), localstack, aws. With moto each command starts an embedded server
that lives as long as the command, so the stack is gone when it exits. To keep a moto stack
across commands, run `workbook stack emulator` (a moto server in the foreground on port 5000)
in another terminal and export what it prints (AWS_ENDPOINT_URL, WORKBOOK_MOTO_PORT, dummy
credentials); every later command then talks to that server.
"""

from __future__ import annotations

import re
import sys
import time
from datetime import timedelta
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from deploy.changes import Change
from deploy.config import get_settings
from deploy.errors import DeployError, InvalidInput
from deploy.names import StackNames

app = typer.Typer(
    help="Provision and operate the guide's ECS Fargate stack (moto by default).",
    no_args_is_help=True,
)
console = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)

BackendOpt = Annotated[
    str | None,
    typer.Option("--backend", "-b", help="moto (default), localstack or aws", show_default=False),
]
_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_SINCE = re.compile(r"^(\d+)([smhd])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def _names() -> StackNames:
    s = get_settings()
    return StackNames(project=s.project_tag, region=s.aws_region)


def _connect(backend: str | None) -> str:
    """Point this process at the backend; reuse a running moto server when one is named."""
    from deploy.backend import current_backend, moto_answers, start_backend

    s = get_settings()
    kind = backend or s.backend
    if kind not in ("moto", "localstack", "aws"):
        raise typer.BadParameter(f"unknown backend {kind!r}: choose moto, localstack or aws")
    current = current_backend()
    if current is not None and current.kind == kind:
        return kind
    named = s.aws_endpoint_url or (f"http://127.0.0.1:{s.moto_port}" if s.moto_port else None)
    if kind == "moto" and not (named and moto_answers(named)):
        err.print(
            "[dim]moto: embedded server for this command only; run `workbook stack emulator` "
            "to keep the stack between commands[/]"
        )
    start_backend(kind)
    return kind


def _fail(exc: Exception) -> typer.Exit:
    err.print(f"[red]error:[/] {exc}")
    return typer.Exit(2 if isinstance(exc, InvalidInput | ValueError) else 1)


def _changes_table(changes: list[Change], title: str) -> Table:
    table = Table(title=title)
    for col in ("resource", "name", "action", "detail"):
        table.add_column(col)
    colour = {"create": "green", "update": "yellow", "delete": "red"}
    for c in changes:
        detail = ", ".join(f"{k}" for k in c.detail) if c.detail else ""
        table.add_row(c.kind, c.name, f"[{colour.get(c.action, 'white')}]{c.action}", detail)
    return table


def _summary(changes: list[Change]) -> str:
    counts: dict[str, int] = {}
    for c in changes:
        counts[c.action] = counts.get(c.action, 0) + 1
    return ", ".join(f"{n} {a}" for a, n in sorted(counts.items()))


@app.command()
def plan(backend: BackendOpt = None) -> None:
    """Show what apply would create, update or leave unchanged."""
    from deploy import stack

    try:
        _connect(backend)
        changes = stack.plan(_names())
    except DeployError as exc:
        raise _fail(exc) from exc
    console.print(_changes_table(changes, "Plan"))
    console.print(_summary(changes))


@app.command()
def apply(
    backend: BackendOpt = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="accept the cost on real AWS")] = False,
) -> None:
    """Create or converge the whole stack (asks first on real AWS, showing the cost)."""
    from deploy import stack

    def confirm(breakdown) -> bool:
        console.print(breakdown.rich_table())
        return typer.confirm("Create these billable resources?", default=False)

    try:
        kind = _connect(backend)
        changes = stack.apply(_names(), backend=kind, yes=yes, confirm=confirm)
    except DeployError as exc:
        raise _fail(exc) from exc
    console.print(_changes_table([c for c in changes if c.changed], "Applied"))
    console.print(_summary(changes))


@app.command()
def status(backend: BackendOpt = None) -> None:
    """Show the inventory, the service's deployments and the targets' health."""
    from deploy import stack

    try:
        _connect(backend)
        report = stack.status(_names())
    except DeployError as exc:
        raise _fail(exc) from exc
    for table in stack.status_tables(report):
        console.print(table)


@app.command()
def teardown(
    backend: BackendOpt = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="do not ask on real AWS")] = False,
) -> None:
    """Delete everything in reverse order, then check nothing tagged for the project is left."""
    from deploy import stack

    try:
        kind = _connect(backend)
        report = stack.teardown(
            _names(),
            backend=kind,
            yes=yes,
            confirm=lambda: typer.confirm("Delete the whole stack?", default=False),
        )
    except DeployError as exc:
        raise _fail(exc) from exc
    console.print(_changes_table([c for c in report.changes if c.changed], "Deleted"))
    if not report.clean:
        err.print("[red]still present:[/] " + "; ".join(report.leftovers))
        raise typer.Exit(1)
    console.print("nothing tagged for the project is left")


@app.command()
def deploy(
    image: Annotated[str, typer.Option("--image", help="image tag (or full URI) to deploy")],
    backend: BackendOpt = None,
    wait: Annotated[bool, typer.Option(help="wait until the service is stable")] = False,
) -> None:
    """Register a task definition revision with IMAGE and roll the service onto it."""
    from deploy import ecs

    try:
        kind = _connect(backend)
        change = ecs.deploy(_names(), image)
        if wait:
            ecs.wait_stable(_names(), delay=1 if kind == "moto" else 15)
    except DeployError as exc:
        raise _fail(exc) from exc
    console.print(
        f"service {change.name}: {change.action}; revision {change.detail.get('revision', '-')} "
        f"image {change.detail.get('image')}"
    )


@app.command()
def redeploy(backend: BackendOpt = None) -> None:
    """Force a new deployment of the same revision (picks up rotated secrets)."""
    from deploy import ecs

    try:
        _connect(backend)
        change = ecs.redeploy(_names())
    except DeployError as exc:
        raise _fail(exc) from exc
    console.print(f"service {change.name}: new deployment started")


@app.command()
def rollback(
    revision: Annotated[int, typer.Option("--revision", "-r", help="task definition revision")],
    backend: BackendOpt = None,
) -> None:
    """Point the service back at an earlier task definition revision."""
    from deploy import ecs

    try:
        _connect(backend)
        change = ecs.rollback(_names(), revision)
    except DeployError as exc:
        raise _fail(exc) from exc
    console.print(f"service {change.name}: now on revision {revision}")


@app.command()
def scale(
    count: Annotated[int, typer.Argument(help="desired number of tasks")],
    backend: BackendOpt = None,
) -> None:
    """Set the service's desired task count."""
    from deploy import ecs

    try:
        _connect(backend)
        change = ecs.scale(_names(), count)
    except DeployError as exc:
        raise _fail(exc) from exc
    before, after = change.detail["desiredCount"]
    console.print(f"service {change.name}: desired count {before} -> {after}")


def _parse_pairs(pairs: list[str]) -> list[tuple[str, str | None]]:
    parsed = []
    for item in pairs:
        key, sep, value = item.partition("=")
        if not _KEY.match(key):
            # name the key only: the value may be a secret
            raise typer.BadParameter(
                f"{key!r} is not a valid KEY (letters, digits, underscore; KEY=VALUE or KEY)"
            )
        parsed.append((key, value if sep else None))
    return parsed


@app.command("secret-set")
def secret_set(
    pairs: Annotated[
        list[str],
        typer.Argument(help="KEY=VALUE or KEY alone (the value is then read hidden)"),
    ],
    backend: BackendOpt = None,
) -> None:
    """Store API keys in the stack's secret; values are never printed."""
    from deploy import secrets

    parsed = _parse_pairs(pairs)
    values: dict[str, str] = {}
    for key, value in parsed:
        if value is None:
            if sys.stdin.isatty():
                value = typer.prompt(f"value for {key}", hide_input=True)
            else:
                value = sys.stdin.readline().rstrip("\n")
        if not value:
            raise typer.BadParameter(f"empty value for {key}")
        values[key] = value
    try:
        _connect(backend)
        change = secrets.set_secret_values(_names(), values)
    except DeployError as exc:
        raise _fail(exc) from exc
    changed = change.detail.get("keys_changed", sorted(values))
    console.print(
        f"secret {change.name}: {change.action}; keys changed: {', '.join(changed) or 'none'}"
    )
    if changed:
        console.print(
            "running tasks keep the old values until they are replaced: "
            "run `workbook stack redeploy`"
        )


def _since(text: str) -> timedelta:
    match = _SINCE.match(text.strip())
    if not match:
        raise typer.BadParameter(f"--since {text!r}: use a number and s, m, h or d, e.g. 10m")
    return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})


@app.command()
def logs(
    filter_pattern: Annotated[
        str | None, typer.Option("--filter", help="CloudWatch Logs filter pattern")
    ] = None,
    since: Annotated[str, typer.Option(help="how far back, e.g. 30s, 10m, 2h, 1d")] = "10m",
    backend: BackendOpt = None,
) -> None:
    """Print the service's recent log events, oldest first."""
    from deploy import logs as stack_logs

    window = _since(since)
    try:
        _connect(backend)
        rows = stack_logs.tail(_names(), since=window, filter_pattern=filter_pattern)
    except DeployError as exc:
        raise _fail(exc) from exc
    for row in rows:
        console.print(f"{row['time']:%H:%M:%S} {row['stream']} {row['message']}", highlight=False)
    if not rows:
        console.print(f"no events in the last {since}")


@app.command()
def emulator(
    port: Annotated[int, typer.Option(help="port to listen on")] = 5000,
    run_for: Annotated[
        float | None, typer.Option("--for", hidden=True, help="stop after N seconds (tests)")
    ] = None,
) -> None:
    """Run a moto server in the foreground so a moto stack persists between commands."""
    from deploy.backend import DUMMY_CREDENTIALS, serve_moto

    server = serve_moto(port, get_settings().aws_region)
    endpoint = server.endpoint_url
    bound = endpoint.rsplit(":", 1)[1]
    exports = {
        "AWS_ENDPOINT_URL": endpoint,
        "WORKBOOK_MOTO_PORT": str(bound),
        "AWS_REGION": get_settings().aws_region,
        **DUMMY_CREDENTIALS,
    }
    console.print(f"moto server on {endpoint} (Ctrl-C stops it and forgets everything)")
    console.print("in another terminal:", highlight=False)
    console.print("export " + " ".join(f"{k}={v}" for k, v in exports.items()), highlight=False)
    try:
        if run_for is not None:
            time.sleep(run_for)
        else:
            while True:
                time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()


def _mount_rehearsal() -> None:
    from deploy.pipeline import rehearse_command

    app.command("rehearse", help="Rehearse aws.yml locally: podman, a local registry, moto.")(
        rehearse_command
    )


_mount_rehearsal()
