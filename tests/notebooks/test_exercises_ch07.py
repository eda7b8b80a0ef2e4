"""Chapter 07's exercises check themselves: typical ALB mistakes are named, solutions pass."""

import pytest

from deploy import stack
from deploy.aws.names import DEFAULT_NAMES as names
from deploy.resources import alb
from workbook import compare, exercises
from workbook.solutions import ch07 as solved


def _check(exercise_id, answer, **context):
    """Evaluate one answer of chapter 07 with the given context."""
    exercise = exercises.exercises_of("07")[exercise_id]
    return exercises.evaluate(exercise, answer, {"names": names, **context})


def _text(outcome) -> str:
    return "\n".join(outcome.messages)


@pytest.mark.parametrize("exercise_id", list(exercises.exercises_of("07")))
def test_every_blank_check_says_not_done_yet_without_raising(exercise_id):
    """The chapter as shipped stays green: each blank prints 'not done yet'."""
    outcome = _check(exercise_id, ...)
    assert outcome.status == "not done"
    assert f"{exercise_id} not done yet" in str(outcome)


# ---- 07-1: the :80 listener (moto) -------------------------------------------------------------


def _alb_without_listeners(ctx) -> dict:
    """Apply the reference ALB, drop its listeners; return the exercise's context."""
    out = stack.apply(ctx, names, target="alb").outputs["alb"]
    client = ctx.client("elbv2")
    for li in client.describe_listeners(LoadBalancerArn=out.load_balancer_arn)["Listeners"]:
        client.delete_listener(ListenerArn=li["ListenerArn"])
    return {
        "ctx": ctx,
        "client": client,
        "lb_arn": out.load_balancer_arn,
        "tg_arn": out.target_group_arn,
    }


def test_listener_on_the_container_port_with_https_is_named(ctx):
    """HTTPS on 8080 without a certificate: the port and the missing certificate, and why."""

    def create_http_listener(client, lb_arn, tg_arn):
        client.create_listener(
            LoadBalancerArn=lb_arn,
            Protocol="HTTPS",
            Port=8080,
            DefaultActions=[{"Type": "forward", "TargetGroupArn": tg_arn}],
        )

    outcome = _check("07-1", create_http_listener, **_alb_without_listeners(ctx))
    text = _text(outcome)
    assert outcome.status == "to fix"
    assert (
        "listener on port 8080: clients connect to the ALB on 80; 8080 is the container's" in text
    )
    assert "HTTPS listener without a certificate: AWS refuses it" in text


def test_listener_that_redirects_without_https_is_named(ctx):
    """A redirect to HTTPS with no :443 listener: the action is named and explained."""

    def create_http_listener(client, lb_arn, tg_arn):
        client.create_listener(
            LoadBalancerArn=lb_arn,
            Protocol="HTTP",
            Port=80,
            DefaultActions=[{"Type": "redirect", "RedirectConfig": alb.HTTPS_REDIRECT}],
        )

    outcome = _check("07-1", create_http_listener, **_alb_without_listeners(ctx))
    assert "default action is ['redirect']" in _text(outcome)
    assert "needs a :443 listener" in _text(outcome)


def test_a_function_that_makes_no_listener_is_not_done(ctx):
    """A function that creates nothing: 'not done yet', naming the call to make."""
    outcome = _check("07-1", lambda client, lb_arn, tg_arn: None, **_alb_without_listeners(ctx))
    assert outcome.status == "not done"
    assert "has no listener" in outcome.messages[0]


def test_listener_solution_passes_twice_and_matches(ctx, capsys):
    """With solutions injected 07-1 passes, a re-run too (its reset), and plan shows 0 changes."""
    context = _alb_without_listeners(ctx)
    work = exercises.chapter("07", solutions=True, ctx=ctx, names=names)
    for _ in range(2):
        work.check("07-1", ..., **{k: v for k, v in context.items() if k != "ctx"})
    assert capsys.readouterr().out.count("✓ 07-1 passed") == 2
    found = compare.against_reference(
        ctx, names, {"alb": [names.target_group, names.alb, f"{names.alb}:80"]}
    )
    assert found.matches, found


