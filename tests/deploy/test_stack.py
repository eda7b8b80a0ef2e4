"""The whole stack: plan, apply twice, crash and resume, status, teardown to nothing (moto)."""

import pytest

from deploy import alb, ecs, stack
from deploy.clients import client
from deploy.errors import ConfirmationRequired, DeployError
from deploy.names import DEFAULT_NAMES as N

OPTIONS = {"budget": {"email": "learner@example.com"}}


def _apply():
    return stack.apply(N, options=OPTIONS, progress=False)


def _counts() -> dict[str, int]:
    """Count the stack's resources by kind, straight from the APIs."""
    ecs_client, elb = client("ecs"), client("elbv2")
    groups = client("ec2").describe_security_groups()["SecurityGroups"]
    return {
        "clusters": len(ecs_client.list_clusters()["clusterArns"]),
        "services": int(ecs.find_service(N) is not None),
        "revisions": len(ecs.revisions(N)),
        "albs": len(elb.describe_load_balancers()["LoadBalancers"]),
        "target_groups": len(elb.describe_target_groups()["TargetGroups"]),
        "task_groups": sum(g["GroupName"] == N.task_security_group for g in groups),
        "secrets": len(client("secretsmanager").list_secrets()["SecretList"]),
        "repositories": len(client("ecr").describe_repositories()["repositories"]),
        "log_groups": len(client("logs").describe_log_groups()["logGroups"]),
        "tables": len(client("dynamodb").list_tables()["TableNames"]),
        "buckets": len(client("s3").list_buckets()["Buckets"]),
    }


def test_plan_is_a_diff_and_apply_twice_changes_nothing(aws):
    planned = stack.plan(N, options=OPTIONS)
    assert {c.action for c in planned if c.kind != "vpc"} == {"create"}
    kinds = {c.kind for c in planned}
    assert {"ecs-service", "load-balancer", "dynamodb-table", "budget", "scaling-policy"} <= kinds
    applied = _apply()
    assert [(c.kind, c.name) for c in applied] == [(c.kind, c.name) for c in planned]
    again = _apply()
    assert [c for c in again if c.changed] == []
    assert {c.action for c in stack.plan(N, options=OPTIONS)} == {"unchanged"}


def _crash_inside_ecs(monkeypatch):
    """Fail after the cluster and the task definition exist, before the service."""

    def crash(*args, **kwargs):
        raise DeployError("injected failure inside ecs.ensure")

    monkeypatch.setattr(ecs, "_service", crash)


def _crash_after_alb(monkeypatch):
    """Let alb.ensure do all its work, then report a failure (e.g. a lost connection)."""
    real = alb.ensure

    def crash(*args, **kwargs):
        real(*args, **kwargs)
        raise DeployError("injected failure after alb.ensure made everything")

    monkeypatch.setattr(alb, "ensure", crash)


@pytest.mark.parametrize("inject", [_crash_inside_ecs, _crash_after_alb])
def test_failure_mid_apply_then_apply_converges_without_duplicates(aws, inject):
    with pytest.MonkeyPatch.context() as patch:
        inject(patch)
        with pytest.raises(DeployError, match="injected"):
            _apply()
        half = _counts()
    assert half["albs"] == half["target_groups"] == 1
    assert half["services"] == 0
    _apply()
    assert all(v == 1 for v in _counts().values()), _counts()
    assert [c for c in _apply() if c.changed] == []


def test_status_reports_inventory_deployments_and_health(aws):
    _apply()
    report = stack.status(N, options=OPTIONS)
    assert {row["state"] for row in report["inventory"]} == {"present"}
    assert [d["status"] for d in report["deployments"]] == ["PRIMARY"]
    assert report["service"]["running"] == report["service"]["desired"] == 1
    assert len(stack.status_tables(report)) == 3


def test_teardown_leaves_nothing_tagged(aws):
    _apply()
    assert stack.tagged_resources(N)  # the tagging API does see the stack
    report = stack.teardown(N)
    assert report.clean, report.leftovers
    assert stack.tagged_resources(N) == [] and stack.leftovers(N) == []
    assert {c.action for c in stack.teardown(N).changes} <= {"absent", "unchanged"}
    # the same names can be applied again (INACTIVE ECS leftovers do not get in the way)
    _apply()
    assert [c for c in stack.plan(N, options=OPTIONS) if c.changed] == []
    assert stack.teardown(N).clean


def test_real_aws_needs_confirmation_showing_the_cost(aws):
    breakdown = stack.estimate(N)
    with pytest.raises(ConfirmationRequired, match=rf"\${breakdown.hourly_total:.4f}/hour"):
        stack.confirm_cost(N, backend="aws")
    seen = []
    with pytest.raises(ConfirmationRequired, match=rf"\${breakdown.monthly_total:.2f}/month"):
        stack.confirm_cost(N, backend="aws", confirm=lambda b: seen.append(b) or False)
    assert seen == [breakdown]
    stack.confirm_cost(N, backend="aws", confirm=lambda b: True)
    stack.confirm_cost(N, backend="aws", yes=True)
    stack.confirm_cost(N, backend="moto")  # emulators never ask
    with pytest.raises(ConfirmationRequired):
        stack.apply(N, backend="aws", progress=False)
    with pytest.raises(ConfirmationRequired):
        stack.teardown(N, backend="aws")
    assert client("ecs").list_clusters()["clusterArns"] == []  # refused before any write


def test_unknown_module_is_refused(aws):
    with pytest.raises(DeployError, match="unknown stack module 'eks'"):
        stack.plan(N, only=("eks",))
