"""Solutions to chapter 12's exercises (loaded only by show_solution and by CI's runs)."""

from __future__ import annotations

import json

from deploy import release
from deploy.resources import ecr, iam, taskdef


def triage_function():
    """12-3: read the stopped reasons first, then the targets, then the job's own output."""

    def triage(evidence) -> str:
        reasons = evidence.reasons()  # every stopped reason since the fault, one per line
        targets = evidence.target_reasons()  # reason codes of unhealthy targets
        if "No Fargate configuration exists" in evidence.job:  # refused at registration
            return "fargate-size"
        if "CannotPullContainerError" in reasons:  # ECR answered: no such tag
            return "image-tag-missing"
        if "ecr registry auth" in reasons and "i/o timeout" in reasons:  # nothing answered
            return "private-subnet"
        if "logs:CreateLogGroup" in reasons:  # the awslogs driver, as the execution role
            return "logs-create-group"
        if "did not contain json key" in reasons:  # the role read it; the JSON lacks a key
            return "secret-key-missing"
        if "secretsmanager:GetSecretValue" in reasons:  # IAM said no to the execution role
            return "secret-unreadable"
        if "failed container health checks" in reasons:  # the check inside the task
            return "curl-health-check"
        if "Target.Timeout" in targets:  # packets dropped: a security group
            return "task-sg-closed"
        if "Target.ResponseCodeMismatch" in targets:  # the app answered, with a 404
            return "health-path-wrong"
        if "Target.FailedHealthChecks" in targets:  # refused: nothing on the task's address
            return "app-loopback"
        return "unknown"

    return triage


def diagnose(evidence) -> str:
    """12-1: the triage of 12-3, applied to what the guide's commands showed."""
    return triage_function()(evidence)


# ---- 12-2: one fix per cause, as AWS calls -------------------------------------------------


def _redeploy(ctx, names) -> None:
    ctx.client("ecs").update_service(
        cluster=names.cluster, service=names.service, forceNewDeployment=True
    )


def _register(ctx, names, change) -> None:
    """Register the running revision with `change` applied and deploy it."""
    client = ctx.client("ecs")
    svc = client.describe_services(cluster=names.cluster, services=[names.service])["services"][0]
    td = client.describe_task_definition(taskDefinition=svc["taskDefinition"])["taskDefinition"]
    td = taskdef.registration(td)
    change(td)
    arn = client.register_task_definition(**td)["taskDefinition"]["taskDefinitionArn"]
    client.update_service(cluster=names.cluster, service=names.service, taskDefinition=arn)


def _restore_role(lab) -> None:
    # Converge the execution role: its inline policy gets back the statement it lost
    # (logs:CreateLogGroup on the one group, or GetSecretValue on the one secret).
    iam.ensure(lab.ctx, lab.names, secrets=lab.outputs["secrets"])
    _redeploy(lab.ctx, lab.names)


def _push_missing_tag(lab) -> None:
    # The newest revision names the tag the job meant to ship: push that build, then deploy it.
    ctx, names = lab.ctx, lab.names
    client = ctx.client("ecs")
    arns = client.list_task_definitions(familyPrefix=names.family)["taskDefinitionArns"]
    newest = max(arns, key=lambda arn: int(arn.rsplit(":", 1)[1]))  # by number, not by text
    td = client.describe_task_definition(taskDefinition=newest)
    tag = taskdef.container(td["taskDefinition"])["image"].rsplit(":", 1)[1]
    ecr.record_image(ctx, names, tag)  # what `docker push` does to ECR
    release.deploy(ctx, names, tag)


def _restore_secret_key(lab) -> None:
    # update-secret replaced the whole JSON; the previous version still has every key.
    sm = lab.ctx.client("secretsmanager")
    previous = json.loads(
        sm.get_secret_value(SecretId=lab.names.secret, VersionStage="AWSPREVIOUS")["SecretString"]
    )
    current = json.loads(sm.get_secret_value(SecretId=lab.names.secret)["SecretString"])
    sm.put_secret_value(SecretId=lab.names.secret, SecretString=json.dumps({**previous, **current}))
    _redeploy(lab.ctx, lab.names)


def _admit_the_alb(lab) -> None:
    lab.ctx.client("ec2").authorize_security_group_ingress(
        GroupId=lab.outputs["network"].task_security_group_id,
        IpPermissions=[
            {
                "IpProtocol": "tcp",
                "FromPort": lab.names.container_port,
                "ToPort": lab.names.container_port,
                "UserIdGroupPairs": [{"GroupId": lab.outputs["network"].alb_security_group_id}],
            }
        ],
    )


def _health_path(lab) -> None:
    lab.ctx.client("elbv2").modify_target_group(
        TargetGroupArn=lab.outputs["alb"].target_group_arn, HealthCheckPath=lab.names.health_path
    )


def _listen_everywhere(lab) -> None:
    def drop_host(td: dict) -> None:  # the image's default, HOST=0.0.0.0, comes back
        container = taskdef.container(td)
        container["environment"] = [e for e in container["environment"] if e["name"] != "HOST"]

    _register(lab.ctx, lab.names, drop_host)


def _python_health_check(lab) -> None:
    # The slim image has Python, not curl: the reference check opens /health with urllib.
    python_check = taskdef.container(taskdef.load_template())["healthCheck"]["command"]

    def python(td: dict) -> None:
        taskdef.container(td)["healthCheck"]["command"] = python_check

    _register(lab.ctx, lab.names, python)


def _fargate_size(lab) -> None:
    def resized(td: dict) -> None:  # 256 CPU units pair with 512, 1024 or 2048 MiB only
        td["cpu"], td["memory"] = "256", "2048"

    _register(lab.ctx, lab.names, resized)


def _public_subnets(lab) -> None:
    # Back to the stack's subnets, which route 0.0.0.0/0 to the internet gateway, with a
    # public IP (a NAT gateway or the ECR and S3 endpoints would also do for a private one).
    net = lab.outputs["network"]
    lab.ctx.client("ecs").update_service(
        cluster=lab.names.cluster,
        service=lab.names.service,
        networkConfiguration={
            "awsvpcConfiguration": {
                "subnets": sorted(net.subnet_ids),
                "securityGroups": [net.task_security_group_id],
                "assignPublicIp": "ENABLED",
            }
        },
        forceNewDeployment=True,
    )


FIXES = {
    "logs-create-group": _restore_role,
    "image-tag-missing": _push_missing_tag,
    "secret-key-missing": _restore_secret_key,
    "secret-unreadable": _restore_role,
    "task-sg-closed": _admit_the_alb,
    "health-path-wrong": _health_path,
    "app-loopback": _listen_everywhere,
    "curl-health-check": _python_health_check,
    "fargate-size": _fargate_size,
    "private-subnet": _public_subnets,
}


def fix(lab, diagnosis: str) -> None:
    """12-2: the fix for the diagnosed cause (FIXES holds one per cause)."""
    FIXES[diagnosis](lab)


SOLUTIONS = {
    "12-1": diagnose,
    "12-2": fix,
    "12-3": triage_function,
}