def test_target_group_drift_is_explained_field_by_field(ctx):
    """A wrong path, AWS's 300 s delay and a 2xx-only matcher on 204: each field explained."""
    out = stack.apply(ctx, names, target="alb").outputs["alb"]
    client = ctx.client("elbv2")
    client.modify_target_group(
        TargetGroupArn=out.target_group_arn,
        HealthCheckPath="/healthz",
        HealthCheckTimeoutSeconds=2,
        Matcher={"HttpCode": "204"},
    )
    client.modify_target_group_attributes(
        TargetGroupArn=out.target_group_arn,
        Attributes=[{"Key": alb.DELAY_KEY, "Value": "300"}],
    )
    text = str(compare.against_reference(ctx, names, {"alb": [names.target_group]}))
    assert "health checks ask '/healthz'; the app answers '/health'" in text
    assert "timeout 2 s: a /health answer slower than that" in text
    assert "matcher accepts '204'; /health answers 200" in text
    assert "deregistration delay is AWS's default, 300 s" in text


# ---- 07-2: settings from a requirement ---------------------------------------------------------


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (
            {**solved.requirement(), "HealthCheckIntervalSeconds": 30},
            "60 s (the last of them flips it",
        ),
        ({**solved.requirement(), "HealthCheckTimeoutSeconds": 2}, "Target.Timeout"),
        ({**solved.requirement(), "UnhealthyThresholdCount": 1}, "AWS accepts 2-10"),
        (
            {**solved.requirement(), "HealthCheckTimeoutSeconds": 20},
            "not smaller than the interval",
        ),
        (
            {
                **solved.requirement(),
                "HealthCheckIntervalSeconds": 5,
                "HealthCheckTimeoutSeconds": 4,
            },
            "fewer probes is better",
        ),
        (
            {
                **solved.requirement(),
                "HealthCheckIntervalSeconds": 10,
                "UnhealthyThresholdCount": 3,
            },
            "a threshold of 2 allows an interval of 15 s",
        ),
        ({"interval": 15}, "exactly the keys"),
    ],
    ids=[
        "too-slow",
        "timeout-too-short",
        "threshold-1",
        "timeout-over-interval",
        "too-many-probes",
        "threshold-3",
        "wrong-keys",
    ],
)
def test_requirement_check_names_the_mistake(answer, expected):
    """Each typical wrong setting gets its own diagnosis."""
    outcome = _check("07-2", answer)
    assert outcome.status == "to fix"
    assert expected in _text(outcome), outcome.messages


# ---- 07-3: the matcher ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (
            {"HttpCode": "200"},
            "does not accept 204: every probe fails with Target.ResponseCodeMismatch",
        ),
        ({"HttpCode": "2xx"}, "'2xx' is not a range, '200-299' is"),
        ({"HttpCode": "200-499"}, "also accepts [301, 302, 404]"),
        ({"HttpCode": 204}, "HttpCode is a string"),
    ],
    ids=["200-only", "2xx", "too-wide", "not-a-string"],
)
def test_matcher_check_names_the_mistake(answer, expected):
    """A 200-only matcher, AWS-invalid syntax and a too-wide range are each named."""
    outcome = _check("07-3", answer)
    assert outcome.status == "to fix"
    assert expected in _text(outcome), outcome.messages


@pytest.mark.parametrize("code", ["204", "200-299", "200,204"])
def test_matchers_that_accept_204_pass(code):
    """Any matcher accepting 204 and only success codes passes."""
    assert _check("07-3", {"HttpCode": code}).passed


# ---- 07-4: the deregistration delay -----------------------------------------------------------


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (30, "cut off when the target is removed"),
        (300, "300 s (AWS's default): Fargate Spot reclaims a task 120 s"),
        (5000, "AWS accepts 0-3600"),
        ("60", "whole number of seconds"),
    ],
    ids=["too-short", "default", "out-of-range", "string"],
)
def test_drain_check_names_the_mistake(answer, expected):
    """Too short for the answers, too long for Spot, or not a number of seconds: each named."""
    outcome = _check("07-4", answer)
    assert outcome.status == "to fix"
    assert expected in _text(outcome), outcome.messages


def test_value_solutions_pass():
    """The stored answers to 07-2, 07-3 and 07-4 pass their checks."""
    assert _check("07-2", solved.requirement()).passed
    assert _check("07-3", solved.matcher()).passed
    assert _check("07-4", solved.drain()).passed
