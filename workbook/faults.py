"""The troubleshooting lab's faults: how each breaks the stack, shows, is fixed, and is judged.

Each `Fault` breaks one real thing through the ordinary AWS APIs (`inject(lab)` returns what
the deploy job printed), says how it shows in the guide's commands (`shows(evidence)`), is
undone by `fix(lab)`, and `still_broken(lab)` says whether its cause is still there, whatever
the learner did (None: fixed). The lab (workbook.drills.Lab) runs them on the local data plane.

Real or a model, per fault (`model`): the route from a private subnet to ECR is judged from
the route tables (emulator.task_inputs.ecr_reachable) and the Fargate size table is the
emulator's RegisterTaskDefinition check (emulator.ecs_hooks); everything else happens: tasks
fail to start, health checks fail on the wire, processes listen where they are told.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from deploy import release
from deploy.resources import alb, ecr, ecs, iam, network, taskdef
from deploy.resources import secrets as secrets_resource
from emulator.task_inputs import ecr_reachable, role_allows

if TYPE_CHECKING:
    from workbook.drills import Evidence, Lab

# The lab's container health check: AWS's minimum interval (5 s) and 2 retries; the start
# period covers the app's start-up (about 2 s of real time, 20 AWS seconds on the lab's clock).
CONTAINER_CHECK = {"interval": 5, "timeout": 2, "retries": 2, "startPeriod": 30}
CURL_CHECK = ["CMD-SHELL", "curl -f http://localhost:8080/health || exit 1"]
EXTRAS = "{role}-extras"  # the execution role's inline policy (chapter 03)
# The ids of the faults that remember something in `lab.marks` (a dict per fault id).
TAG, KEY, LOOPBACK, CURL, SIZE = (
    "image-tag-missing",
    "secret-key-missing",
    "app-loopback",
    "curl-health-check",
    "fargate-size",
)
DROPPED_KEY = "LANGCHAIN_API_KEY"  # the key the guide's update-secret leaves out
PRIVATE_CIDR = "172.31.240.0/24"  # in the default VPC, outside its default subnets
SMALL = ("256", "8192")  # the job's "smaller" task: a quarter vCPU, memory left at 8 GiB
SMALL_FIXED = ("256", "2048")  # the most memory Fargate pairs with 256 CPU units


@dataclass(frozen=True)
class Fault:
    """One fault: how to inject it, how it shows, how to undo it, and whether it is still there."""

    id: str
    cause: str  # the candidate cause, as the chapter lists it
    symptom: str  # how it shows, in the guide's terms
    inject: Callable[[Lab], str]
    fix: Callable[[Lab], None]
    shows: Callable[[Evidence], bool]
    still_broken: Callable[[Lab], str | None]
    model: str = ""  # what part is a model, if any


# ---------------------------------------------------------------- shared steps


def job(action: str) -> str:
    """Return the deploy job's last line: it succeeded, whatever it broke."""
    return f"deploy job: {action}: exit 0"


def register_variant(lab: Lab, change: Callable[[dict], None]) -> int:
    """Register the service's revision with `change` applied; point the service at it."""
    ctx, names = lab.ctx, lab.names
    current = ecs.describe_revision(ctx, names, ecs.require_service(ctx, names)["taskDefinition"])
    td = taskdef.registration(current)
    change(td)
    registered = ecs.register(ctx, names, td)
    ctx.client("ecs").update_service(
        cluster=names.cluster, service=names.service, taskDefinition=registered["taskDefinitionArn"]
    )
    return registered["revision"]


def running_td(lab: Lab) -> dict:
    """Return the task definition the service runs now."""
    svc = ecs.require_service(lab.ctx, lab.names)
    return ecs.describe_revision(lab.ctx, lab.names, svc["taskDefinition"])


def _broken_revision(lab: Lab, fault_id: str, change: Callable[[dict], None]) -> int:
    """Register a broken revision, deploy it, and remember it: a fix must come after it."""
    revision = register_variant(lab, change)
    lab.marks.setdefault(fault_id, {})["broken_revision"] = revision
    return revision


