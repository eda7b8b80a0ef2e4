"""Prove a policy is least privilege: evaluate the deploy's real calls with moto's IAM engine."""

# Why evaluate instead of calling: moto's request-time IAM enforcement checks a policy's
# Resource element only for S3; for every other service the request's resource is "*", so a
# statement scoped to one repository/service/role never matches and looks like a denial.
# moto's own evaluator (moto.iam.access_control.IAMPolicy) does match Resource, so here each
# call the deploy makes is handed to it with the resource ARN the real request would carry.
#
# What moto's evaluator does and does not do (moto 5.2.5), and how this module copes:
# - Action and Resource: matched with `*` as a wildcard, case-sensitively. IAM's `?` wildcard
#   is not supported (moto turns the pattern into a broken regex), so documents using `?` are
#   refused: build the policy with the secret's full ARN. A `.` in a pattern matches any
#   character (slightly more permissive than IAM; no ARN here relies on it).
# - Condition: only StringEquals is evaluated, and only against the context values the caller
#   supplies; any other operator, or a key missing from the context, counts as satisfied.
#   So CONTEXT supplies iam:PassedToService for iam:PassRole (the condition the CI policy
#   uses is really checked), and documents with other operators are refused rather than
#   silently passed.
# - No Deny-by-SCP, permission boundaries or resource policies: identity policy only.

from __future__ import annotations

import json
import string

from moto.iam.access_control import IAMPolicy, PermissionResult

from deploy.aws.errors import InvalidInput
from deploy.aws.names import StackNames
from deploy.models.policies import validate_account, validate_region

ECS_TASKS = "ecs-tasks.amazonaws.com"
_REPO = "arn:aws:ecr:{region}:{account}:repository/{repository}"
_SERVICE = "arn:aws:ecs:{region}:{account}:service/{cluster}/{service}"

# (action, resource template) for every authorised call .github/workflows/aws.yml makes.
# Templates are written from AWS's ARN formats, not taken from deploy.models.policies, so the
# check is independent of the generator. sts:GetCallerIdentity is left out: it needs no
# permission (AWS and moto both always allow it).
CI_DEPLOY_CALLS: tuple[tuple[str, str], ...] = (
    # amazon-ecr-login: the token call takes no resource
    ("ecr:GetAuthorizationToken", "*"),
    # build-push-action's push: layer checks/uploads, the manifest, and the manifest read
    # the pusher does first to see whether the tag already exists (BatchGetImage)
    ("ecr:BatchCheckLayerAvailability", _REPO),
    ("ecr:BatchGetImage", _REPO),
    ("ecr:CompleteLayerUpload", _REPO),
    ("ecr:InitiateLayerUpload", _REPO),
    ("ecr:PutImage", _REPO),
    ("ecr:UploadLayerPart", _REPO),
    # "Fill ... the secret ARN": describe-secret (metadata only, never the value)
    ("secretsmanager:DescribeSecret", "{secret_arn}"),
    # amazon-ecs-deploy-task-definition: register a revision of the family, pass its two
    # roles to ECS, point the service at it, wait for stability
    ("ecs:RegisterTaskDefinition", "arn:aws:ecs:{region}:{account}:task-definition/{family}:1"),
    ("iam:PassRole", "arn:aws:iam::{account}:role/{execution_role}"),
    ("iam:PassRole", "arn:aws:iam::{account}:role/{task_role}"),
    ("ecs:UpdateService", _SERVICE),
    ("ecs:DescribeServices", _SERVICE),
    # the action reads the registered revision back; DescribeTaskDefinition takes no resource
    ("ecs:DescribeTaskDefinition", "*"),
)

