"""Set up one ECS service on the local data plane (process or podman mode) for benchmarks and tests.

The ideas of tests/emulator/test_scheduler.py, moved here so bench code never imports tests:
the service image recorded in ECR under two tags (process mode tells them apart by GIT_SHA;
podman mode runs two images of podman's store, `podman_revisions`), a revision whose server
answers 404 on /health, an ALB with AWS's minimum health settings and a 100/200 service with
the circuit breaker and rollback on. The task definitions carry no container health check:
the ALB's checks alone decide health, as in the rollout comparison.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from deploy import local_plane
from deploy.aws.names import DEFAULT_NAMES
from deploy.podman import relabel
from deploy.resources import taskdef
from deploy.resources.ecr import record_image
from service.aws import AwsContext

# AWS's minimum health settings (AWS seconds); the clock may compress them.
INTERVAL, TIMEOUT, THRESHOLD, DRAIN, STOP_TIMEOUT = 5, 4, 2, 5, 5
# The classic broken image: a server that answers, but not on /health (404). It listens where
# the service would: on HOST (process mode's 127.0.0.1), else on every interface (a container).
NO_HEALTH = [
    "python",
    "-c",
    "import os, http.server as h; h.HTTPServer((os.environ.get('HOST', '0.0.0.0'),"
    " int(os.environ['PORT'])), h.SimpleHTTPRequestHandler).serve_forever()",
]
NAME = "llmops-svc"
REVISIONS = ("rev1", "rev2")  # the image tags recorded in ECR


class LabError(RuntimeError):
    """Say which step of a data-plane run did not happen in time."""


@dataclass
class Lab:
    """A running data plane with one service behind an ALB, and what a run needs to watch it."""

    ctx: AwsContext
    plane: Any
    runner: Any
    cluster: str
    alb: str
    target_group: str
    revisions: dict[str, str]  # rev1 | rev2 | bad -> task definition ARN
    grace_s: float
    name: str = NAME
    first_healthy: dict[int, float] = field(default_factory=dict)  # port -> monotonic
    first_answer: dict[int, float] = field(default_factory=dict)  # port -> monotonic
    _watching: threading.Event = field(default_factory=threading.Event)

    def describe(self) -> dict:
        """Return `aws ecs describe-services`' row."""
        ecs = self.ctx.client("ecs")
        return ecs.describe_services(cluster=self.cluster, services=[self.name])["services"][0]

    def update(self, **changes: object) -> datetime:
        """`aws ecs update-service`; return the wall-clock time of the call (events' clock)."""
        at = datetime.now(UTC)
        self.ctx.client("ecs").update_service(cluster=self.cluster, service=self.name, **changes)
        return at

    def wait(self, check, what: str, limit: float) -> dict:
        """Poll describe-services until `check(service)` holds; LabError after `limit` s."""
        deadline = time.monotonic() + limit
        while True:
            service = self.describe()
            if check(service):
                return service
            if time.monotonic() > deadline:
                events = [e["message"] for e in service["events"][:8]]
                raise LabError(f"gave up waiting for {what}; newest events: {events}")
            time.sleep(0.05)

    def stable(self, revision: str, limit: float = 120.0) -> dict:
        """Wait for one COMPLETED deployment of `revision`, its task running, nothing else."""
        return self.wait(
            lambda s: (
                len(s["deployments"]) == 1
                and s["deployments"][0]["rolloutState"] == "COMPLETED"
                and s["deployments"][0]["taskDefinition"] == self.revisions[revision]
                and s["runningCount"] == 1 == s["desiredCount"]
            ),
            f"{revision} stable",
            limit,
        )

    def url(self) -> str:
        """Return the ALB listener's local URL."""
        return self.plane.url_for(self.alb)

    def get(self, path: str = "/health") -> tuple[int, str]:
        """GET `path` through the ALB; return the status and the serving revision (commit)."""
        try:
            with urllib.request.urlopen(self.url() + path, timeout=5) as resp:
                return resp.status, json.loads(resp.read() or b"{}").get("commit", "")
        except urllib.error.HTTPError as exc:
            return exc.code, ""
        except OSError:
            return 599, ""

    def events(self) -> list[dict]:
        """Return the service events, newest first (createdAt, message)."""
        return self.describe()["events"]

    def stopped_at(self, since: datetime) -> list[tuple[datetime, datetime | None]]:
        """Return (stoppingAt, stoppedAt) of the tasks stopped since `since`."""
        ecs = self.ctx.client("ecs")
        arns = ecs.list_tasks(cluster=self.cluster, desiredStatus="STOPPED")["taskArns"]
        tasks = ecs.describe_tasks(cluster=self.cluster, tasks=arns)["tasks"] if arns else []
        return [
            (t["stoppingAt"], t.get("stoppedAt"))
            for t in tasks
            if t.get("stoppingAt") and t["stoppingAt"] >= since
        ]

    def watch(self) -> threading.Thread:
        """Record when each task's port first answers /health and first turns healthy."""
        self._watching.clear()

        def loop() -> None:
            while not self._watching.is_set():
                for arn in self.runner.task_arns(running_only=True):
                    port = self.runner.host_port(arn)
                    if port is None:
                        continue
                    health = self.plane.table.get(self.target_group, "127.0.0.1", port)
                    if health is not None and health.state == "healthy":
                        self.first_healthy.setdefault(port, time.monotonic())
                    if port not in self.first_answer and _answers(port):
                        self.first_answer[port] = time.monotonic()
                time.sleep(0.05)

        thread = threading.Thread(target=loop, name="lab-watch", daemon=True)
        thread.start()
        return thread

    def stop(self) -> None:
        """Scale to zero, delete the service, stop the data plane (nothing left running)."""
        self._watching.set()
        try:
            self.update(desiredCount=0)
            self.ctx.client("ecs").delete_service(
                cluster=self.cluster, service=self.name, force=True
            )
        finally:
            self.plane.stop()


