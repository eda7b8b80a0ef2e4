"""Each troubleshooting fault's inputs, and each fault as the only cause its own fix removes.

The symptoms on a process-mode data plane, and the stored solutions' fixes there:
tests/notebooks/test_exercises_ch12.py.

The first tests pin each input a fault relies on, one bad input at a time, through the same
paths the agent uses: Fargate's size table at RegisterTaskDefinition, the execution role's
grants, a subnet's way to ECR, and the task security group in front of a task's port.
"""

from __future__ import annotations

import json
import socket

import pytest
from botocore.exceptions import ClientError

from deploy.aws.backend import Backend
from deploy.aws.names import DEFAULT_NAMES as N
from emulator.ecs_hooks import install_moto_extensions
from emulator.logs import Destination, LoggerError, prepare
from emulator.task_firewall import Firewall, admits
from emulator.task_inputs import SecretError, ecr_reachable, resolve_secret, role_allows
from workbook import drills

# One stack for the module (its fixture resets the worker's moto), on the worker that runs the
# chapter 12 fault plane, so neither empties the other's moto mid-module.
pytestmark = pytest.mark.xdist_group("faults")
GOOD_TAG = "c0de123"
TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "ecs-tasks.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}


def _role(ctx, name: str, *statements: dict) -> str:
    iam = ctx.client("iam")
    arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(TRUST))["Role"]["Arn"]
    if statements:
        document = {"Version": "2012-10-17", "Statement": list(statements)}
        iam.put_role_policy(RoleName=name, PolicyName="p", PolicyDocument=json.dumps(document))
    return arn


def _allow(action: str, resource: str, effect: str = "Allow") -> dict:
    return {"Effect": effect, "Action": action, "Resource": resource}


# ---------------------------------------------------------------- Fargate's size table


def _register(ctx, cpu: str, memory: str, compatibilities: tuple[str, ...] = ("FARGATE",)):
    return ctx.client("ecs").register_task_definition(
        family="sized",
        requiresCompatibilities=list(compatibilities),
        networkMode="awsvpc",
        cpu=cpu,
        memory=memory,
        containerDefinitions=[{"name": "app", "image": "app:1", "essential": True}],
    )


def test_register_task_definition_refuses_a_size_fargate_has_not(ctx):
    install_moto_extensions()
    with pytest.raises(ClientError) as refused:
        _register(ctx, "256", "8192")
    error = refused.value.response["Error"]
    assert error["Code"] == "ClientException"
    assert error["Message"].startswith(
        "No Fargate configuration exists for given values: 256 CPU, 8192 memory."
    )


def test_register_task_definition_reads_vcpu_and_gb_and_leaves_ec2_sizes_alone(ctx):
    install_moto_extensions()
    assert _register(ctx, "1 vCPU", "2 GB")["taskDefinition"]["cpu"] == "1 vCPU"
    assert _register(ctx, "256", "2048")["taskDefinition"]["revision"] == 2
    assert _register(ctx, "256", "8192", ("EC2",))["taskDefinition"]["revision"] == 3


# ---------------------------------------------------------------- the execution role's grants


def test_role_allows_reads_the_roles_policies_as_iam_does(ctx):
    group = f"arn:aws:logs:{ctx.region}:{ctx.account_id}:log-group:/ecs/app"
    other = group.replace("/ecs/app", "/ecs/other")
    allowed = _role(ctx, "allowed", _allow("logs:CreateLogGroup", group))
    denied = _role(
        ctx, "denied", _allow("logs:*", "*"), _allow("logs:CreateLogGroup", group, "Deny")
    )
    assert role_allows(allowed, "logs:CreateLogGroup", group) is True
    assert role_allows(allowed, "logs:CreateLogGroup", other) is False  # scoped to one group
    assert role_allows(denied, "logs:CreateLogGroup", group) is False  # an explicit Deny wins
    assert role_allows(allowed.replace("allowed", "absent"), "logs:CreateLogGroup", group) is None


def test_a_role_that_may_not_create_the_group_stops_the_awslogs_driver(ctx):
    group = "/ecs/app"
    arn = f"arn:aws:logs:{ctx.region}:{ctx.account_id}:log-group:{group}"
    definition = {
        "logConfiguration": {
            "logDriver": "awslogs",
            "options": {"awslogs-group": group, "awslogs-create-group": "true"},
        }
    }
    where = Destination(ctx.account_id, ctx.region, group, "ecs/app/0123abcd")
    without = _role(ctx, "no-create", _allow("logs:CreateLogStream", "*"))
    with pytest.raises(LoggerError) as stopped:
        prepare(definition, where, without)
    assert str(stopped.value).startswith("ResourceInitializationError: failed to validate logger")
    assert f"not authorized to perform: logs:CreateLogGroup on resource: {arn}" in str(
        stopped.value
    )
    assert "assumed-role/no-create/0123abcd" in str(stopped.value)
    assert not ctx.client("logs").describe_log_groups()["logGroups"]  # nothing made
    prepare(definition, where, _role(ctx, "may-create", _allow("logs:CreateLogGroup", arn)))
    assert [g["logGroupName"] for g in ctx.client("logs").describe_log_groups()["logGroups"]] == [
        group
    ]


