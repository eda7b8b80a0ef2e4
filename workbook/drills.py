"""Mystery drills: a fault the learner is not told, on an applied stack with real tasks.

A `Lab` is the stack applied to an emulated account with the local data plane running beside
it (deploy.local_plane's parts; the task runner enforces the VPC's rules), the service healthy
behind the ALB's local URL. `lab.inject(fault)` breaks one thing (workbook.faults), `observe`
reads what the guide's commands show since then (describe-services events, describe-tasks
stopped reasons, describe-target-health, the deploy job's output), and `reset` undoes every
fault still there. `pick(seed)` chooses the mystery.
"""

from __future__ import annotations

import random
import re
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from deploy import stack
from deploy.aws.names import StackNames
from deploy.resources import alb, ecr, ecs, network, taskdef
from emulator.targets import DESCRIPTIONS
from service.aws import AwsContext
from workbook.faults import CANDIDATES, CONTAINER_CHECK, FAULTS, Fault, register_variant

__all__ = [
    "CANDIDATES",
    "FAULTS",
    "Drill",
    "Evidence",
    "Fault",
    "Lab",
    "observe",
    "pick",
    "unhealthy_code",
]

# AWS's minimum target-group settings (5 s interval, thresholds of 2) and a 5 s drain; the
# timeout is 4 s, not the 2 s minimum, so a busy machine's slow answer is not a failure.
TG_SETTINGS = {
    "HealthCheckIntervalSeconds": 5,
    "HealthCheckTimeoutSeconds": 4,
    "HealthyThresholdCount": 2,
    "UnhealthyThresholdCount": 2,
}
DRAIN_S = "5"
# The lab's grace period: the container check's start period plus two ALB intervals (the
# stack's own is sized for the reference settings: ecs_spec.grace_period_seconds).
GRACE_S = CONTAINER_CHECK["startPeriod"] + 2 * TG_SETTINGS["HealthCheckIntervalSeconds"]
HEALTHY_LIMIT_S = 90.0  # real seconds a lab waits for a healthy service before it gives up


# ---------------------------------------------------------------- what the learner sees


@dataclass
class Evidence:
    """What the guide's commands show: events, stopped tasks, running tasks, targets, job log."""

    events: list[str] = field(default_factory=list)  # service events, newest first
    stopped: list[dict] = field(default_factory=list)  # revision, stoppedReason, stopCode
    running: list[dict] = field(default_factory=list)  # revision, lastStatus, healthStatus
    targets: list[dict] = field(default_factory=list)  # TargetHealth now: State, Reason
    job: str = ""  # what the deploy job printed

    def reasons(self) -> str:
        """Return every stopped reason, one per line."""
        return "\n".join(t["stoppedReason"] for t in self.stopped if t["stoppedReason"])

    def target_reasons(self) -> set[str]:
        """Return the reason codes of the targets ECS found unhealthy, read from its events.

        ECS writes the ALB's description of each unhealthy target into a service event; the
        events stay after the task is replaced, where describe-target-health moves on (and a
        task that is still booting may fail its first checks there).
        """
        return {code for event in self.events if (code := unhealthy_code(event))}


# ECS's event for a target it found unhealthy ends "... due to (reason <ALB's description>)".
_UNHEALTHY = re.compile(r"is unhealthy in \(target-group [^)]*\) due to \(reason (?P<why>.*)\)$")
_DESCRIBED = {
    code: re.compile(re.escape(text).replace(re.escape("{codes}"), ".*"))
    for code, text in DESCRIPTIONS.items()
}


def unhealthy_code(event: str) -> str | None:
    """Return the reason code behind an "is unhealthy" service event (None: another event)."""
    found = _UNHEALTHY.search(event)
    if found is None:
        return None
    why = found["why"]
    return next((c for c, text in _DESCRIBED.items() if text.fullmatch(why)), None)


