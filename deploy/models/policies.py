"""Generate the stack's least-privilege IAM policy documents from resource ARNs, and lint them."""

from __future__ import annotations

import importlib.resources
import json
import re
import sys
import types
import warnings
from pathlib import Path

from deploy.aws.errors import InvalidInput
from deploy.aws.names import StackNames

VERSION = "2012-10-17"
ECS_TASKS = "ecs-tasks.amazonaws.com"
GITHUB_OIDC_HOST = "token.actions.githubusercontent.com"
GITHUB_AUDIENCE = "sts.amazonaws.com"
EXECUTION_MANAGED_POLICY = "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"
# owner: letters, digits, single hyphens (GitHub's rule); repo: letters, digits, . _ -
_GITHUB_REPO = re.compile(
    r"^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}/[A-Za-z0-9._-]{1,100}$"
)
_ACCOUNT = re.compile(r"^[0-9]{12}$")
_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-[0-9]+$")  # us-east-1, us-gov-west-1, eu-central-2
ECR_PUSH_ACTIONS = [
    "ecr:BatchCheckLayerAvailability",
    "ecr:BatchGetImage",
    "ecr:CompleteLayerUpload",
    "ecr:InitiateLayerUpload",
    "ecr:PutImage",
    "ecr:UploadLayerPart",
]
ECS_EXEC_ACTIONS = [
    "ssmmessages:CreateControlChannel",
    "ssmmessages:CreateDataChannel",
    "ssmmessages:OpenControlChannel",
    "ssmmessages:OpenDataChannel",
]


def to_json(document: dict) -> str:
    """Return a policy document as the compact JSON text IAM stores."""
    return json.dumps(document, separators=(",", ":"))


def listed(value: object) -> list:
    """Return a policy field as a list: IAM takes one value or a list ([] when absent)."""
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple | set) else [value]


def statements(doc: object) -> list[dict]:
    """Return a policy document's statements (one or a list); [] for anything else."""
    if not isinstance(doc, dict):
        return []
    return [s for s in listed(doc.get("Statement")) if isinstance(s, dict)]


def string_like(pattern: str, value: str) -> bool:
    """Return True when IAM's StringLike `pattern` (* and ? wildcards, case-sensitive) matches."""
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, flags=re.DOTALL) is not None


def _doc(*statements: dict) -> dict:
    return {"Version": VERSION, "Statement": list(statements)}


def _allow(sid: str, actions: list[str], resources: list[str] | str, **extra: object) -> dict:
    return {"Sid": sid, "Effect": "Allow", "Action": actions, "Resource": resources, **extra}


def validate_github_repo(repo: str) -> str:
    """Return `repo` if it is a GitHub `owner/name`, else raise InvalidInput saying why."""
    if not isinstance(repo, str) or not _GITHUB_REPO.match(repo):
        raise InvalidInput(
            f"github repo must look like 'owner/name' (letters, digits, '-', and '._' in the "
            f"name; no wildcards), got {repo!r}"
        )
    return repo


def validate_account(account: str) -> str:
    """Return `account` if it is a 12-digit AWS account id, else raise InvalidInput."""
    if not isinstance(account, str) or not _ACCOUNT.match(account):
        raise InvalidInput(f"account must be a 12-digit AWS account id, got {account!r}")
    return account


def validate_region(region: str) -> str:
    """Return `region` if it looks like an AWS region name (us-east-1), else raise InvalidInput."""
    if not isinstance(region, str) or not _REGION.match(region):
        raise InvalidInput(f"region must be an AWS region name such as 'us-east-1', got {region!r}")
    return region


