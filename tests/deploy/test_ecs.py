"""Cluster, task definition and service against moto, checked with boto3 and the AWS CLI v1."""

import collections
import dataclasses
import json

import pytest

from deploy import release, stack
from deploy.aws.errors import InvalidInput, ResourceError
from deploy.aws.names import DEFAULT_NAMES as N
from deploy.resources import ecr, ecs, ecs_spec, secrets, taskdef
from deploy.resources.contract import UNKNOWN
from deploy.resources.outputs import AlbOutputs
from tests.awscli import aws_cli

NEEDS = ("secrets", "iam", "ecr", "logs", "network", "alb")


@pytest.fixture
def outputs(ctx) -> dict:
    """Apply everything the ECS service needs, plus the service; return every output."""
    return stack.apply(ctx, N, target="ecs").outputs


def _needs(outputs: dict) -> dict:
    return {name: outputs[name] for name in NEEDS}


def _actions(result) -> list[str]:
    return [c.action for c in result.changes]


def _service(ctx) -> dict:
    return ecs.find_service(ctx, N)


def _counting(ctx):
    """Return a fresh context on the same account whose every AWS call is recorded."""
    fresh = dataclasses.replace(ctx)
    calls = []

    def record(model, params, **_):
        calls.append((model.name, json.dumps(params, sort_keys=True, default=str)))

    fresh.session.events.register("provide-client-params", record)
    return fresh, calls


def test_plan_before_anything_exists_writes_nothing_and_hands_forward_unknowns(ctx):
    planned = stack.plan(ctx, N, target="ecs")
    result = [c for c in planned.changes if c.kind.startswith(("ecs", "task"))]
    assert [(c.kind, c.action) for c in result] == [
        ("ecs-cluster", "create"),
        ("task-definition", "create"),
        ("ecs-service", "create"),
    ]
    assert planned.outputs["ecs"].service_arn == UNKNOWN
    assert ctx.client("ecs").list_clusters()["clusterArns"] == []


def test_apply_builds_the_guides_service(ctx, outputs):
    cluster = ecs.find_cluster(ctx, N)
    assert sorted(cluster["capacityProviders"]) == ["FARGATE", "FARGATE_SPOT"]
    assert {"name": "containerInsights", "value": "enabled"} in cluster["settings"]
    assert {"key": "Project", "value": N.project} in cluster["tags"]
    service = _service(ctx)
    assert outputs["ecs"].service_arn == service["serviceArn"]
    # moto's create_service drops these two; ecs.ensure stores them with update_service
    dc = service["deploymentConfiguration"]
    assert (dc["minimumHealthyPercent"], dc["maximumPercent"]) == (100, 200)
    assert dc["deploymentCircuitBreaker"] == {"enable": True, "rollback": True}
    tg = ctx.client("elbv2").describe_target_groups(
        TargetGroupArns=[outputs["alb"].target_group_arn]
    )["TargetGroups"][0]
    start = taskdef.container(taskdef.load_template())["healthCheck"]["startPeriod"]
    expected = start + tg["HealthCheckIntervalSeconds"] * tg["HealthyThresholdCount"]
    assert service["healthCheckGracePeriodSeconds"] == expected
    net = service["networkConfiguration"]["awsvpcConfiguration"]
    assert net["assignPublicIp"] == "ENABLED" and len(net["subnets"]) == 2
    task_sg = ctx.client("ec2").describe_security_groups(GroupIds=net["securityGroups"])
    assert task_sg["SecurityGroups"][0]["GroupName"] == N.task_security_group
    assert service["loadBalancers"] == [
        {
            "targetGroupArn": tg["TargetGroupArn"],
            "containerName": N.container,
            "containerPort": N.container_port,
        }
    ]
    assert _actions(ecs.ensure(ctx, N, **_needs(outputs))) == ["unchanged"] * 3


def test_a_no_op_ensure_describes_once_and_repeats_no_call(ctx, outputs):
    fresh, calls = _counting(ctx)
    assert _actions(ecs.ensure(fresh, N, **_needs(outputs))) == ["unchanged"] * 3
    repeated = [call for call, n in collections.Counter(calls).items() if n > 1]
    assert repeated == []
    assert len(calls) <= 3, [op for op, _ in calls]


def test_grace_period_covers_start_up_and_the_healthy_threshold():
    start = taskdef.container(taskdef.load_template())["healthCheck"]["startPeriod"]
    checks = {"HealthCheckIntervalSeconds": 10, "HealthyThresholdCount": 3}
    alb = AlbOutputs("lb", "tg", "dns", health_check=checks)
    assert ecs_spec.grace_period_seconds(alb) == start + 30
    # without settings, AWS's defaults: every 30 s, 5 passes
    assert ecs_spec.grace_period_seconds(AlbOutputs("lb", "tg", "dns")) == start + 150


def test_plan_with_inputs_known_only_after_apply_reports_the_service_update(ctx, outputs):
    needs = _needs(outputs)
    needs["alb"] = dataclasses.replace(needs["alb"], target_group_arn=UNKNOWN)
    planned = ecs.plan(ctx, N, **needs)
    assert _actions(planned) == ["unchanged", "unchanged", "update"]
    assert set(planned.changes[2].detail) == {"loadBalancers"}
    with pytest.raises(ResourceError, match="needs the ALB's target group first"):
        ecs.ensure(ctx, N, **needs)