def test_a_role_that_may_not_read_the_secret_gets_access_denied(ctx):
    secret = ctx.client("secretsmanager").create_secret(
        Name="app", SecretString=json.dumps({"KEY": "v"})
    )["ARN"]
    reader = _role(ctx, "reader", _allow("secretsmanager:GetSecretValue", secret))
    stranger = _role(ctx, "stranger", _allow("logs:CreateLogStream", "*"))
    assert resolve_secret(f"{secret}:KEY::", ctx.account_id, ctx.region, reader, "t1") == "v"
    with pytest.raises(SecretError) as refused:
        resolve_secret(f"{secret}:KEY::", ctx.account_id, ctx.region, stranger, "t1")
    message = str(refused.value)
    assert message.startswith("ResourceInitializationError: unable to pull secrets")
    assert "AccessDeniedException" in message and "secretsmanager:GetSecretValue" in message
    with pytest.raises(SecretError, match="did not contain json key MISSING"):
        resolve_secret(f"{secret}:MISSING::", ctx.account_id, ctx.region, reader, "t1")


def test_simulate_principal_policy_answers_for_a_role_as_iam_does(ctx):
    install_moto_extensions()
    group = f"arn:aws:logs:{ctx.region}:{ctx.account_id}:log-group:/ecs/app"
    role = _role(
        ctx,
        "agent",
        _allow("logs:CreateLogStream", "*"),
        _allow("logs:CreateLogGroup", group, "Deny"),
    )
    found = ctx.client("iam").simulate_principal_policy(
        PolicySourceArn=role,
        ActionNames=[
            "logs:CreateLogStream",
            "logs:CreateLogGroup",
            "secretsmanager:GetSecretValue",
        ],
        ResourceArns=[group],
    )["EvaluationResults"]
    assert [(r["EvalActionName"], r["EvalDecision"]) for r in found] == [
        ("logs:CreateLogStream", "allowed"),
        ("logs:CreateLogGroup", "explicitDeny"),
        ("secretsmanager:GetSecretValue", "implicitDeny"),
    ]
    with pytest.raises(ClientError, match="NoSuchEntity"):
        ctx.client("iam").simulate_principal_policy(
            PolicySourceArn=role.replace("agent", "nobody"), ActionNames=["s3:GetObject"]
        )


# ---------------------------------------------------------------- a subnet's way to ECR


@pytest.fixture
def vpc(ctx) -> dict:
    """A VPC with one subnet using the main route table (local routes only) and an IGW."""
    ec2 = ctx.client("ec2")
    vpc_id = ec2.create_vpc(CidrBlock="10.8.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc_id, CidrBlock="10.8.1.0/24")["Subnet"]["SubnetId"]
    igw = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=vpc_id)
    main = ec2.describe_route_tables(
        Filters=[
            {"Name": "vpc-id", "Values": [vpc_id]},
            {"Name": "association.main", "Values": ["true"]},
        ]
    )["RouteTables"][0]["RouteTableId"]
    return {"vpc": vpc_id, "subnet": subnet, "igw": igw, "main": main}


def _reachable(ctx, subnet: str, public_ip: str = "DISABLED") -> bool:
    config = {"awsvpcConfiguration": {"subnets": [subnet], "assignPublicIp": public_ip}}
    return ecr_reachable(config, ctx.account_id, ctx.region)


def test_a_subnet_reaches_ecr_through_an_igw_only_with_a_public_ip(ctx, vpc):
    assert not _reachable(ctx, vpc["subnet"], "ENABLED")  # no default route yet
    ctx.client("ec2").create_route(
        RouteTableId=vpc["main"], DestinationCidrBlock="0.0.0.0/0", GatewayId=vpc["igw"]
    )
    assert _reachable(ctx, vpc["subnet"], "ENABLED")
    assert not _reachable(ctx, vpc["subnet"], "DISABLED")


def test_a_private_subnet_reaches_ecr_through_a_nat_gateway(ctx, vpc):
    ec2 = ctx.client("ec2")
    table = ec2.create_route_table(VpcId=vpc["vpc"])["RouteTable"]["RouteTableId"]
    ec2.associate_route_table(RouteTableId=table, SubnetId=vpc["subnet"])
    assert not _reachable(ctx, vpc["subnet"])
    public = ec2.create_subnet(VpcId=vpc["vpc"], CidrBlock="10.8.2.0/24")["Subnet"]["SubnetId"]
    address = ec2.allocate_address(Domain="vpc")["AllocationId"]
    nat = ec2.create_nat_gateway(SubnetId=public, AllocationId=address)["NatGateway"]
    ec2.create_route(
        RouteTableId=table, DestinationCidrBlock="0.0.0.0/0", NatGatewayId=nat["NatGatewayId"]
    )
    assert _reachable(ctx, vpc["subnet"])