def _rolled_back(lab: Lab, fault_id: str) -> str | None:
    """Say so when the service runs a revision no newer than the fault's broken one."""
    broken = lab.marks.get(fault_id, {}).get("broken_revision")
    now = ecs.revision_of(ecs.require_service(lab.ctx, lab.names)["taskDefinition"])
    if broken is not None and now <= broken:
        return (
            f"the service runs revision {now}, not one registered after the broken revision "
            f"{broken}: the circuit breaker rolled it back and nothing was fixed; register a "
            "corrected revision and deploy it"
        )
    return None


def _stopped_with(*words: str) -> Callable[[Evidence], bool]:
    return lambda e: any(all(w in reason for w in words) for reason in e.reasons().splitlines())


def _unhealthy_because(code: str) -> Callable[[Evidence], bool]:
    return lambda e: code in e.target_reasons()


def _extras(lab: Lab) -> tuple[str, dict]:
    name = EXTRAS.format(role=lab.names.execution_role)
    found = lab.ctx.client("iam").get_role_policy(
        RoleName=lab.names.execution_role, PolicyName=name
    )
    return name, found["PolicyDocument"]


def _drop_statement(lab: Lab, sid: str) -> None:
    """Remove one statement from the execution role's inline policy."""
    name, policy = _extras(lab)
    policy["Statement"] = [s for s in policy["Statement"] if s.get("Sid") != sid]
    lab.ctx.client("iam").put_role_policy(
        RoleName=lab.names.execution_role, PolicyName=name, PolicyDocument=json.dumps(policy)
    )


def _restore_role(lab: Lab) -> None:
    """Converge the roles (the statement comes back), then start fresh tasks."""
    iam.ensure(lab.ctx, lab.names, secrets=lab.outputs["secrets"])
    release.redeploy(lab.ctx, lab.names)


# ---------------------------------------------------------------- 1. logs:CreateLogGroup


def _logs_inject(lab: Lab) -> str:
    _drop_statement(lab, "CreateTheLogGroup")
    logs = lab.ctx.client("logs")
    if logs.describe_log_groups(logGroupNamePrefix=lab.names.log_group)["logGroups"]:
        logs.delete_log_group(logGroupName=lab.names.log_group)
    release.redeploy(lab.ctx, lab.names)
    return job("infrastructure tidy-up applied; update-service --force-new-deployment")


def _logs_broken(lab: Lab) -> str | None:
    group = lab.names.log_group
    found = lab.ctx.client("logs").describe_log_groups(logGroupNamePrefix=group)["logGroups"]
    if any(g["logGroupName"] == group for g in found):
        return None  # a group that exists needs no CreateLogGroup
    arn = f"arn:aws:logs:{lab.ctx.region}:{lab.ctx.account_id}:log-group:{group}"
    if role_allows(lab.outputs["iam"].execution_role_arn, "logs:CreateLogGroup", arn):
        return None
    return f"the log group {group} is missing and the execution role may not create it"


# ---------------------------------------------------------------- 2. a tag ECR does not hold


def _tag_inject(lab: Lab) -> str:
    # A new tag each time: the fix pushes it, so a second drill needs another one.
    tag = secrets.token_hex(4)[:7]
    change = release.deploy(lab.ctx, lab.names, tag, pin=False)  # a pipeline that renders tags
    lab.marks[TAG] = {"tag": tag, "broken_revision": change.detail["revision"]}
    return job(f"render image :{tag}, register-task-definition, update-service")


def _tag_fix(lab: Lab) -> None:
    tag = lab.marks[TAG]["tag"]
    ecr.record_image(lab.ctx, lab.names, tag)  # push the build the job meant to ship
    release.deploy(lab.ctx, lab.names, tag)


def _tag_broken(lab: Lab) -> str | None:
    image = taskdef.container(running_td(lab))["image"]
    if "@" not in image:  # a digest-pinned image exists: release.deploy looked it up
        tag = image.rsplit(":", 1)[1]
        if tag not in {t for i in ecr.images(lab.ctx, lab.names) for t in i["tags"]}:
            return f"the service's image tag {tag} is not in ECR"
    return _rolled_back(lab, TAG)


# ---------------------------------------------------------------- 3. a key the secret lost


def _secret_json(lab: Lab) -> dict:
    found = lab.ctx.client("secretsmanager").get_secret_value(SecretId=lab.names.secret)
    return json.loads(found["SecretString"])


