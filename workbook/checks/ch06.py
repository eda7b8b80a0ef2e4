"""Chapter 06's exercises: the task security group, the service's subnets, a private task's path."""

from __future__ import annotations

from botocore.exceptions import ClientError

from deploy.aws.names import StackNames
from deploy.resources import network
from service.aws import AwsContext
from workbook import compare
from workbook.exercises import Exercise, NotDone

# What a task needs before the app starts, from a private subnet with no NAT (errata 12; AWS:
# "Amazon ECR interface VPC endpoints (AWS PrivateLink)" and the ECS developer guide's
# "Amazon ECS interface VPC endpoints"): pull the image, write logs, read the secret.
START_ENDPOINTS = {
    "ecr.api": "ECS asks ECR's API for the image manifest and a login token",
    "ecr.dkr": "the image pull itself talks to the registry endpoint (Docker's protocol)",
    "logs": "the awslogs driver ships the container's output to CloudWatch Logs",
    "secretsmanager": "ECS reads the secret to inject it before the container starts",
}
GATEWAY_ENDPOINTS = {"s3": "ECR serves the image layers from S3"}
OPTIONAL_GATEWAYS = {"dynamodb"}  # the app's own history table; not needed to start


def check_task_group(answer: object, ctx: AwsContext, names: StackNames) -> list[str]:
    """Compare the task security group the learner's function made with the reference."""
    found = compare.against_reference(ctx, names, {"network": [names.task_security_group]})
    if found.missing:
        raise NotDone(
            f"no group named {names.task_security_group} in the default VPC after your function "
            "ran: check GroupName and VpcId"
        )
    return [f"{f.field}: {f.message}" for f in found.findings]


def reset_task_group(ctx: AwsContext, names: StackNames) -> None:
    """Delete the task security group an earlier attempt made, if any."""
    group_id = network.find(ctx, names).group_id("task")
    if group_id is not None:
        ctx.client("ec2").delete_security_group(GroupId=group_id)


def _azs(ctx: AwsContext, subnet_ids: list[str]) -> tuple[dict[str, str], list[str]]:
    """Return subnet -> AZ for the default VPC's subnets among `subnet_ids`, and the others."""
    vpc = network.find_default_vpc(ctx)
    try:
        rows = ctx.client("ec2").describe_subnets(SubnetIds=subnet_ids)["Subnets"]
    except ClientError as exc:
        return {}, [f"{exc.response['Error']['Message']} (use the ids described above)"]
    outside = [
        f"subnet {s['SubnetId']} is not in the default VPC" for s in rows if s["VpcId"] != vpc
    ]
    return {s["SubnetId"]: s["AvailabilityZone"] for s in rows if s["VpcId"] == vpc}, outside


def check_service_network(answer: object, ctx: AwsContext, names: StackNames) -> list[str]:
    """Check a service's awsvpcConfiguration: two AZs, the task group, a public IP."""
    if not isinstance(answer, dict):
        return [f"the answer is a dict (awsvpcConfiguration), got {type(answer).__name__}"]
    unknown = sorted(set(answer) - {"subnets", "securityGroups", "assignPublicIp"})
    if unknown:
        return [f"awsvpcConfiguration has no field(s) {unknown}"]
    problems = []
    subnets = answer.get("subnets")
    if not isinstance(subnets, list) or not subnets:
        problems.append("subnets is a list of subnet ids (at least two)")
    else:
        by_subnet, outside = _azs(ctx, subnets)
        problems += outside
        azs = sorted(set(by_subnet.values()))
        if len(azs) == 1:
            problems.append(
                f"every subnet is in {azs[0]}: ECS places tasks only in the subnets you list, so "
                "the service runs in one AZ and an outage of that AZ stops all of it (the guide's "
                "one-subnet update-service does this); list two subnets in two AZs"
            )
    found = network.find(ctx, names)
    task, alb = found.group_id("task"), found.group_id("alb")
    groups = answer.get("securityGroups")
    if groups != [task]:
        if isinstance(groups, list) and alb in groups:
            problems.append(
                f"securityGroups holds the ALB's group {alb}: it admits 80 from the internet and "
                "not 8080 from the ALB, so health checks fail; tasks take the task group only"
            )
        else:
            problems.append(
                f"securityGroups is {groups!r}; the tasks take the task group only: [{task!r}] "
                "(its one rule admits 8080 from the ALB's group)"
            )
    public_ip = answer.get("assignPublicIp")
    if public_ip == "DISABLED":
        problems.append(
            "assignPublicIp DISABLED in the default VPC's subnets: they are public (a route to "
            "an internet gateway) and have no NAT, so without a public IP the task cannot reach "
            "ECR, Secrets Manager or Logs and stops with CannotPullContainerError or "
            "ResourceInitializationError"
        )
    elif public_ip != "ENABLED":
        problems.append(f"assignPublicIp is 'ENABLED' or 'DISABLED', got {public_ip!r}")
    return problems


