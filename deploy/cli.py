"""The `workbook stack` commands: plan, apply, walk, status, teardown, deploy, roll back, scale, logs.

Backends: moto (default), localstack, aws. With moto each command starts an embedded server
that lives as long as the command, so the stack is gone when it exits. To keep a moto stack
across commands, run `workbook stack emulator` (a moto server in the foreground on port 5000,
with the local data plane: tasks really run, the ALB proxies, awslogs ships; --no-data-plane
leaves it off) in another terminal and export what it prints (AWS_ENDPOINT_URL,
WORKBOOK_MOTO_PORT, dummy credentials); every later command then talks to that server, and
`workbook stack status` shows the data plane's tasks, target health and ALB URL, and
`workbook stack load` sends traffic through that ALB (to watch the service scale).
"""

from __future__ import annotations

import os
import re
import signal
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from deploy import local_plane, pipeline, present, release, stack
from deploy.aws.backend import Backend, check_kind
from deploy.aws.cli import plugin_config
from deploy.aws.errors import DeployError, InvalidInput
from deploy.aws.names import StackNames
from deploy.aws.settings import DeploySettings
from deploy.models import policies
from deploy.resources import logs as stack_logs
from deploy.resources import secrets
from emulator import moto_server
from service.aws import AwsContext

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
CertificateOpt = Annotated[
    str | None,
    typer.Option(
        "--certificate-arn",
        help="ACM certificate ARN: HTTPS on 443, HTTP redirected (WORKBOOK_CERTIFICATE_ARN)",
        show_default=False,
    ),
]
CiUserOpt = Annotated[
    bool | None,
    typer.Option(
        "--ci-user/--no-ci-user",
        help="also keep the long-lived CI IAM user (default: OIDC role only; WORKBOOK_CI_USER)",
        show_default=False,
    ),
]
FOLLOW_EVERY_S = 2.0  # how often `stack logs --follow` asks for new events
_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_SINCE = re.compile(r"^(\d+)([smhd])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


class Edge:
    """What one command reads once: the settings, the backend it talks to, the stack's names."""

    def __init__(self, backend: str | None) -> None:
        self.settings = DeploySettings()
        try:
            kind = check_kind(backend or self.settings.backend)
        except DeployError as exc:
            raise typer.BadParameter(str(exc)) from None
        named = self.settings.moto_endpoint()
        if kind == "moto" and not (named and moto_server.answers(named)):
            err.print(
                "[dim]moto: embedded server for this command only; run `workbook stack "
                "emulator` to keep the stack between commands[/]"
            )
        self.backend: Backend = self.settings.start_backend(kind)
        self.ctx = self.backend.ctx
        self.names = StackNames(project=self.settings.project_tag)

    def options(
        self, certificate_arn: str | None = None, ci_user: bool | None = None
    ) -> dict[str, dict]:
        """Return the per-resource options: the flags given, else the settings."""
        try:
            return stack.stack_options(
                certificate_arn=certificate_arn or self.settings.certificate_arn,
                ci_user=self.settings.ci_user if ci_user is None else ci_user,
                budget=self.settings.budget_options(),
            )
        except DeployError as exc:
            raise typer.BadParameter(str(exc)) from None


def _fail(exc: Exception) -> typer.Exit:
    err.print(f"[red]error:[/] {exc}")
    return typer.Exit(2 if isinstance(exc, InvalidInput | ValueError) else 1)


@app.command()
def plan(
    backend: BackendOpt = None, certificate_arn: CertificateOpt = None, ci_user: CiUserOpt = None
) -> None:
    """Show what apply would create, update or leave unchanged."""
    edge = Edge(backend)
    options = edge.options(certificate_arn, ci_user)
    try:
        changes = stack.plan(edge.ctx, edge.names, options=options).changes
    except DeployError as exc:
        raise _fail(exc) from exc
    console.print(present.changes_table(changes, "Plan"))
    console.print(present.summary(changes))


@app.command()
def apply(
    backend: BackendOpt = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="accept the cost on real AWS")] = False,
    certificate_arn: CertificateOpt = None,
    ci_user: CiUserOpt = None,
) -> None:
    """Create or converge the whole stack (asks first on real AWS, showing the cost)."""

    def confirm(breakdown) -> bool:
        console.print(present.cost_table(breakdown))
        return typer.confirm("Create these billable resources?", default=False)

    edge = Edge(backend)
    options = edge.options(certificate_arn, ci_user)
    try:
        result = stack.apply(
            edge.ctx, edge.names, options=options, yes=yes, confirm=confirm, progress=True
        )
    except DeployError as exc:
        raise _fail(exc) from exc
    console.print(present.changes_table(result.changed, "Applied"))
    console.print(present.summary(result.changes))


