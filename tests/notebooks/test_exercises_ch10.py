"""Chapter 10's exercises check themselves: typical CI-identity mistakes are named, solutions pass."""

import json

import pytest

from deploy import pipeline, stack
from deploy.aws.names import DEFAULT_NAMES as names
from deploy.models import github_trust, policies
from workbook import exercises
from workbook.checks import ch10
from workbook.solutions import ch10 as solved

ACCOUNT = "123456789012"
EXECUTION = f"arn:aws:iam::{ACCOUNT}:role/{names.execution_role}"
TASK = f"arn:aws:iam::{ACCOUNT}:role/{names.task_role}"
PROVIDER = f"arn:aws:iam::{ACCOUNT}:oidc-provider/{policies.GITHUB_OIDC_HOST}"
SUB, AUD = github_trust.SUB, github_trust.AUD
MAIN = f"repo:{names.github_repo}:ref:refs/heads/main"


def _check(exercise_id, answer, **context):
    """Evaluate one answer of chapter 10 with the given context."""
    exercise = exercises.exercises_of("10")[exercise_id]
    return exercises.evaluate(exercise, answer, {"names": names, **context})


def _text(outcome) -> str:
    return "\n".join(outcome.messages)


@pytest.mark.parametrize("exercise_id", list(exercises.exercises_of("10")))
def test_every_blank_check_says_not_done_yet_without_raising(exercise_id):
    """The chapter as shipped stays green: each blank prints 'not done yet'."""
    outcome = _check(exercise_id, ...)
    assert outcome.status == "not done"
    assert f"{exercise_id} not done yet" in str(outcome)


# ---- the trust model ----------------------------------------------------------------------------


def _trust(condition=None, action=github_trust.WEB_IDENTITY, principal=None) -> dict:
    statement = {
        "Effect": "Allow",
        "Principal": principal or {"Federated": PROVIDER},
        "Action": action,
    }
    if condition is not None:
        statement["Condition"] = condition
    return {"Version": "2012-10-17", "Statement": [statement]}


def test_the_reference_trust_admits_only_the_deploy_run():
    """The package's GitHub trust admits a push to main and refuses every other token."""
    reference = policies.github_oidc_trust(PROVIDER, names.github_repo)
    admitted = github_trust.who_can_assume(reference, PROVIDER, names.github_repo)
    assert [who for who, ok in admitted.items() if ok] == ["aws.yml's own run (a push to main)"]


def test_a_wildcard_in_string_like_admits_and_in_string_equals_does_not():
    """StringLike treats * as a wildcard; StringEquals compares it literally."""
    claims = {SUB: "repo:stranger/x:ref:refs/heads/main", AUD: "sts.amazonaws.com"}
    assert github_trust.trust_admits(_trust({"StringLike": {SUB: "repo:*"}}), PROVIDER, claims)
    assert not github_trust.trust_admits(
        _trust({"StringEquals": {SUB: "repo:*"}}), PROVIDER, claims
    )
    assert github_trust.trust_admits(
        _trust({"ForAllValues:StringEquals": {"other": "x"}}), PROVIDER, claims
    )


@pytest.mark.parametrize(
    ("trust", "expected"),
    [
        (_trust({"StringEquals": {AUD: "sts.amazonaws.com"}}), "any repository, anyone's"),
        (
            _trust({"StringLike": {SUB: "repo:*"}, "StringEquals": {AUD: "sts.amazonaws.com"}}),
            "it also admits a stranger's repository",
        ),
        (
            _trust(
                {
                    "StringLike": {SUB: f"repo:{names.github_repo}:*"},
                    "StringEquals": {AUD: "sts.amazonaws.com"},
                }
            ),
            "it also admits a pull request's run",
        ),
        (
            _trust(
                {"StringEquals": {SUB: f"repo:{names.github_repo}:*", AUD: "sts.amazonaws.com"}}
            ),
            "StringEquals compares literally",
        ),
        (
            _trust(
                {"StringEquals": {SUB: MAIN.replace("main", "master"), AUD: "sts.amazonaws.com"}}
            ),
            f"fails with '{github_trust.NOT_AUTHORIZED}'",
        ),
        (
            _trust({"StringEquals": {SUB: f"repo:{names.github_repo}:environment:production"}}),
            "aws.yml's deploy job names none",
        ),
        (_trust(None, action="sts:AssumeRole"), "sts:AssumeRole is for AWS principals"),
        (_trust(None, principal={"Service": "ecs-tasks.amazonaws.com"}), "'Federated'"),
        (_trust({"StringEquals": {SUB: MAIN}}), f"no {AUD} condition"),
        (_trust({"ForAllValues:StringEquals": {SUB: MAIN}}), "true when the key is absent"),
    ],
    ids=[
        "no-sub",
        "repo-star",
        "repository-star",
        "equals-star",
        "master",
        "environment",
        "assume-role",
        "service",
        "no-aud",
        "for-all-values",
    ],
)
def test_trust_problems_name_the_typical_mistake(trust, expected):
    """Each typical GitHub trust-policy mistake gets its own diagnosis."""
    problems = github_trust.github_trust_problems(trust, PROVIDER, names.github_repo)
    assert any(expected in p for p in problems), problems


