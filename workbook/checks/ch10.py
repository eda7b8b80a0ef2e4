"""Chapter 10's exercises: the CI role's PassRole and trust, its permissions, the failing step."""

from __future__ import annotations

import json

import yaml
from botocore.exceptions import ClientError

from deploy import pipeline, stack
from deploy.aws.names import StackNames
from deploy.models import policies
from deploy.models.github_trust import GITHUB, NOT_AUTHORIZED, github_trust_problems
from deploy.resources.contract import Change
from service.aws import AwsContext
from workbook import compare
from workbook.exercises import Exercise, NotDone

SKIPPED = "the deploy job is skipped"  # 10-4's answer when no step of aws.yml runs


# ---- the CI identities against the package's reference ----------------------------------------


def provider_arn(ctx: AwsContext) -> str:
    """Return the ARN IAM gives GitHub's OIDC provider in this account."""
    return f"arn:aws:iam::{ctx.account_id}:oidc-provider/{GITHUB}"


def policy_name(names: StackNames) -> str:
    """Return the name of the CI deploy policy (the reference's)."""
    return f"{names.ci_user}-deploy-policy"


def _explain(change: Change, ctx: AwsContext, names: StackNames) -> list[compare.Finding]:
    """Explain one planned update of a CI identity, field by field."""
    found = []
    for field, pair in change.detail.items():
        have, want = pair if isinstance(pair, tuple) and len(pair) == 2 else (pair, None)
        if (change.kind, field) == ("iam-policy", "document"):
            messages = compare.policy_findings(have, want, names.ci_role, names)
        else:
            one = Change(change.kind, change.name, change.action, {field: pair})
            found += compare.explain(one, names)
            continue
        found += [compare.Finding(change.kind, change.name, field, m) for m in messages]
    return found


def compare_ci(ctx: AwsContext, names: StackNames) -> compare.Comparison:
    """Compare the provider, the deploy policy and the CI role with the reference, CI-aware."""
    # compare explains the CI role's GitHub trust itself; the CI policy's document is judged
    # here against the CI role (compare's policy explainer assumes a task's role otherwise).
    wanted = {provider_arn(ctx), policy_name(names), names.ci_role}
    result = compare.Comparison(checked=sorted(wanted))
    for change in stack.plan(ctx, names, target="iam").changes:
        if change.name not in wanted:
            continue
        if change.action == "create":
            result.missing.append(change)
        elif change.action in ("update", "delete"):
            result.findings += _explain(change, ctx, names)
    return result


# ---- 10-1: the PassRole statement -------------------------------------------------------------


def pass_role_reference(execution_role_arn: str, task_role_arn: str) -> dict:
    """Return the reference's PassRole statement (the one in policies.ci_policy)."""
    doc = policies.ci_policy("r", "s", [execution_role_arn, task_role_arn], "t", "x")
    return next(s for s in doc["Statement"] if s["Sid"] == "PassTheTaskRolesToEcs")


def _resource_problems(resources: list[str], execution_role_arn: str, task_role_arn: str) -> list:
    if any(r == "*" or r.endswith(":role/*") for r in resources):
        return [
            "iam:PassRole on every role: the workflow could register a task definition that "
            "names ANY role in the account, an administrator's included, and a task running "
            "with it does whatever that role may (privilege escalation); list the two ECS roles"
        ]
    problems = []
    for arn, what, field in (
        (execution_role_arn, "execution role", "executionRoleArn"),
        (task_role_arn, "task role", "taskRoleArn"),
    ):
        if not any(
            r == arn or (("*" in r or "?" in r) and policies.string_like(r, arn)) for r in resources
        ):
            problems.append(
                f"the {what} {arn.rsplit('/', 1)[1]} is missing: the revision names it "
                f"({field}) and ECS checks iam:PassRole on each role it names, so the step "
                f"'{pipeline.DEPLOY}' fails with AccessDenied on iam:PassRole and no revision "
                "is registered"
            )
    for r in resources:
        if r not in (execution_role_arn, task_role_arn):
            problems.append(
                f"{r} is passed too: the task definition names only the two ECS roles, and "
                "every other role CI may hand out widens what a workflow can become"
            )
    return problems