@app.command()
def walk(
    step: Annotated[
        str | None,
        typer.Argument(
            help="one step (e.g. secrets); default: every step in order", show_default=False
        ),
    ] = None,
    backend: BackendOpt = None,
    yes: Annotated[
        bool, typer.Option("--yes", "-y", help="accept each step's cost on real AWS")
    ] = False,
    certificate_arn: CertificateOpt = None,
    ci_user: CiUserOpt = None,
) -> None:
    """Create the stack one resource at a time: each step's cost, the apply, its checkpoint."""
    from deploy import walkthrough

    def confirm(priced: walkthrough.StepCost) -> bool:
        console.print(
            f"step {priced.step}: +${priced.hourly:.4f}/hour, +${priced.monthly:.2f}/month "
            f"(running total ${priced.total.monthly_total:.2f}/month, cost model)",
            highlight=False,
        )
        return typer.confirm("Create it?", default=False)

    try:
        steps = [walkthrough.step(step).id] if step else list(walkthrough.order())
    except DeployError as exc:
        raise _fail(exc) from exc
    edge = Edge(backend)
    options = edge.options(certificate_arn, ci_user)
    for name in steps:
        try:
            report = walkthrough.run_step(
                edge.ctx, edge.names, name, options=options, yes=yes, confirm=confirm
            )
        except DeployError as exc:
            raise _fail(exc) from exc
        console.print("\n".join(walkthrough.lines(report, edge.ctx, edge.names)), highlight=False)
        console.print()


@app.command()
def status(
    backend: BackendOpt = None, certificate_arn: CertificateOpt = None, ci_user: CiUserOpt = None
) -> None:
    """Show the inventory, the endpoint (HTTPS or plain HTTP), deployments and target health."""
    edge = Edge(backend)
    options = edge.options(certificate_arn, ci_user)
    try:
        report = stack.status(edge.ctx, edge.names, options=options)
    except DeployError as exc:
        raise _fail(exc) from exc
    state = local_plane.read_state(edge.backend.endpoint_url) if edge.ctx.kind == "moto" else None
    shown = present.status_tables(report)
    if state is not None:  # its target health is the data plane's, shown below
        shown = [t for t in shown if not str(t.title).startswith("Target health")]
        try:
            rows = local_plane.tasks(edge.ctx, edge.names.cluster)
            health = local_plane.target_health(edge.ctx)
        except DeployError as exc:
            raise _fail(exc) from exc
        shown += local_plane.tables(state, rows, health)
    for table in shown:
        console.print(table)
    if edge.ctx.kind == "moto" and state is None:
        console.print(
            "[dim]no local data plane runs beside this server: tasks do not run "
            "(`workbook stack emulator` starts one)[/]"
        )


@app.command()
def teardown(
    backend: BackendOpt = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="do not ask on real AWS")] = False,
) -> None:
    """Delete everything in reverse order, then check nothing tagged for the project is left."""
    edge = Edge(backend)
    try:
        report = stack.teardown(
            edge.ctx,
            edge.names,
            yes=yes,
            confirm=lambda: typer.confirm("Delete the whole stack?", default=False),
        )
    except DeployError as exc:
        raise _fail(exc) from exc
    console.print(present.changes_table([c for c in report.changes if c.changed], "Deleted"))
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
    edge = Edge(backend)
    try:
        change = release.deploy(edge.ctx, edge.names, image)
        if wait:
            release.wait_stable(edge.ctx, edge.names, delay=1 if edge.ctx.kind == "moto" else 15)
    except DeployError as exc:
        raise _fail(exc) from exc
    console.print(
        f"service {change.name}: {change.action}; revision {change.detail.get('revision', '-')} "
        f"image {change.detail.get('image')}"
    )