def observe(ctx: AwsContext, names: StackNames, job: str = "", since: Any = None) -> Evidence:
    """Read the symptoms with the guide's calls (describe-services, -tasks, -target-health).

    With `since` (a UTC datetime) only what happened from then on counts: the newer service
    events and the tasks created, stopping or stopped since, as a learner reads the newest.
    """
    client = ctx.client("ecs")
    svc = ecs.find_service(ctx, names) or {}
    events = [e for e in svc.get("events", []) if since is None or e["createdAt"] >= since]
    found = Evidence(events=[e["message"] for e in events], job=job)
    for desired, into in (("STOPPED", found.stopped), ("RUNNING", found.running)):
        arns = client.list_tasks(cluster=names.cluster, desiredStatus=desired)["taskArns"]
        tasks = client.describe_tasks(cluster=names.cluster, tasks=arns)["tasks"] if arns else []
        for t in tasks:
            stamps = [t.get(k) for k in ("createdAt", "stoppingAt", "stoppedAt")]
            if since is not None and not any(s and s >= since for s in stamps):
                continue
            into.append(
                {
                    "task": t["taskArn"].rsplit("/", 1)[1],
                    "revision": ecs.revision_of(t["taskDefinitionArn"]),
                    "lastStatus": t["lastStatus"],
                    "healthStatus": t.get("healthStatus", "UNKNOWN"),
                    "stoppedReason": t.get("stoppedReason") or "",
                    "stopCode": t.get("stopCode") or "",
                }
            )
    rows = ctx.client("elbv2").describe_target_health(
        TargetGroupArn=alb.target_group_arn(ctx, names)
    )["TargetHealthDescriptions"]
    found.targets = [r["TargetHealth"] for r in rows]
    return found


def pick(seed: int | None, fault: str | None = None) -> Fault:
    """Return the named fault, or one chosen at random from `seed`."""
    if fault is not None:
        if fault not in FAULTS:
            raise ValueError(f"unknown fault {fault!r}: choose one of {', '.join(FAULTS)}")
        return FAULTS[fault]
    return FAULTS[random.Random(seed).choice(sorted(FAULTS))]


# ---------------------------------------------------------------- the lab


@dataclass(frozen=True)
class Drill:
    """One injected fault: which, what the deploy job printed, and when it went in (UTC)."""

    fault: Fault
    job: str
    since: datetime


@dataclass
class Lab:
    """The applied stack with the local data plane running beside it."""

    ctx: AwsContext
    names: StackNames
    outputs: dict  # the stack's outputs by resource (iam, network, alb, secrets, ...)
    plane: Any  # emulator.dataplane.DataPlane
    marks: dict = field(default_factory=dict)  # what each fault remembers, by fault id

    @property
    def url(self) -> str:
        """Return the ALB's local URL (listener :80)."""
        return self.plane.url_for(self.names.alb)

    @property
    def mode(self) -> str:
        """Return how the plane runs tasks (process, podman or docker)."""
        return next((p.mode for p in self.plane.parts if hasattr(p, "engine")), "none")

    def get(self, path: str = "/health") -> int:
        """Return the status of GET `path` through the ALB (0: no answer)."""
        try:
            with urllib.request.urlopen(self.url + path, timeout=5) as reply:
                return reply.status
        except urllib.error.HTTPError as exc:
            return exc.code
        except OSError:
            return 0

    def problems(self) -> list[str]:
        """Return why the service is not yet healthy and serving (empty: it is)."""
        svc = ecs.require_service(self.ctx, self.names)
        out = []
        if len(svc["deployments"]) != 1 or svc["runningCount"] != svc["desiredCount"]:
            out.append(
                f"the service is not stable: {len(svc['deployments'])} deployment(s), "
                f"{svc['runningCount']}/{svc['desiredCount']} running"
            )
        elif svc["deployments"][0].get("rolloutState") != "COMPLETED":
            out.append(f"the deployment is {svc['deployments'][0].get('rolloutState')}")
        targets = observe(self.ctx, self.names).targets
        if not targets or any(t["State"] != "healthy" for t in targets):
            out.append(f"targets: {[t['State'] for t in targets] or 'none registered'}")
        if not out and (status := self.get()) != 200:
            out.append(f"GET /health through the ALB answered {status or 'nothing'}")
        return out

    def wait_healthy(self, limit: float = HEALTHY_LIMIT_S) -> None:
        """Wait until the service is stable, its targets healthy and /health answers 200."""
        deadline = time.monotonic() + limit
        while problems := self.problems():
            if time.monotonic() > deadline:
                raise TimeoutError(f"the service is not healthy after {limit:g} s: {problems}")
            time.sleep(0.2)

    def inject(self, fault: Fault) -> Drill:
        """Break the stack with `fault`; return the drill (what the job printed, and when)."""
        since = datetime.now(UTC)
        return Drill(fault, fault.inject(self), since)

    def evidence(self, drill: Drill) -> Evidence:
        """Return what the guide's commands show since the drill's fault went in."""
        return observe(self.ctx, self.names, drill.job, drill.since)

    def wait_for(self, drill: Drill, limit: float = HEALTHY_LIMIT_S) -> Evidence:
        """Wait until the drill's symptom shows through the APIs; return the evidence."""
        deadline = time.monotonic() + limit
        while not drill.fault.shows(found := self.evidence(drill)):
            if time.monotonic() > deadline:
                raise TimeoutError(f"the fault did not show in {limit:g} s: {found}")
            time.sleep(0.2)
        return found

    def broken(self) -> dict[str, str]:
        """Return every fault whose cause is still there, with what is wrong."""
        found = {f.id: f.still_broken(self) for f in FAULTS.values()}
        return {k: v for k, v in found.items() if v}

    def stop(self) -> None:
        """Stop the data plane: every task gets SIGTERM, every proxy closes."""
        self.plane.stop()


