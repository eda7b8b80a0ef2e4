"""IAM identities against moto: create, converge, delete, permissions really enforced."""

import json
import subprocess
import sys

import pytest

from deploy import iam, logs, secrets
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


def actions(changes) -> list[tuple[str, str]]:
    return [(c.kind, c.action) for c in changes]


def test_ensure_creates_the_roles_user_provider_and_policy(aws):
    secrets.ensure(N)
    assert {c.action for c in iam.plan(N)} == {"create"}
    created = iam.ensure(N)
    assert [c.name for c in created if c.kind == "iam-role"] == [
        "ecsTaskExecutionRole", "llmops-task-role", "github-actions-llmops-deploy",
    ]  # fmt: skip
    # One AWS CLI call reads back every role, user and policy (a second, independent client).
    details = aws_cli("iam", "get-account-authorization-details")
    roles = {r["RoleName"]: r for r in details["RoleDetailList"]}
    role = roles["ecsTaskExecutionRole"]
    assert role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {
        "Service": "ecs-tasks.amazonaws.com"
    }
    assert {"Key": "Project", "Value": "ecs-workbook"} in role["Tags"]
    assert [p["PolicyName"] for p in role["AttachedManagedPolicies"]] == [
        "AmazonECSTaskExecutionRolePolicy"
    ]
    inline = {p["PolicyName"]: p["PolicyDocument"] for p in role["RolePolicyList"]}
    assert inline["ecsTaskExecutionRole-extras"]["Statement"][1]["Resource"] == [
        secrets.secret_arn(N)
    ]
    ci_trust = roles["github-actions-llmops-deploy"]["AssumeRolePolicyDocument"]["Statement"][0]
    assert ci_trust["Principal"]["Federated"].endswith(
        ":oidc-provider/token.actions.githubusercontent.com"
    )
    users = {u["UserName"]: u for u in details["UserDetailList"]}
    assert [p["PolicyName"] for p in users["github-actions-llmops"]["AttachedManagedPolicies"]] == [
        "github-actions-llmops-deploy-policy"
    ]
    assert iam.describe(N)["oidc_provider"]["client_ids"] == ["sts.amazonaws.com"]


def test_second_ensure_changes_nothing(aws):
    iam.ensure(N)
    assert {c.action for c in iam.ensure(N)} == {"unchanged"}


def test_role_arn_finder_and_unknown_which(aws):
    iam.ensure(N)
    assert iam.role_arn(N, "task") == "arn:aws:iam::123456789012:role/llmops-task-role"
    with pytest.raises(InvalidInput, match="unknown role 'admin'"):
        iam.role_arn(N, which="admin")


def test_missing_role_is_a_clear_error(aws):
    with pytest.raises(ResourceError, match="ecsTaskExecutionRole does not exist"):
        iam.role_arn(N, "execution")


def test_widened_inline_policy_is_put_back(aws):
    iam.ensure(N)
    wide = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "secretsmanager:*", "Resource": "*"}]}  # fmt: skip
    client("iam").put_role_policy(
        RoleName="ecsTaskExecutionRole",
        PolicyName="ecsTaskExecutionRole-extras",
        PolicyDocument=json.dumps(wide),
    )
    planned = [c for c in iam.plan(N) if c.action != "unchanged"]
    assert [(c.name, c.action) for c in planned] == [("ecsTaskExecutionRole", "update")]
    iam.ensure(N)
    doc = iam.describe(N)["execution_role"]["inline"]["ecsTaskExecutionRole-extras"]
    assert doc["Statement"][1]["Action"] == ["secretsmanager:GetSecretValue"]
    assert {c.action for c in iam.plan(N)} == {"unchanged"}


def test_secret_created_later_narrows_the_execution_policy(aws):
    iam.ensure(N)
    secrets.ensure(N)
    assert [(c.name, c.action) for c in iam.plan(N) if c.changed] == [
        ("ecsTaskExecutionRole", "update"),
        ("github-actions-llmops-deploy-policy", "update"),
    ]
    iam.ensure(N)
    assert {c.action for c in iam.plan(N)} == {"unchanged"}


def test_changed_ci_policy_gets_a_new_default_version(aws):
    iam.ensure(N)
    iam.ensure(N.with_overrides(service="llmops-service-3"))
    arn = iam.ci_policy_arn(N)
    versions = client("iam").list_policy_versions(PolicyArn=arn)["Versions"]
    default = [v["VersionId"] for v in versions if v["IsDefaultVersion"]]
    assert len(versions) == 2 and default == ["v2"]
    doc = iam.describe(N)["ci_policy"]["document"]
    deploy = next(s for s in doc["Statement"] if s["Sid"] == "DeployTheService")
    assert deploy["Resource"][0].endswith("service/llmopscluster/llmops-service-3")


def test_github_repo_change_rewrites_the_trust(aws):
    iam.ensure(N)
    other = N.with_overrides(github_repo="acme/other-repo")
    assert [(c.name, c.action) for c in iam.plan(other) if c.changed] == [
        ("github-actions-llmops-deploy", "update")
    ]
    iam.ensure(other)
    trust = iam.describe(other)["ci_role"]["trust"]
    sub = trust["Statement"][0]["Condition"]["StringEquals"]
    assert (
        sub["token.actions.githubusercontent.com:sub"] == "repo:acme/other-repo:ref:refs/heads/main"
    )


def test_malformed_github_repo_is_refused_before_any_write(aws):
    with pytest.raises(InvalidInput, match="owner/name"):
        iam.ensure(N.with_overrides(github_repo="not a repo"))
    assert iam.find_role(N, "execution") is None


def test_ecs_exec_option_adds_ssmmessages_to_the_task_role(aws):
    iam.ensure(N)
    assert [c.name for c in iam.plan(N, ecs_exec=True) if c.changed] == ["llmops-task-role"]
    iam.ensure(N, ecs_exec=True)
    doc = iam.describe(N)["task_role"]["inline"]["llmops-task-role-app"]
    assert doc["Statement"][-1]["Action"][0].startswith("ssmmessages:")


def test_delete_removes_everything_then_reports_absent(aws):
    iam.ensure(N)
    assert {c.action for c in iam.delete(N)} == {"delete"}
    assert {c.action for c in iam.delete(N)} == {"absent"}
    assert client("iam").list_roles()["Roles"] == []
    assert client("iam").list_policies(Scope="Local")["Policies"] == []


def test_denied_call_names_the_action(aws):
    aws.enforce_iam(0)
    with pytest.raises(PermissionDenied, match="iam:GetRole"):
        iam.role_arn(N, "execution")


def test_ci_identity_is_denied_what_its_policy_does_not_grant(as_ci_user):
    # moto's IAM engine evaluates the generated CI policy for real. (It checks Resource
    # elements only for S3; elsewhere every request's resource is "*", so only the
    # actions this policy grants on "*" can be shown succeeding here.)
    secrets.ensure(N)
    iam.ensure(N)
    with as_ci_user():
        assert client("ecr").get_authorization_token()["authorizationData"]
        # CI may describe the secret (to build valueFrom ARNs) but never read its value
        with pytest.raises(PermissionDenied, match="logs:DescribeLogGroups"):
            logs.find_log_group(N)
        with pytest.raises(PermissionDenied, match="iam:GetRole"):
            iam.role_arn(N, "execution")