def _condition_problems(condition: object) -> list[str]:
    if not condition:
        return [
            "no iam:PassedToService condition: with it, the roles can be handed to ECS tasks "
            "only, never to an EC2 instance or a Lambda function the workflow might create; "
            f"add {{'StringEquals': {{'iam:PassedToService': '{policies.ECS_TASKS}'}}}}"
        ]
    pairs = condition.get("StringEquals") or condition.get("StringLike") or {}
    values = policies.listed(pairs.get("iam:PassedToService")) if isinstance(pairs, dict) else []
    if values == [policies.ECS_TASKS]:
        return []
    if not values:
        return [
            f"the condition is {condition}: the reference limits the pass with StringEquals "
            f"on iam:PassedToService = {policies.ECS_TASKS}"
        ]
    return [
        f"iam:PassedToService is {values}: ECS passes the roles to {policies.ECS_TASKS} (the "
        "principal their trust policies name), so this condition never matches and "
        "registering the revision is denied"
    ]


def check_pass_role(answer: object, execution_role_arn: str, task_role_arn: str) -> list[str]:
    """Check the CI policy's PassRole statement: the two ECS roles, to ECS tasks only."""
    if not isinstance(answer, dict):
        return ["the answer is one statement: {'Sid': ..., 'Effect': 'Allow', 'Action': ...}"]
    if answer.get("Effect") != "Allow":
        return [f"Effect is {answer.get('Effect')!r}: this statement grants, so 'Allow'"]
    actions = [str(a) for a in policies.listed(answer.get("Action"))]
    if any(a in ("*", "iam:*") or (a.startswith("iam:") and "*" in a) for a in actions):
        return [
            f"Action {actions}: iam:* also grants iam:CreateRole, iam:AttachRolePolicy and "
            "iam:PutRolePolicy, so whoever controls a workflow run can make themselves an "
            "administrator; grant iam:PassRole only"
        ]
    problems = []
    if "iam:PassRole" not in actions:
        problems.append(
            f"Action {actions} lacks iam:PassRole: registering a revision that names roles "
            "needs it, and nothing else in this statement"
        )
    elif len(actions) > 1:
        problems.append(f"Action {actions}: this statement needs iam:PassRole only")
    resources = [str(r) for r in policies.listed(answer.get("Resource"))]
    problems += _resource_problems(resources, execution_role_arn, task_role_arn)
    problems += _condition_problems(answer.get("Condition"))
    if problems:
        return problems
    reference = pass_role_reference(execution_role_arn, task_role_arn)
    tidy = {**answer, "Action": actions, "Resource": sorted(resources)}
    if tidy != reference:
        return [
            "grants what the reference does but is written differently (Sid or operator); "
            f"plan compares documents exactly: {json.dumps(reference)}"
        ]
    return []


# ---- 10-2: the CI role, trusting GitHub's provider (moto) --------------------------------------


def _missing(exc: ClientError) -> bool:
    return exc.response["Error"]["Code"] in ("NoSuchEntity", "NoSuchEntityException")


def check_ci_role(
    answer: object, ctx: AwsContext, names: StackNames, provider_arn: str, policy_arn: str
) -> list[str]:
    """Check the CI role the learner's function made: its trust and its one attached policy."""
    iam = ctx.client("iam")
    try:
        role = iam.get_role(RoleName=names.ci_role)["Role"]
    except ClientError as exc:
        if _missing(exc):
            raise NotDone(
                f"no role {names.ci_role} after your function ran: call create_role"
            ) from None
        raise
    trust = role["AssumeRolePolicyDocument"]
    problems = github_trust_problems(trust, provider_arn, names.github_repo)
    attached = {
        p["PolicyArn"]
        for p in iam.list_attached_role_policies(RoleName=names.ci_role)["AttachedPolicies"]
    }
    if policy_arn not in attached:
        problems.append(
            f"the deploy policy is not attached: the role can be assumed but may do nothing, so "
            f"the first AWS call after the credentials, in '{pipeline.LOGIN}', is denied "
            "(attach_role_policy)"
        )
    for arn in sorted(attached - {policy_arn}):
        problems.append(
            f"{arn.rsplit('/', 1)[1]} is attached too: every right in it goes to whoever "
            "controls a workflow run; the deploy policy alone is what aws.yml needs"
        )
    for inline in iam.list_role_policies(RoleName=names.ci_role)["PolicyNames"]:
        problems.append(
            f"inline policy {inline}: the CI's rights live in one managed policy (the one "
            "attached), so there is one document to review"
        )
    if problems:
        return problems
    found = compare.against_reference(ctx, names, {"iam": [names.ci_role]})
    return [f"{f.field}: {f.message}" for f in found.findings if f.field != "trust"]