def _answers(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=0.5) as resp:
            return resp.status == 200
    except OSError:
        return False


class Hammer:
    """A client GETting /health through the ALB in a loop; it records every answer."""

    def __init__(self, lab: Lab) -> None:
        self.lab = lab
        self.answers: list[tuple[float, int, str]] = []  # (monotonic, status, commit)
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="hammer", daemon=True)

    def _loop(self) -> None:
        while not self._done.is_set():
            status, commit = self.lab.get()
            self.answers.append((time.monotonic(), status, commit))
            time.sleep(0.01)  # a steady client, not a CPU hog in the process that runs the ALB

    def __enter__(self) -> Hammer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        self._thread.join(10)

    def failed(self) -> int:
        """Return the number of non-2xx answers (599: no answer at all)."""
        return sum(not 200 <= status < 300 for _, status, _ in self.answers)

    def first_served(self, commit: str, after: float) -> float | None:
        """Return when `commit` first answered 2xx after the monotonic time `after`."""
        return next(
            (t for t, s, c in self.answers if t >= after and c == commit and 200 <= s < 300),
            None,
        )


def _network(ctx: AwsContext) -> tuple[str, list[str]]:
    ec2 = ctx.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(
            VpcId=vpc, CidrBlock=f"10.0.{i}.0/24", AvailabilityZone=f"{ctx.region}{az}"
        )["Subnet"]["SubnetId"]
        for i, az in enumerate("ab")
    ]
    return vpc, subnets


def _alb(ctx: AwsContext, vpc: str, subnets: list[str], name: str) -> str:
    """Make an ALB, its target group (AWS-minimum checks) and an HTTP:80 listener."""
    elbv2 = ctx.client("elbv2")
    lb_arn = elbv2.create_load_balancer(Name=name, Subnets=subnets, Type="application")[
        "LoadBalancers"
    ][0]["LoadBalancerArn"]
    tg_arn = elbv2.create_target_group(
        Name=name,
        Protocol="HTTP",
        Port=DEFAULT_NAMES.container_port,
        VpcId=vpc,
        TargetType="ip",
        HealthCheckPath="/health",
        HealthCheckIntervalSeconds=INTERVAL,
        HealthCheckTimeoutSeconds=TIMEOUT,
        HealthyThresholdCount=THRESHOLD,
        UnhealthyThresholdCount=THRESHOLD,
        Matcher={"HttpCode": "200-299"},
    )["TargetGroups"][0]["TargetGroupArn"]
    elbv2.modify_target_group_attributes(
        TargetGroupArn=tg_arn,
        Attributes=[{"Key": "deregistration_delay.timeout_seconds", "Value": str(DRAIN)}],
    )
    elbv2.create_listener(
        LoadBalancerArn=lb_arn,
        Protocol="HTTP",
        Port=80,
        DefaultActions=[{"Type": "forward", "TargetGroupArn": tg_arn}],
    )
    return tg_arn


