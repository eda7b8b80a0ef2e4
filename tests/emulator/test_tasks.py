"""The ECS agent: tasks moto holds really run (process mode), and describe-tasks shows it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from deploy import local_plane
from deploy.aws.names import DEFAULT_NAMES
from deploy.resources import taskdef
from deploy.resources.ecr import MANIFEST_TYPE, fake_manifest, manifest_digest
from emulator import engine as engine_module
from emulator.clock import Clock
from emulator.engine import (
    PROCESS,
    CliEngine,
    EcrImage,
    ProcessEngine,
    PullError,
    detect,
    from_task,
    parse_image,
)
from emulator.tasks import LIFECYCLE, HealthCheck, TaskRunner
from service.aws import AwsContext

# Compressed clock: the AWS-minimum 5 s health-check interval passes in 0.5 s.
CLOCK = Clock(scale=0.1)
TAG = "0123456789ab"
SLEEP = ["python", "-c", "import time; time.sleep(60)"]
WAIT_LIMIT = 60.0  # seconds a test waits for a state before failing (no timing claim)
ENGINE_LIMIT = 180.0  # podman under load: each CLI call can take seconds


@pytest.fixture
def runner(aws) -> Iterator[TaskRunner]:
    """Run the agent in process mode on the compressed clock; stop it (and its tasks) after."""
    agent = TaskRunner(mode=PROCESS, clock=CLOCK, poll_s=0.05).start()
    yield agent
    agent.stop()


@pytest.fixture
def stack(ctx: AwsContext) -> dict:
    """Make what a task needs in moto: the ECR image, the secret, a subnet and security group."""
    ecr, ec2 = ctx.client("ecr"), ctx.client("ec2")
    ecr.create_repository(repositoryName=DEFAULT_NAMES.repository)
    manifest = fake_manifest(TAG)
    ecr.put_image(
        repositoryName=DEFAULT_NAMES.repository,
        imageManifest=manifest,
        imageManifestMediaType=MANIFEST_TYPE,
        imageTag=TAG,
        imageDigest=manifest_digest(manifest),
    )
    secret = ctx.client("secretsmanager").create_secret(
        Name=DEFAULT_NAMES.secret,
        SecretString=json.dumps(
            {
                "API_KEY": "s3cret-key",
                "GROQ_API_KEY": "",
                "GOOGLE_API_KEY": "",
                "LANGCHAIN_API_KEY": "",
            }
        ),
    )
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24")["Subnet"]["SubnetId"]
    group = ec2.create_security_group(GroupName="task", Description="task", VpcId=vpc)["GroupId"]
    ctx.client("ecs").create_cluster(clusterName=DEFAULT_NAMES.cluster)
    repository = f"{ctx.account_id}.dkr.ecr.{ctx.region}.amazonaws.com/{DEFAULT_NAMES.repository}"
    return {
        "image": f"{repository}:{TAG}",
        "repository": repository,
        "secret_arn": secret["ARN"],
        "network": {"awsvpcConfiguration": {"subnets": [subnet], "securityGroups": [group]}},
    }


def register(ctx: AwsContext, stack: dict, **container: object) -> str:
    """Register the stack's own task definition (deploy/task-definition.json) with changes."""
    td = taskdef.render(
        DEFAULT_NAMES,
        stack["image"],
        region=ctx.region,
        account_id=ctx.account_id,
        secret_arn=stack["secret_arn"],
    )
    c = taskdef.container(td)
    c["healthCheck"].update(interval=5, startPeriod=10)  # the AWS minimum interval
    c["stopTimeout"] = 5
    c.update(container)
    if c["healthCheck"] is None:  # healthCheck=None: no container health check
        del c["healthCheck"]
    return ctx.client("ecs").register_task_definition(**td)["taskDefinition"]["taskDefinitionArn"]


