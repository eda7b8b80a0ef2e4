"""awsvpc without security groups: RunTask uses the VPC's default group and CreateService is accepted, as in ECS."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from service.aws import AwsContext

FAMILY, CLUSTER = "sg-less", "sg-cluster"


def _default_group(ctx: AwsContext, vpc_id: str) -> str:
    found = ctx.client("ec2").describe_security_groups(
        Filters=[
            {"Name": "vpc-id", "Values": [vpc_id]},
            {"Name": "group-name", "Values": ["default"]},
        ]
    )["SecurityGroups"]
    return found[0]["GroupId"]


@pytest.fixture
def vpc(ctx: AwsContext) -> tuple[str, str]:
    """Make a VPC of its own (not the default one) with one subnet; return (vpc, subnet)."""
    ec2 = ctx.client("ec2")
    vpc_id = ec2.create_vpc(CidrBlock="10.42.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc_id, CidrBlock="10.42.1.0/24")["Subnet"]["SubnetId"]
    ecs = ctx.client("ecs")
    ecs.create_cluster(clusterName=CLUSTER)
    ecs.register_task_definition(  # Fargate, memory left to the task (as the stack's is)
        family=FAMILY,
        requiresCompatibilities=["FARGATE"],
        networkMode="awsvpc",
        cpu="256",
        memory="512",
        containerDefinitions=[{"name": "app", "image": "nginx", "essential": True}],
    )
    return vpc_id, subnet


def _run(ctx: AwsContext, awsvpc: dict) -> dict:
    return ctx.client("ecs").run_task(
        cluster=CLUSTER,
        taskDefinition=FAMILY,
        launchType="FARGATE",
        networkConfiguration={"awsvpcConfiguration": awsvpc},
    )


def _eni_groups(ctx: AwsContext, task: dict) -> list[str]:
    details = {d["name"]: d.get("value") for d in task["attachments"][0]["details"]}
    eni = ctx.client("ec2").describe_network_interfaces(
        NetworkInterfaceIds=[details["networkInterfaceId"]]
    )["NetworkInterfaces"][0]
    return [g["GroupId"] for g in eni["Groups"]]


def test_a_task_without_security_groups_gets_its_vpcs_default_group(ctx, vpc):
    vpc_id, subnet = vpc
    started = _run(ctx, {"subnets": [subnet]})
    assert started["failures"] == []
    (task,) = started["tasks"]
    assert task["lastStatus"] in ("PROVISIONING", "PENDING", "RUNNING")
    # the task's network interface is in the subnet's VPC's default group, not another VPC's
    assert _eni_groups(ctx, task) == [_default_group(ctx, vpc_id)]
    default_vpc = ctx.client("ec2").describe_vpcs(
        Filters=[{"Name": "isDefault", "Values": ["true"]}]
    )["Vpcs"][0]["VpcId"]
    assert _default_group(ctx, default_vpc) not in _eni_groups(ctx, task)


def test_named_security_groups_are_kept(ctx, vpc):
    vpc_id, subnet = vpc
    group = ctx.client("ec2").create_security_group(
        GroupName="task", Description="task", VpcId=vpc_id
    )["GroupId"]
    (task,) = _run(ctx, {"subnets": [subnet], "securityGroups": [group]})["tasks"]
    assert _eni_groups(ctx, task) == [group]


def test_an_unknown_subnet_is_named_in_ecs_wording(ctx, vpc):
    with pytest.raises(ClientError) as caught:
        _run(ctx, {"subnets": ["subnet-0000000000000dead"]})
    error = caught.value.response["Error"]
    assert error["Code"] == "InvalidParameterException"
    assert "Error retrieving subnet information for [subnet-0000000000000dead]" in error["Message"]
    assert ctx.client("ecs").list_tasks(cluster=CLUSTER)["taskArns"] == []


def _create_service(ctx: AwsContext, awsvpc: dict) -> dict:
    return ctx.client("ecs").create_service(
        cluster=CLUSTER,
        serviceName="sg-less-service",
        taskDefinition=FAMILY,
        desiredCount=0,
        launchType="FARGATE",
        networkConfiguration={"awsvpcConfiguration": awsvpc},
    )["service"]


def test_a_service_without_security_groups_is_created_and_kept_as_sent(ctx, vpc):
    _, subnet = vpc
    service = _create_service(ctx, {"subnets": [subnet]})  # moto answered 500 before
    assert service["status"] == "ACTIVE"
    assert service["networkConfiguration"] == {"awsvpcConfiguration": {"subnets": [subnet]}}
    # its tasks are started through RunTask with this configuration: the default group then
    assert _eni_groups(ctx, _run(ctx, {"subnets": [subnet]})["tasks"][0]) == [
        _default_group(ctx, vpc[0])
    ]


def test_a_service_on_an_unknown_subnet_is_refused_in_ecs_wording(ctx, vpc):
    with pytest.raises(ClientError) as caught:
        _create_service(ctx, {"subnets": ["subnet-0000000000000beef"]})
    error = caught.value.response["Error"]
    assert error["Code"] == "InvalidParameterException"
    assert "Error retrieving subnet information for [subnet-0000000000000beef]" in error["Message"]
    assert ctx.client("ecs").list_services(cluster=CLUSTER)["serviceArns"] == []