def _key_inject(lab: Lab) -> str:
    # The guide's `update-secret --secret-string '{...}'` replaces the whole JSON: a key the
    # task definition still reads is gone. The running tasks keep their copy until replaced.
    values = _secret_json(lab)
    lab.marks[KEY] = {"dropped": {DROPPED_KEY: values.pop(DROPPED_KEY, "")}}
    lab.ctx.client("secretsmanager").put_secret_value(
        SecretId=lab.names.secret, SecretString=json.dumps(values)
    )
    release.redeploy(lab.ctx, lab.names)
    return job("rotate the Groq key (update-secret), update-service --force-new-deployment")


def _key_fix(lab: Lab) -> None:
    dropped = lab.marks.get(KEY, {}).get("dropped") or {DROPPED_KEY: ""}
    secrets_resource.set_secret_values(lab.ctx, lab.names, dropped)  # merged into the JSON
    release.redeploy(lab.ctx, lab.names)


def _key_broken(lab: Lab) -> str | None:
    held = _secret_json(lab)
    for s in taskdef.container(running_td(lab)).get("secrets", []):
        key = s["valueFrom"].split(":")[7] if s["valueFrom"].count(":") >= 9 else ""
        if key and key not in held:
            return f"the secret's JSON has no key {key}, which {s['name']} reads"
    return None


# ---------------------------------------------------------------- 4. a secret the role may not read


def _denied_inject(lab: Lab) -> str:
    _drop_statement(lab, "ReadTheAppSecret")
    release.redeploy(lab.ctx, lab.names)
    return job("infrastructure tidy-up applied; update-service --force-new-deployment")


def _denied_broken(lab: Lab) -> str | None:
    arn = lab.outputs["secrets"].arn
    if role_allows(lab.outputs["iam"].execution_role_arn, "secretsmanager:GetSecretValue", arn):
        return None
    return "the execution role may not secretsmanager:GetSecretValue on the app's secret"


# ---------------------------------------------------------------- 5. the task SG shuts out the ALB


def _sg_rule(lab: Lab) -> dict:
    return {
        "IpProtocol": "tcp",
        "FromPort": lab.names.container_port,
        "ToPort": lab.names.container_port,
        "UserIdGroupPairs": [{"GroupId": lab.outputs["network"].alb_security_group_id}],
    }


def _sg_inject(lab: Lab) -> str:
    lab.ctx.client("ec2").revoke_security_group_ingress(
        GroupId=lab.outputs["network"].task_security_group_id, IpPermissions=[_sg_rule(lab)]
    )
    return job("infrastructure tidy-up applied")


def _sg_fix(lab: Lab) -> None:
    network.ensure(lab.ctx, lab.names)


def _sg_broken(lab: Lab) -> str | None:
    problems = network.check_task_ingress(lab.ctx, lab.names)
    return problems[0] if problems else None


# ---------------------------------------------------------------- 6. a health path the app lacks


def _path_inject(lab: Lab) -> str:
    lab.ctx.client("elbv2").modify_target_group(
        TargetGroupArn=lab.outputs["alb"].target_group_arn, HealthCheckPath="/healthz"
    )
    return job("infrastructure tidy-up applied")


def _path_fix(lab: Lab) -> None:
    lab.ctx.client("elbv2").modify_target_group(
        TargetGroupArn=lab.outputs["alb"].target_group_arn, HealthCheckPath=lab.names.health_path
    )


def _path_broken(lab: Lab) -> str | None:
    path = alb.find_target_group(lab.ctx, lab.names)["HealthCheckPath"]
    if path != lab.names.health_path:
        return f"the target group checks {path}; the app answers {lab.names.health_path}"
    return None


# ---------------------------------------------------------------- 7. the app on 127.0.0.1


def _env(td: dict) -> list[dict]:
    return taskdef.container(td).setdefault("environment", [])


def _loopback_inject(lab: Lab) -> str:
    revision = _broken_revision(
        lab, LOOPBACK, lambda td: _env(td).append({"name": "HOST", "value": "127.0.0.1"})
    )
    return job(f"environment from the team's .env, register revision {revision}, update-service")


def _loopback_fix(lab: Lab) -> None:
    def all_interfaces(td: dict) -> None:
        taskdef.container(td)["environment"] = [e for e in _env(td) if e["name"] != "HOST"]

    register_variant(lab, all_interfaces)