def run_task(ctx: AwsContext, stack: dict, td_arn: str) -> str:
    """`aws ecs run-task` the task definition on Fargate; return the task ARN."""
    tasks = ctx.client("ecs").run_task(
        cluster=DEFAULT_NAMES.cluster,
        taskDefinition=td_arn,
        launchType="FARGATE",
        networkConfiguration=stack["network"],
    )["tasks"]
    return tasks[0]["taskArn"]


def describe(ctx: AwsContext, arn: str) -> dict:
    """Return `aws ecs describe-tasks`' row for the task."""
    return ctx.client("ecs").describe_tasks(cluster=DEFAULT_NAMES.cluster, tasks=[arn])["tasks"][0]


def wait_described(ctx: AwsContext, arn: str, check, what: str, limit: float = WAIT_LIMIT) -> dict:
    """Poll describe-tasks until `check(task)` holds; fail naming `what` after `limit` s."""
    deadline = time.monotonic() + limit
    while True:
        task = describe(ctx, arn)
        if check(task):
            return task
        if time.monotonic() > deadline:
            pytest.fail(f"gave up waiting for {what}: {json.dumps(task, default=str)[:1500]}")
        time.sleep(0.05)


def stopped(ctx: AwsContext, arn: str, limit: float = WAIT_LIMIT) -> dict:
    """Wait for lastStatus STOPPED and return the task as describe-tasks shows it."""
    return wait_described(ctx, arn, lambda t: t["lastStatus"] == "STOPPED", "STOPPED", limit)


def test_run_task_serves_health_then_stop_task_stops_it_gracefully(
    ctx, runner, stack, tmp_path, monkeypatch
):
    monkeypatch.setitem(engine_module.IMAGE_PATHS, "/app/library-index", tmp_path / "index")
    td = register(ctx, stack)
    arn = run_task(ctx, stack, td)
    seen: list[str] = []
    task = wait_described(
        ctx, arn, lambda t: seen.append(t["lastStatus"]) or t["lastStatus"] == "RUNNING", "RUNNING"
    )
    container = task["containers"][0]
    port = runner.host_port(arn)
    assert container["lastStatus"] == "RUNNING"
    assert container["runtimeId"].startswith("process:")  # the mode, in every describe
    assert container["networkBindings"][0] == {
        "bindIP": "127.0.0.1",
        "containerPort": DEFAULT_NAMES.container_port,
        "hostPort": port,
        "protocol": "tcp",
    }
    assert arn in ctx.client("ecs").list_tasks(cluster=DEFAULT_NAMES.cluster)["taskArns"]
    # The task definition's own health check (python urllib to 127.0.0.1:8080) passes.
    task = wait_described(ctx, arn, lambda t: t.get("healthStatus") == "HEALTHY", "HEALTHY")
    assert task["containers"][0]["healthStatus"] == "HEALTHY"
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5) as resp:
        assert resp.status == 200
    # The notes' index was built once, as the image build does, not by the task at start-up.
    from tests.emulator.conftest import wait_for  # that module imports this one

    log = runner.log_path(arn)
    wait_for(lambda: '"library loaded"' in log.read_text(), "the library to load", WAIT_LIMIT)
    loaded = [json.loads(ln) for ln in log.read_text().splitlines() if '"library loaded"' in ln]
    assert [e["source"] for e in loaded] == ["prebuilt"], loaded

    ctx.client("ecs").stop_task(cluster=DEFAULT_NAMES.cluster, task=arn, reason="drill: rollout")
    task = wait_described(
        ctx, arn, lambda t: seen.append(t["lastStatus"]) or t["lastStatus"] == "STOPPED", "STOPPED"
    )
    assert task["desiredStatus"] == "STOPPED"
    assert task["stopCode"] == "UserInitiated"
    assert task["stoppedReason"] == "drill: rollout"
    assert task["containers"][0]["exitCode"] == 0  # SIGTERM handled: a clean exit
    assert {"startedAt", "stoppingAt", "stoppedAt"} <= task.keys()
    assert runner.history(arn) == list(LIFECYCLE)
    observed = [s for i, s in enumerate(seen) if i == 0 or s != seen[i - 1]]
    assert observed == sorted(observed, key=LIFECYCLE.index)  # never out of order
    with pytest.raises(OSError):
        urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2)


