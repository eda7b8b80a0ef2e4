"""Rehearse .github/workflows/aws.yml locally: podman, a local registry and the emulated account.

The workflow's names come from here (`workflow_env`), and tests/container/test_workflows.py
fails when the YAML and these disagree. `rehearse` runs the workflow's steps in order: build
and tag by commit SHA, push to a registry standing in for ECR (Debian's `docker-registry` on
127.0.0.1), record the image in the emulated ECR repository, fill and render
deploy/task-definition.json exactly as the workflow does (the image named by the digest the
push produced, `<repository>@sha256:...`, never by its tag), register it, update the service,
wait for stability, then refuse a rolled-back deployment. What moto cannot show is said so in
each step's detail: it starts no tasks and stores one PRIMARY deployment that never changes
revision (localstack/README.md).
"""

from __future__ import annotations

import contextlib
import json
import socket
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import typer
from rich.console import Console

from deploy import present, release, stack
from deploy.aws.backend import DEFAULT_REGION
from deploy.aws.errors import DeployError, aws_errors
from deploy.aws.names import DEFAULT_NAMES, StackNames
from deploy.aws.settings import DeploySettings
from deploy.podman import BUILD_FLAGS, podman
from deploy.resources import ecr, taskdef
from service.aws import AwsContext

ROOT = Path(__file__).resolve().parents[1]
TASK_DEFINITION = "deploy/task-definition.json"
WAIT_MINUTES = 15  # the deploy action's default is 30 (errata 20); the workflow sets this


class PipelineError(DeployError):
    """A pipeline step failed; the message names the step and what to do."""


def workflow_env(names: StackNames = DEFAULT_NAMES) -> dict[str, str]:
    """Return the `env:` block aws.yml must carry for `names` (its single source of names)."""
    # The region is the workflow's own (names carry none): the backend's default region.
    return {
        "AWS_REGION": DEFAULT_REGION,
        "ECR_REPOSITORY": names.repository,
        "ECS_CLUSTER": names.cluster,
        "ECS_SERVICE": names.service,
        "ECS_TASK_FAMILY": names.family,
        "CONTAINER_NAME": names.container,
        "SECRET_NAME": names.secret,
        "CI_ROLE": names.ci_role,
        "TASK_DEFINITION": TASK_DEFINITION,
        "WAIT_MINUTES": str(WAIT_MINUTES),
    }


@dataclass(frozen=True)
class Step:
    """One step of a pipeline run: what ran, how long it took, what it produced."""

    name: str
    seconds: float
    detail: str
    mirrors: str = ""  # the aws.yml step this one stands for


# ---------------------------------------------------------------- the workflow's logic


def fill_placeholders(template: str, *, account_id: str, region: str, secret_arn: str) -> str:
    """Return the template text with account, region and secret ARN filled (the `sed` step)."""
    for placeholder, value in (
        ("<ACCOUNT_ID>", account_id),
        ("<REGION>", region),
        ("<SECRET_ARN>", secret_arn),
    ):
        if not value or "|" in value:  # `|` is the workflow's sed delimiter
            raise PipelineError(f"cannot fill {placeholder} with {value!r}")
        template = template.replace(placeholder, value)
    return template


def render_image(td: dict, container_name: str, image: str) -> dict:
    """Return `td` with `image` set on the named container (the render action's job)."""
    matches = [c for c in td.get("containerDefinitions", []) if c.get("name") == container_name]
    if len(matches) != 1:
        found = [c.get("name") for c in td.get("containerDefinitions", [])]
        raise PipelineError(
            f"the task definition has no single container named {container_name!r} "
            f"(found {found}); CONTAINER_NAME in aws.yml must match it"
        )
    matches[0]["image"] = image
    return td


def check_rollout(service: dict, registered_arn: str, *, emulated: bool = False) -> str:
    """Raise PipelineError unless the service runs `registered_arn` after a finished rollout."""
    # The deploy action (v1 at least) reports success after a circuit-breaker rollback,
    # because the service IS stable again, on the old revision (errata 20).
    current = service.get("taskDefinition")
    if current != registered_arn:
        raise PipelineError(
            f"the service runs {current}, not the revision just registered ({registered_arn}): "
            "the deployment was rolled back (circuit breaker) or replaced"
        )
    primary = [d for d in service.get("deployments", []) if d.get("status") == "PRIMARY"]
    if emulated:
        # moto keeps one PRIMARY deployment on the first revision forever and never rolls.
        return "service runs the new revision (moto keeps no per-deployment state to check)"
    if len(primary) != 1 or primary[0].get("taskDefinition") != registered_arn:
        raise PipelineError(f"the PRIMARY deployment does not run {registered_arn}: {primary}")
    state = primary[0].get("rolloutState")
    if state != "COMPLETED":
        raise PipelineError(f"the PRIMARY deployment's rollout state is {state}, not COMPLETED")
    return "PRIMARY deployment runs the new revision, rollout COMPLETED"


# ---------------------------------------------------------------- local stand-ins


