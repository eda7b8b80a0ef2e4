"""IAM identities against moto: create, converge, outputs, delete, permissions really enforced."""

import json

import pytest

from deploy.aws.errors import InvalidInput, PermissionDenied, ResourceError
from deploy.aws.names import DEFAULT_NAMES
from deploy.models import leastpriv
from deploy.resources import iam, logs, secrets
from deploy.resources.contract import UNKNOWN
from deploy.resources.outputs import IamOutputs, SecretOutputs
from tests.awscli import aws_cli

N = DEFAULT_NAMES
ROLE = "arn:aws:iam::123456789012:role/"
OIDC = "token.actions.githubusercontent.com"
EXTRAS = "ecsTaskExecutionRole-extras"


@pytest.fixture
def secret(ctx) -> SecretOutputs:
    """Create the app secret (the execution policy names its ARN) and return its outputs."""
    return secrets.ensure(ctx, N).outputs


def changed(result) -> list[tuple[str, str]]:
    return [(c.name, c.action) for c in result.changes if c.changed]


def test_by_default_the_deploy_identity_is_the_oidc_role_and_no_user(ctx, secret):
    created = iam.ensure(ctx, N, secrets=secret)
    assert [(c.kind, c.name) for c in created.changes] == [
        ("iam-role", "ecsTaskExecutionRole"),
        ("iam-role", "llmops-task-role"),
        ("iam-policy", "github-actions-llmops-deploy-policy"),
        ("oidc-provider", f"arn:aws:iam::123456789012:oidc-provider/{OIDC}"),
        ("iam-role", "github-actions-llmops-deploy"),
    ]
    assert created.outputs.ci_user_arn is None
    assert created.outputs.ci_role_arn == f"{ROLE}github-actions-llmops-deploy"
    assert ctx.client("iam").list_users()["Users"] == []
    assert iam.describe(ctx, N)["ci_user"] is None


def test_ensure_creates_the_roles_user_provider_and_policy(ctx, secret):
    assert {c.action for c in iam.plan(ctx, N, secrets=secret, ci_user=True).changes} == {"create"}
    created = iam.ensure(ctx, N, secrets=secret, ci_user=True).changes
    assert [c.name for c in created if c.kind == "iam-role"] == [
        "ecsTaskExecutionRole", "llmops-task-role", "github-actions-llmops-deploy",
    ]  # fmt: skip
    # One AWS CLI call reads back every role, user and policy (a second, independent client).
    details = aws_cli(ctx, "iam", "get-account-authorization-details")
    roles = {r["RoleName"]: r for r in details["RoleDetailList"]}
    role = roles["ecsTaskExecutionRole"]
    for name in ("ecsTaskExecutionRole", "llmops-task-role"):
        [trust] = roles[name]["AssumeRolePolicyDocument"]["Statement"]
        assert trust["Principal"] == {"Service": "ecs-tasks.amazonaws.com"}
        # confused-deputy protection: only this account's ECS, in this region
        assert trust["Condition"] == {
            "StringEquals": {"aws:SourceAccount": "123456789012"},
            "ArnLike": {"aws:SourceArn": "arn:aws:ecs:us-east-1:123456789012:*"},
        }
    assert {"Key": "Project", "Value": "ecs-workbook"} in role["Tags"]
    assert [p["PolicyName"] for p in role["AttachedManagedPolicies"]] == [
        "AmazonECSTaskExecutionRolePolicy"
    ]
    inline = {p["PolicyName"]: p["PolicyDocument"] for p in role["RolePolicyList"]}
    assert inline[EXTRAS]["Statement"][1]["Resource"] == [secret.arn]
    ci_trust = roles["github-actions-llmops-deploy"]["AssumeRolePolicyDocument"]["Statement"][0]
    assert ci_trust["Principal"]["Federated"].endswith(
        ":oidc-provider/token.actions.githubusercontent.com"
    )
    users = {u["UserName"]: u for u in details["UserDetailList"]}
    assert [p["PolicyName"] for p in users["github-actions-llmops"]["AttachedManagedPolicies"]] == [
        "github-actions-llmops-deploy-policy"
    ]
    assert iam.describe(ctx, N)["oidc_provider"]["client_ids"] == ["sts.amazonaws.com"]