def test_a_private_subnet_needs_all_three_endpoints(ctx, vpc):
    ec2 = ctx.client("ec2")
    for service, kind in (("ecr.dkr", "Interface"), ("ecr.api", "Interface"), ("s3", "Gateway")):
        assert not _reachable(ctx, vpc["subnet"])
        ec2.create_vpc_endpoint(
            VpcId=vpc["vpc"],
            ServiceName=f"com.amazonaws.{ctx.region}.{service}",
            VpcEndpointType=kind,
        )
    assert _reachable(ctx, vpc["subnet"])


# ---------------------------------------------------------------- the task security group


@pytest.fixture
def groups(ctx, vpc) -> dict:
    """An ALB with its own group in the VPC, and a task group that admits nothing yet."""
    ec2 = ctx.client("ec2")
    second = ec2.create_subnet(
        VpcId=vpc["vpc"], CidrBlock="10.8.3.0/24", AvailabilityZone=f"{ctx.region}b"
    )["Subnet"]["SubnetId"]
    alb_sg = ec2.create_security_group(GroupName="alb", Description="alb", VpcId=vpc["vpc"])
    task_sg = ec2.create_security_group(GroupName="task", Description="task", VpcId=vpc["vpc"])
    ctx.client("elbv2").create_load_balancer(
        Name="lab", Subnets=[vpc["subnet"], second], SecurityGroups=[alb_sg["GroupId"]]
    )
    network = {
        "awsvpcConfiguration": {"subnets": [vpc["subnet"]], "securityGroups": [task_sg["GroupId"]]}
    }
    return {"alb": alb_sg["GroupId"], "task": task_sg["GroupId"], "network": network}


def _ingress(ctx, group: str, **source) -> None:
    ctx.client("ec2").authorize_security_group_ingress(
        GroupId=group,
        IpPermissions=[{"IpProtocol": "tcp", "FromPort": 8080, "ToPort": 8080, **source}],
    )


def test_the_task_group_admits_the_alb_by_its_group_or_a_covering_cidr(ctx, groups):
    def admitted() -> bool:
        return admits(groups["network"], ctx.account_id, ctx.region, 8080)

    assert not admitted()
    _ingress(ctx, groups["task"], IpRanges=[{"CidrIp": "192.168.0.0/16"}])  # not the ALB's
    assert not admitted()
    _ingress(ctx, groups["task"], UserIdGroupPairs=[{"GroupId": groups["alb"]}])
    assert admitted()
    assert not admits(groups["network"], ctx.account_id, ctx.region, 9090)  # another port


def test_the_firewall_holds_dropped_connections_unanswered_and_relays_admitted_ones(make_target):
    target = make_target("task")
    open_ = {"now": False}
    wall = Firewall(target.port, lambda: open_["now"])
    request = b"GET /health HTTP/1.0\r\nHost: t\r\n\r\n"
    try:
        with socket.create_connection(("127.0.0.1", wall.port), timeout=0.5) as dropped:
            dropped.sendall(request)
            with pytest.raises(TimeoutError):
                dropped.recv(1024)  # no answer, no reset: as a dropped packet looks
        open_["now"] = True
        with socket.create_connection(("127.0.0.1", wall.port), timeout=5) as relayed:
            relayed.sendall(request)
            assert relayed.recv(1024).startswith(b"HTTP/1.0 200")
    finally:
        wall.close()
    assert [s["path"] for s in target.seen] == ["/health"]  # the dropped one never arrived


# ---------------------------------------------------------------- each fault's own fix


@pytest.fixture(scope="module")
def stack_only(moto_backend: Backend) -> drills.Lab:
    """The applied stack the drills break, with no data plane: causes only, no symptoms."""
    moto_backend.reset()
    outputs = drills.apply_lab(moto_backend.ctx, N, GOOD_TAG)
    return drills.Lab(moto_backend.ctx, N, outputs, plane=None)


@pytest.mark.parametrize("fault_id", list(drills.FAULTS))
def test_each_fault_is_its_only_cause_and_its_own_fix_removes_it(stack_only, fault_id):
    """Inject: only this cause is found; the fault's own fix (ch12's reset uses it) removes it.

    The symptoms on a running plane, the stored solutions' fixes and a reset on the plane:
    tests/notebooks/test_exercises_ch12.py.
    """
    fault = drills.FAULTS[fault_id]
    drills.undo(stack_only)  # what a failed test before this one left behind
    stack_only.inject(fault)
    assert list(stack_only.broken()) == [fault_id]
    fault.fix(stack_only)
    stack_only.marks.clear()
    assert not stack_only.broken()