def reset_ci_role(ctx: AwsContext, names: StackNames, policy_arn: str) -> None:
    """Delete the CI role an earlier attempt (or the package) made, detaching its policies."""
    iam = ctx.client("iam")
    try:
        iam.get_policy(PolicyArn=policy_arn)
    except ClientError as exc:
        if _missing(exc):
            raise NotDone(
                f"the deploy policy {policy_arn.rsplit('/', 1)[1]} does not exist yet: finish "
                "exercise 10-1 and run the policy cell first"
            ) from None
        raise
    try:
        attached = iam.list_attached_role_policies(RoleName=names.ci_role)["AttachedPolicies"]
    except ClientError as exc:
        if _missing(exc):
            return
        raise
    for p in attached:
        iam.detach_role_policy(RoleName=names.ci_role, PolicyArn=p["PolicyArn"])
    for inline in iam.list_role_policies(RoleName=names.ci_role)["PolicyNames"]:
        iam.delete_role_policy(RoleName=names.ci_role, PolicyName=inline)
    iam.delete_role(RoleName=names.ci_role)


# ---- 10-3: which actions the deploy workflow needs ----------------------------------------------

CANDIDATES = (
    "ecr:GetAuthorizationToken",
    "ecr:PutImage",
    "ecr:CreateRepository",
    "ecr:DeleteRepository",
    "ecs:RegisterTaskDefinition",
    "ecs:UpdateService",
    "ecs:DescribeServices",
    "ecs:CreateService",
    "ecs:DeleteService",
    "secretsmanager:DescribeSecret",
    "secretsmanager:GetSecretValue",
    "iam:PassRole",
    "iam:CreateRole",
    "logs:CreateLogGroup",
    "sts:AssumeRoleWithWebIdentity",
    "sts:GetCallerIdentity",
)
# The aws.yml step that needs each action, and what for.
NEEDED_BY = {
    "ecr:GetAuthorizationToken": (pipeline.LOGIN, "amazon-ecr-login asks ECR for a password"),
    "ecr:PutImage": (pipeline.BUILD_PUSH, "a push ends with PutImage, which writes the tag"),
    "ecs:RegisterTaskDefinition": (pipeline.DEPLOY, "the deploy action registers the revision"),
    "iam:PassRole": (pipeline.DEPLOY, "the revision names the execution and task roles"),
    "ecs:UpdateService": (pipeline.DEPLOY, "it points the service at the new revision"),
    "ecs:DescribeServices": (
        pipeline.DEPLOY,
        "wait-for-service-stability polls it (and the last step reads it again)",
    ),
    "secretsmanager:DescribeSecret": (
        pipeline.FILL,
        "the fill step looks up the secret's full ARN with describe-secret",
    ),
}
WHY_NOT_NEEDED = {
    "ecr:CreateRepository": (
        "the stack makes the repository once; a pipeline that creates a missing one hides a "
        "wrong name, where a failed push would say so"
    ),
    "ecr:DeleteRepository": (
        "no step deletes anything; a compromised workflow could delete the images production "
        "runs from"
    ),
    "ecs:CreateService": "the service exists (chapter 08); the workflow only updates it",
    "ecs:DeleteService": (
        "no step deletes anything; whoever controls a workflow run could take production down"
    ),
    "secretsmanager:GetSecretValue": (
        "the workflow needs the secret's ARN, never its value: ECS reads the value through the "
        "execution role; with it, any workflow run could print the API keys to its log"
    ),
    "iam:CreateRole": (
        "with CreateRole and PassRole a workflow could make a role with any rights and run a "
        "task as it; IAM is the stack's job, not the pipeline's"
    ),
    "logs:CreateLogGroup": (
        "ECS creates the log group through the execution role (awslogs-create-group), not CI"
    ),
    "sts:AssumeRoleWithWebIdentity": (
        "that is what the role's trust policy allows GitHub's token to do; it is never a "
        "permission of the role itself"
    ),
    "sts:GetCallerIdentity": (
        "the fill step calls it, but it needs no permission: AWS answers it for any caller, "
        "even one with an explicit deny"
    ),
}


def needed_actions() -> set[str]:
    """Return the candidates the reference CI policy grants (the right answer to 10-3)."""
    doc = policies.ci_policy("r", "s", ["e", "t"], "d", "x")
    granted = {a for s in doc["Statement"] for a in policies.listed(s["Action"])}
    return {a for a in CANDIDATES if a in granted}


