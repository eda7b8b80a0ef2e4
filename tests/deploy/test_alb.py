"""The ALB, target group and listeners against moto."""

import json
import subprocess
import sys

import pytest

from deploy import alb, network
from deploy.clients import client
from deploy.errors import InvalidInput, PermissionDenied, ResourceError
from deploy.names import DEFAULT_NAMES

N = DEFAULT_NAMES


def aws_cli(*args: str) -> dict:
    """Run the AWS CLI v1 (it follows AWS_ENDPOINT_URL) and return its JSON output."""
    out = subprocess.run(
        [sys.executable, "-m", "awscli", *args, "--output", "json"],
        capture_output=True, text=True, check=True, timeout=60,
    )  # fmt: skip
    return json.loads(out.stdout or "{}")


@pytest.fixture
def net(aws):
    network.ensure(N)
    return aws


def _certificate() -> str:
    return client("acm").request_certificate(DomainName="llmops.example.com")["CertificateArn"]


def test_ensure_creates_tg_alb_and_http_listener(net):
    assert [c.action for c in alb.plan(N)] == ["create", "create", "create"]
    alb.ensure(N)
    tg = aws_cli("elbv2", "describe-target-groups", "--names", "llmops-tg")["TargetGroups"][0]
    assert (tg["TargetType"], tg["Port"], tg["Protocol"]) == ("ip", 8080, "HTTP")
    assert tg["HealthCheckPath"] == "/health" and tg["Matcher"] == {"HttpCode": "200"}
    assert (tg["HealthCheckIntervalSeconds"], tg["HealthCheckTimeoutSeconds"]) == (30, 5)
    assert (tg["HealthyThresholdCount"], tg["UnhealthyThresholdCount"]) == (2, 2)
    attrs = client("elbv2").describe_target_group_attributes(TargetGroupArn=tg["TargetGroupArn"])
    delay = {a["Key"]: a["Value"] for a in attrs["Attributes"]}
    assert delay["deregistration_delay.timeout_seconds"] == "30"
    lb = client("elbv2").describe_load_balancers(Names=["llmops-alb"])["LoadBalancers"][0]
    assert lb["Scheme"] == "internet-facing"
    assert lb["SecurityGroups"] == [network.security_group_id(N, "alb")]
    assert sorted(z["SubnetId"] for z in lb["AvailabilityZones"]) == sorted(network.subnets(N))
    [listener] = client("elbv2").describe_listeners(LoadBalancerArn=lb["LoadBalancerArn"])[
        "Listeners"
    ]
    assert listener["Port"] == 80
    assert listener["DefaultActions"][0]["TargetGroupArn"] == alb.target_group_arn(N)
    tags = client("elbv2").describe_tags(ResourceArns=[lb["LoadBalancerArn"]])
    assert {"Key": "Project", "Value": "ecs-workbook"} in tags["TagDescriptions"][0]["Tags"]


def test_second_ensure_changes_nothing(net):
    alb.ensure(N)
    assert {c.action for c in alb.ensure(N)} == {"unchanged"}


def test_drifted_health_check_and_delay_are_converged(net):
    alb.ensure(N)
    arn = alb.target_group_arn(N)
    client("elbv2").modify_target_group(TargetGroupArn=arn, HealthCheckPath="/")
    client("elbv2").remove_tags(ResourceArns=[alb.load_balancer_arn(N)], TagKeys=["Project"])
    client("elbv2").modify_target_group_attributes(
        TargetGroupArn=arn,
        Attributes=[{"Key": "deregistration_delay.timeout_seconds", "Value": "300"}],
    )
    tg_change = alb.plan(N)[0]
    assert tg_change.action == "update"
    assert tg_change.detail == {
        "HealthCheckPath": ("/", "/health"),
        "deregistration_delay": ("300", "30"),
    }
    assert alb.plan(N)[1].detail == {"tags": ({}, {"Project": "ecs-workbook"})}
    alb.ensure(N)
    assert {c.action for c in alb.plan(N)} == {"unchanged"}


def test_certificate_adds_https_and_redirects_http(net):
    alb.ensure(N)
    cert = _certificate()
    planned = [(c.name, c.action) for c in alb.plan(N, certificate_arn=cert)][2:]
    assert planned == [("llmops-alb:80", "update"), ("llmops-alb:443", "create")]
    alb.ensure(N, certificate_arn=cert)
    listeners = client("elbv2").describe_listeners(LoadBalancerArn=alb.load_balancer_arn(N))
    by_port = {li["Port"]: li for li in listeners["Listeners"]}
    redirect = by_port[80]["DefaultActions"][0]["RedirectConfig"]
    assert redirect["Host"] == "#{host}" and redirect["Protocol"] == "HTTPS"
    assert by_port[443]["Certificates"][0]["CertificateArn"] == cert
    assert {c.action for c in alb.ensure(N, certificate_arn=cert)} == {"unchanged"}
    # Dropping the certificate goes back to plain HTTP forwarding.
    assert [c.action for c in alb.ensure(N)][2:] == ["update", "delete"]


def test_target_health_rows(net):
    alb.ensure(N)
    client("elbv2").register_targets(
        TargetGroupArn=alb.target_group_arn(N), Targets=[{"Id": "172.31.10.20", "Port": 8080}]
    )
    # moto calls every target healthy at once; AWS would need 2 passing checks first.
    assert alb.target_health(N) == [
        {"id": "172.31.10.20", "port": 8080, "state": "healthy", "reason": None}
    ]
    assert alb.describe(N)["target_group"]["targets"] == 1


@pytest.mark.parametrize("delay", [-1, 3601, "30"])
def test_bad_deregistration_delay_is_refused(net, delay):
    with pytest.raises(InvalidInput, match="deregistration delay"):
        alb.plan(N, deregistration_delay=delay)


def test_bad_certificate_is_refused(net):
    with pytest.raises(InvalidInput, match="certificate_arn"):
        alb.plan(N, certificate_arn="my-cert")


def test_missing_resources_are_clear_errors(net):
    with pytest.raises(ResourceError, match="llmops-tg does not exist"):
        alb.target_group_arn(N)
    with pytest.raises(ResourceError, match="llmops-alb does not exist"):
        alb.load_balancer_arn(N)
    assert alb.dns_name(N) == ""


def test_delete_then_absent(net):
    alb.ensure(N)
    assert [c.action for c in alb.delete(N)] == ["delete", "delete"]
    assert [c.action for c in alb.delete(N)] == ["absent", "absent"]
    assert network.delete(N)[0].action == "delete"  # nothing holds the groups any more


def test_denied_call_names_the_action(net):
    net.enforce_iam(0)
    with pytest.raises(PermissionDenied, match="elasticloadbalancing:DescribeTargetGroups"):
        alb.ensure(N)
