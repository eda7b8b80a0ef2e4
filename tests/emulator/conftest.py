"""Data-plane fixtures: tiny HTTP targets, an ALB in moto, a running data plane (compressed)."""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from deploy.aws.backend import Backend
from emulator.clock import Clock
from emulator.dataplane import DataPlane
from service.aws import AwsContext

# Compressed clock for every data-plane test: 1 AWS second = 0.1 s, so the AWS-minimum
# 5 s interval probes every 0.5 s. Timings below are AWS seconds.
CLOCK = Clock(scale=0.1)
INTERVAL, TIMEOUT, THRESHOLD = 5, 4, 2
DRAIN = 10  # deregistration delay
IDLE = 10  # the load balancer's idle timeout
SLOW = 3.0  # real seconds a slow target takes: past the 0.4 s check timeout and 1 s idle


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