def check_actions(answer: object) -> list[str]:
    """Check which candidate actions the CI role needs: each missing or extra one explained."""
    if not isinstance(answer, set | frozenset | list | tuple) or not all(
        isinstance(a, str) for a in answer
    ):
        return ["the answer is a set of action names, e.g. {'ecr:PutImage', ...}"]
    chosen = set(answer)
    unknown = sorted(chosen - set(CANDIDATES))
    if unknown:
        return [f"{unknown} are not among the candidates (check the spelling): {CANDIDATES}"]
    problems = []
    for action in sorted(needed_actions() - chosen):
        step, why = NEEDED_BY[action]
        problems.append(f"lacks {action}: the step '{step}' fails with AccessDenied ({why})")
    for action in sorted(chosen - needed_actions()):
        problems.append(f"{action} is not needed: {WHY_NOT_NEEDED[action]}")
    return problems


# ---- 10-4: which step of aws.yml fails first ---------------------------------------------------

# scenario -> (what is wrong, the step that fails first, why that one)
SCENARIOS = {
    "trust-names-master": (
        "the CI role's trust policy pins sub to ...:ref:refs/heads/master",
        pipeline.CREDENTIALS,
        f"STS refuses a main-branch token ('{NOT_AUTHORIZED}'); the checkout before it talks "
        "to GitHub only",
    ),
    "no-id-token-permission": (
        "aws.yml loses `id-token: write` from its permissions",
        pipeline.CREDENTIALS,
        "without it the runner cannot ask GitHub for an OIDC token, so the action has nothing "
        "to trade with STS",
    ),
    "push-to-other-repository": (
        "the CI policy's ECR push statement names repository/llmops-old",
        pipeline.BUILD_PUSH,
        "the login still works (GetAuthorizationToken takes '*'); the first call on the "
        "repository, a layer upload, is denied",
    ),
    "wrong-secret-name": (
        "SECRET_NAME in aws.yml's env says llmops-prod",
        pipeline.FILL,
        "describe-secret finds no such secret (or may not read it), and the command "
        "substitution's failure ends the bash step",
    ),
    "wrong-container-name": (
        "CONTAINER_NAME in aws.yml's env says llmops",
        pipeline.RENDER,
        "the render action finds no container of that name in the task definition and fails; "
        "nothing is registered",
    ),
    "pass-execution-role-only": (
        "iam:PassRole lists the execution role only",
        pipeline.DEPLOY,
        "RegisterTaskDefinition checks iam:PassRole on both roles the revision names; the "
        "task role is denied, so no revision is registered and the service is untouched",
    ),
    "ci-tests-fail": (
        "ci.yml's tests fail on the merged commit",
        SKIPPED,
        "workflow_run fires on completion, but the job's if: requires conclusion == "
        "'success', so no step runs",
    ),
}


def workflow_steps() -> list[str]:
    """Return the names of aws.yml's deploy steps, in order, read from the repository's file."""
    workflow = yaml.safe_load((pipeline.ROOT / ".github/workflows/aws.yml").read_text())
    return [step["name"] for step in workflow["jobs"]["deploy"]["steps"]]


def check_first_failure(answer: object) -> list[str]:
    """Check, for each scenario, the aws.yml step that fails first (or that the job is skipped)."""
    if not isinstance(answer, dict) or set(answer) != set(SCENARIOS):
        return [f"the answer is a dict with exactly the keys {sorted(SCENARIOS)}"]
    known = [*workflow_steps(), SKIPPED]
    problems = []
    for key, (what, right, why) in SCENARIOS.items():
        given = answer[key]
        if given not in known:
            problems.append(f"{key}: {given!r} is not a step of aws.yml (use STEPS[i] or SKIPPED)")
        elif given != right:
            earlier = (
                given != SKIPPED and right != SKIPPED and known.index(given) > known.index(right)
            )
            hint = " An earlier step already fails." if earlier else ""
            problems.append(f"{key} ({what}): the first to fail is '{right}': {why}.{hint}")
    return problems


EXERCISES = [
    Exercise(
        "10-1",
        "Write the CI policy's PassRole statement: the two ECS roles only, and only to ECS tasks.",
        check_pass_role,
    ),
    Exercise(
        "10-2",
        "Complete create_ci_role: the role GitHub's tokens assume, trusting only aws.yml's runs "
        "on main of the repository, with the deploy policy attached. (Each run deletes the role "
        "an earlier attempt made, then calls your function.)",
        check_ci_role,
        args=("client", "provider_arn", "repo", "policy_arn"),
        reset=reset_ci_role,
    ),
    Exercise(
        "10-3",
        "From CANDIDATES, choose every action the deploy workflow needs, and no other.",
        check_actions,
    ),
    Exercise(
        "10-4",
        "For each scenario, name the aws.yml step that fails first (or SKIPPED).",
        check_first_failure,
    ),
]
