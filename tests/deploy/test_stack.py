"""The whole stack: the dependency map, plan, apply twice, crash and resume, status, teardown."""

import collections
import dataclasses
import inspect
import json

import pytest

from deploy import stack
from deploy.aws.errors import ConfirmationRequired, DeployError
from deploy.aws.names import DEFAULT_NAMES as N
from deploy.resources import contract
from service.aws import AwsContext

OPTIONS = {"budget": {"email": "learner@example.com"}}


def _apply(ctx: AwsContext) -> stack.StackResult:
    return stack.apply(ctx, N, options=OPTIONS)


def _counts(ctx: AwsContext) -> dict[str, int]:
    """Count the stack's resources by kind, straight from the APIs."""
    ecs, elb = ctx.client("ecs"), ctx.client("elbv2")
    groups = ctx.client("ec2").describe_security_groups()["SecurityGroups"]
    clusters = ecs.list_clusters()["clusterArns"]
    services = (
        ecs.describe_services(cluster=N.cluster, services=[N.service])["services"]
        if clusters
        else []
    )
    revisions = ecs.list_task_definitions(familyPrefix=N.family, status="ACTIVE")
    return {
        "clusters": len(clusters),
        "services": sum(s["status"] == "ACTIVE" for s in services),
        "revisions": len(revisions["taskDefinitionArns"]),
        "albs": len(elb.describe_load_balancers()["LoadBalancers"]),
        "target_groups": len(elb.describe_target_groups()["TargetGroups"]),
        "task_groups": sum(g["GroupName"] == N.task_security_group for g in groups),
        "secrets": len(ctx.client("secretsmanager").list_secrets()["SecretList"]),
        "repositories": len(ctx.client("ecr").describe_repositories()["repositories"]),
        "log_groups": len(ctx.client("logs").describe_log_groups()["logGroups"]),
        "tables": len(ctx.client("dynamodb").list_tables()["TableNames"]),
        "buckets": len(ctx.client("s3").list_buckets()["Buckets"]),
    }


# ---------------------------------------------------------------- the dependency map


def test_order_puts_every_resource_after_what_it_needs():
    assert set(stack.ORDER) == set(stack.NEEDS) == set(stack.MODULES)
    for name, needs in stack.NEEDS.items():
        assert all(stack.ORDER.index(dep) < stack.ORDER.index(name) for dep in needs)


def test_a_target_pulls_in_its_prerequisites_in_order():
    assert stack.steps("ecs") == (
        "secrets", "iam", "ecr", "logs", "network", "alb", "state", "ecs",
    )  # fmt: skip
    assert stack.steps("ecr") == ("ecr",)
    assert stack.steps(("iam", "ecr")) == ("secrets", "iam", "ecr")
    assert stack.steps() == stack.ORDER


def test_unknown_target_is_refused_naming_the_resources():
    with pytest.raises(DeployError, match="unknown stack resource 'eks'; the stack has secrets"):
        stack.steps("eks")


def test_a_cycle_in_the_map_is_refused():
    with pytest.raises(DeployError, match="dependency cycle: a -> b -> a"):
        stack._order({"a": ("b",), "b": ("a",)})


@pytest.mark.parametrize("name", list(stack.MODULES))
def test_every_module_keeps_the_resource_contract(name):
    module = stack.MODULES[name]
    assert isinstance(module, contract.Resource)
    for verb in ("plan", "ensure"):
        params = inspect.signature(getattr(module, verb)).parameters
        assert list(params)[:2] == ["ctx", "names"]
        for dep in stack.NEEDS[name]:
            assert params[dep].kind is inspect.Parameter.KEYWORD_ONLY, (name, verb, dep)


# ---------------------------------------------------------------- plan and apply