def test_an_essential_container_exit_stops_the_task_and_its_secret_reached_it(ctx, runner, stack):
    # Exit 3 only if the JSON key of the secret (`<arn>:API_KEY::`) is in the environment.
    check = "import os, sys; sys.exit(3 if os.environ.get('API_KEY') == 's3cret-key' else 9)"
    arn = run_task(ctx, stack, register(ctx, stack, command=["python", "-c", check]))
    task = stopped(ctx, arn)
    assert task["stopCode"] == "EssentialContainerExited"
    assert task["stoppedReason"] == "Essential container in task exited"
    assert task["containers"][0]["exitCode"] == 3
    assert task["containers"][0]["lastStatus"] == "STOPPED"


def check_cannot_pull(task: dict, image: str, history: list[str]) -> None:
    """Check a task stopped as ECS stops one whose image tag cannot be pulled (never RUNNING)."""
    assert task["stopCode"] == "TaskFailedToStart"
    assert task["stoppedReason"] == (
        "CannotPullContainerError: pull image manifest has been retried 5 time(s): "
        f"failed to resolve ref {image}: {image}: not found"
    )
    assert task["containers"][0]["reason"] == task["stoppedReason"]
    assert "RUNNING" not in history


def test_a_missing_tag_stops_the_task_with_cannot_pull_container_error(ctx, runner, stack):
    image = f"{stack['repository']}:not-pushed"
    arn = run_task(ctx, stack, register(ctx, stack, image=image))
    check_cannot_pull(stopped(ctx, arn), image, runner.history(arn))


@pytest.mark.parametrize(
    ("value_from", "why"),
    [
        (
            "{missing}:API_KEY::",
            "ResourceNotFoundException: Secrets Manager can't find the specified secret.",
        ),
        (
            "{arn}:NO_SUCH_KEY::",
            "retrieved secret from Secrets Manager did not contain json key NO_SUCH_KEY",
        ),
    ],
)
def test_an_unreadable_secret_stops_the_task_with_resource_initialization_error(
    ctx, runner, stack, value_from, why
):
    missing = stack["secret_arn"].replace(DEFAULT_NAMES.secret, "deleted_secret")
    secret = value_from.format(arn=stack["secret_arn"], missing=missing)
    arn = run_task(
        ctx, stack, register(ctx, stack, secrets=[{"name": "API_KEY", "valueFrom": secret}])
    )
    task = stopped(ctx, arn)
    assert task["stopCode"] == "TaskFailedToStart"
    assert task["stoppedReason"].startswith(
        "ResourceInitializationError: unable to pull secrets or registry auth: "
        "execution resource retrieval failed: unable to retrieve secret from asm: "
    )
    assert task["stoppedReason"].endswith(why)


def test_a_failing_health_check_makes_the_container_and_task_unhealthy(ctx, runner, stack):
    check = {"command": ["CMD-SHELL", "exit 1"], "interval": 5, "timeout": 2, "retries": 2}
    arn = run_task(ctx, stack, register(ctx, stack, command=SLEEP, healthCheck=check))
    task = wait_described(ctx, arn, lambda t: t.get("healthStatus") == "UNHEALTHY", "UNHEALTHY")
    assert task["containers"][0]["healthStatus"] == "UNHEALTHY"
    assert task["lastStatus"] == "RUNNING"  # a standalone task keeps running; a service replaces it


def test_a_container_ignoring_sigterm_is_killed_after_its_stop_timeout(ctx, runner, stack):
    stubborn = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(60)"
    td = register(ctx, stack, command=["python", "-c", stubborn], stopTimeout=1)
    arn = run_task(ctx, stack, td)
    runner.wait_status(arn, "RUNNING", WAIT_LIMIT)
    time.sleep(0.3)  # let the interpreter install its SIGTERM handler
    ctx.client("ecs").stop_task(cluster=DEFAULT_NAMES.cluster, task=arn)
    task = stopped(ctx, arn)
    assert task["stoppedReason"] == "Task stopped by user"
    assert task["containers"][0]["exitCode"] == 137  # SIGKILL


