"""Cluster, task definition and service against moto, checked with boto3 and the AWS CLI v1."""

import json
import os
import subprocess
from pathlib import Path

import pytest

from deploy import alb, ecs, secrets, stack, taskdef
from deploy.clients import client
from deploy.errors import InvalidInput, ResourceError
from deploy.names import DEFAULT_NAMES as N

AWS_CLI = Path(__file__).resolve().parents[2] / ".venv" / "bin" / "aws"
ECS_STEPS = ("secrets", "iam", "ecr", "logs", "network", "alb", "ecs")


@pytest.fixture
def service(aws):
    """Apply everything the ECS service needs, plus the service itself."""
    stack.apply(N, only=ECS_STEPS, progress=False)
    return ecs.find_service(N)


def _aws_cli(*args: str) -> dict | None:
    done = subprocess.run(
        [str(AWS_CLI), *args, "--output", "json"],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ},
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout) if done.stdout.strip() else None


def test_plan_on_an_empty_account_writes_nothing(aws):
    changes = ecs.plan(N)
    assert [(c.kind, c.action) for c in changes] == [
        ("ecs-cluster", "create"),
        ("task-definition", "create"),
        ("ecs-service", "create"),
    ]
    assert client("ecs").list_clusters()["clusterArns"] == []


def test_apply_builds_the_guides_service(service):
    cluster = ecs.find_cluster(N)
    assert sorted(cluster["capacityProviders"]) == ["FARGATE", "FARGATE_SPOT"]
    assert {"name": "containerInsights", "value": "enabled"} in cluster["settings"]
    assert {"key": "Project", "value": N.project} in cluster["tags"]
    # moto's create_service drops these two; ecs.ensure stores them with update_service
    dc = service["deploymentConfiguration"]
    assert (dc["minimumHealthyPercent"], dc["maximumPercent"]) == (100, 200)
    assert dc["deploymentCircuitBreaker"] == {"enable": True, "rollback": True}
    tg = alb.find_target_group(N)
    start = taskdef.container(taskdef.load_template())["healthCheck"]["startPeriod"]
    expected = start + tg["HealthCheckIntervalSeconds"] * tg["HealthyThresholdCount"]
    assert service["healthCheckGracePeriodSeconds"] == expected
    net = service["networkConfiguration"]["awsvpcConfiguration"]
    assert net["assignPublicIp"] == "ENABLED" and len(net["subnets"]) == 2
    task_sg = client("ec2").describe_security_groups(GroupIds=net["securityGroups"])
    assert task_sg["SecurityGroups"][0]["GroupName"] == N.task_security_group
    assert service["loadBalancers"] == [
        {
            "targetGroupArn": tg["TargetGroupArn"],
            "containerName": N.container,
            "containerPort": N.container_port,
        }
    ]
    assert [c.action for c in ecs.ensure(N)] == ["unchanged"] * 3


def test_registered_task_definition_keeps_secrets_out_of_environment(service):
    td = ecs.service_task_definition(N)
    c = taskdef.container(td)
    assert {e["name"] for e in c["environment"]} <= set(taskdef.ALLOWED_ENVIRONMENT)
    arn = secrets.secret_arn(N)
    assert all(s["valueFrom"].startswith(arn + ":") for s in c["secrets"])
    # every JSON key the task asks for exists in the secret, or the task could not start
    assert set(taskdef.secret_keys(td)) <= set(secrets.keys(N))
    # bad input on the same stack: nothing registered, nothing changed
    small = N.with_overrides(cpu="256", memory="8192")
    with pytest.raises(taskdef.TaskDefinitionError, match="512, 1024 or 2048 MiB"):
        ecs.ensure(small)
    with pytest.raises(InvalidInput, match=r"unknown revision 99 .* ACTIVE revisions: 1"):
        ecs.rollback(N, 99)
    with pytest.raises(InvalidInput, match="whole number"):
        ecs.rollback(N, 0)
    with pytest.raises(InvalidInput, match=">= 0"):
        ecs.scale(N, -1)
    with pytest.raises(InvalidInput, match="image"):
        ecs.deploy(N, "bad tag")
    assert ecs.revisions(N) == [1]


def test_aws_cli_sees_what_apply_made(service):
    out = _aws_cli("ecs", "describe-services", "--cluster", N.cluster, "--services", N.service)
    svc = out["services"][0]
    assert svc["serviceName"] == N.service and svc["taskDefinition"].endswith(f"{N.family}:1")
    # passes because the backend sets MOTO_ECS_SERVICE_RUNNING=1 (moto runs no tasks)
    _aws_cli("ecs", "wait", "services-stable", "--cluster", N.cluster, "--services", N.service)
    health = _aws_cli(
        "elbv2", "describe-target-health", "--target-group-arn", alb.target_group_arn(N)
    )
    assert health["TargetHealthDescriptions"] == []  # moto starts no tasks to register


def test_deploy_registers_a_revision_and_points_the_service_at_it(service):
    change = ecs.deploy(N, "v2")
    assert change.detail["revision"] == 2
    svc = ecs.find_service(N)
    assert svc["taskDefinition"].endswith(f"{N.family}:2")
    image = taskdef.container(ecs.service_task_definition(N))["image"]
    assert image.endswith("/llmops:v2") and ".dkr.ecr." in image
    assert ecs.deploy(N, "v2").action == "unchanged"  # same image: no new revision
    assert ecs.revisions(N) == [1, 2]
    # a bigger task size from apply keeps the deployed image
    bigger = N.with_overrides(cpu="2048", memory="16384")
    td_change = ecs.ensure(bigger)[1]
    assert (td_change.action, td_change.detail["revision"]) == ("update", 3)
    td = ecs.service_task_definition(N)
    assert (td["cpu"], td["memory"]) == ("2048", "16384")
    assert taskdef.container(td)["image"] == image


def test_rollback_and_apply_keeps_the_rolled_back_revision(service):
    ecs.deploy(N, "v2")
    ecs.rollback(N, 1)
    assert ecs.find_service(N)["taskDefinition"].endswith(f"{N.family}:1")
    assert [c.action for c in ecs.ensure(N)] == ["unchanged"] * 3
    assert ecs.revisions(N) == [1, 2]


def test_scale_redeploy_and_wait_stable(service):
    assert ecs.scale(N, 2).detail["desiredCount"] == (1, 2)
    svc = ecs.wait_stable(N, timeout=10, delay=1)
    assert svc["desiredCount"] == svc["runningCount"] == 2
    change = ecs.redeploy(N)
    assert change.detail == {"forceNewDeployment": True}
    assert ecs.find_service(N)["taskDefinition"].endswith(f"{N.family}:1")


def test_operations_need_the_service(aws):
    with pytest.raises(ResourceError, match="workbook stack apply"):
        ecs.deploy(N, "v2")


def test_delete_removes_service_revisions_and_cluster(service):
    ecs.deploy(N, "v2")
    actions = {c.kind: c.action for c in ecs.delete(N)}
    assert actions == {
        "ecs-service": "delete",
        "task-definition": "delete",
        "ecs-cluster": "delete",
    }
    assert ecs.find_cluster(N) is None and ecs.revisions(N) == []
    assert {c.action for c in ecs.delete(N)} == {"absent"}
