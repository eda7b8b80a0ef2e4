"""Default VPC, subnets and the two security groups against moto."""

import pytest

from deploy import network
from deploy.clients import client
from deploy.errors import InvalidInput, PermissionDenied, ResourceError
from deploy.names import DEFAULT_NAMES

N = DEFAULT_NAMES


def test_default_vpc_and_two_subnets_in_two_azs(aws):
    vpc = network.find_default_vpc()
    assert client("ec2").describe_vpcs(VpcIds=[vpc])["Vpcs"][0]["CidrBlock"] == "172.31.0.0/16"
    ids = network.subnets(N)
    rows = client("ec2").describe_subnets(SubnetIds=ids)["Subnets"]
    assert len(ids) == 2 and len({s["AvailabilityZone"] for s in rows}) == 2


def test_ensure_creates_web_and_source_group_rules(aws):
    assert [c.action for c in network.plan(N)] == ["unchanged", "create", "create"]
    network.ensure(N)
    alb_id = network.security_group_id(N, "alb")
    task = client("ec2").describe_security_groups(GroupIds=[network.security_group_id(N, "task")])
    [rule] = task["SecurityGroups"][0]["IpPermissions"]
    assert (rule["FromPort"], rule["ToPort"]) == (8080, 8080)
    assert [p["GroupId"] for p in rule["UserIdGroupPairs"]] == [alb_id]
    assert rule.get("IpRanges", []) == [] and rule.get("Ipv6Ranges", []) == []
    alb = network.describe(N)["alb_security_group"]["ingress"]
    assert sorted(alb) == sorted(
        ("tcp", p, p, src) for p in (80, 443) for src in ("0.0.0.0/0", "::/0")
    )
    assert network.check_task_ingress(N) == []


def test_second_ensure_changes_nothing(aws):
    network.ensure(N)
    assert {c.action for c in network.ensure(N)} == {"unchanged"}


def test_port_opened_to_the_internet_is_reported_and_revoked(aws):
    network.ensure(N)
    task_id = network.security_group_id(N, "task")
    client("ec2").authorize_security_group_ingress(
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
    assert any("0.0.0.0/0" in p for p in network.check_task_ingress(N))
    task_change = network.plan(N)[2]
    assert task_change.action == "update"
    assert task_change.detail == {"revoke": [("tcp", 8080, 8080, "0.0.0.0/0")]}
    network.ensure(N)
    assert network.check_task_ingress(N) == []


def test_missing_source_group_rule_is_reported_and_restored(aws):
    network.ensure(N)
    alb_id, task_id = network.security_group_id(N, "alb"), network.security_group_id(N, "task")
    client("ec2").revoke_security_group_ingress(
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
    [problem] = network.check_task_ingress(N)
    assert "does not allow TCP 8080 from the ALB group" in problem
    assert network.plan(N)[2].detail == {"authorize": [("tcp", 8080, 8080, alb_id)]}
    network.ensure(N)
    assert network.check_task_ingress(N) == []


def test_check_reports_missing_groups(aws):
    assert network.check_task_ingress(N) == ["the ALB and task security group is missing"]


def test_unknown_which_is_refused(aws):
    with pytest.raises(InvalidInput, match="unknown security group 'db'"):
        network.security_group_id(N, which="db")


def test_missing_group_is_a_clear_error(aws):
    with pytest.raises(ResourceError, match="llmops-task-sg does not exist"):
        network.security_group_id(N, "task")


def test_delete_then_absent(aws):
    network.ensure(N)
    assert [c.action for c in network.delete(N)] == ["delete", "delete"]
    assert [c.action for c in network.delete(N)] == ["absent", "absent"]


def test_denied_call_names_the_action(aws):
    aws.enforce_iam(0)
    with pytest.raises(PermissionDenied, match="ec2:DescribeVpcs"):
        network.ensure(N)