def test_process_mode_refuses_an_image_other_than_the_service(ctx, runner, stack):
    arn = run_task(ctx, stack, register(ctx, stack, image="public.ecr.aws/nginx/nginx:1.27"))
    task = stopped(ctx, arn)
    assert task["stopCode"] == "TaskFailedToStart"
    assert "process mode" in task["stoppedReason"]
    assert "needs a container engine" in task["stoppedReason"]


def test_stopping_the_runner_leaves_no_process_or_thread(ctx, aws, stack):
    agent = TaskRunner(mode=PROCESS, clock=CLOCK, poll_s=0.05).start()
    try:
        arn = run_task(ctx, stack, register(ctx, stack, command=SLEEP))
        agent.wait_status(arn, "RUNNING", WAIT_LIMIT)
        pid = int(describe(ctx, arn)["containers"][0]["runtimeId"].split(":")[1])
    finally:
        agent.stop()
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    assert describe(ctx, arn)["lastStatus"] == "STOPPED"
    assert not [t.name for t in threading.enumerate() if t.name.startswith("ecs-")]


def test_a_task_moto_held_before_the_agent_started_is_adopted_and_stopped_by_the_scheduler(
    ctx, aws, stack
):
    arn = run_task(ctx, stack, register(ctx, stack, command=SLEEP))  # moto alone: nothing runs
    events: list[tuple[str, int | None]] = []
    alive_when_deactivating: list[bool] = []
    agent = TaskRunner(mode=PROCESS, clock=CLOCK, poll_s=0.05)
    agent.add_listener(lambda e: events.append((e.last_status, e.host_port)))
    agent.deactivate = lambda a: alive_when_deactivating.append(
        describe(ctx, a)["containers"][0]["lastStatus"] == "RUNNING"
    )
    agent.start()
    try:
        assert agent.wait_status(arn, "RUNNING", WAIT_LIMIT) == "RUNNING"
        assert agent.stop_task(arn, "Scaling activity initiated by (deployment ecs-svc/1)")
        task = stopped(ctx, arn)
    finally:
        agent.stop()
    assert task["stopCode"] == "ServiceSchedulerInitiated"
    assert task["stoppedReason"] == "Scaling activity initiated by (deployment ecs-svc/1)"
    assert alive_when_deactivating == [True]  # deregistered before SIGTERM
    assert [s for s, _ in events] == list(LIFECYCLE)
    assert dict(events)["RUNNING"] == agent.host_port(arn)


def test_a_moto_reset_stops_the_tasks_it_wiped(ctx, aws, runner, stack):
    arn = run_task(ctx, stack, register(ctx, stack, command=SLEEP))
    runner.wait_status(arn, "RUNNING", WAIT_LIMIT)
    pid = int(describe(ctx, arn)["containers"][0]["runtimeId"].split(":")[1])
    aws.reset()
    assert runner.wait_status(arn, "STOPPED", WAIT_LIMIT) == "STOPPED"
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def _process_env(ctx: AwsContext, arn: str) -> dict[str, str]:
    """Return the environment of a process-mode task's process (its /proc environ)."""
    pid = describe(ctx, arn)["containers"][0]["runtimeId"].removeprefix("process:")
    pairs = Path(f"/proc/{pid}/environ").read_bytes().decode().split("\0")
    return dict(p.split("=", 1) for p in pairs if "=" in p)