@app.command()
def redeploy(backend: BackendOpt = None) -> None:
    """Force a new deployment of the same revision (picks up rotated secrets)."""
    edge = Edge(backend)
    try:
        change = release.redeploy(edge.ctx, edge.names)
    except DeployError as exc:
        raise _fail(exc) from exc
    console.print(f"service {change.name}: new deployment started")


@app.command()
def rollback(
    revision: Annotated[int, typer.Option("--revision", "-r", help="task definition revision")],
    backend: BackendOpt = None,
) -> None:
    """Point the service back at an earlier task definition revision."""
    edge = Edge(backend)
    try:
        change = release.rollback(edge.ctx, edge.names, revision)
    except DeployError as exc:
        raise _fail(exc) from exc
    console.print(f"service {change.name}: now on revision {revision}")


@app.command()
def scale(
    count: Annotated[int, typer.Argument(help="desired number of tasks")],
    backend: BackendOpt = None,
) -> None:
    """Set the service's desired task count."""
    edge = Edge(backend)
    try:
        change = release.scale(edge.ctx, edge.names, count)
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
    edge = Edge(backend)
    try:
        change = secrets.set_secret_values(edge.ctx, edge.names, values)
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
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="keep printing new events until Ctrl-C")
    ] = False,
    backend: BackendOpt = None,
    run_for: Annotated[
        float | None, typer.Option("--for", hidden=True, help="stop following after N s (tests)")
    ] = None,
) -> None:
    """Print the service's recent log events, oldest first (`--follow`: like CLI v2's tail)."""
    window = _since(since)
    edge = Edge(backend)
    seen: set[tuple] = set()

    def show(start: timedelta | datetime) -> datetime | None:
        try:
            rows = stack_logs.tail(edge.ctx, edge.names, since=start, filter_pattern=filter_pattern)
        except DeployError as exc:
            raise _fail(exc) from exc
        for row in rows:
            key = (row["time"], row["stream"], row["message"])
            if key not in seen:  # events of the last millisecond come back on the next poll
                seen.add(key)
                line = f"{row['time']:%H:%M:%S} {row['stream']} {row['message']}"
                console.print(line, highlight=False)
        if not rows:
            return None
        newest = rows[-1]["time"]
        # Only events of the newest millisecond can come back: forget the rest (long follows).
        kept = {k for k in seen if k[0] >= newest}
        seen.clear()
        seen.update(kept)
        return newest

    last = show(window)
    if not follow:
        if last is None:
            console.print(f"no events in the last {since}")
        return
    console.print(f"following {edge.names.log_group} (Ctrl-C stops)", style="dim")
    until = time.monotonic() + run_for if run_for is not None else None
    start = last or datetime.now(UTC) - window
    try:
        while until is None or time.monotonic() < until:
            time.sleep(FOLLOW_EVERY_S)
            start = show(start) or start
    except KeyboardInterrupt:
        pass


