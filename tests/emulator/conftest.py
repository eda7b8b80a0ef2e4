"""Data-plane fixtures: tiny HTTP targets, an ALB in moto, a running data plane (compressed),
and an ECS service of the stack's own image behind that ALB (`images`, `Svc`, `run_service`,
`service` in process or podman mode, `roll_under_load`, `trip_the_breaker`).
"""

from __future__ import annotations

import json
import secrets
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest

from bench._plane_lab import NO_HEALTH  # the classic broken image: /health 404
from deploy import local_plane
from deploy.aws.backend import Backend
from deploy.aws.names import DEFAULT_NAMES
from deploy.resources import taskdef
from deploy.resources.ecr import record_image
from emulator.clock import Clock
from emulator.dataplane import DataPlane
from emulator.engine import PROCESS
from emulator.scheduler import ServiceScheduler
from emulator.tasks import TaskRunner
from service.aws import AwsContext
from tests.emulator.test_tasks import register

# Compressed clock for every data-plane test: 1 AWS second = 0.1 s, so the AWS-minimum
# 5 s interval probes every 0.5 s. Timings below are AWS seconds.
CLOCK = Clock(scale=0.1)
INTERVAL, TIMEOUT, THRESHOLD = 5, 4, 2
DRAIN = 10  # deregistration delay
IDLE = 10  # the load balancer's idle timeout
SLOW = 3.0  # real seconds a slow target takes: past the 0.4 s check timeout and 1 s idle
# The service takes 2-3 s to answer on a busy 2-core machine, well past the target group's 2
# failed checks 0.5 s apart on the compressed clock: as on AWS, the grace period covers the
# start (60 AWS s = 6 s here). Only a failing revision's tasks wait it out.
GRACE = 60


@dataclass
class Target:
    """A local HTTP server standing in for a task: answers with its name, or as told."""

    name: str
    mode: str = "ok"  # ok | error (500) | slow
    server: ThreadingHTTPServer | None = None
    port: int = 0
    released: threading.Event = field(default_factory=threading.Event)
    go: threading.Event = field(default_factory=threading.Event)  # lets /stream finish
    seen: list[dict] = field(default_factory=list)

    def stop(self) -> None:
        """Stop serving and close the port (connections are then refused)."""
        if self.server is not None:
            self.released.set()
            self.go.set()
            self.server.shutdown()
            self.server.server_close()
            self.server = None


def _handler(target: Target) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            mode = target.mode  # read once: the test may flip it meanwhile
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            seen = {"path": self.path, "headers": dict(self.headers), "body": body}
            target.seen.append({**seen, "mode": mode, "at": time.monotonic()})
            if self.path == "/stream":
                return self._stream()
            if self.path == "/broken":  # promises 100 bytes, sends 5, hangs up
                self.send_response(200)
                self.send_header("Content-Length", "100")
                self.end_headers()
                self.wfile.write(b"hello")
                return None
            if mode == "slow":
                target.released.wait(SLOW)
            status = 500 if mode == "error" else 200
            payload = json.dumps({"target": target.name, "path": self.path}).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def _stream(self) -> None:
            """Send a first line, then the second only when the test says go."""
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.end_headers()  # HTTP/1.0, no length: the body ends when the connection does
            self.wfile.write(b"first\n")
            self.wfile.flush()
            target.go.wait(SLOW)
            self.wfile.write(b"second\n")

        do_GET = do_POST = _answer

        def log_message(self, *args: object) -> None:
            pass

    return Handler


@pytest.fixture
def make_target() -> Iterator[Callable[[str], Target]]:
    """Return make(name): a started target on a free 127.0.0.1 port, stopped after the test."""
    made: list[Target] = []

    def make(name: str) -> Target:
        target = Target(name)
        target.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(target))
        target.server.daemon_threads = True
        target.port = target.server.server_address[1]
        threading.Thread(target=target.server.serve_forever, args=(0.05,), daemon=True).start()
        made.append(target)
        return target

    yield make
    for target in made:
        target.stop()