def test_process_mode_gives_each_task_the_revision_its_image_names(ctx, runner, stack):
    ecr = ctx.client("ecr")
    digests = {}
    for tag in ("fedcba987654", None):  # a second revision under its tag, a third untagged
        manifest = fake_manifest(tag or "untagged")
        digests[tag] = manifest_digest(manifest)
        ecr.put_image(
            repositoryName=DEFAULT_NAMES.repository, imageManifest=manifest,
            imageManifestMediaType=MANIFEST_TYPE, imageDigest=digests[tag],
            **({"imageTag": tag} if tag else {}),
        )  # fmt: skip
    digests[TAG] = manifest_digest(fake_manifest(TAG))  # the stack's own image
    images = {f"{stack['repository']}@{d}": tag for tag, d in digests.items()}
    images[stack["image"]] = TAG  # named by its tag
    arns = {
        image: run_task(ctx, stack, register(ctx, stack, image=image, command=SLEEP))
        for image in images
    }
    seen = {}
    for image, arn in arns.items():
        assert runner.wait_status(arn, "RUNNING", WAIT_LIMIT) == "RUNNING"
        seen[image] = _process_env(ctx, arn)["GIT_SHA"]
    untagged = digests[None].removeprefix("sha256:")[:12]
    assert seen == {
        f"{stack['repository']}@{digests[TAG]}": TAG,  # pinned: the tag ECR holds for it
        f"{stack['repository']}@{digests['fedcba987654']}": "fedcba987654",
        f"{stack['repository']}@{digests[None]}": untagged,  # no tag: the digest's short form
        stack["image"]: TAG,
    }


def test_an_engine_runs_a_digest_pinned_image_by_the_tag_ecr_holds(monkeypatch):
    digest = "sha256:" + "b" * 64
    image = parse_image(f"123456789012.dkr.ecr.us-east-1.amazonaws.com/llmops@{digest}")
    podman = CliEngine("podman")
    monkeypatch.setattr(podman, "_exists", lambda ref: ref == "localhost/llmops:abc123")
    assert podman.resolve(image, EcrImage(digest, ("abc123",))) == "localhost/llmops:abc123"
    # `latest` moves from build to build: a commit's tag names what the digest is.
    held = EcrImage(digest, ("latest", "abc123"))
    assert podman.resolve(image, held) == "localhost/llmops:abc123"
    with pytest.raises(PullError, match="CannotPullContainerError"):
        podman.resolve(image, None)  # not in ECR
    with pytest.raises(PullError, match="not found"):
        podman.resolve(image, EcrImage(digest, ("never-built",)))  # in ECR, not in the store


def test_health_check_refuses_a_command_without_cmd_or_cmd_shell():
    with pytest.raises(ValueError, match="CMD or CMD-SHELL"):
        HealthCheck.from_definition({"command": ["curl", "-f", "http://localhost/"]})
    shell = HealthCheck.from_definition({"command": ["CMD-SHELL", "curl -f http://x/ || exit 1"]})
    assert (shell.argv[:2], shell.interval, shell.retries) == (["/bin/sh", "-c"], 30.0, 3)


def test_image_uris_are_read_as_ecr_or_local_references():
    digest = "sha256:" + "a" * 64
    ecr = parse_image(f"123456789012.dkr.ecr.us-east-1.amazonaws.com/llmops@{digest}")
    assert (ecr.name, ecr.tag, ecr.digest, ecr.account) == ("llmops", None, digest, "123456789012")
    local = parse_image("localhost/llmops:test")
    assert (local.name, local.tag, local.account) == ("llmops", "test", None)


def test_a_task_is_given_the_emulator_where_its_mode_reaches_the_hosts_loopback():
    env = {"AWS_ENDPOINT_URL": "http://127.0.0.1:5000", "OTHER": "http://localhost/x"}
    assert from_task(env, PROCESS) == env
    assert from_task(env, "podman") == {
        "AWS_ENDPOINT_URL": "http://10.0.2.2:5000",
        "OTHER": "http://10.0.2.2/x",
    }
    assert from_task(env, "docker")["AWS_ENDPOINT_URL"] == "http://host.docker.internal:5000"
    elsewhere = {"AWS_ENDPOINT_URL": "http://127.0.0.10:5000", "KEY": "127.0.0.1"}
    assert from_task(elsewhere, "podman") == elsewhere  # not a URL on the host's loopback


