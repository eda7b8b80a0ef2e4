"""The generated policy documents: least privilege, scoped ARNs, parliament-clean."""

import pytest

from deploy.aws.errors import InvalidInput
from deploy.aws.names import DEFAULT_NAMES
from deploy.models import policies

ACCOUNT = "123456789012"
REGION = "us-east-1"


def _statements(doc: dict) -> dict:
    return {s["Sid"]: s for s in doc["Statement"]}


def test_generated_policies_are_parliament_clean():
    docs = policies.stack_policies(DEFAULT_NAMES, ACCOUNT, REGION, ecs_exec=True)
    assert policies.lint_policies(docs) == []


def test_lint_reports_a_wildcard_resource():
    loose = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}  # fmt: skip
    findings = policies.lint_policies({"loose": loose})
    assert [(f["policy"], f["issue"]) for f in findings] == [("loose", "RESOURCE_STAR")]


def test_execution_extras_name_only_the_log_group_and_the_secret():
    secret = f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:llmops_prod-AbC123"
    docs = policies.stack_policies(DEFAULT_NAMES, ACCOUNT, REGION, secret_arn=secret)
    s = _statements(docs["ecsTaskExecutionRole-extras"])
    assert s["CreateTheLogGroup"]["Action"] == ["logs:CreateLogGroup"]
    assert s["CreateTheLogGroup"]["Resource"] == [
        f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:/ecs/llmopstdlive"
    ]
    assert s["ReadTheAppSecret"] == {
        "Sid": "ReadTheAppSecret",
        "Effect": "Allow",
        "Action": ["secretsmanager:GetSecretValue"],
        "Resource": [secret],
    }


def test_arns_follow_the_region_and_account():
    arns = policies.arns(DEFAULT_NAMES, "210987654321", "eu-west-3")
    assert arns["repository"] == "arn:aws:ecr:eu-west-3:210987654321:repository/llmops"
    assert arns["table"] == "arn:aws:dynamodb:eu-west-3:210987654321:table/llmops-chat-history"
    assert arns["bucket"] == "arn:aws:s3:::llmops-documents-210987654321-eu-west-3"
    assert arns["execution_role"] == "arn:aws:iam::210987654321:role/ecsTaskExecutionRole"


@pytest.mark.parametrize("account", ["12345", "abcdefghijkl", 123456789012, ""])
def test_bad_account_is_refused(account):
    with pytest.raises(InvalidInput, match="12-digit"):
        policies.arns(DEFAULT_NAMES, account, REGION)


@pytest.mark.parametrize("region", ["", "us east 1", "US-EAST-1", "useast1", None])
def test_bad_region_is_refused(region):
    with pytest.raises(InvalidInput, match="region must be an AWS region"):
        policies.stack_policies(DEFAULT_NAMES, ACCOUNT, region)


def test_unknown_secret_suffix_is_matched_by_exactly_six_characters():
    doc = policies.stack_policies(DEFAULT_NAMES, ACCOUNT, REGION)["ecsTaskExecutionRole-extras"]
    assert _statements(doc)["ReadTheAppSecret"]["Resource"][0].endswith(
        ":secret:llmops_prod-??????"
    )


def test_ci_policy_passes_only_the_two_roles_and_only_to_ecs():
    doc = policies.stack_policies(DEFAULT_NAMES, ACCOUNT, REGION)[
        "github-actions-llmops-deploy-policy"
    ]
    s = _statements(doc)
    assert s["PassTheTaskRolesToEcs"]["Resource"] == [
        f"arn:aws:iam::{ACCOUNT}:role/ecsTaskExecutionRole",
        f"arn:aws:iam::{ACCOUNT}:role/llmops-task-role",
    ]
    assert s["PassTheTaskRolesToEcs"]["Condition"] == {
        "StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}
    }
    assert s["DeployTheService"]["Resource"] == [
        f"arn:aws:ecs:us-east-1:{ACCOUNT}:service/llmopscluster/llmops-service-2"
    ]
    assert s["PushToTheRepository"]["Resource"] == [
        f"arn:aws:ecr:us-east-1:{ACCOUNT}:repository/llmops"
    ]
    star = [a for st in doc["Statement"] if st["Resource"] == "*" for a in st["Action"]]
    assert sorted(star) == ["ecr:GetAuthorizationToken", "ecs:DescribeTaskDefinition"]
    actions = {a for st in doc["Statement"] for a in st["Action"]}
    # CI may look up the secret's ARN (metadata) but never read a value, logs or documents.
    assert not any(a.startswith(("logs:", "s3:")) for a in actions)
    assert {a for a in actions if a.startswith("secretsmanager:")} == {
        "secretsmanager:DescribeSecret"
    }
    assert s["FindTheSecretArn"]["Resource"] != "*"


def test_task_policy_adds_ecs_exec_only_when_asked():
    plain = policies.task_policy("arn:aws:s3:::b", "arn:aws:dynamodb:us-east-1:1:table/t")
    execd = policies.task_policy(
        "arn:aws:s3:::b", "arn:aws:dynamodb:us-east-1:1:table/t", ecs_exec=True
    )
    assert "EcsExecSessions" not in _statements(plain)
    assert _statements(execd)["EcsExecSessions"]["Action"] == policies.ECS_EXEC_ACTIONS


def test_github_trust_is_scoped_to_the_main_branch_of_one_repo():
    doc = policies.github_oidc_trust("arn:aws:iam::1:oidc-provider/x", "acme/rag-app")
    cond = doc["Statement"][0]["Condition"]["StringEquals"]
    assert cond == {
        "token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
        "token.actions.githubusercontent.com:sub": "repo:acme/rag-app:ref:refs/heads/main",
    }


@pytest.mark.parametrize("repo", ["acme", "acme/*", "-acme/app", "acme/app/extra", "", "ac me/app"])
def test_malformed_github_repo_is_refused(repo):
    with pytest.raises(InvalidInput, match="owner/name"):
        policies.github_oidc_trust("arn:aws:iam::1:oidc-provider/x", repo)


def test_branch_with_wildcards_is_refused():
    with pytest.raises(InvalidInput, match="branch"):
        policies.github_oidc_trust("arn:aws:iam::1:oidc-provider/x", "acme/app", branch="*")
