"""The awslogs driver of the local data plane: a task's output arrives in CloudWatch Logs."""

from __future__ import annotations

import time
import urllib.request
from collections.abc import Iterator

import pytest
from typer.testing import CliRunner

from deploy import cli
from deploy.aws.names import DEFAULT_NAMES
from deploy.resources.ecr import MANIFEST_TYPE, fake_manifest, manifest_digest
from emulator.engine import PROCESS
from emulator.logs import MAX_EVENT_BYTES, MISSING_GROUP, LoggerError, LogShipper, destination
from emulator.logs import events as to_events
from emulator.tasks import TaskRunner
from tests.awscli import aws_cli
from tests.emulator.test_tasks import (
    CLOCK,
    ENGINE_LIMIT,
    SLEEP,
    WAIT_LIMIT,
    _podman_has,
    register,
    run_task,
    stack,
)

__all__ = ["stack"]  # the fixture, shared with test_tasks
GROUP = DEFAULT_NAMES.log_group  # /ecs/llmopstdlive, awslogs-create-group "true"
PREFIX = "ecs"  # the task definition's awslogs-stream-prefix


@pytest.fixture
def shipping(aws, ctx) -> Iterator[tuple[TaskRunner, LogShipper]]:
    """Run the agent (process mode) with the log shipper; stop the agent first, then it."""
    runner = TaskRunner(mode=PROCESS, clock=CLOCK, poll_s=0.05)
    shipper = LogShipper(runner, poll_s=0.05)
    shipper.start(type("Plane", (), {"region": ctx.region})())
    runner.start()
    yield runner, shipper
    runner.stop()
    shipper.stop()


def _stream(ctx, arn: str) -> str:
    return f"{PREFIX}/{DEFAULT_NAMES.container}/{arn.rsplit('/', 1)[-1]}"


def _messages(ctx, arn: str) -> list[str]:
    found = ctx.client("logs").get_log_events(logGroupName=GROUP, logStreamName=_stream(ctx, arn))
    return [e["message"] for e in found["events"]]


def _wait(check, what: str, limit: float = WAIT_LIMIT):
    deadline = time.monotonic() + limit
    while not (result := check()):
        if time.monotonic() > deadline:
            pytest.fail(f"gave up waiting for {what}")
        time.sleep(0.05)
    return result


def test_the_services_json_request_lines_reach_its_group_and_stream(
    ctx, shipping, stack, monkeypatch
):
    runner, _ = shipping
    arn = run_task(ctx, stack, register(ctx, stack))
    runner.wait_status(arn, "RUNNING", WAIT_LIMIT)
    url = f"http://127.0.0.1:{runner.host_port(arn)}/health"

    def answered() -> bool:
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                return resp.status == 200
        except OSError:
            return False

    _wait(answered, "the service to answer /health")
    before = time.time() * 1000
    for _ in range(3):
        assert answered()
    _wait(lambda: sum('"request"' in m for m in _messages(ctx, arn)) >= 3, "request lines")

    # `aws logs filter-log-events`, as a learner would run it against the emulator.
    found = aws_cli(
        ctx, "logs", "filter-log-events", "--log-group-name", GROUP, "--filter-pattern", "request"
    )["events"]
    requests = [e for e in found if '"route": "/health"' in e["message"]]
    assert len(requests) >= 3
    assert {e["logStreamName"] for e in requests} == {_stream(ctx, arn)}
    assert all(e["timestamp"] >= before - 1000 for e in requests[-3:])  # when read, not 1970
    assert '"status": 200' in requests[-1]["message"]

    # `workbook stack logs` (the guide's `aws logs tail` is AWS CLI v2 only) shows them too.
    for key, value in ctx.environment().items():
        monkeypatch.setenv(key, value)
    shown = CliRunner().invoke(cli.app, ["logs", "--filter", "request", "--since", "5m"])
    assert shown.exit_code == 0, shown.output
    assert _stream(ctx, arn) in shown.output and '"route": "/health"' in shown.output