def test_process_mode_maps_the_container_port_into_the_health_check(tmp_path):
    spec = engine_module.ContainerSpec(
        name="c", image=parse_image("llmops:x"), environment={}, port=8080, host_port=41234,
        workdir=tmp_path,
    )  # fmt: skip
    argv = ProcessEngine("llmops").health_argv(
        spec, ["python", "-c", "open('http://127.0.0.1:8080/health')"]
    )
    assert argv[1:] == ["-c", "open('http://127.0.0.1:41234/health')"]


def test_without_podman_or_docker_the_mode_is_process(monkeypatch):
    monkeypatch.setattr(engine_module.shutil, "which", lambda _: None)
    assert detect() == PROCESS


def _podman_has(image: str) -> bool:
    if shutil.which("podman") is None:
        return False
    return subprocess.run(["podman", "image", "exists", image], check=False).returncode == 0


# Run inside a task's container: read an S3 object and the secret from the emulator through
# the endpoint the agent gave the task (exit 0 only if both arrive, else say what came back).
READ_FROM_TASK = """
import os, sys, boto3
body = boto3.client("s3").get_object(Bucket="probe-bucket", Key="probe.txt")["Body"].read()
secret = boto3.client("secretsmanager").get_secret_value(SecretId=sys.argv[1])["SecretString"]
print(os.environ["AWS_ENDPOINT_URL"], body, "s3cret-key" in secret)
sys.exit(0 if body == b"from the emulator" and "s3cret-key" in secret else 3)
"""


@pytest.mark.needs("podman", "slirp4netns")
@pytest.mark.xdist_group("container")  # shares podman's storage and the built image
def test_podman_mode_runs_the_built_image_serves_health_and_reaches_the_emulator(ctx, aws, stack):
    if not _podman_has(f"localhost/{DEFAULT_NAMES.repository}:test"):
        pytest.skip("localhost/llmops:test is not built (tests/container builds it first)")
    # The image the container tests build, recorded in ECR under its tag (as a push would).
    ecr = ctx.client("ecr")
    manifest = fake_manifest("test")
    ecr.put_image(
        repositoryName=DEFAULT_NAMES.repository,
        imageManifest=manifest,
        imageManifestMediaType=MANIFEST_TYPE,
        imageTag="test",
        imageDigest=manifest_digest(manifest),
    )
    ctx.client("s3").create_bucket(Bucket="probe-bucket")
    ctx.client("s3").put_object(Bucket="probe-bucket", Key="probe.txt", Body=b"from the emulator")
    agent = TaskRunner(mode="podman", clock=CLOCK, task_aws=local_plane.task_access(ctx)).start()
    try:
        arn = run_task(ctx, stack, register(ctx, stack, image=f"{stack['repository']}:test"))
        assert agent.wait_status(arn, "RUNNING", ENGINE_LIMIT) == "RUNNING"
        runtime = describe(ctx, arn)["containers"][0]["runtimeId"]
        assert runtime.startswith("podman:")
        # The emulator listens on the host's 127.0.0.1 only; the container reaches it there.
        read = subprocess.run(
            ["podman", "exec", runtime.removeprefix("podman:"), "python", "-c", READ_FROM_TASK,
             stack["secret_arn"]],
            capture_output=True, text=True, timeout=ENGINE_LIMIT, check=False,
        )  # fmt: skip
        assert read.returncode == 0, read.stdout + read.stderr[-1500:]
        assert read.stdout.startswith("http://10.0.2.2:"), read.stdout
        port = agent.host_port(arn)
        deadline = time.monotonic() + ENGINE_LIMIT
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as resp:
                    assert resp.status == 200
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        ctx.client("ecs").stop_task(cluster=DEFAULT_NAMES.cluster, task=arn)
        assert stopped(ctx, arn, ENGINE_LIMIT)["containers"][0]["exitCode"] == 0
    finally:
        agent.stop()
    names = subprocess.run(
        ["podman", "ps", "-a", "--format", "{{.Names}}"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout
    # Its own container: other modules' podman services may run meanwhile (-n without loadgroup).
    assert runtime.removeprefix("podman:") not in names.split()
