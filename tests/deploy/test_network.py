"""Default VPC, subnets and the two security groups against moto."""

import pytest

from deploy.aws.errors import InvalidInput, PermissionDenied
from deploy.aws.names import DEFAULT_NAMES
from deploy.resources import network
from deploy.resources.contract import UNKNOWN

N = DEFAULT_NAMES


def test_default_vpc_and_two_subnets_in_two_azs(ctx):
    found = network.find(ctx, N)
    ec2 = ctx.client("ec2")
    assert ec2.describe_vpcs(VpcIds=[found.vpc_id])["Vpcs"][0]["CidrBlock"] == "172.31.0.0/16"
    rows = ec2.describe_subnets(SubnetIds=list(found.subnet_ids))["Subnets"]
    assert len(found.subnet_ids) == 2 and len({s["AvailabilityZone"] for s in rows}) == 2


def test_plan_hands_forward_the_subnets_and_unknown_group_ids(ctx):
    result = network.plan(ctx, N)
    assert [c.action for c in result.changes] == ["unchanged", "create", "create"]
    out = result.outputs
    assert len(out.subnet_ids) == 2 and out.vpc_id.startswith("vpc-")
    assert out.alb_security_group_id == out.task_security_group_id == UNKNOWN


def test_ensure_creates_web_and_source_group_rules(ctx):
    out = network.ensure(ctx, N).outputs
    alb_id, task_id = out.alb_security_group_id, out.task_security_group_id
    assert alb_id.startswith("sg-") and task_id.startswith("sg-")
    task = ctx.client("ec2").describe_security_groups(GroupIds=[task_id])
    [rule] = task["SecurityGroups"][0]["IpPermissions"]
    assert (rule["FromPort"], rule["ToPort"]) == (8080, 8080)
    assert [p["GroupId"] for p in rule["UserIdGroupPairs"]] == [alb_id]
    assert rule.get("IpRanges", []) == [] and rule.get("Ipv6Ranges", []) == []
    alb = network.describe(ctx, N)["alb_security_group"]["ingress"]
    # plain HTTP only: nothing listens on 443 without a certificate, so it stays closed
    assert sorted(alb) == [("tcp", 80, 80, "0.0.0.0/0"), ("tcp", 80, 80, "::/0")]
    assert out.alb_ports == (80,)
    assert network.check_task_ingress(ctx, N) == []


def _web_ports(ctx) -> set[int]:
    return {rule[1] for rule in network.describe(ctx, N)["alb_security_group"]["ingress"]}


def test_https_opens_443_and_turning_it_off_closes_it_again(ctx):
    network.ensure(ctx, N)
    [_, alb_change, _] = network.plan(ctx, N, https=True).changes
    assert alb_change.detail == {
        "authorize": [("tcp", 443, 443, "0.0.0.0/0"), ("tcp", 443, 443, "::/0")]
    }
    assert network.ensure(ctx, N, https=True).outputs.alb_ports == (80, 443)
    assert _web_ports(ctx) == {80, 443}  # 80 stays open for the redirect to HTTPS
    assert {c.action for c in network.plan(ctx, N, https=True).changes} == {"unchanged"}
    network.ensure(ctx, N)
    assert _web_ports(ctx) == {80}


def test_non_bool_https_is_refused_before_any_write(ctx):
    with pytest.raises(InvalidInput, match="https must be True or False"):
        network.ensure(ctx, N, https="yes")
    assert network.describe(ctx, N)["alb_security_group"] is None


def test_second_ensure_changes_nothing_and_hands_forward_the_same_ids(ctx):
    first = network.ensure(ctx, N)
    again = network.ensure(ctx, N)
    assert {c.action for c in again.changes} == {"unchanged"}
    assert again.outputs == first.outputs


def test_port_opened_to_the_internet_is_reported_and_revoked(ctx):
    task_id = network.ensure(ctx, N).outputs.task_security_group_id
    ctx.client("ec2").authorize_security_group_ingress(
        GroupId=task_id,
        IpPermissions=[
            {
                "IpProtocol": "tcp",
                "FromPort": 8080,
                "ToPort": 8080,
                "IpRanges": [{"CidrIp": "0.0.0.0/0"}],
            }
        ],
    )
    assert any("0.0.0.0/0" in p for p in network.check_task_ingress(ctx, N))
    task_change = network.plan(ctx, N).changes[2]
    assert task_change.action == "update"
    assert task_change.detail == {"revoke": [("tcp", 8080, 8080, "0.0.0.0/0")]}
    network.ensure(ctx, N)
    assert network.check_task_ingress(ctx, N) == []


def test_missing_source_group_rule_is_reported_and_restored(ctx):
    out = network.ensure(ctx, N).outputs
    alb_id, task_id = out.alb_security_group_id, out.task_security_group_id
    ctx.client("ec2").revoke_security_group_ingress(
        GroupId=task_id,
        IpPermissions=[
            {
                "IpProtocol": "tcp",
                "FromPort": 8080,
                "ToPort": 8080,
                "UserIdGroupPairs": [{"GroupId": alb_id}],
            }
        ],
    )
    [problem] = network.check_task_ingress(ctx, N)
    assert "does not allow TCP 8080 from the ALB group" in problem
    assert network.plan(ctx, N).changes[2].detail == {"authorize": [("tcp", 8080, 8080, alb_id)]}
    network.ensure(ctx, N)
    assert network.check_task_ingress(ctx, N) == []


def test_check_reports_missing_groups(ctx):
    assert network.check_task_ingress(ctx, N) == ["the ALB and task security group is missing"]


def test_unknown_which_is_refused():
    with pytest.raises(InvalidInput, match="unknown security group 'db'"):
        network.group_name(N, which="db")


def test_delete_then_absent(ctx):
    network.ensure(ctx, N)
    assert [c.action for c in network.delete(ctx, N)] == ["delete", "delete"]
    assert [c.action for c in network.delete(ctx, N)] == ["absent", "absent"]


def test_denied_call_names_the_action(aws, ctx):
    aws.enforce_iam(0)
    with pytest.raises(PermissionDenied, match="ec2:DescribeVpcs"):
        network.ensure(ctx, N)