def test_the_last_lines_are_shipped_when_the_task_stops(ctx, shipping, stack):
    runner, _ = shipping
    script = (
        "import sys, time; print('started', flush=True); "
        "sys.stdout.write('no newline yet'); sys.stdout.flush(); time.sleep(60)"
    )
    arn = run_task(ctx, stack, register(ctx, stack, command=["python", "-c", script]))
    runner.wait_status(arn, "RUNNING", WAIT_LIMIT)
    _wait(lambda: "started" in _messages(ctx, arn), "the first line")
    assert "no newline yet" not in _messages(ctx, arn)  # a line is shipped once it ends
    ctx.client("ecs").stop_task(cluster=DEFAULT_NAMES.cluster, task=arn)
    runner.wait_status(arn, "STOPPED", WAIT_LIMIT)
    assert _messages(ctx, arn) == ["started", "no newline yet"]


def test_a_missing_group_without_create_group_stops_the_task_with_the_drivers_error(
    ctx, shipping, stack
):
    runner, _ = shipping
    logging = {
        "logDriver": "awslogs",
        "options": {"awslogs-group": "/ecs/absent", "awslogs-stream-prefix": PREFIX},
    }
    arn = run_task(ctx, stack, register(ctx, stack, command=SLEEP, logConfiguration=logging))
    runner.wait_status(arn, "STOPPED", WAIT_LIMIT)
    task = ctx.client("ecs").describe_tasks(cluster=DEFAULT_NAMES.cluster, tasks=[arn])["tasks"][0]
    assert (task["stoppedReason"], task["stopCode"]) == (MISSING_GROUP, "TaskFailedToStart")
    assert MISSING_GROUP.startswith("ResourceInitializationError:")
    groups = ctx.client("logs").describe_log_groups()["logGroups"]
    assert "/ecs/absent" not in [g["logGroupName"] for g in groups]  # not made behind its back


def test_stream_names_follow_awss_prefix_container_task_rule():
    arn = "arn:aws:ecs:eu-west-1:123456789012:task/cluster/0123abcd"
    options = {
        "awslogs-group": "/ecs/x",
        "awslogs-stream-prefix": "web",
        "awslogs-region": "eu-west-1",
    }
    where = destination(
        {"name": "app", "logConfiguration": {"logDriver": "awslogs", "options": options}},
        arn,
        "us-east-1",
    )
    assert (where.group, where.stream, where.region) == ("/ecs/x", "web/app/0123abcd", "eu-west-1")
    assert destination({"name": "app"}, arn, "us-east-1") is None  # not awslogs
    no_prefix = {"logDriver": "awslogs", "options": {"awslogs-group": "/ecs/x"}}
    with pytest.raises(LoggerError, match="awslogs-stream-prefix is required"):
        destination({"name": "app", "logConfiguration": no_prefix}, arn, "us-east-1")


def test_empty_lines_are_dropped_and_long_lines_split():
    shipped = to_events(["", "ok", "x" * (MAX_EVENT_BYTES + 5)], 1000)
    assert [len(e["message"]) for e in shipped] == [2, MAX_EVENT_BYTES, 5]
    assert {e["timestamp"] for e in shipped} == {1000}


@pytest.mark.needs("podman", "slirp4netns")
@pytest.mark.xdist_group("container")  # shares podman's storage and the built image
def test_podman_mode_ships_the_containers_output(ctx, aws, stack):
    if not _podman_has(f"localhost/{DEFAULT_NAMES.repository}:test"):
        pytest.skip("localhost/llmops:test is not built (tests/container builds it first)")
    manifest = fake_manifest("test")
    ctx.client("ecr").put_image(
        repositoryName=DEFAULT_NAMES.repository, imageManifest=manifest, imageTag="test",
        imageManifestMediaType=MANIFEST_TYPE, imageDigest=manifest_digest(manifest),
    )  # fmt: skip
    runner = TaskRunner(mode="podman", clock=CLOCK)
    shipper = LogShipper(runner, poll_s=0.05).start(type("Plane", (), {"region": ctx.region})())
    runner.start()
    script = "print('hello from podman', flush=True)"
    td = register(ctx, stack, image=f"{stack['repository']}:test", command=["python", "-c", script])
    try:
        arn = run_task(ctx, stack, td)
        assert runner.wait_status(arn, "STOPPED", ENGINE_LIMIT) == "STOPPED"  # it exits at once
    finally:
        runner.stop()
        shipper.stop()
    assert _messages(ctx, arn) == ["hello from podman"]