def arns(names: StackNames, account: str, region: str) -> dict[str, str]:
    """Return the ARN of every stack resource the policies name, from names, account and region."""
    r, a = validate_region(region), validate_account(account)
    return {
        "repository": f"arn:aws:ecr:{r}:{a}:repository/{names.repository}",
        "service": f"arn:aws:ecs:{r}:{a}:service/{names.cluster}/{names.service}",
        "task_definition": f"arn:aws:ecs:{r}:{a}:task-definition/{names.family}:*",
        "log_group": f"arn:aws:logs:{r}:{a}:log-group:{names.log_group}",
        # Until the secret exists its 6-character suffix is unknown: `??????` matches exactly it.
        "secret": f"arn:aws:secretsmanager:{r}:{a}:secret:{names.secret}-??????",
        "execution_role": f"arn:aws:iam::{a}:role/{names.execution_role}",
        "task_role": f"arn:aws:iam::{a}:role/{names.task_role}",
        "ci_role": f"arn:aws:iam::{a}:role/{names.ci_role}",
        "oidc_provider": f"arn:aws:iam::{a}:oidc-provider/{GITHUB_OIDC_HOST}",
        "bucket": f"arn:aws:s3:::{names.bucket(a, r)}",
        "table": f"arn:aws:dynamodb:{r}:{a}:table/{names.history_table}",
    }


def ecs_tasks_trust(account: str, region: str) -> dict:
    """Return the trust policy that lets only this account's ECS tasks in `region` assume a role."""
    # Confused-deputy protection, as recommended by the Amazon ECS Developer Guide page
    # "Amazon ECS task IAM role": ECS may assume the role only on behalf of this account's
    # own ECS resources (aws:SourceAccount) in this region (aws:SourceArn).
    a, r = validate_account(account), validate_region(region)
    condition = {
        "StringEquals": {"aws:SourceAccount": a},
        "ArnLike": {"aws:SourceArn": f"arn:aws:ecs:{r}:{a}:*"},
    }
    return _doc(
        {
            "Effect": "Allow",
            "Principal": {"Service": ECS_TASKS},
            "Action": "sts:AssumeRole",
            "Condition": condition,
        }
    )


def github_oidc_trust(provider_arn: str, repo: str, branch: str = "main") -> dict:
    """Return the trust policy letting only `repo`'s `branch` workflows assume the CI role."""
    validate_github_repo(repo)
    if not re.fullmatch(r"[A-Za-z0-9._/-]+", branch):
        raise InvalidInput(f"branch must be a plain branch name, got {branch!r}")
    condition = {
        "StringEquals": {
            f"{GITHUB_OIDC_HOST}:aud": GITHUB_AUDIENCE,
            f"{GITHUB_OIDC_HOST}:sub": f"repo:{repo}:ref:refs/heads/{branch}",
        }
    }
    return _doc(
        {
            "Effect": "Allow",
            "Principal": {"Federated": provider_arn},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": condition,
        }
    )


def execution_policy(log_group_arn: str, secret_arn: str) -> dict:
    """Return the execution role's inline extras: create the one log group, read the one secret."""
    # The managed AmazonECSTaskExecutionRolePolicy already grants ECR pulls and
    # logs:CreateLogStream/PutLogEvents (errata 10); only these two are missing.
    return _doc(
        _allow("CreateTheLogGroup", ["logs:CreateLogGroup"], [log_group_arn]),
        _allow("ReadTheAppSecret", ["secretsmanager:GetSecretValue"], [secret_arn]),
    )


def task_policy(bucket_arn: str, table_arn: str, *, ecs_exec: bool = False) -> dict:
    """Return the app's task-role policy: its bucket and table only, plus ECS Exec if asked."""
    statements = [
        _allow("ListTheBucket", ["s3:ListBucket"], [bucket_arn]),
        _allow(
            "UseTheBucketObjects",
            ["s3:DeleteObject", "s3:GetObject", "s3:PutObject"],
            [f"{bucket_arn}/*"],
        ),
        _allow(
            "UseTheHistoryTable",
            [
                "dynamodb:BatchWriteItem",
                "dynamodb:DeleteItem",
                "dynamodb:GetItem",
                "dynamodb:PutItem",
                "dynamodb:Query",
                "dynamodb:UpdateItem",
            ],
            [table_arn, f"{table_arn}/index/*"],
        ),
    ]
    if ecs_exec:  # errata 21: ECS Exec needs these on the task role (they take no resource)
        statements.append(_allow("EcsExecSessions", ECS_EXEC_ACTIONS, "*"))
    return _doc(*statements)


