"""The CI deploy policy allows exactly the calls aws.yml makes, checked with moto's evaluator."""

import copy

import pytest

from deploy.aws.errors import InvalidInput, PermissionDenied
from deploy.aws.names import DEFAULT_NAMES
from deploy.models import leastpriv, policies
from deploy.resources import iam, secrets

N = DEFAULT_NAMES
ACCOUNT = "123456789012"
REGION = "us-east-1"
SECRET_ARN = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:{N.secret}-AbCdEf"
CALLS = leastpriv.render(leastpriv.CI_DEPLOY_CALLS, N, ACCOUNT, REGION, SECRET_ARN)
PROBES = leastpriv.render(leastpriv.EXCESS_PROBES, N, ACCOUNT, REGION, SECRET_ARN)
NEEDED_ACTIONS = sorted({action for action, _ in CALLS})


def ci_document() -> dict:
    docs = policies.stack_policies(N, ACCOUNT, REGION, secret_arn=SECRET_ARN)
    return copy.deepcopy(docs[f"{N.ci_user}-deploy-policy"])


def without(document: dict, action: str) -> dict:
    """Return the document with `action` removed from every statement (empty ones dropped)."""
    kept = []
    for st in document["Statement"]:
        actions = [st["Action"]] if isinstance(st["Action"], str) else st["Action"]
        remaining = [a for a in actions if a != action]
        if remaining:
            kept.append({**st, "Action": remaining})
    return {**document, "Statement": kept}


def test_the_calls_name_the_real_resources():
    assert ("ecr:PutImage", f"arn:aws:ecr:us-east-1:{ACCOUNT}:repository/llmops") in CALLS
    assert ("secretsmanager:DescribeSecret", SECRET_ARN) in CALLS
    assert (
        "ecs:UpdateService",
        f"arn:aws:ecs:us-east-1:{ACCOUNT}:service/llmopscluster/llmops-service-2",
    ) in CALLS
    assert ("iam:PassRole", f"arn:aws:iam::{ACCOUNT}:role/ecsTaskExecutionRole") in CALLS


def test_the_ci_policy_allows_every_deploy_call_and_no_probe():
    document = ci_document()
    assert leastpriv.check(document, CALLS) == []
    assert leastpriv.excess(document, CALLS, PROBES) == []


@pytest.mark.parametrize("action", NEEDED_ACTIONS)
def test_removing_one_needed_action_is_reported_as_exactly_that_call(action):
    missing = leastpriv.check(without(ci_document(), action), CALLS)
    # iam:PassRole is needed twice (execution role and task role), everything else once
    assert missing == [f"{a} on {r}" for a, r in CALLS if a == action]
    assert all(m.startswith(f"{action} on ") for m in missing)


def test_a_widened_policy_is_caught_by_excess():
    document = ci_document()
    document["Statement"].append({"Effect": "Allow", "Action": "ecs:*", "Resource": "*"})
    assert leastpriv.check(document, CALLS) == []  # still deploys...
    found = leastpriv.excess(document, CALLS, PROBES)  # ...but can do far more
    assert found == [f"{a} on {r}" for a, r in PROBES if a.startswith("ecs:")]
    assert any(f.startswith("ecs:DeleteService on ") for f in found)


def test_a_resource_widened_to_star_is_caught_by_excess():
    document = ci_document()
    for st in document["Statement"]:
        if st["Sid"] == "FindTheSecretArn":
            st["Action"].append("secretsmanager:GetSecretValue")
    assert leastpriv.excess(document, CALLS, PROBES) == [
        f"secretsmanager:GetSecretValue on {SECRET_ARN}"
    ]


def test_passrole_to_another_service_is_refused_by_the_condition(monkeypatch):
    # moto evaluates StringEquals on iam:PassedToService when the context supplies it
    lambda_ctx = {"iam:PassRole": {"iam:PassedToService": "lambda.amazonaws.com"}}
    monkeypatch.setattr(leastpriv, "CONTEXT", lambda_ctx)
    missing = leastpriv.check(ci_document(), CALLS)
    assert missing == [f"iam:PassRole on {r}" for a, r in CALLS if a == "iam:PassRole"]


def test_the_question_mark_wildcard_is_refused_not_misread():
    document = policies.stack_policies(N, ACCOUNT, REGION)[f"{N.ci_user}-deploy-policy"]
    with pytest.raises(InvalidInput, match=r"'\?' wildcard"):
        leastpriv.check(document, CALLS)


def test_a_condition_moto_cannot_evaluate_is_refused():
    document = ci_document()
    document["Statement"][0]["Condition"] = {"StringLike": {"aws:userid": "x*"}}
    with pytest.raises(InvalidInput, match="StringLike"):
        leastpriv.check(document, CALLS)


@pytest.mark.parametrize("document", [[], {"Version": "2012-10-17"}])
def test_a_document_without_statements_is_refused(document):
    with pytest.raises(InvalidInput, match="Statement"):
        leastpriv.check(document, CALLS)


@pytest.mark.parametrize("account", ["12345", "abcdefghijkl", 123456789012])
def test_a_bad_account_id_is_refused(account):
    with pytest.raises(InvalidInput, match="12-digit"):
        leastpriv.render(leastpriv.CI_DEPLOY_CALLS, N, account, REGION, SECRET_ARN)


@pytest.mark.parametrize("region", ["", "us_east_1", None])
def test_a_bad_region_is_refused(region):
    with pytest.raises(InvalidInput, match="region"):
        leastpriv.render(leastpriv.CI_DEPLOY_CALLS, N, ACCOUNT, region, SECRET_ARN)


def test_the_calls_follow_the_region():
    calls = leastpriv.render(leastpriv.CI_DEPLOY_CALLS, N, ACCOUNT, "eu-west-3", SECRET_ARN)
    scoped = [r for _, r in calls if r.startswith(("arn:aws:ecr:", "arn:aws:ecs:"))]
    assert scoped and all(f":eu-west-3:{ACCOUNT}:" in r for r in scoped)


def test_as_the_ci_user_the_star_resource_calls_succeed_and_others_are_refused(ctx, as_ci_user):
    # End to end on moto's request-time enforcement. Only the calls the policy grants on "*"
    # can succeed here: moto matches Resource only for S3 and uses "*" as the resource of
    # every other request, so the repository/service/role-scoped grants look denied. Those
    # scoped calls are proven above by evaluating the same policy against their real ARNs.
    iam.ensure(ctx, N, secrets=secrets.ensure(ctx, N).outputs, ci_user=True)
    ctx.client("ecs").register_task_definition(
        family=N.family,
        containerDefinitions=[{"name": N.container, "image": "app:1", "memory": 512}],
    )
    with as_ci_user() as ci:
        assert ci.client("ecr").get_authorization_token()["authorizationData"]
        td = ci.client("ecs").describe_task_definition(taskDefinition=N.family)["taskDefinition"]
        assert td["family"] == N.family
        # the value of the secret is not the CI identity's to read
        with pytest.raises(PermissionDenied, match="secretsmanager:GetSecretValue"):
            secrets.keys(ci, N)