def internet_route(ctx: AwsContext, vpc: str) -> None:
    """Give the default VPC the internet gateway and 0.0.0.0/0 route AWS creates with it."""
    # AWS's default VPC comes with an internet gateway and a main route table sending
    # 0.0.0.0/0 to it (Amazon VPC user guide, "Default VPCs"); moto's has neither, and the
    # lab's runner judges each task's way to ECR from the routes (task_inputs.ecr_reachable).
    ec2 = ctx.client("ec2")
    attached = ec2.describe_internet_gateways(
        Filters=[{"Name": "attachment.vpc-id", "Values": [vpc]}]
    )["InternetGateways"]
    if attached:
        gateway = attached[0]["InternetGatewayId"]
    else:
        gateway = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
        ec2.attach_internet_gateway(InternetGatewayId=gateway, VpcId=vpc)
    main = ec2.describe_route_tables(
        Filters=[
            {"Name": "vpc-id", "Values": [vpc]},
            {"Name": "association.main", "Values": ["true"]},
        ]
    )["RouteTables"][0]
    if not any(r.get("DestinationCidrBlock") == "0.0.0.0/0" for r in main["Routes"]):
        ec2.create_route(
            RouteTableId=main["RouteTableId"], DestinationCidrBlock="0.0.0.0/0", GatewayId=gateway
        )


def start_lab(
    ctx: AwsContext, names: StackNames, good_tag: str, clock: Any, mode: str = "process"
) -> Lab:
    """Apply the stack, tune it to AWS's minimum health settings, start the plane, wait healthy."""
    from deploy import local_plane

    outputs = apply_lab(ctx, names, good_tag)
    plane = local_plane.start(ctx, names, mode, clock, network_rules=True)
    lab = Lab(ctx, names, outputs, plane)
    try:
        # The lab's own revision: the reference task with AWS-minimum container checks.
        register_variant(
            lab, lambda td: taskdef.container(td)["healthCheck"].update(CONTAINER_CHECK)
        )
        lab.wait_healthy()
    except BaseException:
        lab.stop()
        raise
    return lab


def apply_lab(ctx: AwsContext, names: StackNames, good_tag: str) -> dict:
    """Apply the stack the drills break, at AWS's minimum health settings; return its outputs."""
    stack.apply(ctx, names, target=("iam", "ecr", "logs", "alb"))
    internet_route(ctx, network.find_default_vpc(ctx))
    if good_tag not in {t for i in ecr.images(ctx, names) for t in i["tags"]}:
        ecr.record_image(ctx, names, good_tag)
    applied = stack.apply(ctx, names, target="ecs", options={"ecs": {"image": good_tag}})
    outputs = dict(applied.outputs)
    tg = outputs["alb"].target_group_arn
    elbv2 = ctx.client("elbv2")
    elbv2.modify_target_group(TargetGroupArn=tg, HealthCheckPath=names.health_path, **TG_SETTINGS)
    elbv2.modify_target_group_attributes(
        TargetGroupArn=tg, Attributes=[{"Key": alb.DELAY_KEY, "Value": DRAIN_S}]
    )
    ctx.client("ecs").update_service(
        cluster=names.cluster, service=names.service, healthCheckGracePeriodSeconds=GRACE_S
    )
    return outputs


def undo(lab: Lab) -> list[str]:
    """Apply each fault's own fix where its cause is still there; return those faults."""
    undone = list(lab.broken())  # a rolled-back revision counts: nothing was fixed
    for fault_id in undone:
        FAULTS[fault_id].fix(lab)
    lab.marks.clear()  # what the faults remembered is spent
    return undone


def reset(lab: Lab) -> list[str]:
    """Undo every fault whose cause is still there, wait for a healthy service; return them."""
    undone = undo(lab)
    lab.wait_healthy()
    return undone