def ci_policy(
    repository_arn: str,
    service_arn: str,
    role_arns: list[str],
    task_definition_arn: str,
    secret_arn: str,
) -> dict:
    """Return the CI deploy policy: push to one repo, deploy one service, pass two roles to ECS."""
    return _doc(
        # GetAuthorizationToken and DescribeTaskDefinition take no resource ARN, so "*".
        _allow("EcrLogin", ["ecr:GetAuthorizationToken", "ecs:DescribeTaskDefinition"], "*"),
        _allow("PushToTheRepository", ECR_PUSH_ACTIONS, [repository_arn]),
        # RegisterTaskDefinition now accepts a task-definition ARN: scope it to the family.
        _allow("RegisterTheFamily", ["ecs:RegisterTaskDefinition"], [task_definition_arn]),
        _allow("DeployTheService", ["ecs:DescribeServices", "ecs:UpdateService"], [service_arn]),
        # aws.yml looks up the secret's full ARN (with its suffix) to fill the task definition;
        # DescribeSecret returns metadata only, never the value (no GetSecretValue for CI).
        _allow("FindTheSecretArn", ["secretsmanager:DescribeSecret"], [secret_arn]),
        _allow(
            "PassTheTaskRolesToEcs",
            ["iam:PassRole"],
            sorted(role_arns),
            Condition={"StringEquals": {"iam:PassedToService": ECS_TASKS}},
        ),
    )


def stack_policies(
    names: StackNames,
    account: str,
    region: str,
    *,
    secret_arn: str | None = None,
    ecs_exec: bool = False,
) -> dict[str, dict]:
    """Return every identity policy document the stack attaches, keyed by policy name."""
    # Without secret_arn (the secret does not exist yet) the `<name>-??????` pattern stands in.
    a = arns(names, account, region)
    return {
        f"{names.execution_role}-extras": execution_policy(
            a["log_group"], secret_arn or a["secret"]
        ),
        f"{names.task_role}-app": task_policy(a["bucket"], a["table"], ecs_exec=ecs_exec),
        f"{names.ci_user}-deploy-policy": ci_policy(
            a["repository"],
            a["service"],
            [a["execution_role"], a["task_role"]],
            a["task_definition"],
            secret_arn or a["secret"],
        ),
    }


def _import_parliament() -> types.ModuleType:
    # Imported on first use (only lint needs it, and it must come after the shim below).
    # parliament 1.6 imports pkg_resources only for resource_filename, and new setuptools
    # no longer ships pkg_resources: provide that one function when it is missing (the dev
    # requirements pin setuptools < 81 for parliament's own console script; the lab's may not).
    if "pkg_resources" not in sys.modules:
        try:
            with warnings.catch_warnings():  # its deprecation notice is setuptools' business
                warnings.simplefilter("ignore", UserWarning)
                import pkg_resources  # noqa: F401
        except ImportError:
            shim = types.ModuleType("pkg_resources")
            shim.resource_filename = lambda pkg, name: str(importlib.resources.files(pkg) / name)
            sys.modules["pkg_resources"] = shim
    import parliament

    return parliament


def read_policy_files(paths: list[Path]) -> dict[str, dict]:
    """Return each JSON policy file's document keyed by its path; refuse unreadable ones."""
    documents = {}
    for path in paths:
        try:
            document = json.loads(Path(path).read_text(encoding="utf-8"))
        except OSError as exc:
            raise InvalidInput(f"cannot read policy file {path}: {exc.strerror}") from None
        except ValueError as exc:
            raise InvalidInput(f"policy file {path} is not JSON: {exc}") from None
        if not isinstance(document, dict) or "Statement" not in document:
            raise InvalidInput(f"policy file {path} holds no policy document (no Statement)")
        documents[str(path)] = document
    return documents


def lint_policies(documents: dict[str, dict]) -> list[dict]:
    """Run parliament over identity policies; return its findings as plain dicts."""
    parliament = _import_parliament()
    findings = []
    for name, document in documents.items():
        result = parliament.analyze_policy_string(json.dumps(document))
        for f in result.findings:
            f = parliament.enhance_finding(f)
            findings.append(
                {
                    "policy": name,
                    "issue": f.issue,
                    "severity": f.severity,
                    "detail": f.detail,
                }
            )
    return findings