def _names(value: object, field: str) -> tuple[set[str], list[str]]:
    if not isinstance(value, list | tuple | set):
        return set(), [f"{field} is a list of endpoint service names such as 'logs'"]
    # accept the full service name too: com.amazonaws.us-east-1.ecr.dkr -> ecr.dkr
    short = {str(v).split(".", 3)[-1] if str(v).startswith("com.amazonaws.") else v for v in value}
    return short, []


def check_private_path(answer: object) -> list[str]:
    """Check how a task in a private subnet with no NAT reaches what it needs to start."""
    if not isinstance(answer, dict):
        return [f"the answer is a dict, got {type(answer).__name__}"]
    problems = []
    if answer.get("assignPublicIp") == "ENABLED":
        problems.append(
            "assignPublicIp ENABLED in a private subnet: the subnet has no route to an internet "
            "gateway, so a public IP carries no traffic; it is DISABLED there"
        )
    elif answer.get("assignPublicIp") != "DISABLED":
        problems.append(
            f"assignPublicIp is 'ENABLED' or 'DISABLED', got {answer.get('assignPublicIp')!r}"
        )
    interface, bad = _names(answer.get("interface_endpoints"), "interface_endpoints")
    gateway, bad_gw = _names(answer.get("gateway_endpoints"), "gateway_endpoints")
    problems += bad + bad_gw
    for name, why in START_ENDPOINTS.items():
        if name not in interface:
            problems.append(f"no {name} interface endpoint: {why}; the task never starts")
    if "s3" in interface and "s3" not in gateway:
        problems.append(
            "s3 as an interface endpoint works but is billed per hour and per GB; the S3 "
            "gateway endpoint is free and is what ECR's layer downloads use"
        )
    elif "s3" not in gateway:
        problems.append(
            f"no s3 gateway endpoint: {GATEWAY_ENDPOINTS['s3']}, so the pull stalls after the "
            "manifest (CannotPullContainerError)"
        )
    for name in sorted(interface - set(START_ENDPOINTS) - {"s3"}):
        problems.append(
            f"{name} is not needed to start the task; every interface endpoint is billed per "
            "hour in each AZ"
        )
    for name in sorted(gateway - set(GATEWAY_ENDPOINTS) - OPTIONAL_GATEWAYS):
        problems.append(f"{name} has no gateway endpoint: only S3 and DynamoDB do")
    return problems


EXERCISES = [
    Exercise(
        "06-1",
        "Complete create_task_group: create llmops-task-sg in the default VPC with the Project "
        "tag, then admit TCP 8080 from the ALB's group only (a source-group rule, not a CIDR). "
        "(Each run deletes the group an earlier attempt made, then calls your function.)",
        check_task_group,
        args=("client", "vpc_id", "alb_group_id"),
        reset=reset_task_group,
    ),
    Exercise(
        "06-2",
        "Write the service's awsvpcConfiguration for the default VPC: its subnets, its "
        "security groups and assignPublicIp.",
        check_service_network,
    ),
    Exercise(
        "06-3",
        "A task in a private subnet with no NAT gateway: say whether it gets a public IP, and "
        "which interface and gateway VPC endpoints it needs to start.",
        check_private_path,
    ),
]