def _loopback_broken(lab: Lab) -> str | None:
    env = {e["name"]: e["value"] for e in _env(running_td(lab))}
    if env.get("HOST") in ("127.0.0.1", "localhost", "::1"):
        return f"HOST={env['HOST']}: the app listens only inside its own task"
    return _rolled_back(lab, LOOPBACK)


# ---------------------------------------------------------------- 8. curl on a slim image


def _curl_inject(lab: Lab) -> str:
    def curl(td: dict) -> None:
        taskdef.container(td)["healthCheck"] = {"command": CURL_CHECK, **CONTAINER_CHECK}

    revision = _broken_revision(lab, CURL, curl)
    return job(f"health check from a blog post, register revision {revision}, update-service")


def _curl_fix(lab: Lab) -> None:
    python_check = taskdef.container(taskdef.load_template())["healthCheck"]["command"]

    def python(td: dict) -> None:
        taskdef.container(td)["healthCheck"] = {"command": python_check, **CONTAINER_CHECK}

    register_variant(lab, python)


def _curl_broken(lab: Lab) -> str | None:
    check = taskdef.container(running_td(lab)).get("healthCheck") or {}
    if any("curl" in part for part in check.get("command", [])):
        return "the container health check runs curl, which the slim image does not have"
    return _rolled_back(lab, CURL)


# ---------------------------------------------------------------- 9. a size Fargate refuses


def _size_inject(lab: Lab) -> str:
    # What the job's `aws ecs register-task-definition` sends: the running revision, resized.
    td = taskdef.registration(running_td(lab))
    td["cpu"], td["memory"] = SMALL
    lab.marks[SIZE] = {"broken_revision": ecs.revision_of(running_td(lab)["taskDefinitionArn"])}
    client = lab.ctx.client("ecs")
    try:
        client.register_task_definition(**td)
    except client.exceptions.ClientException as exc:
        return f"deploy job: size the task down to {SMALL[0]} CPU units: exit 255\n{exc}"
    raise AssertionError("RegisterTaskDefinition accepted a size Fargate refuses")


def _size_fix(lab: Lab) -> None:
    def resized(td: dict) -> None:
        td["cpu"], td["memory"] = SMALL_FIXED

    register_variant(lab, resized)


def _size_broken(lab: Lab) -> str | None:
    broken = lab.marks.get(SIZE, {}).get("broken_revision")
    td = running_td(lab)
    if broken is not None and td["revision"] <= broken:
        return (
            f"the service still runs revision {td['revision']} ({td['cpu']} CPU units): the "
            f"smaller task the job asked for never registered"
        )
    return None


# ---------------------------------------------------------------- 10. a private subnet, no way out


def _stack_network(lab: Lab) -> dict:
    return {
        "awsvpcConfiguration": {
            "subnets": sorted(lab.outputs["network"].subnet_ids),
            "securityGroups": [lab.outputs["network"].task_security_group_id],
            "assignPublicIp": "ENABLED",
        }
    }


def _private_inject(lab: Lab) -> str:
    ec2 = lab.ctx.client("ec2")
    vpc = lab.outputs["network"].vpc_id
    found = ec2.describe_subnets(Filters=[{"Name": "cidr-block", "Values": [PRIVATE_CIDR]}])
    if found["Subnets"]:
        subnet = found["Subnets"][0]["SubnetId"]
    else:  # a subnet with a route table of its own: local routes only
        subnet = ec2.create_subnet(VpcId=vpc, CidrBlock=PRIVATE_CIDR)["Subnet"]["SubnetId"]
        table = ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
        ec2.associate_route_table(RouteTableId=table, SubnetId=subnet)
    config = _stack_network(lab)
    config["awsvpcConfiguration"].update(subnets=[subnet], assignPublicIp="DISABLED")
    lab.ctx.client("ecs").update_service(
        cluster=lab.names.cluster,
        service=lab.names.service,
        networkConfiguration=config,
        forceNewDeployment=True,
    )
    return job("move the service to the new app subnet; update-service --force-new-deployment")


def _private_fix(lab: Lab) -> None:
    lab.ctx.client("ecs").update_service(
        cluster=lab.names.cluster,
        service=lab.names.service,
        networkConfiguration=_stack_network(lab),
        forceNewDeployment=True,
    )


