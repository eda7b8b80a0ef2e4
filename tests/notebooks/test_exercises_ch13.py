"""Chapter 13's exercises check themselves: teardown mistakes are named, solutions pass."""

import pytest

from deploy import stack
from deploy.aws.names import DEFAULT_NAMES as names
from workbook import exercises
from workbook.checks import ch13
from workbook.solutions import ch13 as solved


def _check(exercise_id, answer, **context):
    """Evaluate one answer of chapter 13 with the given context."""
    exercise = exercises.exercises_of("13")[exercise_id]
    return exercises.evaluate(exercise, answer, {"names": names, **context})


def _text(outcome) -> str:
    return "\n".join(outcome.messages)


@pytest.mark.parametrize("exercise_id", list(exercises.exercises_of("13")))
def test_every_blank_check_says_not_done_yet_without_raising(exercise_id):
    """The chapter as shipped stays green: each blank prints 'not done yet'."""
    outcome = _check(exercise_id, ...)
    assert outcome.status == "not done"
    assert f"{exercise_id} not done yet" in str(outcome)


# ---- 13-1: the order ------------------------------------------------------------------------------


def _moved(step: str, before: str) -> list[str]:
    """Return the solved order with `step` moved just before `before`."""
    steps = [s for s in solved.order() if s != step]
    steps.insert(steps.index(before), step)
    return steps


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (_moved("cluster", "service"), "ClusterContainsServicesException"),
        (_moved("target-group", "load-balancer"), "ResourceInUse"),
        (_moved("alb-security-group", "task-security-group"), "names the ALB group as its source"),
        (_moved("alb-security-group", "scaling"), "network interfaces use the group"),
        (_moved("service", "scaling"), "the weekday 08:00 UTC schedule"),
        (_moved("repository", "service"), "CannotPullContainerError"),
        ([s for s in solved.order() if s != "scaling"], "'scaling' is missing: the scalable"),
        ([*solved.order(), "service"], "'service' appears twice"),
        ([*solved.order(), "vpc"], "unknown step(s) ['vpc']"),
        ("scaling, service", "a list of step names"),
    ],
    ids=[
        "cluster-first",
        "target-group-first",
        "alb-group-first",
        "groups-before-alb",
        "service-before-scaling",
        "images-first",
        "missing",
        "twice",
        "unknown",
        "string",
    ],
)
def test_order_check_names_the_refusal(answer, expected):
    """Each order AWS refuses (or that breaks a running task) is named with the reason."""
    outcome = _check("13-1", answer)
    assert outcome.status == "to fix"
    assert expected in _text(outcome), outcome.messages


def test_the_package_order_and_the_solution_pass():
    """stack.teardown's own order passes 13-1, as does the stored solution."""
    assert _check("13-1", ch13.package_order()).passed
    assert _check("13-1", solved.order()).passed
    assert sorted(ch13.package_order()) == sorted(ch13.STEPS)


# ---- 13-2: the secret's recovery window (moto) ------------------------------------------------------


def _secret(ctx) -> dict:
    stack.apply(ctx, names, target="secrets")
    return {"ctx": ctx, "client": ctx.client("secretsmanager"), "secret_id": names.secret}


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({}, "AWS's default when RecoveryWindowInDays is left out"),
        ({"RecoveryWindowInDays": 14}, "a 14-day window"),
        ({"ForceDeleteWithoutRecovery": True}, "gone at once (ForceDeleteWithoutRecovery)"),
        ({"RecoveryWindowInDays": 3}, "your function raised"),
    ],
    ids=["default-30", "fourteen", "force", "three"],
)
def test_secret_deletion_check_names_the_window(ctx, kwargs, expected):
    """The default window, a longer one, a forced delete and a refused 3 days: each named."""

    def delete_secret(client, secret_id):
        client.delete_secret(SecretId=secret_id, **kwargs)

    outcome = _check("13-2", delete_secret, **_secret(ctx))
    assert outcome.status == "to fix"
    assert expected in _text(outcome), outcome.messages


def test_a_function_that_deletes_nothing_is_not_done(ctx):
    """A function that leaves the secret alone: 'not done yet', naming the call to make."""
    outcome = _check("13-2", lambda client, secret_id: None, **_secret(ctx))
    assert outcome.status == "not done"
    assert "call delete_secret" in outcome.messages[0]


def test_secret_solution_passes_twice_and_the_name_stays_taken(ctx, capsys):
    """With solutions 13-2 passes twice (its reset restores the secret); the name stays taken."""
    context = _secret(ctx)
    work = exercises.chapter("13", solutions=True, ctx=ctx, names=names)
    for _ in range(2):
        work.check("13-2", ..., **{k: v for k, v in context.items() if k != "ctx"})
    assert capsys.readouterr().out.count("✓ 13-2 passed") == 2
    described = context["client"].describe_secret(SecretId=names.secret)
    assert described.get("DeletedDate") is not None
    assert any("secret" in left for left in stack.leftovers(ctx, names))


# ---- 13-3: what still bills -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (solved.billed() - {"cloudwatch alarm"}, "alarms bill per alarm and month"),
        (solved.billed() - {"dynamodb table"}, "costs nothing idle, but its stored items bill"),
        (solved.billed() | {"ec2 security-group"}, "security groups are free"),
        (solved.billed() | {"iam role"}, "a security question, not a cost one"),
        (
            solved.billed() | {"application-autoscaling scaling-policy"},
            "their CloudWatch alarms are not",
        ),
        (solved.billed() | {"nat gateway"}, "are not leftover kinds"),
        ("s3 bucket", "a set of kinds"),
    ],
    ids=["no-alarms", "no-table", "groups", "roles", "policies", "unknown", "string"],
)
def test_billed_check_names_the_mistake(answer, expected):
    """A missed billing leftover and a free one counted: each explained."""
    outcome = _check("13-3", answer)
    assert outcome.status == "to fix"
    assert expected in _text(outcome), outcome.messages


def test_billed_solution_passes():
    """The stored answer to 13-3 is exactly the billed kinds."""
    assert ch13.billed_kinds() == solved.billed()
    assert _check("13-3", solved.billed()).passed