def test_plan_is_a_diff_and_apply_twice_changes_nothing(ctx):
    planned = stack.plan(ctx, N, options=OPTIONS)
    assert {c.action for c in planned.changes if c.kind != "vpc"} == {"create"}
    kinds = {c.kind for c in planned.changes}
    assert {"ecs-service", "load-balancer", "dynamodb-table", "budget", "scaling-policy"} <= kinds
    applied = _apply(ctx)
    assert [(c.kind, c.name) for c in applied.changes] == [
        (c.kind, c.name) for c in planned.changes
    ]
    assert _apply(ctx).changed == []
    assert {c.action for c in stack.plan(ctx, N, options=OPTIONS).changes} == {"unchanged"}


def test_apply_hands_each_resource_the_outputs_of_what_it_needs(ctx):
    out = _apply(ctx).outputs
    assert set(out) == set(stack.ORDER)
    service = ctx.client("ecs").describe_services(cluster=N.cluster, services=[N.service])
    [svc] = service["services"]
    assert svc["loadBalancers"][0]["targetGroupArn"] == out["alb"].target_group_arn
    vpc = svc["networkConfiguration"]["awsvpcConfiguration"]
    assert sorted(vpc["subnets"]) == sorted(out["network"].subnet_ids)
    assert vpc["securityGroups"] == [out["network"].task_security_group_id]
    td = ctx.client("ecs").describe_task_definition(taskDefinition=svc["taskDefinition"])
    td = td["taskDefinition"]
    assert td["executionRoleArn"] == out["iam"].execution_role_arn
    assert td["containerDefinitions"][0]["secrets"][0]["valueFrom"].startswith(out["secrets"].arn)
    assert out["ecs"].service_arn == svc["serviceArn"]


def _counting(ctx: AwsContext) -> tuple[AwsContext, list[tuple[str, str, str]]]:
    """Return a fresh context on the same account whose every AWS call is recorded."""
    fresh = dataclasses.replace(ctx)
    calls: list[tuple[str, str, str]] = []

    def record(model, params, **_):
        calls.append(
            (
                model.service_model.service_name,
                model.name,
                json.dumps(params, sort_keys=True, default=str),
            )
        )

    fresh.session.events.register("provide-client-params", record)
    return fresh, calls


def test_a_no_op_apply_repeats_no_call_and_asks_who_it_is_once(ctx):
    _apply(ctx)
    fresh, calls = _counting(ctx)
    assert _apply(fresh).changed == []
    repeated = [call for call, n in collections.Counter(calls).items() if n > 1]
    assert repeated == []
    assert sum(op == "GetCallerIdentity" for _, op, _ in calls) == 1
    assert len(calls) <= 50, collections.Counter((s, op) for s, op, _ in calls)


def _refuse(ctx: AwsContext, operation: str) -> None:
    """Make `operation` fail on ctx's clients, as a lost connection would."""

    def fail(**_):
        raise DeployError(f"injected failure at {operation}")

    service = {"CreateService": "ecs", "CreateListener": "elbv2"}[operation]
    ctx.client(service).meta.events.register(f"before-call.*.{operation}", fail)


@pytest.mark.parametrize("operation", ["CreateService", "CreateListener"])
def test_failure_mid_apply_then_apply_converges_without_duplicates(ctx, operation):
    broken = dataclasses.replace(ctx)
    _refuse(broken, operation)
    with pytest.raises(DeployError, match="injected"):
        _apply(broken)
    half = _counts(ctx)
    assert half["albs"] == half["target_groups"] == 1
    assert half["services"] == 0
    _apply(ctx)
    assert all(v == 1 for v in _counts(ctx).values()), _counts(ctx)
    assert _apply(ctx).changed == []


def test_status_reports_inventory_deployments_and_health(ctx):
    _apply(ctx)
    report = stack.status(ctx, N)
    assert {row["state"] for row in report["inventory"]} == {"present"}
    assert [d["status"] for d in report["deployments"]] == ["PRIMARY"]
    assert report["service"]["running"] == report["service"]["desired"] == 1


