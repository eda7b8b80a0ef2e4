"""`workbook stack emulator` with the local data plane, and `workbook stack status` reading it."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from deploy import cli, local_plane
from deploy.aws.names import DEFAULT_NAMES as N
from deploy.resources import taskdef
from deploy.resources.ecr import MANIFEST_TYPE, fake_manifest, manifest_digest
from emulator import moto_server
from service.aws import AwsContext

runner = CliRunner()
WORKBOOK = Path(sys.executable).parent / "workbook"
TAG = "0123456789ab"
ALB = "drill-alb"  # not the stack's: the test makes only what one task needs
LIMIT = 60.0  # seconds a step may take before the test fails (no timing claim)


def _wait(check, what: str, limit: float = LIMIT):
    deadline = time.monotonic() + limit
    while not (result := check()):
        if time.monotonic() > deadline:
            pytest.fail(f"gave up waiting for {what}")
        time.sleep(0.05)
    return result


def _listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", port)) == 0


def _get(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=3) as resp:
            return resp.status
    except OSError:
        return 0


@pytest.fixture
def emulator(tmp_path) -> Iterator[tuple[subprocess.Popen, AwsContext, Path]]:
    """Run `workbook stack emulator` (process mode, compressed clock) as a learner would."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "WORKBOOK_"))}
    output = tmp_path / "emulator.out"  # a file, not a pipe: a full pipe would block it
    with open(output, "w") as out:
        proc = subprocess.Popen(
            [str(WORKBOOK), "stack", "emulator", "--port", "0", "--mode", "process",
             "--clock-scale", "0.1"],
            stdout=out, stderr=subprocess.STDOUT, text=True,
            env={**env, "PYTHONUNBUFFERED": "1", "COLUMNS": "400"},
        )  # fmt: skip
    try:

        def printed() -> str | None:  # everything up to the end of the export line
            text = output.read_text()
            if proc.poll() is not None:
                pytest.fail(f"the emulator exited ({proc.returncode}): {text[-2000:]}")
            return text if "\n" in text.partition("export ")[2] else None

        text = _wait(printed, "the exports")
        exports = dict(p.split("=", 1) for p in text.split("export ", 1)[1].split("\n")[0].split())
        assert "local data plane: process mode, compressed clock" in text
        ctx = AwsContext(
            region=exports["AWS_REGION"],
            endpoint_url=exports["AWS_ENDPOINT_URL"],
            kind="moto",
            access_key_id=moto_server.ACCESS_KEY_ID,
            secret_access_key=moto_server.SECRET_ACCESS_KEY,
        )
        yield proc, ctx, output
    finally:  # a failed test still stops it as Ctrl-C does, so no task process is left
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(LIMIT)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)


def _serve_one_task(ctx: AwsContext) -> tuple[str, str, str]:
    """Make a one-task stack in the emulator: run the service's task behind an ALB.

    What the service scheduler will do (start a task, register it) is done here by hand.
    """
    ecr, ec2, elbv2, ecs = (ctx.client(s) for s in ("ecr", "ec2", "elbv2", "ecs"))
    ecr.create_repository(repositoryName=N.repository)
    manifest = fake_manifest(TAG)
    ecr.put_image(
        repositoryName=N.repository, imageManifest=manifest, imageTag=TAG,
        imageManifestMediaType=MANIFEST_TYPE, imageDigest=manifest_digest(manifest),
    )  # fmt: skip
    secret = ctx.client("secretsmanager").create_secret(
        Name=N.secret,
        SecretString=json.dumps({k: "" for k in ("GROQ_API_KEY", "GOOGLE_API_KEY")}
                                | {"API_KEY": "k", "LANGCHAIN_API_KEY": ""}),
    )["ARN"]  # fmt: skip
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.0.{i}.0/24", AvailabilityZone=f"us-east-1{z}")[
            "Subnet"
        ]["SubnetId"]
        for i, z in enumerate("ab")
    ]
    group = ec2.create_security_group(GroupName="task", Description="task", VpcId=vpc)["GroupId"]
    lb = elbv2.create_load_balancer(Name=ALB, Subnets=subnets, Type="application")
    lb_arn = lb["LoadBalancers"][0]["LoadBalancerArn"]
    tg = elbv2.create_target_group(
        Name=ALB, Protocol="HTTP", Port=8080, VpcId=vpc, TargetType="ip",
        HealthCheckPath="/health", HealthCheckIntervalSeconds=5, HealthCheckTimeoutSeconds=4,
        HealthyThresholdCount=2, UnhealthyThresholdCount=2,
    )["TargetGroups"][0]["TargetGroupArn"]  # fmt: skip
    elbv2.create_listener(
        LoadBalancerArn=lb_arn, Protocol="HTTP", Port=80,
        DefaultActions=[{"Type": "forward", "TargetGroupArn": tg}],
    )  # fmt: skip
    ecs.create_cluster(clusterName=N.cluster)
    repository = f"{ctx.account_id}.dkr.ecr.{ctx.region}.amazonaws.com/{N.repository}"
    td = taskdef.render(
        N, f"{repository}:{TAG}", region=ctx.region, account_id=ctx.account_id, secret_arn=secret
    )
    taskdef.container(td)["healthCheck"].update(interval=5, startPeriod=10)
    td_arn = ecs.register_task_definition(**td)["taskDefinition"]["taskDefinitionArn"]
    task = ecs.run_task(
        cluster=N.cluster, taskDefinition=td_arn, launchType="FARGATE",
        networkConfiguration={"awsvpcConfiguration": {"subnets": subnets[:1], "securityGroups": [group]}},
    )["tasks"][0]["taskArn"]  # fmt: skip

    def running() -> dict | None:
        found = ecs.describe_tasks(cluster=N.cluster, tasks=[task])["tasks"][0]
        return found if found["lastStatus"] == "RUNNING" else None

    container = _wait(running, "the task to run")["containers"][0]
    host_port = container["networkBindings"][0]["hostPort"]
    elbv2.register_targets(TargetGroupArn=tg, Targets=[{"Id": "127.0.0.1", "Port": host_port}])
    return task, tg, str(host_port)