def test_second_ensure_changes_nothing(ctx, secret):
    iam.ensure(ctx, N, secrets=secret)
    assert {c.action for c in iam.ensure(ctx, N, secrets=secret).changes} == {"unchanged"}


def test_noop_ensure_makes_no_identical_call_twice(ctx, secret, aws_calls):
    iam.ensure(ctx, N, secrets=secret)
    calls = aws_calls("iam", "sts")
    iam.ensure(ctx, N, secrets=secret)
    assert len(set(calls)) == len(calls), sorted(calls)
    # six identities, each described once: 4 + 4 + 3 calls for the three roles (get, attached,
    # inline names, each inline document), 2 for the policy, 2 for the user, 1 for the provider
    assert len(calls) <= 16, sorted(op for op, _ in calls)
    assert not {op for op, _ in calls} & {"ListRoleTags", "ListUserTags", "ListPolicyTags"}


def test_outputs_carry_the_role_arns(ctx, secret):
    out = iam.ensure(ctx, N, secrets=secret, ci_user=True).outputs
    assert out == IamOutputs(
        execution_role_arn=f"{ROLE}ecsTaskExecutionRole",
        task_role_arn=f"{ROLE}llmops-task-role",
        ci_policy_arn=iam.ci_policy_arn(ctx, N),
        ci_user_arn="arn:aws:iam::123456789012:user/github-actions-llmops",
        ci_role_arn=f"{ROLE}github-actions-llmops-deploy",
    )
    assert iam.plan(ctx, N, secrets=secret, ci_user=True).outputs == out
    assert (
        out.ci_policy_arn == "arn:aws:iam::123456789012:policy/github-actions-llmops-deploy-policy"
    )


def test_plan_before_anything_exists_hands_forward_unknown_arns(ctx):
    out = iam.plan(ctx, N, secrets=SecretOutputs(UNKNOWN)).outputs
    assert out.execution_role_arn == out.task_role_arn == out.ci_role_arn == UNKNOWN
    assert ctx.client("iam").list_roles()["Roles"] == []  # a plan writes nothing


def test_without_the_ci_identities_there_are_only_the_two_task_roles(ctx, secret):
    result = iam.ensure(ctx, N, secrets=secret, ci_user=False, github_oidc=False)
    assert [(c.kind, c.name) for c in result.changes] == [
        ("iam-role", "ecsTaskExecutionRole"), ("iam-role", "llmops-task-role"),
    ]  # fmt: skip
    out = result.outputs
    assert (out.ci_policy_arn, out.ci_user_arn, out.ci_role_arn) == (None, None, None)
    assert ctx.client("iam").list_users()["Users"] == []


def test_ensure_before_the_secret_exists_is_a_clear_error(ctx):
    with pytest.raises(ResourceError, match="ecsTaskExecutionRole needs the secret first"):
        iam.ensure(ctx, N, secrets=SecretOutputs(UNKNOWN))
    assert ctx.client("iam").list_roles()["Roles"] == []


def test_plan_without_the_secret_shows_the_suffix_pattern(ctx, secret):
    iam.ensure(ctx, N, secrets=secret)
    [execution] = [
        c
        for c in iam.plan(ctx, N, secrets=SecretOutputs(UNKNOWN)).changes
        if c.name == N.execution_role
    ]
    _, want = execution.detail["inline"]
    assert want[EXTRAS]["Statement"][1]["Resource"] == [
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:llmops_prod-??????"
    ]


@pytest.mark.parametrize(
    "bad",
    [
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:llmops_prod-AbCdEf",  # a bare str
        SecretOutputs("llmops_prod"),
        SecretOutputs("arn:aws:secretsmanager:us-east-1:123456789012:secret:other-AbCdEf"),
        SecretOutputs("arn:aws:secretsmanager:us-east-1:123456789012:secret:llmops_prod-*"),
    ],
)
def test_a_wrong_secret_input_is_refused_before_any_write(ctx, bad):
    with pytest.raises(InvalidInput, match="secrets"):
        iam.ensure(ctx, N, secrets=bad)
    assert ctx.client("iam").list_roles()["Roles"] == []


