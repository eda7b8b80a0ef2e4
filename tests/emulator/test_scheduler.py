"""The service scheduler: services keep their tasks, roll, trip the circuit breaker (process mode)."""

from __future__ import annotations

import itertools
import json
import os
import secrets
import signal
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest

from deploy.aws.names import DEFAULT_NAMES
from deploy.resources import taskdef
from deploy.resources.ecr import MANIFEST_TYPE, fake_manifest, manifest_digest
from emulator.dataplane import DataPlane
from emulator.engine import PROCESS
from emulator.scheduler import ServiceScheduler
from emulator.tasks import TaskRunner
from service.aws import AwsContext
from tests.emulator.conftest import CLOCK, Alb
from tests.emulator.test_tasks import register

WAIT_LIMIT = 60.0  # seconds a test waits for a state before failing (no timing claim)
# The service takes 2-3 s to answer on a busy 2-core machine, well past the target group's 2
# failed checks 0.5 s apart on the compressed clock: as on AWS, the grace period covers the
# start (60 AWS s = 6 s here). Only the failing revision's tasks wait it out.
GRACE = 60
# The classic broken image: a server that answers, but not on /health (404).
NO_HEALTH = [
    "python",
    "-c",
    "import os, http.server as h; h.HTTPServer(('127.0.0.1', int(os.environ['PORT'])),"
    " h.SimpleHTTPRequestHandler).serve_forever()",
]


@pytest.fixture(scope="module")
def images(network: tuple[AwsContext, list[str]]) -> dict:
    """Record the service image in ECR under two tags (process mode tells them apart by GIT_SHA)."""
    ctx, subnets = network
    ecr, ec2 = ctx.client("ecr"), ctx.client("ec2")
    ecr.create_repository(repositoryName=DEFAULT_NAMES.repository)
    for tag in ("rev1", "rev2"):
        manifest = fake_manifest(tag)
        ecr.put_image(
            repositoryName=DEFAULT_NAMES.repository,
            imageManifest=manifest,
            imageManifestMediaType=MANIFEST_TYPE,
            imageTag=tag,
            imageDigest=manifest_digest(manifest),
        )
    secret = ctx.client("secretsmanager").create_secret(
        Name=DEFAULT_NAMES.secret,
        SecretString=json.dumps(
            {"API_KEY": "k", "GROQ_API_KEY": "", "GOOGLE_API_KEY": "", "LANGCHAIN_API_KEY": ""}
        ),
    )
    vpc = ec2.describe_subnets(SubnetIds=subnets[:1])["Subnets"][0]["VpcId"]
    group = ec2.create_security_group(GroupName="task", Description="task", VpcId=vpc)["GroupId"]
    repository = f"{ctx.account_id}.dkr.ecr.{ctx.region}.amazonaws.com/{DEFAULT_NAMES.repository}"
    rendered = taskdef.render(
        DEFAULT_NAMES,
        repository,
        region=ctx.region,
        account_id=ctx.account_id,
        secret_arn=secret["ARN"],
    )
    return {
        "health_check": taskdef.container(rendered)["healthCheck"],
        "repository": repository,
        "image": f"{repository}:rev1",
        "secret_arn": secret["ARN"],
        "network": {"awsvpcConfiguration": {"subnets": subnets, "securityGroups": [group]}},
    }


