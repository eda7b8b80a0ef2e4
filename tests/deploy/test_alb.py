"""The ALB, target group and listeners against moto."""

import pytest

from deploy.aws.errors import InvalidInput, PermissionDenied, ResourceError
from deploy.aws.names import DEFAULT_NAMES
from deploy.resources import alb, network
from deploy.resources.contract import UNKNOWN
from tests.awscli import aws_cli
from tests.deploy.calls import recorded

N = DEFAULT_NAMES


def actions(result) -> list[str]:
    return [c.action for c in result.changes]


@pytest.fixture
def net(ctx):
    """Return the network's outputs (default VPC, two subnets, both groups made)."""
    return network.ensure(ctx, N).outputs


def _certificate(ctx) -> str:
    return ctx.client("acm").request_certificate(DomainName="llmops.example.com")["CertificateArn"]


def test_ensure_creates_tg_alb_and_http_listener(ctx, net):
    assert actions(alb.plan(ctx, N, network=net)) == ["create", "create", "create"]
    out = alb.ensure(ctx, N, network=net).outputs
    tg = aws_cli(ctx, "elbv2", "describe-target-groups", "--names", "llmops-tg")["TargetGroups"][0]
    assert (tg["TargetType"], tg["Port"], tg["Protocol"]) == ("ip", 8080, "HTTP")
    assert tg["VpcId"] == net.vpc_id and tg["TargetGroupArn"] == out.target_group_arn
    assert tg["HealthCheckPath"] == "/health" and tg["Matcher"] == {"HttpCode": "200"}
    assert (tg["HealthCheckIntervalSeconds"], tg["HealthCheckTimeoutSeconds"]) == (30, 5)
    assert (tg["HealthyThresholdCount"], tg["UnhealthyThresholdCount"]) == (2, 2)
    elb = ctx.client("elbv2")
    attrs = elb.describe_target_group_attributes(TargetGroupArn=tg["TargetGroupArn"])
    delay = {a["Key"]: a["Value"] for a in attrs["Attributes"]}
    assert delay["deregistration_delay.timeout_seconds"] == "30"
    lb = elb.describe_load_balancers(Names=["llmops-alb"])["LoadBalancers"][0]
    assert lb["Scheme"] == "internet-facing" and lb["LoadBalancerArn"] == out.load_balancer_arn
    assert lb["SecurityGroups"] == [net.alb_security_group_id]
    assert sorted(z["SubnetId"] for z in lb["AvailabilityZones"]) == sorted(net.subnet_ids)
    [listener] = elb.describe_listeners(LoadBalancerArn=lb["LoadBalancerArn"])["Listeners"]
    assert listener["Port"] == 80
    assert listener["DefaultActions"][0]["TargetGroupArn"] == alb.target_group_arn(ctx, N)
    tags = elb.describe_tags(ResourceArns=[lb["LoadBalancerArn"]])
    assert {"Key": "Project", "Value": "ecs-workbook"} in tags["TagDescriptions"][0]["Tags"]


def test_outputs_carry_what_ecs_and_the_rollout_model_need(ctx, net):
    out = alb.ensure(ctx, N, network=net).outputs
    assert out.dns_name == alb.dns_name(ctx, N) and out.dns_name
    assert out.deregistration_delay_s == 30
    # ECS's grace period needs interval x healthy threshold; the rollout model the rest.
    tg = alb.find_target_group(ctx, N)
    for key in (
        "HealthCheckIntervalSeconds",
        "HealthCheckTimeoutSeconds",
        "HealthyThresholdCount",
        "UnhealthyThresholdCount",
        "HealthCheckPath",
    ):
        assert out.health_check[key] == tg[key]


def test_plan_before_the_network_hands_forward_unknown_arns(ctx):
    planned = network.plan(ctx, N).outputs
    result = alb.plan(ctx, N, network=planned)
    assert actions(result) == ["create", "create", "create"]
    out = result.outputs
    assert out.load_balancer_arn == out.target_group_arn == out.dns_name == UNKNOWN
    assert out.health_check["HealthyThresholdCount"] == 2