@app.command()
def emulator(
    port: Annotated[int, typer.Option(help="port to listen on")] = 5000,
    data_plane: Annotated[
        bool,
        typer.Option(
            "--data-plane/--no-data-plane",
            help="also run tasks, the ALB and awslogs locally (the local data plane)",
        ),
    ] = True,
    mode: Annotated[
        str | None,
        typer.Option(help="process, podman or docker (default: podman, else docker, else process)"),
    ] = None,
    clock_scale: Annotated[
        float,
        typer.Option(
            "--clock-scale", hidden=True, help="compressed clock: 1 AWS second = N s (tests)"
        ),
    ] = 1.0,
    run_for: Annotated[
        float | None, typer.Option("--for", hidden=True, help="stop after N seconds (tests)")
    ] = None,
) -> None:
    """Run a moto server (and the local data plane) in the foreground until Ctrl-C."""
    from emulator.clock import Clock
    from emulator.engine import MODES  # with moto's models: only this command needs them

    settings = DeploySettings()
    if mode is not None and mode not in MODES:
        raise typer.BadParameter(f"--mode {mode!r}: choose {', '.join(MODES)}")
    try:
        clock = Clock(clock_scale)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    server = moto_server.MotoServer(port)
    # What a child process needs to reach the server (AWS_DEFAULT_REGION too: the AWS CLI v1
    # reads no AWS_REGION and would ask for a region), plus the port for later commands.
    account = AwsContext(
        region=settings.aws_region,
        endpoint_url=server.endpoint_url,
        kind="moto",
        access_key_id=moto_server.ACCESS_KEY_ID,
        secret_access_key=moto_server.SECRET_ACCESS_KEY,
    )
    exports = {
        "AWS_ENDPOINT_URL": server.endpoint_url,
        "WORKBOOK_MOTO_PORT": server.endpoint_url.rsplit(":", 1)[1],
        **account.environment(),
        # the venv's AWS CLI v1 gets `aws logs tail` (a v2 command) from the workbook's plugin
        "AWS_CONFIG_FILE": str(plugin_config(local_plane.ROOT / "build" / "aws-cli.config")),
    }
    plane = state = None
    interrupted = False
    # `kill` (SIGTERM) stops it as Ctrl-C does: a task's process is in its own session and
    # would outlive this one.
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        console.print(
            f"moto server on {server.endpoint_url} (Ctrl-C stops it and forgets everything)"
        )
        if data_plane:
            names = StackNames(project=settings.project_tag)
            plane = local_plane.start(account, names, mode, clock)
            state = local_plane.PlaneState(
                pid=os.getpid(),
                endpoint_url=server.endpoint_url,
                region=account.region,
                mode=local_plane.mode_of(plane),
                clock=plane.clock.label,
            )
            local_plane.write_state(state)
            console.print(
                f"local data plane: {state.mode} mode, {state.clock}; tasks run, the ALB "
                "proxies each listener on a local port, awslogs lines reach CloudWatch Logs",
                highlight=False,
            )
            console.print("ALB local URLs appear here (and in `workbook stack status`):")
        else:
            console.print("local data plane: off (--no-data-plane); tasks are stored, not run")
        console.print("in another terminal:", highlight=False)
        console.print("export " + " ".join(f"{k}={v}" for k, v in exports.items()), highlight=False)
        deadline = None if run_for is None else time.monotonic() + run_for
        while deadline is None or time.monotonic() < deadline:
            if plane is not None and state is not None:
                try:
                    local_plane.watch(plane, state, lambda t: console.print(t, highlight=False))
                except Exception as exc:  # a moto reset mid-look: the next look catches up
                    err.print(f"[yellow]data plane URLs not refreshed:[/] {exc}")
            left = 1.0 if deadline is None else max(0.0, min(1.0, deadline - time.monotonic()))
            time.sleep(left)
    except KeyboardInterrupt:
        interrupted = True
    finally:
        # Every task's container or process, every proxy and probe, then the server.
        try:
            if plane is not None:
                if interrupted:
                    err.print("stopping the local data plane: its tasks, proxies and probes")
                plane.stop()
        finally:
            if state is not None:
                local_plane.state_path(state.endpoint_url).unlink(missing_ok=True)
            server.stop()
            signal.signal(signal.SIGTERM, previous)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def load_url(state: local_plane.PlaneState | None, names: StackNames, path: str) -> str:
    """Return the URL load goes to: the stack's ALB (else the only one) on the data plane."""
    if state is None:
        raise InvalidInput(
            "no local data plane runs beside this server: start `workbook stack emulator` in "
            "another terminal (its ALB URLs are where the load goes), or pass --url"
        )
    if not path.startswith("/"):
        raise InvalidInput(f"--path must start with '/', got {path!r}")
    balancers = state.urls
    name = names.alb if names.alb in balancers else next(iter(balancers), None)
    if name is None or (len(balancers) > 1 and name != names.alb):
        found = ", ".join(sorted(balancers)) or "none yet"
        raise InvalidInput(
            f"the data plane proxies no ALB named {names.alb} (balancers: {found}); "
            "`workbook stack apply` makes it, or pass --url"
        )
    ports = balancers[name]
    port = "80" if "80" in ports else sorted(ports)[0]
    return ports[port].rstrip("/") + path