@dataclass
class Svc:
    """One ECS service of the test, with what the test needs to look at it."""

    ctx: AwsContext
    alb: Alb
    plane: DataPlane
    runner: TaskRunner
    cluster: str
    name: str
    revisions: dict[str, str]  # tag -> task definition ARN

    def describe(self) -> dict:
        """Return `aws ecs describe-services`' row."""
        return self.ctx.client("ecs").describe_services(cluster=self.cluster, services=[self.name])[
            "services"
        ][0]

    def wait(self, check: Callable[[dict], object], what: str) -> dict:
        """Poll describe-services until `check(service)` holds; fail naming `what`."""
        deadline = time.monotonic() + WAIT_LIMIT
        while True:
            service = self.describe()
            if check(service):
                return service
            if time.monotonic() > deadline:
                pytest.fail(f"gave up waiting for {what}: {self.story(service)}")
            time.sleep(0.05)

    def story(self, service: dict) -> str:
        """Return the service's events and its stopped tasks' reasons (a failure's message)."""
        ecs = self.ctx.client("ecs")
        arns = ecs.list_tasks(cluster=self.cluster, desiredStatus="STOPPED")["taskArns"][:20]
        stopped = ecs.describe_tasks(cluster=self.cluster, tasks=arns)["tasks"] if arns else []
        return json.dumps(
            {
                "deployments": service["deployments"],
                "events": [e["message"] for e in service["events"]],
                "stopped": [t.get("stoppedReason") for t in stopped],
            },
            default=str,
            indent=1,
        )

    def stable(self, revision: str = "rev1", count: int = 1) -> dict:
        """Wait for one COMPLETED deployment of `revision` with `count` tasks running."""
        return self.wait(
            lambda s: (
                len(s["deployments"]) == 1
                and s["deployments"][0]["rolloutState"] == "COMPLETED"
                and s["deployments"][0]["taskDefinition"] == self.revisions[revision]
                and s["runningCount"] == count == s["desiredCount"]
            ),
            f"{count} task(s) of {revision}, stable",
        )

    def get(self, path: str = "/health", request_id: str | None = None) -> tuple[int, dict]:
        """GET `path` through the ALB's local port; return the status and JSON body."""
        headers = {"X-Request-ID": request_id} if request_id else {}
        request = urllib.request.Request(self.plane.url_for(self.alb.name) + path, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=5) as resp:
                return resp.status, json.loads(resp.read() or b"{}")
        except urllib.error.HTTPError as exc:
            return exc.code, {}

    def update(self, **changes: object) -> None:
        """`aws ecs update-service` with `changes`."""
        self.ctx.client("ecs").update_service(cluster=self.cluster, service=self.name, **changes)

    def messages(self) -> list[str]:
        """Return the service events' messages, newest first."""
        return [e["message"] for e in self.describe()["events"]]


@pytest.fixture
def service(alb: Alb, images: dict) -> Iterator[Callable[..., Svc]]:
    """Return make(**settings): a data plane (runner + scheduler) and a service on rev1."""
    made: list[tuple[DataPlane, Svc]] = []

    def make(bad: bool = False, **deployment: object) -> Svc:
        ctx = alb.ctx
        runner = TaskRunner(mode=PROCESS, poll_s=0.05)
        plane = DataPlane.start(
            ctx, clock=CLOCK, parts=[runner, ServiceScheduler(runner, poll_s=0.05)]
        )
        cluster = f"lab-{secrets.token_hex(3)}"
        ctx.client("ecs").create_cluster(clusterName=cluster)
        rev2 = {**images, "image": f"{images['repository']}:rev2"}
        check = {**images["health_check"], "interval": 5, "startPeriod": GRACE}
        revisions = {
            "rev1": register(ctx, images, healthCheck=check),
            "rev2": register(ctx, rev2, healthCheck=check),
        }
        if bad:
            revisions["bad"] = register(ctx, rev2, healthCheck=check, command=NO_HEALTH)
        svc = Svc(ctx, alb, plane, runner, cluster, "llmops-svc", revisions)
        ctx.client("ecs").create_service(
            cluster=cluster,
            serviceName=svc.name,
            taskDefinition=revisions["rev1"],
            desiredCount=1,
            launchType="FARGATE",
            networkConfiguration=images["network"],
            loadBalancers=[
                {
                    "targetGroupArn": alb.target_group_arn,
                    "containerName": DEFAULT_NAMES.container,
                    "containerPort": DEFAULT_NAMES.container_port,
                }
            ],
            healthCheckGracePeriodSeconds=GRACE,
            deploymentConfiguration={
                "minimumHealthyPercent": 100,
                "maximumPercent": 200,
                "deploymentCircuitBreaker": {"enable": True, "rollback": True},
                **deployment,
            },
        )
        made.append((plane, svc))
        return svc

    yield make
    for plane, svc in made:
        svc.update(desiredCount=0)
        svc.ctx.client("ecs").delete_service(cluster=svc.cluster, service=svc.name, force=True)
        plane.stop()