def test_registered_task_definition_keeps_secrets_out_of_environment(ctx, outputs):
    td = ecs.task_definition(ctx, N)
    c = taskdef.container(td)
    assert {e["name"] for e in c["environment"]} <= set(taskdef.ALLOWED_ENVIRONMENT)
    arn = outputs["secrets"].arn
    assert all(s["valueFrom"].startswith(arn + ":") for s in c["secrets"])
    assert td["executionRoleArn"] == outputs["iam"].execution_role_arn
    assert c["logConfiguration"]["options"]["awslogs-group"] == outputs["logs"].log_group
    # every JSON key the task asks for exists in the secret, or the task could not start
    assert set(taskdef.secret_keys(td)) <= set(secrets.keys(ctx, N))
    assert "API_KEY" in taskdef.secret_names(td)
    # read-only root, writable DATA_DIR and /tmp: stored as rendered (a re-apply is a no-op)
    assert c["readonlyRootFilesystem"] is True
    assert taskdef.writable_paths(td) == {"/app/data": "data", "/tmp": "tmp"}
    assert {v["name"] for v in td["volumes"]} == {"data", "tmp"}
    # bad input on the same stack: nothing registered, nothing changed
    small = N.with_overrides(cpu="256", memory="8192")
    with pytest.raises(taskdef.TaskDefinitionError, match="512, 1024 or 2048 MiB"):
        ecs.ensure(ctx, small, **_needs(outputs))
    with pytest.raises(InvalidInput, match=r"unknown revision 99 .* ACTIVE revisions: 1"):
        release.rollback(ctx, N, 99)
    with pytest.raises(InvalidInput, match="whole number"):
        release.rollback(ctx, N, 0)
    with pytest.raises(InvalidInput, match=">= 0"):
        release.scale(ctx, N, -1)
    with pytest.raises(InvalidInput, match="image"):
        release.deploy(ctx, N, "bad tag")
    with pytest.raises(InvalidInput, match="desired_count"):
        ecs.plan(ctx, N, **_needs(outputs), desired_count=-1)
    assert ecs.revisions(ctx, N) == [1]


def test_aws_cli_sees_what_apply_made(ctx, outputs):
    out = aws_cli(ctx, "ecs", "describe-services", "--cluster", N.cluster, "--services", N.service)
    svc = out["services"][0]
    assert svc["serviceName"] == N.service and svc["taskDefinition"].endswith(f"{N.family}:1")
    # passes because the emulator sets MOTO_ECS_SERVICE_RUNNING=1 (moto runs no tasks)
    aws_cli(ctx, "ecs", "wait", "services-stable", "--cluster", N.cluster, "--services", N.service)
    tg = outputs["alb"].target_group_arn
    health = aws_cli(ctx, "elbv2", "describe-target-health", "--target-group-arn", tg)
    assert health["TargetHealthDescriptions"] == []  # moto starts no tasks to register


def _pushed(ctx, tag: str) -> str:
    """Record an image under `tag` in the stack's repository (a push); return its digest."""
    return ecr.record_image(ctx, N, tag)["imageDigest"]


def test_deploy_swaps_the_image_of_the_running_revision(ctx, outputs):
    digest = _pushed(ctx, "v2")
    change = release.deploy(ctx, N, "v2")
    assert (change.action, change.detail["revision"]) == ("update", 2)
    assert _service(ctx)["taskDefinition"].endswith(f"{N.family}:2")
    td = ecs.task_definition(ctx, N)
    image = taskdef.container(td)["image"]
    # the revision names the pushed build by its digest, not by the tag
    assert image == f"{outputs['ecr'].repository_uri}@{digest}" == change.detail["image"]
    assert change.detail["requested"] == "v2"
    before = ecs.task_definition(ctx, N, 1)
    assert taskdef.registration(td) == {
        **taskdef.registration(before),
        "containerDefinitions": td["containerDefinitions"],
    }  # only the image differs
    assert release.deploy(ctx, N, "v2").action == "unchanged"  # same image: no new revision
    assert release.deploy(ctx, N, f"llmops@{digest}").action == "unchanged"
    # a full URI is used as it is
    other = "registry.example.com/team/app:abc"
    assert release.deploy(ctx, N, other).detail["image"] == other
    assert ecs.revisions(ctx, N) == [1, 2, 3]
    # a bigger task size from apply keeps the deployed image
    bigger = N.with_overrides(cpu="2048", memory="16384")
    td_change = ecs.ensure(ctx, bigger, **_needs(outputs)).changes[1]
    assert (td_change.action, td_change.detail["revision"]) == ("update", 4)
    td = ecs.task_definition(ctx, N)
    assert (td["cpu"], td["memory"]) == ("2048", "16384")
    assert taskdef.container(td)["image"] == other