def test_ensure_refuses_an_unknown_security_group(ctx):
    planned = network.plan(ctx, N).outputs
    with pytest.raises(ResourceError, match="alb needs the ALB security group first"):
        alb.ensure(ctx, N, network=planned)
    assert alb.find_target_group(ctx, N) is None


def test_second_ensure_changes_nothing(ctx, net):
    first = alb.ensure(ctx, N, network=net)
    again = alb.ensure(ctx, N, network=net)
    assert set(actions(again)) == {"unchanged"}
    assert again.outputs == first.outputs


def test_noop_ensure_makes_no_call_twice(ctx, net):
    alb.ensure(ctx, N, network=net)
    with recorded(ctx, "elbv2", "ec2") as calls:
        alb.ensure(ctx, N, network=net)
    assert len(calls) == len(set(calls)), calls
    assert [op for _, op, _ in calls] == [
        "DescribeTargetGroups",
        "DescribeLoadBalancers",
        "DescribeTargetGroupAttributes",
        "DescribeListeners",
        "DescribeTags",
    ]


def test_drifted_health_check_and_delay_are_converged(ctx, net):
    out = alb.ensure(ctx, N, network=net).outputs
    elb = ctx.client("elbv2")
    elb.modify_target_group(TargetGroupArn=out.target_group_arn, HealthCheckPath="/")
    elb.remove_tags(ResourceArns=[out.load_balancer_arn], TagKeys=["Project"])
    elb.modify_target_group_attributes(
        TargetGroupArn=out.target_group_arn,
        Attributes=[{"Key": "deregistration_delay.timeout_seconds", "Value": "300"}],
    )
    tg_change, lb_change, _ = alb.plan(ctx, N, network=net).changes
    assert tg_change.action == "update"
    assert tg_change.detail == {
        "HealthCheckPath": ("/", "/health"),
        "deregistration_delay": ("300", "30"),
    }
    assert lb_change.detail == {"tags": ({}, {"Project": "ecs-workbook"})}
    alb.ensure(ctx, N, network=net)
    assert set(actions(alb.plan(ctx, N, network=net))) == {"unchanged"}


def test_another_alb_security_group_is_converged(ctx, net):
    alb.ensure(ctx, N, network=net)
    other = ctx.client("ec2").create_security_group(
        GroupName="other", Description="x", VpcId=net.vpc_id
    )["GroupId"]
    ctx.client("elbv2").set_security_groups(
        LoadBalancerArn=alb.load_balancer_arn(ctx, N), SecurityGroups=[other]
    )
    lb_change = alb.plan(ctx, N, network=net).changes[1]
    assert lb_change.detail == {"security_groups": ([other], [net.alb_security_group_id])}
    alb.ensure(ctx, N, network=net)
    assert alb.find_load_balancer(ctx, N)["SecurityGroups"] == [net.alb_security_group_id]


def test_certificate_adds_https_and_redirects_http(ctx, net):
    alb.ensure(ctx, N, network=net)
    cert = _certificate(ctx)
    assert not alb.ensure(ctx, N, network=net).outputs.https
    net = network.ensure(ctx, N, https=True).outputs  # the ALB group admits 443 too
    planned = alb.plan(ctx, N, network=net, certificate_arn=cert).changes[2:]
    assert [(c.name, c.action) for c in planned] == [
        ("llmops-alb:80", "update"),
        ("llmops-alb:443", "create"),
    ]
    alb.ensure(ctx, N, network=net, certificate_arn=cert)
    listeners = ctx.client("elbv2").describe_listeners(
        LoadBalancerArn=alb.load_balancer_arn(ctx, N)
    )
    by_port = {li["Port"]: li for li in listeners["Listeners"]}
    assert by_port[80]["Protocol"] == "HTTP" and by_port[443]["Protocol"] == "HTTPS"
    [to_https] = by_port[80]["DefaultActions"]
    assert to_https["Type"] == "redirect"
    assert to_https["RedirectConfig"] == {
        "Protocol": "HTTPS", "Port": "443", "Host": "#{host}", "Path": "/#{path}",
        "Query": "#{query}", "StatusCode": "HTTP_301",
    }  # fmt: skip
    assert by_port[443]["Certificates"][0]["CertificateArn"] == cert
    assert by_port[443]["SslPolicy"] == "ELBSecurityPolicy-TLS13-1-2-2021-06"
    [forward] = by_port[443]["DefaultActions"]
    assert (forward["Type"], forward["TargetGroupArn"]) == ("forward", out_tg(ctx))
    again = alb.ensure(ctx, N, network=net, certificate_arn=cert)
    assert set(actions(again)) == {"unchanged"}
    assert again.outputs.https and again.outputs.url.startswith("https://")
    # Dropping the certificate goes back to plain HTTP forwarding.
    assert actions(alb.ensure(ctx, N, network=net))[2:] == ["update", "delete"]