def task_of(svc: Svc, request_id: str) -> str | None:
    """Return the ARN of the running task whose log shows the request `request_id`."""
    for arn in svc.runner.task_arns(running_only=True):
        path = svc.runner.log_path(arn)
        if path and request_id in path.read_text(errors="replace"):
            return arn
    return None


def test_a_service_runs_behind_the_alb_scales_to_two_that_alternate_and_replaces_a_killed_task(
    service,
):
    svc = service()
    stable = svc.stable()
    task_arn = svc.runner.task_arns(running_only=True)[0]
    port = svc.runner.host_port(task_arn)
    assert svc.alb.health() == {port: {"State": "healthy"}}
    status, body = svc.get()
    assert (status, body["commit"]) == (200, "rev1")  # served by the task, via the ALB's port
    task = svc.ctx.client("ecs").describe_tasks(cluster=svc.cluster, tasks=[task_arn])["tasks"][0]
    assert (task["group"], task["startedBy"]) == (
        f"service:{svc.name}",
        stable["deployments"][0]["id"],
    )
    task_id = task_arn.rsplit("/", 1)[-1]
    events = svc.messages()
    assert events[0] == f"(service {svc.name}) has reached a steady state."
    assert f"(service {svc.name}) has started 1 tasks: (task {task_id})." in events
    assert (
        f"(service {svc.name}) registered 1 targets in (target-group {svc.alb.target_group_arn})"
        in events
    )
    # `aws ecs wait services-stable` returns because the service is stable.
    svc.ctx.client("ecs").get_waiter("services_stable").wait(
        cluster=svc.cluster, services=[svc.name], WaiterConfig={"Delay": 1, "MaxAttempts": 5}
    )

    svc.update(desiredCount=2)
    svc.stable(count=2)
    svc.wait(
        lambda _: [h["State"] for h in svc.alb.health().values()] == ["healthy"] * 2, "2 healthy"
    )
    owners = []
    for i in range(6):
        request_id = f"probe-{secrets.token_hex(4)}-{i}"
        assert svc.get(request_id=request_id)[0] == 200
        owners.append(svc_wait_owner(svc, request_id))
    assert len(set(owners)) == 2
    assert all(a != b for a, b in itertools.pairwise(owners))  # round robin

    # kill -9 of one task's process: ECS-style replacement, the stopped reason names the exit.
    ecs = svc.ctx.client("ecs")
    old = owners[0]
    runtime = ecs.describe_tasks(cluster=svc.cluster, tasks=[old])["tasks"][0]["containers"][0]
    os.kill(int(runtime["runtimeId"].split(":")[1]), signal.SIGKILL)
    svc.wait(
        lambda s: (
            s["runningCount"] == 2
            and old not in svc.runner.task_arns(running_only=True)
            and s["deployments"][0]["failedTasks"] == 1
        ),
        "a replacement task",
    )
    task = ecs.describe_tasks(cluster=svc.cluster, tasks=[old])["tasks"][0]
    assert task["stopCode"] == "EssentialContainerExited"
    assert task["stoppedReason"] == "Essential container in task exited"
    assert task["containers"][0]["exitCode"] == 137  # 128 + SIGKILL
    new = (set(svc.runner.task_arns(running_only=True)) - set(owners)).pop().rsplit("/", 1)[-1]
    assert f"(service {svc.name}) has started 1 tasks: (task {new})." in svc.messages()


def svc_wait_owner(svc: Svc, request_id: str) -> str:
    """Wait until a task's log shows `request_id` (the line lands just after the response)."""
    deadline = time.monotonic() + 5
    while (owner := task_of(svc, request_id)) is None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert owner is not None, f"no task logged request {request_id}"
    return owner