def commit_sha(repo: Path = ROOT) -> str:
    """Return the commit HEAD points at (what the workflow tags the image with)."""
    out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True)
    if out.returncode != 0:
        raise PipelineError(f"git rev-parse HEAD failed in {repo}: {out.stderr.strip()}")
    return out.stdout.strip()


def _podman(step: str, *args: str) -> str:
    """Run podman for one rehearsal step; return stdout or raise PipelineError naming the step."""
    try:
        done = podman(*args, check=False)
    except FileNotFoundError:
        raise PipelineError("podman is not installed (make system-deps installs it)") from None
    if done.returncode != 0:
        raise PipelineError(f"{step}: podman {args[0]} failed: {done.stderr.strip()[-800:]}")
    return done.stdout


@contextlib.contextmanager
def local_registry(limit_s: float = 20.0) -> Iterator[str]:
    """Run Debian's `docker-registry` on a free 127.0.0.1 port; yield its host:port."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        address = f"127.0.0.1:{s.getsockname()[1]}"
    with tempfile.TemporaryDirectory(prefix="registry-") as root:
        config = Path(root, "config.yml")
        config.write_text(
            "version: 0.1\nlog:\n  level: error\n"
            f"storage:\n  filesystem:\n    rootdirectory: {root}/data\n"
            f"http:\n  addr: {address}\n"
        )
        try:
            proc = subprocess.Popen(
                ["docker-registry", "serve", str(config)],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )  # fmt: skip
        except FileNotFoundError:
            raise PipelineError(
                "docker-registry is not installed (Debian package docker-registry; "
                "make system-deps installs it)"
            ) from None
        try:
            deadline = time.monotonic() + limit_s
            while True:
                try:
                    urllib.request.urlopen(f"http://{address}/v2/", timeout=1).close()
                    break
                except OSError:
                    if proc.poll() is not None or time.monotonic() > deadline:
                        raise PipelineError(
                            f"the local registry did not start on {address}"
                        ) from None
                    time.sleep(0.05)
            yield address
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def registry_manifest(address: str, repository: str, tag: str) -> tuple[str, str]:
    """Return the (Docker v2) manifest text and digest the registry holds for repository:tag."""
    req = urllib.request.Request(
        f"http://{address}/v2/{repository}/manifests/{tag}",
        headers={"Accept": "application/vnd.docker.distribution.manifest.v2+json"},
    )
    with urllib.request.urlopen(req, timeout=10) as resp:
        return resp.read().decode(), resp.headers["Docker-Content-Digest"]


# ---------------------------------------------------------------- the rehearsal


# The aws.yml step each rehearsal step stands for (tests check these names against the YAML).
CHECKOUT = "Check out the tested commit"
CREDENTIALS = "Configure AWS credentials (OIDC, no stored keys)"
LOGIN = "Log in to Amazon ECR"
BUILDER = "Set up Docker Buildx"
BUILD_PUSH = "Build and push the image, tagged with the commit SHA"
FILL = "Fill the account, region and secret ARN into the task definition"
RENDER = "Render the task definition with the new image"
DEPLOY = "Register the revision and update the service"
VERIFY = "Fail if the circuit breaker rolled the deployment back"
# Rehearsal steps that run podman (their names head its errors).
BUILD = "Build, tagged with the commit SHA"
PUSH = "Push to the registry"


def _timed(steps: list[Step], name: str, mirrors: str, fn: Callable[[], str]) -> None:
    start = time.perf_counter()
    detail = fn()
    steps.append(Step(name, time.perf_counter() - start, detail, mirrors))


def stack_outputs(ctx: AwsContext, names: StackNames, *, apply: bool = True) -> dict[str, Any]:
    """Return the outputs of the stack the workflow deploys into; with apply, build it first."""
    if apply:
        return stack.apply(ctx, names, target="ecs").outputs
    planned = stack.plan(ctx, names, target="ecs")
    missing = [f"{c.kind} {c.name}" for c in planned.changes if c.action == "create"]
    if missing:
        raise PipelineError(
            f"{', '.join(missing)} not found: the workflow deploys into an existing stack; "
            "run `workbook stack apply` first"
        )
    return planned.outputs


def rehearse(
    ctx: AwsContext,
    names: StackNames,
    *,
    image: str | None = None,
    base_image: str | None = None,
    sha: str | None = None,
    wait_minutes: int = WAIT_MINUTES,
    apply: bool = True,
) -> list[Step]:
    """Run aws.yml's steps against `ctx`'s account and podman; return the timed steps."""
    outputs = stack_outputs(ctx, names, apply=apply)
    emulated = ctx.kind == "moto"
    steps: list[Step] = []
    state: dict[str, str] = {}
    tag = sha or commit_sha()
    local = f"localhost/{names.repository}:{tag}"

    def build() -> str:
        if image is not None:  # an image built earlier (the container tests' fixture)
            _podman(BUILD, "tag", image, local)
            return f"tagged {image} as {local}"
        # Without `base_image` the Dockerfile's own default applies: the digest-pinned base.
        base = ["--build-arg", f"PYTHON_IMAGE={base_image}"] if base_image else []
        _podman(
            BUILD, "build", *BUILD_FLAGS, *base, "--build-arg", f"GIT_SHA={tag}",
            "-t", local, str(ROOT),
        )  # fmt: skip
        return f"built {local} on {base_image or 'the Dockerfile base'}"

    def push() -> str:
        remote = f"{state['registry']}/{names.repository}:{tag}"
        # v2s2: the Docker manifest type deploy.resources.ecr.record_image declares to ECR.
        _podman(
            "push", "push", "--tls-verify=false", "--format", "v2s2", local, f"docker://{remote}"
        )
        state["manifest"], state["digest"] = registry_manifest(
            state["registry"], names.repository, tag
        )
        return f"pushed {remote} ({state['digest'][:19]}...)"

    def record() -> str:
        # A real push lands in ECR itself; here the registry's manifest is put into moto.
        try:
            ecr.record_image(ctx, names, tag, state["manifest"])
        except DeployError as exc:  # the same commit pushed twice: ECR keeps the first
            if "already exists" not in str(exc):
                raise
            state["digest"] = ""  # deploy what ECR holds under the tag, the first push
            return f"{names.repository}:{tag[:12]} was already in ECR"
        return f"ECR {names.repository}:{tag[:12]} holds the pushed manifest"

    def fill() -> str:
        state["filled"] = fill_placeholders(
            taskdef.TEMPLATE_PATH.read_text(encoding="utf-8"),
            account_id=ctx.account_id,
            region=ctx.region,
            secret_arn=outputs["secrets"].arn,
        )
        return f"{TASK_DEFINITION}: <ACCOUNT_ID>, <REGION>, <SECRET_ARN> filled"

    def render() -> str:
        # The digest ECR holds for the tag: the task definition names that one build.
        uri = ecr.pinned_uri(ctx, ecr.image_uri(outputs["ecr"].repository_uri, tag))
        if state["digest"] and not uri.endswith("@" + state["digest"]):
            raise PipelineError(
                f"ECR names {uri}, not the pushed digest {state['digest']}: the tag moved"
            )
        td = render_image(json.loads(state["filled"]), names.container, uri)
        taskdef.check(td)  # what Fargate would refuse (moto validates nothing)
        state["td"] = json.dumps(td)
        return f"{names.container} -> {uri}"

    def register_and_update() -> str:
        client = ctx.client("ecs")
        td = {**json.loads(state["td"]), "tags": names.tag_list("key", "value")}
        with aws_errors(f"ECS service {names.service} in cluster {names.cluster}", "ecs"):
            registered = client.register_task_definition(**td)["taskDefinition"]
            state["arn"] = registered["taskDefinitionArn"]
            client.update_service(
                cluster=names.cluster, service=names.service, taskDefinition=state["arn"]
            )
        return f"registered {names.family}:{registered['revision']}; service updated"

    def wait() -> str:
        release.wait_stable(ctx, names, timeout=wait_minutes * 60, delay=5)
        note = " (moto: running == desired at once, no task started)" if emulated else ""
        return f"stable within {wait_minutes} min{note}"

    def verify() -> str:
        svc = ctx.client("ecs").describe_services(cluster=names.cluster, services=[names.service])
        return check_rollout(svc["services"][0], state["arn"], emulated=emulated)

    with local_registry() as reg:
        state["registry"] = reg
        where = ctx.endpoint_url or "AWS"
        _timed(steps, "Check out the commit", CHECKOUT, lambda: f"HEAD is {tag[:12]}")
        _timed(steps, "Point AWS calls at the backend", CREDENTIALS, lambda: f"{ctx.kind}: {where}")
        _timed(steps, "Use the local registry", LOGIN, lambda: f"{reg} stands in for ECR")
        _timed(steps, "Use podman as the builder", BUILDER, lambda: "podman (buildx on GitHub)")
        _timed(steps, BUILD, BUILD_PUSH, build)
        _timed(steps, PUSH, BUILD_PUSH, push)
        _timed(steps, "Record the image in ECR", BUILD_PUSH, record)
        _timed(steps, "Fill the task definition", FILL, fill)
        _timed(steps, "Render it with the new image", RENDER, render)
        _timed(steps, "Register and update the service", DEPLOY, register_and_update)
        _timed(steps, "Wait for service stability", DEPLOY, wait)
        _timed(steps, "Refuse a rolled-back deployment", VERIFY, verify)
    return steps


def rehearse_command(
    base_image: str | None = typer.Option(
        None,
        help="Base image for the build (PYTHON_IMAGE build argument); default: the Dockerfile's "
        "digest-pinned python:3.12-slim.",
    ),
    image: str | None = typer.Option(None, help="Reuse this built image instead of building."),
    apply: bool = typer.Option(True, help="Apply the stack on the emulator first."),
) -> None:
    """Rehearse the GitHub deploy workflow locally and print its timeline."""
    console = Console()
    settings = DeploySettings()
    backend = settings.start_backend("moto")
    names = StackNames(project=settings.project_tag)
    try:
        steps = rehearse(backend.ctx, names, image=image, base_image=base_image, apply=apply)
    except DeployError as exc:
        console.print(f"[red]rehearsal failed:[/red] {exc}")
        raise typer.Exit(1) from exc
    finally:
        backend.stop()
    console.print(present.timeline(steps))