def out_tg(ctx) -> str:
    return alb.target_group_arn(ctx, N)


def test_a_certificate_without_443_in_the_alb_group_is_refused_before_any_write(ctx, net):
    with pytest.raises(InvalidInput, match="admit 443"):
        alb.ensure(ctx, N, network=net, certificate_arn=_certificate(ctx))
    assert alb.find_target_group(ctx, N) is None


def test_without_a_certificate_the_service_is_plain_http(ctx, net):
    out = alb.ensure(ctx, N, network=net).outputs
    assert not out.https and out.url == f"http://{out.dns_name}"
    assert [li["protocol"] for li in alb.describe(ctx, N)["listeners"]] == ["HTTP"]


def test_target_health_rows(ctx, net):
    tg_arn = alb.ensure(ctx, N, network=net).outputs.target_group_arn
    ctx.client("elbv2").register_targets(
        TargetGroupArn=tg_arn, Targets=[{"Id": "172.31.10.20", "Port": 8080}]
    )
    # moto calls every target healthy at once; AWS would need 2 passing checks first.
    assert alb.target_health(ctx, tg_arn) == [
        {"id": "172.31.10.20", "port": 8080, "state": "healthy", "reason": None}
    ]
    described = alb.describe(ctx, N)["target_group"]
    assert described["targets"] == 1 and described["deregistration_delay_s"] == 30


@pytest.mark.parametrize("delay", [-1, 3601, "30"])
def test_bad_deregistration_delay_is_refused(ctx, net, delay):
    with pytest.raises(InvalidInput, match="deregistration delay"):
        alb.plan(ctx, N, network=net, deregistration_delay=delay)


@pytest.mark.parametrize(
    "cert",
    [
        "my-cert",
        "arn:aws:iam::123456789012:server-certificate/x",  # IAM, not ACM
        "arn:aws:acm:us-east-1:12345:certificate/abc",
        "",
    ],
)
def test_bad_certificate_is_refused(ctx, net, cert):
    with pytest.raises(InvalidInput, match="certificate_arn must be an ACM certificate ARN"):
        alb.plan(ctx, N, network=net, certificate_arn=cert)


def test_missing_resources_are_clear_errors(ctx):
    with pytest.raises(ResourceError, match="llmops-tg does not exist"):
        alb.target_group_arn(ctx, N)
    with pytest.raises(ResourceError, match="llmops-alb does not exist"):
        alb.load_balancer_arn(ctx, N)
    assert alb.dns_name(ctx, N) == ""


def test_delete_then_absent(ctx, net):
    alb.ensure(ctx, N, network=net)
    assert [c.action for c in alb.delete(ctx, N)] == ["delete", "delete"]
    assert [c.action for c in alb.delete(ctx, N)] == ["absent", "absent"]
    assert network.delete(ctx, N)[0].action == "delete"  # nothing holds the groups any more


def test_denied_call_names_the_action(aws, ctx, net):
    aws.enforce_iam(0)
    with pytest.raises(PermissionDenied, match="elasticloadbalancing:DescribeTargetGroups"):
        alb.ensure(ctx, N, network=net)