@dataclass
class Alb:
    """An ALB, target group and HTTP:80 forward listener in moto."""

    ctx: AwsContext
    name: str
    arn: str
    target_group_arn: str
    listener_arn: str

    def register(self, *targets: Target) -> None:
        self.ctx.client("elbv2").register_targets(
            TargetGroupArn=self.target_group_arn,
            Targets=[{"Id": "127.0.0.1", "Port": t.port} for t in targets],
        )

    def deregister(self, *targets: Target) -> None:
        self.ctx.client("elbv2").deregister_targets(
            TargetGroupArn=self.target_group_arn,
            Targets=[{"Id": "127.0.0.1", "Port": t.port} for t in targets],
        )

    def health(self) -> dict[int, dict]:
        """Return describe-target-health's TargetHealth by target port."""
        rows = self.ctx.client("elbv2").describe_target_health(
            TargetGroupArn=self.target_group_arn
        )["TargetHealthDescriptions"]
        return {int(r["Target"]["Port"]): r["TargetHealth"] for r in rows}


@pytest.fixture(scope="module")
def network(moto_backend: Backend) -> tuple[AwsContext, list[str]]:
    """Empty the account once per module and give it a VPC with subnets in two AZs."""
    moto_backend.reset()
    ctx = moto_backend.ctx
    ec2 = ctx.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(
            VpcId=vpc, CidrBlock=f"10.0.{i}.0/24", AvailabilityZone=f"{ctx.region}{az}"
        )["Subnet"]["SubnetId"]
        for i, az in enumerate("ab")
    ]
    return ctx, subnets


@pytest.fixture
def alb(network: tuple[AwsContext, list[str]]) -> Iterator[Alb]:
    """Provision an ALB with the AWS-minimum health settings and an HTTP:80 forward listener.

    Its own names each test (deleted after it), so the module shares one VPC and no reset.
    """
    ctx, subnets = network
    ec2, elbv2 = ctx.client("ec2"), ctx.client("elbv2")
    vpc = ec2.describe_subnets(SubnetIds=subnets[:1])["Subnets"][0]["VpcId"]
    name = f"lab-{secrets.token_hex(4)}"
    lb = elbv2.create_load_balancer(Name=name, Subnets=subnets, Type="application")
    lb_arn = lb["LoadBalancers"][0]["LoadBalancerArn"]
    elbv2.modify_load_balancer_attributes(
        LoadBalancerArn=lb_arn,
        Attributes=[{"Key": "idle_timeout.timeout_seconds", "Value": str(IDLE)}],
    )
    tg_arn = elbv2.create_target_group(
        Name=name,
        Protocol="HTTP",
        Port=8080,
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
    listener = elbv2.create_listener(
        LoadBalancerArn=lb_arn,
        Protocol="HTTP",
        Port=80,
        DefaultActions=[{"Type": "forward", "TargetGroupArn": tg_arn}],
    )["Listeners"][0]["ListenerArn"]
    yield Alb(ctx, name, lb_arn, tg_arn, listener)
    for found in elbv2.describe_listeners(LoadBalancerArn=lb_arn)["Listeners"]:
        elbv2.delete_listener(ListenerArn=found["ListenerArn"])
    elbv2.delete_load_balancer(LoadBalancerArn=lb_arn)
    for group in elbv2.describe_target_groups()["TargetGroups"]:
        elbv2.delete_target_group(TargetGroupArn=group["TargetGroupArn"])


@pytest.fixture
def plane(alb: Alb) -> Iterator[DataPlane]:
    """Run the data plane (compressed clock) for the ALB's account; stop it after the test."""
    started = DataPlane.start(alb.ctx, clock=CLOCK)
    yield started
    started.stop()


def wait_for(check: Callable[[], object], what: str, limit: float = 10.0) -> object:
    """Poll `check` until it returns something truthy; fail naming `what` after `limit` s."""
    deadline = time.monotonic() + limit
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"gave up waiting for {what}")
        time.sleep(0.05)