@app.command()
def load(
    rps: Annotated[float, typer.Option(help="requests a second (real time)")] = 20.0,
    seconds: Annotated[float, typer.Option(help="how long to send them (real seconds)")] = 60.0,
    path: Annotated[str, typer.Option(help="the path every request asks for")] = "/health",
    url: Annotated[
        str | None,
        typer.Option(help="send here instead of the local data plane's ALB", show_default=False),
    ] = None,
) -> None:
    """Send steady traffic through the local data plane's ALB, to watch the service scale."""
    from rich.progress import Progress

    from emulator import load as traffic

    if url is None:
        settings = DeploySettings()
        endpoint = settings.moto_endpoint()
        if not (endpoint and moto_server.answers(endpoint)):
            raise _fail(
                InvalidInput(
                    "no emulator answers (AWS_ENDPOINT_URL / WORKBOOK_MOTO_PORT): start "
                    "`workbook stack emulator` and export what it prints, or pass --url"
                )
            )
        names = StackNames(project=settings.project_tag)
        try:
            url = load_url(local_plane.read_state(endpoint), names, path)
        except InvalidInput as exc:
            raise _fail(exc) from exc
    try:
        traffic.check(url, rps, seconds)
    except ValueError as exc:
        raise _fail(exc) from exc
    console.print(f"{rps:g} requests a second to {url} for {seconds:g} s", highlight=False)
    done = threading.Event()
    result: list[traffic.LoadResult] = []
    worker = threading.Thread(
        target=lambda: result.append(traffic.generate(url, rps, seconds, stop=done)), daemon=True
    )
    started = time.monotonic()
    worker.start()
    try:
        with Progress(transient=True, console=err) as progress:
            bar = progress.add_task("load", total=seconds)
            while worker.is_alive():
                progress.update(bar, completed=min(seconds, time.monotonic() - started))
                worker.join(0.2)
    except KeyboardInterrupt:
        done.set()  # requests not sent yet are dropped; answers in flight still count
        worker.join()
    console.print(present.load_table(result[0]))
    console.print(result[0].summary(), highlight=False)
    if not result[0].ok:
        raise _fail(RuntimeError(f"no request to {url} got a 2xx answer"))


@app.command("lint-policies")
def lint_policies(
    files: Annotated[
        list[Path] | None,
        typer.Argument(help="policy JSON files (default: the stack's generated policies)"),
    ] = None,
    backend: BackendOpt = None,
) -> None:
    """Lint IAM policies with parliament (in place of its console script, which cannot start)."""
    # `.venv/bin/parliament` imports pkg_resources, which current setuptools no longer ships;
    # deploy.models.policies provides the one function parliament needs, then runs it.
    try:
        if files:
            documents = policies.read_policy_files(files)
        else:
            edge = Edge(backend)
            ctx = edge.ctx
            documents = policies.stack_policies(edge.names, ctx.account_id, ctx.region)
        findings = policies.lint_policies(documents)
    except DeployError as exc:
        raise _fail(exc) from exc
    if findings:
        console.print(present.rows_table(findings, "parliament findings"))
        raise typer.Exit(1)
    console.print(f"parliament: no findings in {len(documents)} policies")


app.command("rehearse", help="Rehearse aws.yml locally: podman, a local registry, moto.")(
    pipeline.rehearse_command
)