# ---- 10-1: the PassRole statement -----------------------------------------------------------------


def _pass_role(**changes) -> dict:
    return {**solved.pass_role(EXECUTION, TASK), **changes}


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (_pass_role(Resource="*"), "iam:PassRole on every role"),
        (_pass_role(Resource=[f"arn:aws:iam::{ACCOUNT}:role/*"]), "privilege escalation"),
        (
            _pass_role(Resource=[EXECUTION]),
            f"'{pipeline.DEPLOY}' fails with AccessDenied on iam:PassRole",
        ),
        (_pass_role(Condition={}), "no iam:PassedToService condition"),
        (
            _pass_role(Condition={"StringEquals": {"iam:PassedToService": "ecs.amazonaws.com"}}),
            "this condition never matches",
        ),
        (_pass_role(Action="iam:*"), "make themselves an administrator"),
        (_pass_role(Action=["sts:AssumeRole"]), "lacks iam:PassRole"),
        ("iam:PassRole", "the answer is one statement"),
    ],
    ids=[
        "star",
        "every-role",
        "execution-only",
        "no-condition",
        "ecs-not-ecs-tasks",
        "iam-star",
        "wrong-action",
        "not-a-dict",
    ],
)
def test_pass_role_check_names_the_mistake(answer, expected):
    """Every role, a missing role, no condition, the wrong service, iam:*: each named."""
    outcome = _check("10-1", answer, execution_role_arn=EXECUTION, task_role_arn=TASK)
    assert outcome.status == "to fix"
    assert expected in _text(outcome), outcome.messages


def test_pass_role_passes_in_any_resource_order():
    """The two roles in either order pass; the stored solution passes."""
    unsorted = _pass_role(Resource=[TASK, EXECUTION], Action="iam:PassRole")
    for answer in (solved.pass_role(EXECUTION, TASK), unsorted):
        assert _check("10-1", answer, execution_role_arn=EXECUTION, task_role_arn=TASK).passed


# ---- 10-2: the CI role (moto) ---------------------------------------------------------------------


def _deploy_identity(ctx) -> dict:
    """Make the provider and the reference deploy policy; return 10-2's context."""
    stack.apply(ctx, names, target="secrets")
    iam = ctx.client("iam")
    provider = iam.create_open_id_connect_provider(
        Url=f"https://{policies.GITHUB_OIDC_HOST}",
        ClientIDList=[policies.GITHUB_AUDIENCE],
        Tags=names.tag_list(),
    )["OpenIDConnectProviderArn"]
    secret = ctx.client("secretsmanager").describe_secret(SecretId=names.secret)["ARN"]
    doc = policies.stack_policies(names, ctx.account_id, ctx.region, secret_arn=secret)
    policy = iam.create_policy(
        PolicyName=ch10.policy_name(names),
        PolicyDocument=json.dumps(doc[ch10.policy_name(names)]),
        Tags=names.tag_list(),
    )["Policy"]["Arn"]
    return {
        "ctx": ctx,
        "client": iam,
        "provider_arn": provider,
        "repo": names.github_repo,
        "policy_arn": policy,
    }


def _role_with(condition, attach=True):
    """Return a create_ci_role that writes `condition` into the trust policy."""

    def create_ci_role(client, provider_arn, repo, policy_arn):
        trust = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Federated": provider_arn},
                    "Action": "sts:AssumeRoleWithWebIdentity",
                    "Condition": condition,
                }
            ],
        }
        client.create_role(
            RoleName=names.ci_role,
            AssumeRolePolicyDocument=json.dumps(trust),
            Tags=names.tag_list(),
        )
        if attach:
            client.attach_role_policy(RoleName=names.ci_role, PolicyArn=policy_arn)

    return create_ci_role


def test_role_that_any_repository_can_assume_is_named(ctx):
    """StringLike repo:* on sub: the stranger's repository is named, with the reason."""
    context = _deploy_identity(ctx)
    condition = {"StringEquals": {AUD: "sts.amazonaws.com"}, "StringLike": {SUB: "repo:*"}}
    outcome = _check("10-2", _role_with(condition), **context)
    text = _text(outcome)
    assert outcome.status == "to fix"
    assert "it also admits a stranger's repository" in text
    assert "anyone's, can take this role" in text


def test_role_without_the_policy_says_the_login_fails(ctx):
    """A role with the right trust and no policy: the ECR login step is denied."""
    context = _deploy_identity(ctx)
    condition = {"StringEquals": {AUD: "sts.amazonaws.com", SUB: MAIN}}
    outcome = _check("10-2", _role_with(condition, attach=False), **context)
    assert f"in '{pipeline.LOGIN}', is denied" in _text(outcome)


def test_role_check_waits_for_the_policy(ctx):
    """Without the deploy policy (10-1 not done) the check says so instead of failing."""
    context = {**_deploy_identity(ctx), "policy_arn": f"arn:aws:iam::{ACCOUNT}:policy/missing"}
    outcome = _check("10-2", solved.create_ci_role, **context)
    assert outcome.status == "not done"
    assert "finish exercise 10-1" in outcome.messages[0]


