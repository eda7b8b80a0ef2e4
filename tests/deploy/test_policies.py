"""The generated policy documents: least privilege, scoped ARNs, parliament-clean."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from deploy.aws.errors import InvalidInput
from deploy.aws.names import DEFAULT_NAMES
from deploy.models import policies
from deploy.resources import iam

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


def test_ecs_tasks_trust_admits_only_this_accounts_ecs_in_this_region():
    doc = policies.ecs_tasks_trust(ACCOUNT, "eu-west-3")
    [statement] = doc["Statement"]
    assert statement["Principal"] == {"Service": "ecs-tasks.amazonaws.com"}
    assert statement["Action"] == "sts:AssumeRole"
    assert statement["Condition"] == {
        "StringEquals": {"aws:SourceAccount": ACCOUNT},
        "ArnLike": {"aws:SourceArn": f"arn:aws:ecs:eu-west-3:{ACCOUNT}:*"},
    }


@pytest.mark.parametrize(("account", "region"), [("12345", REGION), (ACCOUNT, "*")])
def test_trust_for_a_bad_account_or_region_is_refused(account, region):
    with pytest.raises(InvalidInput, match=r"12-digit|region must be"):
        policies.ecs_tasks_trust(account, region)


def _actions(doc: dict) -> set[str]:
    return {a for s in doc["Statement"] for a in s["Action"]}


def _resources(doc: dict) -> set[str]:
    return {r for s in doc["Statement"] for r in s["Resource"]}


def test_each_task_role_gets_its_own_statements():
    # The identity documents as iam.ensure attaches them, per role (no AWS call): a swap of
    # the execution and task roles' policies, or a grant on the wrong role, fails here.
    secret = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:llmops_prod-AbC123"
    want = iam.desired(DEFAULT_NAMES, ACCOUNT, REGION, secret_arn=secret)
    arns = policies.arns(DEFAULT_NAMES, ACCOUNT, REGION)
    execution, task = want["execution_role"], want["task_role"]
    # ECS's own calls: the managed policy pulls from ECR and writes log events; the inline
    # extras create the one log group and read the one secret.
    assert execution["managed"] == [policies.EXECUTION_MANAGED_POLICY]
    [extras] = execution["inline"].values()
    assert _actions(extras) == {"logs:CreateLogGroup", "secretsmanager:GetSecretValue"}
    assert _resources(extras) == {arns["log_group"], secret}
    # The app's calls: its bucket's objects and its table, nothing of ECR, Secrets or Logs.
    assert task["managed"] == []
    [app] = task["inline"].values()
    assert {a.split(":")[0] for a in _actions(app)} == {"s3", "dynamodb"}
    assert _resources(app) == {
        arns["bucket"], f"{arns['bucket']}/*", arns["table"], f"{arns['table']}/index/*",
    }  # fmt: skip
    assert execution["trust"] == task["trust"] == policies.ecs_tasks_trust(ACCOUNT, REGION)


def test_the_ci_role_trusts_github_and_holds_the_deploy_policy_only():
    want = iam.desired(DEFAULT_NAMES, ACCOUNT, REGION)
    ci = want["ci_role"]
    assert ci["managed"] == [f"arn:aws:iam::{ACCOUNT}:policy/github-actions-llmops-deploy-policy"]
    assert ci["inline"] == {}
    assert ci["trust"]["Statement"][0]["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert "ci_role" not in iam.desired(DEFAULT_NAMES, ACCOUNT, REGION, github_oidc=False)


def test_policy_files_are_read_and_bad_ones_named(tmp_path):
    good = tmp_path / "good.json"
    good.write_text(json.dumps(policies.execution_policy("arn:aws:logs:x", "arn:aws:sm:y")))
    assert list(policies.read_policy_files([good])) == [str(good)]
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(InvalidInput, match=r"bad\.json is not JSON"):
        policies.read_policy_files([good, bad])
    with pytest.raises(InvalidInput, match=r"cannot read policy file .*missing\.json"):
        policies.read_policy_files([tmp_path / "missing.json"])
    empty = tmp_path / "empty.json"
    empty.write_text("{}")
    with pytest.raises(InvalidInput, match="no Statement"):
        policies.read_policy_files([empty])


def test_parliaments_own_console_script_starts():
    script = Path(sys.executable).with_name("parliament")
    run = subprocess.run([str(script), "--help"], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "usage: parliament" in run.stdout