def test_a_rolling_update_100_200_fails_no_request(service):
    svc = service()
    svc.stable()
    codes: list[int] = []
    commits: list[str] = []
    done = threading.Event()

    def hammer() -> None:
        while not done.is_set():
            try:
                status, body = svc.get()
            except OSError:
                status, body = 599, {}
            codes.append(status)
            commits.append(body.get("commit", ""))
            time.sleep(0.01)  # a steady client, not a CPU hog in the process that runs the ALB

    client = threading.Thread(target=hammer, daemon=True)
    client.start()
    try:
        svc.update(taskDefinition=svc.revisions["rev2"])
        seen = svc.wait(lambda s: len(s["deployments"]) == 2, "a second deployment")
        assert [d["status"] for d in seen["deployments"]] == ["PRIMARY", "ACTIVE"]
        assert seen["deployments"][0]["rolloutState"] == "IN_PROGRESS"
        svc.stable("rev2")
        while "rev2" not in commits[-3:]:
            time.sleep(0.05)
    finally:
        done.set()
        client.join(10)
    assert codes and [c for c in codes if not 200 <= c < 300] == []
    assert commits[0] == "rev1" and commits[-1] == "rev2"
    assert svc.describe()["deployments"][0]["failedTasks"] == 0


def test_a_revision_failing_elb_health_checks_trips_the_breaker_and_rolls_back(service):
    svc = service(bad=True)
    svc.stable()
    good = svc.describe()["deployments"][0]["id"]
    svc.update(taskDefinition=svc.revisions["bad"])
    failed = svc.wait(
        lambda s: any(d["rolloutState"] == "FAILED" for d in s["deployments"]),
        "the circuit breaker",
    )
    bad = next(d for d in failed["deployments"] if d["rolloutState"] == "FAILED")
    assert bad["failedTasks"] == 3  # max(3, ceil(50 % x 1)): AWS's threshold
    assert bad["taskDefinition"] == svc.revisions["bad"]
    assert failed["deployments"][0]["rolloutStateReason"] == (
        f"ECS deployment circuit breaker: rolling back to deploymentId {good}."
    )
    svc.stable("rev1")
    assert svc.get()[1]["commit"] == "rev1"  # the old revision serves again
    events = svc.messages()
    assert (
        f"(service {svc.name}) deployment {bad['id']} deployment failed: tasks failed to start."
        in events
    )
    unhealthy = [e for e in events if "is unhealthy in (target-group" in e]
    assert len(unhealthy) == 3
    assert unhealthy[0].endswith("due to (reason Health checks failed with these codes: [404])")
    stopped = svc.ctx.client("ecs").list_tasks(cluster=svc.cluster, desiredStatus="STOPPED")
    reasons = {
        t["stoppedReason"]
        for t in svc.ctx.client("ecs").describe_tasks(
            cluster=svc.cluster, tasks=stopped["taskArns"]
        )["tasks"]
        if t["startedBy"] == bad["id"]
    }
    assert reasons == {
        f"Task failed ELB health checks in (target-group {svc.alb.target_group_arn})"
    }


def test_settings_that_leave_no_room_are_named_and_force_new_deployment_makes_a_primary(service):
    svc = service(minimumHealthyPercent=100, maximumPercent=100)
    event = svc.wait(
        lambda s: any("cannot deploy" in e["message"] for e in s["events"]), "the event"
    )["events"][0]["message"]
    assert "minimumHealthyPercent 100 and maximumPercent 100 leave no room" in event
    assert svc.describe()["runningCount"] == 0
    # force-new-deployment: a new PRIMARY deployment of the same revision; the old turns ACTIVE.
    first = svc.describe()["deployments"][0]
    svc.update(forceNewDeployment=True)
    deployments = svc.describe()["deployments"]
    assert [(d["status"], d["taskDefinition"]) for d in deployments] == [
        ("PRIMARY", svc.revisions["rev1"]),
        ("ACTIVE", svc.revisions["rev1"]),
    ]
    assert deployments[1]["id"] == first["id"] != deployments[0]["id"]
    assert deployments[0]["rolloutState"] == "IN_PROGRESS"