def _revisions(ctx: AwsContext, secret_arn: str) -> dict[str, str]:
    """Record rev1/rev2 in ECR; register rev1, rev2 and the 404 revision (no container check)."""
    ecr = ctx.client("ecr")
    ecr.create_repository(repositoryName=DEFAULT_NAMES.repository)
    for tag in REVISIONS:
        record_image(ctx, DEFAULT_NAMES, tag)  # what a push leaves in ECR
    repository = f"{ctx.account_id}.dkr.ecr.{ctx.region}.amazonaws.com/{DEFAULT_NAMES.repository}"
    found = {}
    for name, tag, command in (
        ("rev1", "rev1", None),
        ("rev2", "rev2", None),
        ("bad", "rev2", NO_HEALTH),
    ):
        td = taskdef.render(
            DEFAULT_NAMES,
            f"{repository}:{tag}",
            region=ctx.region,
            account_id=ctx.account_id,
            secret_arn=secret_arn,
        )
        container = taskdef.container(td)
        container.pop("healthCheck", None)
        container["stopTimeout"] = STOP_TIMEOUT
        if command:
            container["command"] = command
        found[name] = ctx.client("ecs").register_task_definition(**td)["taskDefinition"][
            "taskDefinitionArn"
        ]
    return found  # fmt: skip


def podman_revisions(source: str) -> None:
    """Put rev1 and rev2 in podman's store: the image `source`, each reporting its own revision."""
    for tag in REVISIONS:
        relabel(source, f"localhost/{DEFAULT_NAMES.repository}:{tag}", tag)


def start(
    ctx: AwsContext, *, clock: Any, grace_s: float, poll_s: float = 0.05, mode: str = "process"
) -> Lab:
    """Start the data plane (log shipper on; podman mode: `podman_revisions` first) and rev1 on it."""
    from emulator.dataplane import DataPlane
    from emulator.tasks import TaskRunner

    vpc, subnets = _network(ctx)
    name = f"lab-{secrets.token_hex(4)}"
    tg_arn = _alb(ctx, vpc, subnets, name)
    secret_arn = ctx.client("secretsmanager").create_secret(
        Name=f"{DEFAULT_NAMES.secret}-{name}",
        SecretString=json.dumps(
            {"API_KEY": "k", "GROQ_API_KEY": "", "GOOGLE_API_KEY": "", "LANGCHAIN_API_KEY": ""}
        ),
    )["ARN"]
    group = ctx.client("ec2").create_security_group(GroupName=name, Description="task", VpcId=vpc)[
        "GroupId"
    ]
    revisions = _revisions(ctx, secret_arn)
    runner = TaskRunner(mode=mode, poll_s=poll_s, task_aws=local_plane.task_access(ctx))
    plane = DataPlane.start(ctx, clock=clock, parts=local_plane.parts(runner))
    ctx.client("ecs").create_cluster(clusterName=name)
    lab = Lab(ctx, plane, runner, name, name, tg_arn, revisions, grace_s)
    ctx.client("ecs").create_service(
        cluster=name,
        serviceName=lab.name,
        taskDefinition=revisions["rev1"],
        desiredCount=1,
        launchType="FARGATE",
        networkConfiguration={
            "awsvpcConfiguration": {"subnets": subnets, "securityGroups": [group]}
        },
        loadBalancers=[
            {
                "targetGroupArn": tg_arn,
                "containerName": DEFAULT_NAMES.container,
                "containerPort": DEFAULT_NAMES.container_port,
            }
        ],
        healthCheckGracePeriodSeconds=int(grace_s),
        deploymentConfiguration={
            "minimumHealthyPercent": 100,
            "maximumPercent": 200,
            "deploymentCircuitBreaker": {"enable": True, "rollback": True},
        },
    )
    return lab