def _private_broken(lab: Lab) -> str | None:
    config = ecs.require_service(lab.ctx, lab.names).get("networkConfiguration")
    if not ecr_reachable(config, lab.ctx.account_id, lab.ctx.region):
        subnets = ", ".join(config["awsvpcConfiguration"]["subnets"])
        return (
            f"the service's subnets ({subnets}) have no way to ECR: no public IP with an "
            "internet gateway route, no NAT gateway, no VPC endpoints"
        )
    return None


FAULTS: dict[str, Fault] = {
    f.id: f
    for f in (
        Fault(
            "logs-create-group",
            "the execution role may not create the missing log group (logs:CreateLogGroup)",
            "tasks stop before running: ResourceInitializationError ... logs:CreateLogGroup",
            _logs_inject,
            _restore_role,
            _stopped_with("ResourceInitializationError", "logs:CreateLogGroup"),
            _logs_broken,
        ),
        Fault(
            TAG,
            "the image tag the new revision names is not in ECR",
            "tasks stop: CannotPullContainerError ... not found; the deployment rolls back",
            _tag_inject,
            _tag_fix,
            _stopped_with("CannotPullContainerError", "not found"),
            _tag_broken,
        ),
        Fault(
            KEY,
            "the secret's JSON lost a key the task definition reads (update-secret replaced it)",
            "tasks stop: ResourceInitializationError: unable to pull secrets ... did not "
            "contain json key",
            _key_inject,
            _key_fix,
            _stopped_with("unable to pull secrets", "did not contain json key"),
            _key_broken,
        ),
        Fault(
            "secret-unreadable",
            "the execution role may not read the secret (secretsmanager:GetSecretValue)",
            "tasks stop: ResourceInitializationError: unable to pull secrets ... "
            "AccessDeniedException ... secretsmanager:GetSecretValue",
            _denied_inject,
            _restore_role,
            _stopped_with("unable to pull secrets", "AccessDeniedException"),
            _denied_broken,
        ),
        Fault(
            "task-sg-closed",
            "the task security group does not admit 8080 from the ALB's group",
            "targets unhealthy (Target.Timeout); tasks replaced for failing ELB health checks",
            _sg_inject,
            _sg_fix,
            _unhealthy_because("Target.Timeout"),
            _sg_broken,
        ),
        Fault(
            "health-path-wrong",
            "the target group checks a path the app does not serve",
            "targets unhealthy (Target.ResponseCodeMismatch, 404)",
            _path_inject,
            _path_fix,
            _unhealthy_because("Target.ResponseCodeMismatch"),
            _path_broken,
        ),
        Fault(
            LOOPBACK,
            "the app listens on 127.0.0.1 inside the task",
            "task HEALTHY by its own check, target unhealthy (Target.FailedHealthChecks)",
            _loopback_inject,
            _loopback_fix,
            _unhealthy_because("Target.FailedHealthChecks"),
            _loopback_broken,
            model="process mode: the app's loopback is a port of its own (one host loopback)",
        ),
        Fault(
            CURL,
            "the container health check runs curl, which the slim image lacks",
            "task healthStatus UNHEALTHY; stopped: Task failed container health checks",
            _curl_inject,
            _curl_fix,
            _stopped_with("failed container health checks"),
            _curl_broken,
            model="process mode: a check finds only the image's programs (its virtualenv)",
        ),
        Fault(
            SIZE,
            "the task's CPU/memory pair is one Fargate has no size for",
            "the deploy job fails: ClientException: No Fargate configuration exists ...",
            _size_inject,
            _size_fix,
            lambda e: "No Fargate configuration exists" in e.job,
            _size_broken,
            model="the emulator checks the pair against AWS's Fargate size table (moto does not)",
        ),
        Fault(
            "private-subnet",
            "the tasks run in a private subnet with no route to ECR",
            "tasks stop: ResourceInitializationError ... unable to retrieve ecr registry auth "
            "... i/o timeout",
            _private_inject,
            _private_fix,
            _stopped_with("ecr registry auth", "i/o timeout"),
            _private_broken,
            model="reachability is judged from the route tables (a model), not by packets",
        ),
    )
}
CANDIDATES = {f.id: f.cause for f in FAULTS.values()}