def test_ci_solutions_pass_twice_and_match_the_reference(ctx, capsys):
    """With solutions injected 10-1 and 10-2 pass, twice, and compare_ci shows 0 changes."""
    context = _deploy_identity(ctx)
    work = exercises.chapter("10", solutions=True, ctx=ctx, names=names)
    for _ in range(2):  # each attempt deletes the role the one before made
        work.check("10-1", ..., execution_role_arn=EXECUTION, task_role_arn=TASK)
        work.check("10-2", ..., **{k: v for k, v in context.items() if k != "ctx"})
    assert capsys.readouterr().out.count("passed") == 4
    comparison = ch10.compare_ci(ctx, names)
    assert comparison.matches, comparison
    assert str(comparison).startswith("0 changes")


def test_compare_explains_a_wide_trust_and_a_policy_that_reads_secrets(ctx):
    """Drift on the CI role and its policy is explained in CI terms, not ECS ones."""
    context = _deploy_identity(ctx)
    solved.create_ci_role(ctx.client("iam"), **{k: context[k] for k in ("provider_arn", "repo")},
                          policy_arn=context["policy_arn"])  # fmt: skip
    wide = _trust({"StringLike": {SUB: f"repo:{names.github_repo}:*"}})
    wide["Statement"][0]["Principal"]["Federated"] = context["provider_arn"]
    iam = ctx.client("iam")
    iam.update_assume_role_policy(RoleName=names.ci_role, PolicyDocument=json.dumps(wide))
    doc = iam.get_policy_version(PolicyArn=context["policy_arn"], VersionId="v1")
    document = doc["PolicyVersion"]["Document"]
    document["Statement"].append(
        {"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": "*"}
    )
    iam.create_policy_version(
        PolicyArn=context["policy_arn"], PolicyDocument=json.dumps(document), SetAsDefault=True
    )
    text = str(ch10.compare_ci(ctx, names))
    assert "it also admits a push to another branch of the repository" in text
    assert "ECS tasks assume roles" not in text  # not the task roles' explanation
    assert "grants secretsmanager:GetSecretValue, which the reference does not" in text


# ---- 10-3: the actions ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (
            solved.actions() - {"iam:PassRole"},
            f"lacks iam:PassRole: the step '{pipeline.DEPLOY}' fails with AccessDenied",
        ),
        (
            solved.actions() - {"secretsmanager:DescribeSecret"},
            f"the step '{pipeline.FILL}' fails",
        ),
        (solved.actions() | {"secretsmanager:GetSecretValue"}, "never its value"),
        (solved.actions() | {"sts:AssumeRoleWithWebIdentity"}, "trust policy allows"),
        (solved.actions() | {"sts:GetCallerIdentity"}, "it needs no permission"),
        (solved.actions() | {"ecr:PushImage"}, "not among the candidates"),
        ("ecr:PutImage", "a set of action names"),
    ],
    ids=["no-passrole", "no-describe", "get-value", "web-identity", "caller", "typo", "string"],
)
def test_actions_check_names_the_mistake(answer, expected):
    """A missing action names the step that fails; an extra one says why it is not needed."""
    outcome = _check("10-3", answer)
    assert outcome.status == "to fix"
    assert expected in _text(outcome), outcome.messages


def test_needed_actions_come_from_the_reference_policy():
    """The answer to 10-3 is what the reference CI policy grants among the candidates."""
    assert ch10.needed_actions() == solved.actions()
    assert _check("10-3", list(solved.actions())).passed


# ---- 10-4: the first failing step ------------------------------------------------------------------


def test_workflow_steps_are_the_pipeline_steps():
    """The step names the check reads from aws.yml are deploy.pipeline's."""
    steps = ch10.workflow_steps()
    for name in (pipeline.CREDENTIALS, pipeline.BUILD_PUSH, pipeline.FILL, pipeline.RENDER):
        assert name in steps


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        (
            {"pass-execution-role-only": pipeline.VERIFY},
            "the first to fail is 'Register the revision and update the service'",
        ),
        ({"wrong-container-name": pipeline.DEPLOY}, "An earlier step already fails."),
        ({"ci-tests-fail": pipeline.CREDENTIALS}, "so no step runs"),
        ({"trust-names-master": "Assume role"}, "is not a step of aws.yml"),
        ({"push-to-other-repository": pipeline.LOGIN}, "GetAuthorizationToken takes '*'"),
    ],
    ids=["verify", "later-step", "skipped", "unknown", "login"],
)
def test_first_failure_check_names_the_mistake(changes, expected):
    """A later step, a wrong skip, an unknown name: each explained."""
    outcome = _check("10-4", {**solved.first_failure(), **changes})
    assert outcome.status == "to fix"
    assert expected in _text(outcome), outcome.messages


def test_value_solutions_pass():
    """The stored answers to 10-3 and 10-4 pass; a dict with missing keys is refused."""
    assert _check("10-3", solved.actions()).passed
    assert _check("10-4", solved.first_failure()).passed
    assert "exactly the keys" in _text(_check("10-4", {"ci-tests-fail": ch10.SKIPPED}))