# ------------------------------------------------------------ an ECS service on the plane


@pytest.fixture(scope="module")
def images(network: tuple[AwsContext, list[str]]) -> dict:
    """Record the service image in ECR under two tags (process mode tells them apart by GIT_SHA)."""
    ctx, subnets = network
    ecr, ec2 = ctx.client("ecr"), ctx.client("ec2")
    ecr.create_repository(repositoryName=DEFAULT_NAMES.repository)
    for tag in ("rev1", "rev2"):
        record_image(ctx, DEFAULT_NAMES, tag)  # what a push leaves in ECR
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


def revision(
    ctx: AwsContext, images: dict, tag: str = "rev1", *, checked: bool = True, **container: object
) -> str:
    """Register the stack's task definition on image `tag`, its health check's grace GRACE."""
    # checked=False: no container health check; the ALB's checks alone decide health.
    check = {**images["health_check"], "interval": 5, "startPeriod": GRACE} if checked else None
    image = {**images, "image": f"{images['repository']}:{tag}"}
    return register(ctx, image, healthCheck=check, **container)


@dataclass
class Svc:
    """One ECS service of a test, behind the ALB, with what the test needs to look at it."""

    wait_limit: ClassVar[float] = 60.0  # seconds a wait may take before failing (no timing claim)
    grace: ClassVar[int] = GRACE  # the service's healthCheckGracePeriodSeconds

    ctx: AwsContext
    alb: Alb
    plane: DataPlane
    runner: TaskRunner
    cluster: str
    name: str
    revisions: dict[str, str]  # tag -> task definition ARN

    @property
    def url(self) -> str:
        """Return the service's /health through the ALB's local port."""
        return self.plane.url_for(self.alb.name) + "/health"

    def describe(self) -> dict:
        """Return `aws ecs describe-services`' row."""
        ecs = self.ctx.client("ecs")
        return ecs.describe_services(cluster=self.cluster, services=[self.name])["services"][0]

    def wait(self, check: Callable[[dict], object], what: str) -> dict:
        """Poll describe-services until `check(service)` holds; fail naming `what`."""
        deadline = time.monotonic() + self.wait_limit
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

    def task_of(self, request_id: str) -> str | None:
        """Return the running task whose log shows request `request_id` (None: none yet)."""
        for arn in self.runner.task_arns(running_only=True):
            path = self.runner.log_path(arn)
            if path and request_id in path.read_text(errors="replace"):
                return arn
        return None

    def owner(self, request_id: str) -> str:
        """Wait until a task's log shows `request_id` (the line lands just after the response)."""
        deadline = time.monotonic() + 5
        while (arn := self.task_of(request_id)) is None and time.monotonic() < deadline:
            time.sleep(0.02)
        assert arn is not None, f"no task logged request {request_id}"
        return arn


@pytest.fixture
def run_service(alb: Alb, images: dict) -> Iterator[Callable[..., Svc]]:
    """Return run(plane, revisions, **deployment): a service of rev1's one task on `plane`."""
    # Deleted, and its plane stopped, after the test; `kind` picks the Svc class to return.
    made: list[Svc] = []

    def run(
        plane: DataPlane, revisions: dict[str, str], kind: type[Svc] = Svc, **deployment: object
    ) -> Svc:
        ctx = alb.ctx
        runner = next(p for p in plane.parts if isinstance(p, TaskRunner))
        svc = kind(ctx, alb, plane, runner, f"lab-{secrets.token_hex(3)}", "llmops-svc", revisions)
        made.append(svc)  # from here on the teardown stops its plane
        ctx.client("ecs").create_cluster(clusterName=svc.cluster)
        ctx.client("ecs").create_service(
            cluster=svc.cluster,
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
            healthCheckGracePeriodSeconds=kind.grace,
            deploymentConfiguration={
                "minimumHealthyPercent": 100,
                "maximumPercent": 200,
                **deployment,
            },
        )
        return svc

    yield run
    for svc in made:
        try:
            ecs = svc.ctx.client("ecs")
            if ecs.describe_services(cluster=svc.cluster, services=[svc.name])["services"]:
                svc.update(desiredCount=0)
                ecs.delete_service(cluster=svc.cluster, service=svc.name, force=True)
        finally:
            svc.plane.stop()