@pytest.mark.parametrize("option", ["ecs_exec", "ci_user", "github_oidc"])
def test_non_bool_options_are_refused(ctx, secret, option):
    with pytest.raises(InvalidInput, match=f"{option} must be True or False"):
        iam.plan(ctx, N, secrets=secret, **{option: "no"})


def test_widened_inline_policy_is_put_back(ctx, secret):
    iam.ensure(ctx, N, secrets=secret)
    wide = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "secretsmanager:*", "Resource": "*"}]}  # fmt: skip
    ctx.client("iam").put_role_policy(
        RoleName="ecsTaskExecutionRole", PolicyName=EXTRAS, PolicyDocument=json.dumps(wide)
    )
    assert changed(iam.plan(ctx, N, secrets=secret)) == [("ecsTaskExecutionRole", "update")]
    iam.ensure(ctx, N, secrets=secret)
    doc = iam.describe(ctx, N)["execution_role"]["inline"][EXTRAS]
    assert doc["Statement"][1]["Action"] == ["secretsmanager:GetSecretValue"]
    assert {c.action for c in iam.plan(ctx, N, secrets=secret).changes} == {"unchanged"}


def test_a_recreated_secret_moves_the_policies_to_its_new_arn(ctx, secret):
    iam.ensure(ctx, N, secrets=secret)
    secrets.delete(ctx, N)
    renewed = secrets.ensure(ctx, N).outputs  # same name, new random suffix
    assert renewed.arn != secret.arn
    assert changed(iam.plan(ctx, N, secrets=renewed)) == [
        ("ecsTaskExecutionRole", "update"),
        ("github-actions-llmops-deploy-policy", "update"),
    ]
    iam.ensure(ctx, N, secrets=renewed)
    doc = iam.describe(ctx, N)["execution_role"]["inline"][EXTRAS]
    assert doc["Statement"][1]["Resource"] == [renewed.arn]
    assert {c.action for c in iam.plan(ctx, N, secrets=renewed).changes} == {"unchanged"}


def test_changed_ci_policy_gets_a_new_default_version(ctx, secret):
    iam.ensure(ctx, N, secrets=secret)
    iam.ensure(ctx, N.with_overrides(service="llmops-service-3"), secrets=secret)
    arn = iam.ci_policy_arn(ctx, N)
    versions = ctx.client("iam").list_policy_versions(PolicyArn=arn)["Versions"]
    default = [v["VersionId"] for v in versions if v["IsDefaultVersion"]]
    assert len(versions) == 2 and default == ["v2"]
    doc = iam.describe(ctx, N)["ci_policy"]["document"]
    deploy = next(s for s in doc["Statement"] if s["Sid"] == "DeployTheService")
    assert deploy["Resource"][0].endswith("service/llmopscluster/llmops-service-3")


def test_github_repo_change_rewrites_the_trust(ctx, secret):
    iam.ensure(ctx, N, secrets=secret)
    other = N.with_overrides(github_repo="acme/other-repo")
    assert changed(iam.plan(ctx, other, secrets=secret)) == [
        ("github-actions-llmops-deploy", "update")
    ]
    iam.ensure(ctx, other, secrets=secret)
    trust = iam.describe(ctx, other)["ci_role"]["trust"]
    sub = trust["Statement"][0]["Condition"]["StringEquals"]
    assert (
        sub["token.actions.githubusercontent.com:sub"] == "repo:acme/other-repo:ref:refs/heads/main"
    )


def test_malformed_github_repo_is_refused_before_any_write(ctx, secret):
    with pytest.raises(InvalidInput, match="owner/name"):
        iam.ensure(ctx, N.with_overrides(github_repo="not a repo"), secrets=secret)
    assert iam.describe(ctx, N)["execution_role"] is None