def test_emulator_runs_the_data_plane_status_shows_it_and_ctrl_c_leaves_nothing(
    emulator, monkeypatch
):
    proc, ctx, output = emulator
    task, tg, host_port = _serve_one_task(ctx)
    state_file = local_plane.state_path(ctx.endpoint_url)
    state = _wait(lambda: local_plane.read_state(ctx.endpoint_url), "the state file")
    alb_url = _wait(
        lambda: (local_plane.read_state(ctx.endpoint_url).urls.get(ALB) or {}).get("80"),
        "the ALB's local URL in the state file",
    )
    assert state.mode == "process" and state.pid == proc.pid
    _wait(lambda: f"ALB {ALB} listener :80 -> {alb_url}" in output.read_text(), "the URL printed")

    def healthy() -> bool:
        rows = ctx.client("elbv2").describe_target_health(TargetGroupArn=tg)
        return rows["TargetHealthDescriptions"][0]["TargetHealth"]["State"] == "healthy"

    _wait(healthy, "the target to turn healthy")
    assert _get(alb_url + "/health") == 200  # through the ALB's proxy, from the task

    def shipped() -> list[dict]:  # the log shipper is part of the emulator's data plane
        found = ctx.client("logs").filter_log_events(logGroupName=N.log_group)["events"]
        return [e for e in found if '"route": "/health"' in e["message"]]

    assert _wait(shipped, "the request's log line in CloudWatch Logs")[0]["logStreamName"] == (
        f"ecs/{N.container}/{task.rsplit('/', 1)[-1]}"
    )

    for key, value in ctx.environment().items():
        monkeypatch.setenv(key, value)
    monkeypatch.setattr(cli.console, "width", 300)  # a wide terminal, wherever pytest runs
    shown = runner.invoke(cli.app, ["status"])
    assert shown.exit_code == 0, shown.output
    rows = [line for line in shown.output.splitlines() if task.rsplit("/", 1)[-1] in line]
    assert rows, shown.output
    row = rows[0]
    assert "RUNNING" in row and host_port in row and "| 1 " in row.replace("│", "|")
    assert alb_url in shown.output
    assert "Local data plane (process mode" in shown.output
    assert "real health checks" in shown.output
    lines = shown.output.splitlines()
    assert any(ALB in line and host_port in line and "healthy" in line for line in lines)
    assert "moto calls every target healthy" not in shown.output  # not when checks are real

    pid = int(
        ctx.client("ecs")
        .describe_tasks(cluster=N.cluster, tasks=[task])["tasks"][0]["containers"][0]["runtimeId"]
        .split(":")[1]
    )
    moto_port = int(ctx.endpoint_url.rsplit(":", 1)[1])
    alb_port = int(alb_url.rsplit(":", 1)[1])
    proc.send_signal(signal.SIGINT)  # Ctrl-C
    assert proc.wait(LIMIT) == 0
    assert "stopping the local data plane" in output.read_text()
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)  # the task's process
    assert [p for p in (moto_port, alb_port, int(host_port)) if _listening(p)] == []
    assert not state_file.exists()


def test_no_data_plane_flag_leaves_it_off(aws):
    off = runner.invoke(cli.app, ["emulator", "--port", "0", "--no-data-plane", "--for", "0"])
    assert off.exit_code == 0, off.output
    assert "local data plane: off (--no-data-plane)" in off.output
    port = off.output.split("WORKBOOK_MOTO_PORT=", 1)[1].split()[0]
    assert not local_plane.state_path(f"http://127.0.0.1:{port}").exists()


def test_a_bad_mode_or_clock_is_refused_before_anything_starts():
    bad = runner.invoke(cli.app, ["emulator", "--port", "0", "--mode", "kubernetes"])
    assert bad.exit_code == 2 and "choose process, podman, docker" in bad.output
    slow = runner.invoke(cli.app, ["emulator", "--port", "0", "--clock-scale", "0"])
    assert slow.exit_code == 2 and "clock scale must be a positive number" in slow.output


def test_a_state_file_left_by_a_killed_emulator_is_ignored(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    url = "http://127.0.0.1:5999"
    state = local_plane.PlaneState(dead.pid, url, "us-east-1", "process", "real time")
    local_plane.write_state(state, tmp_path)
    assert local_plane.read_state(url, tmp_path) is None
    assert not local_plane.state_path(url, tmp_path).exists()  # removed as it is read
    local_plane.write_state(
        local_plane.PlaneState(os.getpid(), url, "us-east-1", "podman", "x"), tmp_path
    )
    assert local_plane.read_state(url, tmp_path).mode == "podman"
    assert local_plane.read_state("http://127.0.0.1:6000", tmp_path) is None  # another server