@pytest.fixture
def service(alb: Alb, images: dict, run_service) -> Callable[..., Svc]:
    """Return make(bad, mode, kind, **deployment): a data plane (runner + scheduler), rev1 on it."""

    def make(
        bad: bool = False, mode: str = PROCESS, kind: type[Svc] = Svc, **deployment: object
    ) -> Svc:
        ctx = alb.ctx
        # An engine runs a container's check with `<engine> exec` every 0.5 s on the compressed
        # clock, a core's worth on 2 cores: there the ALB's checks alone decide health.
        checked = mode == PROCESS
        revisions = {tag: revision(ctx, images, tag, checked=checked) for tag in ("rev1", "rev2")}
        if bad:
            revisions["bad"] = revision(ctx, images, "rev2", checked=checked, command=NO_HEALTH)
        runner = TaskRunner(mode=mode, poll_s=0.05, task_aws=local_plane.task_access(ctx))
        plane = DataPlane.start(
            ctx, clock=CLOCK, parts=[runner, ServiceScheduler(runner, poll_s=0.05)]
        )
        return run_service(
            plane,
            revisions,
            kind,
            deploymentCircuitBreaker={"enable": True, "rollback": True},
            **deployment,
        )

    return make


def roll_under_load(svc: Svc, to: str) -> tuple[list[int], list[str], dict]:
    """Roll `svc` to `to` while a client GETs /health through the ALB; return what it saw."""
    # Each answer's status (599: none) and commit, and describe-services while both deployments ran.
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
        svc.update(taskDefinition=svc.revisions[to])
        during = svc.wait(lambda s: len(s["deployments"]) == 2, "a second deployment")
        svc.stable(to)
        wait_for(lambda: to in commits[-3:], f"the ALB serving {to}", svc.wait_limit)
    finally:
        done.set()
        client.join(10)
    return codes, commits, during


def kill_and_replace(svc: Svc, old: str, kill: Callable[[str], None]) -> None:
    """Kill task `old` (`kill` gets its runtimeId), then wait for the scheduler's replacement."""
    ecs = svc.ctx.client("ecs")
    runtime = ecs.describe_tasks(cluster=svc.cluster, tasks=[old])["tasks"][0]["containers"][0]
    kill(runtime["runtimeId"])
    svc.wait(
        lambda s: (
            s["runningCount"] == 2
            and old not in svc.runner.task_arns(running_only=True)
            and s["deployments"][0]["failedTasks"] == 1
        ),
        "a replacement task",
    )


def trip_the_breaker(svc: Svc, grace: int | None = None) -> None:
    """Deploy the 404 revision; check the breaker fails it after 3 tasks and rolls back to rev1."""
    # grace: the failing deploy's grace period (update-service), the service's own restored as
    # soon as it fails, for the rollback's rev1 task to start in.
    good = svc.describe()["deployments"][0]["id"]
    lowered = {} if grace is None else {"healthCheckGracePeriodSeconds": grace}
    svc.update(taskDefinition=svc.revisions["bad"], **lowered)
    failed = svc.wait(
        lambda s: any(d["rolloutState"] == "FAILED" for d in s["deployments"]),
        "the circuit breaker",
    )
    if lowered:
        svc.update(healthCheckGracePeriodSeconds=svc.grace)
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
    ecs = svc.ctx.client("ecs")
    stopped = ecs.list_tasks(cluster=svc.cluster, desiredStatus="STOPPED")["taskArns"]
    reasons = {
        t["stoppedReason"]
        for t in ecs.describe_tasks(cluster=svc.cluster, tasks=stopped)["tasks"]
        if t["startedBy"] == bad["id"]
    }
    assert reasons == {
        f"Task failed ELB health checks in (target-group {svc.alb.target_group_arn})"
    }