# Calls the deploy must NOT be able to make: excess() reports any the document allows.
EXCESS_PROBES: tuple[tuple[str, str], ...] = (
    ("secretsmanager:GetSecretValue", "{secret_arn}"),
    ("secretsmanager:PutSecretValue", "{secret_arn}"),
    ("ecs:DeleteService", _SERVICE),
    ("ecs:DeleteCluster", "arn:aws:ecs:{region}:{account}:cluster/{cluster}"),
    ("ecs:UpdateService", "arn:aws:ecs:{region}:{account}:service/{cluster}/other-service"),
    ("ecs:RegisterTaskDefinition", "arn:aws:ecs:{region}:{account}:task-definition/other:1"),
    ("ecr:DeleteRepository", _REPO),
    ("ecr:PutImage", "arn:aws:ecr:{region}:{account}:repository/other-repo"),
    ("iam:CreateUser", "arn:aws:iam::{account}:user/intruder"),
    ("iam:PassRole", "arn:aws:iam::{account}:role/admin"),
    ("s3:GetObject", "arn:aws:s3:::any-bucket/any-key"),
    ("logs:DeleteLogGroup", "arn:aws:logs:{region}:{account}:log-group:{log_group}"),
)

# Request context per action: the deploy passes roles to ECS tasks only.
CONTEXT: dict[str, dict[str, str]] = {"iam:PassRole": {"iam:PassedToService": ECS_TASKS}}

_SUPPORTED_CONDITIONS = {"StringEquals"}
# Template fields render() is given; every other field is a StackNames attribute.
_GIVEN = {"account", "region", "secret_arn"}


def render(
    calls: tuple[tuple[str, str], ...],
    names: StackNames,
    account: str,
    region: str,
    secret_arn: str,
) -> list[tuple[str, str]]:
    """Fill names, account, region and the secret's full ARN into (action, template) pairs."""
    values = {f: getattr(names, f) for f in _fields(calls)}
    values.update(
        account=validate_account(account), region=validate_region(region), secret_arn=secret_arn
    )
    return [(action, template.format(**values)) for action, template in calls]


def _fields(calls: tuple[tuple[str, str], ...]) -> set[str]:
    found = {f for _, t in calls for _, f, _, _ in string.Formatter().parse(t) if f}
    return found - _GIVEN


def _statements(document: dict) -> list[dict]:
    if not isinstance(document, dict) or "Statement" not in document:
        raise InvalidInput("a policy document must be a mapping with a 'Statement' element")
    statements = document["Statement"]
    return statements if isinstance(statements, list) else [statements]


def _refuse_unevaluable(document: dict) -> None:
    # Anything moto would get wrong silently is refused loudly instead (see the top comment).
    for st in _statements(document):
        resources = st.get("Resource", [])
        for r in [resources] if isinstance(resources, str) else resources:
            if "?" in r:
                raise InvalidInput(
                    f"resource {r!r} uses the '?' wildcard, which moto cannot evaluate; "
                    "build the policy with the full ARN"
                )
        unsupported = sorted(set(st.get("Condition", {})) - _SUPPORTED_CONDITIONS)
        if unsupported:
            raise InvalidInput(
                f"condition operator(s) {', '.join(unsupported)} are not evaluated by moto "
                "(they would count as satisfied)"
            )


def allows(document: dict, action: str, resource: str) -> bool:
    """Return whether the identity policy `document` allows `action` on `resource`."""
    _refuse_unevaluable(document)
    policy = IAMPolicy(json.dumps(document))
    result = policy.is_action_permitted(
        action, resource, incoming_condition_values=CONTEXT.get(action)
    )
    return result == PermissionResult.PERMITTED


def check(document: dict, calls: list[tuple[str, str]]) -> list[str]:
    """Return the calls `document` does not allow, as 'action on resource' (empty: all allowed)."""
    return [f"{a} on {r}" for a, r in calls if not allows(document, a, r)]


def excess(
    document: dict, calls: list[tuple[str, str]], probes: list[tuple[str, str]]
) -> list[str]:
    """Return the probes `document` allows that the deploy does not need (must be empty)."""
    needed = set(calls)
    return [f"{a} on {r}" for a, r in probes if (a, r) not in needed and allows(document, a, r)]