def test_ecs_exec_option_adds_ssmmessages_to_the_task_role(ctx, secret):
    iam.ensure(ctx, N, secrets=secret)
    assert changed(iam.plan(ctx, N, secrets=secret, ecs_exec=True)) == [
        ("llmops-task-role", "update")
    ]
    iam.ensure(ctx, N, secrets=secret, ecs_exec=True)
    doc = iam.describe(ctx, N)["task_role"]["inline"]["llmops-task-role-app"]
    assert doc["Statement"][-1]["Action"][0].startswith("ssmmessages:")


def test_dropping_the_ci_user_option_deletes_the_user_and_its_keys(ctx, secret):
    iam.ensure(ctx, N, secrets=secret, ci_user=True)
    ctx.client("iam").create_access_key(UserName=N.ci_user)
    assert changed(iam.plan(ctx, N, secrets=secret)) == [("github-actions-llmops", "delete")]
    [gone] = [c for c in iam.ensure(ctx, N, secrets=secret).changes if c.changed]
    assert gone.detail == {"not_asked_for": "ci_user=False"}
    assert ctx.client("iam").list_users()["Users"] == []
    assert {c.action for c in iam.plan(ctx, N, secrets=secret).changes} == {"unchanged"}
    # the OIDC role keeps the deploy policy the user shared
    assert iam.describe(ctx, N)["ci_role"]["managed"] == [iam.ci_policy_arn(ctx, N)]


def test_an_old_trust_policy_without_conditions_is_converged(ctx, secret):
    iam.ensure(ctx, N, secrets=secret)
    bare = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"}, "Action": "sts:AssumeRole"}]}  # fmt: skip
    ctx.client("iam").update_assume_role_policy(
        RoleName=N.task_role, PolicyDocument=json.dumps(bare)
    )
    assert changed(iam.plan(ctx, N, secrets=secret)) == [("llmops-task-role", "update")]
    iam.ensure(ctx, N, secrets=secret)
    trust = iam.describe(ctx, N)["task_role"]["trust"]["Statement"][0]
    assert trust["Condition"]["StringEquals"] == {"aws:SourceAccount": "123456789012"}


def test_delete_removes_everything_then_reports_absent(ctx, secret):
    iam.ensure(ctx, N, secrets=secret, ci_user=True)
    ctx.client("iam").create_access_key(UserName=N.ci_user)  # a key does not block deletion
    assert {c.action for c in iam.delete(ctx, N)} == {"delete"}
    assert {c.action for c in iam.delete(ctx, N)} == {"absent"}
    assert ctx.client("iam").list_roles()["Roles"] == []
    assert ctx.client("iam").list_policies(Scope="Local")["Policies"] == []
    assert ctx.client("iam").list_open_id_connect_providers()["OpenIDConnectProviderList"] == []


def test_denied_call_names_the_action(aws, ctx):
    aws.enforce_iam(0)
    with pytest.raises(PermissionDenied, match="iam:GetRole"):
        iam.describe(ctx, N)


def test_ci_identity_is_denied_what_its_policy_does_not_grant(ctx, secret, as_ci_user):
    # moto's IAM engine evaluates the generated CI policy for real. (It checks Resource
    # elements only for S3; elsewhere every request's resource is "*", so only the
    # actions this policy grants on "*" can be shown succeeding here.)
    iam.ensure(ctx, N, secrets=secret, ci_user=True)
    with as_ci_user() as ci:
        assert ci.client("ecr").get_authorization_token()["authorizationData"]
        with pytest.raises(PermissionDenied, match="logs:DescribeLogGroups"):
            logs.find_log_group(ci, N)
        with pytest.raises(PermissionDenied, match="iam:GetRole"):
            iam.describe(ci, N)
        # the CI identity may look the secret's ARN up, never read its value
        with pytest.raises(PermissionDenied, match="secretsmanager:GetSecretValue"):
            secrets.keys(ci, N)
    # moto's request-time check treats the resource as "*", so a grant scoped to the secret's
    # ARN would look denied above too: evaluate the stored policy against the real ARN as well.
    stored = iam.describe(ctx, N)["ci_policy"]["document"]
    read = [("secretsmanager:GetSecretValue", secret.arn)]
    assert leastpriv.check(stored, read) == [f"secretsmanager:GetSecretValue on {secret.arn}"]