def test_status_says_the_service_is_plain_http_without_a_certificate(ctx):
    _apply(ctx)
    end = stack.status(ctx, N)["endpoint"]
    assert end["https"] is False and end["url"].startswith("http://")
    assert "plain HTTP" in end["note"] and "unencrypted" in end["note"]


def test_a_certificate_makes_the_whole_stack_https(ctx):
    cert = ctx.client("acm").request_certificate(DomainName="llmops.example.com")
    options = stack.stack_options(certificate_arn=cert["CertificateArn"])
    stack.apply(ctx, N, options=options)
    groups = ctx.client("ec2").describe_security_groups(
        Filters=[{"Name": "group-name", "Values": [N.alb_security_group]}]
    )["SecurityGroups"]
    assert sorted({p["FromPort"] for p in groups[0]["IpPermissions"]}) == [80, 443]
    report = stack.status(ctx, N, options=options)
    assert {row["state"] for row in report["inventory"]} == {"present"}
    assert report["endpoint"]["https"] and report["endpoint"]["url"].startswith("https://")
    assert stack.apply(ctx, N, options=options).changed == []
    # without the options the same stack plans HTTPS away: 443 closed, listener deleted...
    dropped = {(c.kind, c.action) for c in stack.plan(ctx, N).changed}
    assert dropped == {("security-group", "update"), ("listener", "update"), ("listener", "delete")}
    assert stack.status(ctx, N)["endpoint"]["https"]  # ...but what is live is still HTTPS


def test_stack_options_wire_https_into_two_resources_and_check_the_arn_first():
    assert stack.stack_options() == {
        "network": {"https": False},
        "alb": {"certificate_arn": None},
        "iam": {"ci_user": False},
    }
    cert = "arn:aws:acm:us-east-1:123456789012:certificate/0a1b2c3d"
    wired = stack.stack_options(certificate_arn=cert, ci_user=True, image="abc")
    assert wired["network"] == {"https": True} and wired["alb"] == {"certificate_arn": cert}
    assert wired["iam"] == {"ci_user": True} and wired["ecs"] == {"image": "abc"}
    with pytest.raises(DeployError, match="ACM certificate ARN"):
        stack.stack_options(certificate_arn="arn:aws:s3:::bucket")


def test_teardown_leaves_nothing_tagged(ctx):
    _apply(ctx)
    assert stack.tagged_resources(ctx, N)  # the tagging API does see the stack
    report = stack.teardown(ctx, N)
    assert report.clean, report.leftovers
    assert stack.tagged_resources(ctx, N) == [] and stack.leftovers(ctx, N) == []
    assert {c.action for c in stack.teardown(ctx, N).changes} <= {"absent", "unchanged"}
    # the same names can be applied again (INACTIVE ECS leftovers do not get in the way)
    _apply(ctx)
    assert stack.plan(ctx, N, options=OPTIONS).changed == []
    assert stack.teardown(ctx, N).clean


def test_real_aws_needs_confirmation_showing_the_cost(ctx):
    real = dataclasses.replace(ctx, kind="aws")  # the emulator, labelled as real AWS
    breakdown = stack.estimate(N)
    with pytest.raises(ConfirmationRequired, match=rf"\${breakdown.hourly_total:.4f}/hour"):
        stack.confirm_cost(real, N)
    seen = []
    with pytest.raises(ConfirmationRequired, match=rf"\${breakdown.monthly_total:.2f}/month"):
        stack.confirm_cost(real, N, confirm=lambda b: seen.append(b) or False)
    assert seen == [breakdown]
    stack.confirm_cost(real, N, confirm=lambda b: True)
    stack.confirm_cost(real, N, yes=True)
    stack.confirm_cost(ctx, N)  # emulators never ask
    with pytest.raises(ConfirmationRequired):
        stack.apply(real, N)
    with pytest.raises(ConfirmationRequired):
        stack.teardown(real, N)
    assert ctx.client("ecs").list_clusters()["clusterArns"] == []  # refused before any write