def test_a_tag_never_pushed_is_refused_before_anything_is_registered(ctx, outputs):
    _pushed(ctx, "v2")
    with pytest.raises(ResourceError, match="no image tagged 'c0ffee1': push it first"):
        release.deploy(ctx, N, "c0ffee1")
    assert ecs.revisions(ctx, N) == [1]
    assert _service(ctx)["taskDefinition"].endswith(f"{N.family}:1")


def test_deploy_without_pinning_names_the_tag(ctx, outputs):
    change = release.deploy(ctx, N, "c0ffee1", pin=False)  # what a tag-based pipeline does
    assert change.detail["image"] == f"{outputs['ecr'].repository_uri}:c0ffee1"
    assert ecs.revisions(ctx, N) == [1, 2]


def test_ensure_with_an_image_registers_it(ctx, outputs):
    result = ecs.ensure(ctx, N, **_needs(outputs), image="llmops:v3")
    assert _actions(result) == ["unchanged", "update", "update"]
    assert result.outputs.task_definition_arn.endswith(f"{N.family}:2")
    image = taskdef.container(ecs.task_definition(ctx, N))["image"]
    assert image == f"{outputs['ecr'].repository_uri}:v3"


def test_rollback_and_apply_keeps_the_rolled_back_revision(ctx, outputs):
    _pushed(ctx, "v2")
    release.deploy(ctx, N, "v2")
    change = release.rollback(ctx, N, 1)
    assert change.detail["revision"] == 1
    assert _service(ctx)["taskDefinition"].endswith(f"{N.family}:1")
    assert _actions(ecs.ensure(ctx, N, **_needs(outputs))) == ["unchanged"] * 3
    assert ecs.revisions(ctx, N) == [1, 2]
    assert ecs.describe(ctx, N)["task_definition"]["image"].endswith(":latest")


def test_scale_redeploy_and_wait_stable(ctx, outputs):
    assert release.scale(ctx, N, 2).detail["desiredCount"] == (1, 2)
    svc = release.wait_stable(ctx, N, timeout=10, delay=1)
    assert svc["desiredCount"] == svc["runningCount"] == 2
    change = release.redeploy(ctx, N)
    assert change.detail == {"forceNewDeployment": True}
    assert _service(ctx)["taskDefinition"].endswith(f"{N.family}:1")
    assert [d["status"] for d in release.deployments(ctx, N)] == ["PRIMARY"]


def test_rollout_config_reads_the_applied_service(ctx, outputs):
    config = release.rollout_config(ctx, N, app_start_s=7)
    svc = _service(ctx)
    assert config.health_check_grace_period_s == svc["healthCheckGracePeriodSeconds"]
    assert (config.minimum_healthy_percent, config.maximum_percent) == (100, 200)
    assert config.circuit_breaker and config.rollback and config.load_balanced
    checks = outputs["alb"].health_check
    assert config.healthy_threshold == checks["HealthyThresholdCount"]
    assert config.deregistration_delay_s == outputs["alb"].deregistration_delay_s
    assert config.container_health_check.start_period_s == 60
    assert config.app_start_s == 7


def test_operations_need_the_service(ctx):
    for operation in (
        lambda: release.deploy(ctx, N, "v2"),
        lambda: release.scale(ctx, N, 1),
        lambda: release.rollout_config(ctx, N),
    ):
        with pytest.raises(ResourceError, match="workbook stack apply"):
            operation()
    assert release.deployments(ctx, N) == [] and ecs.task_definition(ctx, N) is None


def test_delete_removes_service_revisions_and_cluster(ctx, outputs):
    _pushed(ctx, "v2")
    release.deploy(ctx, N, "v2")
    actions = {c.kind: c.action for c in ecs.delete(ctx, N)}
    assert actions == {
        "ecs-service": "delete",
        "task-definition": "delete",
        "ecs-cluster": "delete",
    }
    assert ecs.find_cluster(ctx, N) is None and ecs.revisions(ctx, N) == []
    assert {c.action for c in ecs.delete(ctx, N)} == {"absent"}
    described = ecs.describe(ctx, N)
    assert described["cluster"] is described["service"] is described["task_definition"] is None


@pytest.mark.parametrize(
    ("image", "uri"),
    [
        ("v2", "123.dkr.ecr.us-east-1.amazonaws.com/llmops:v2"),
        ("llmops:v2", "123.dkr.ecr.us-east-1.amazonaws.com/llmops:v2"),
        ("ghcr.io/o/app:1", "ghcr.io/o/app:1"),
        ("app@sha256:ab", "app@sha256:ab"),
        ("llmops@sha256:ab", "123.dkr.ecr.us-east-1.amazonaws.com/llmops@sha256:ab"),
    ],
)
def test_image_uri_puts_a_bare_tag_in_the_repository(image, uri):
    assert ecs_spec.image_uri("123.dkr.ecr.us-east-1.amazonaws.com/llmops", image) == uri


def test_repository_of_strips_tag_and_digest():
    assert ecs_spec.repository_of("localhost:5000/team/app:v1") == "localhost:5000/team/app"
    assert ecs_spec.repository_of("r.example/app@sha256:ab") == "r.example/app"
    assert ecs_spec.repository_of("app:v1") == "app"
