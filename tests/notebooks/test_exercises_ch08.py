"""Chapter 08's exercises: typical wrong answers get named, blanks wait, solutions pass."""

import pytest

from deploy import stack
from deploy.aws.names import DEFAULT_NAMES as names
from deploy.resources import ecr, ecs_spec
from workbook import exercises
from workbook.solutions import ch08 as solved


def _check(exercise_id, answer, **context):
    """Evaluate one answer of chapter 08 with the given context."""
    exercise = exercises.exercises_of("08")[exercise_id]
    return exercises.evaluate(exercise, answer, {"names": names, **context})


def _messages(outcome):
    return "\n".join(outcome.messages)


@pytest.mark.parametrize("exercise_id", list(exercises.exercises_of("08")))
def test_every_blank_check_says_not_done_yet_without_raising(exercise_id):
    """The chapter as shipped stays green: each blank prints 'not done yet'."""
    outcome = _check(exercise_id, ...)
    assert outcome.status == "not done"
    assert f"{exercise_id} not done yet" in str(outcome)


def test_shipped_blank_shapes_count_as_not_done():
    """The notebook's blanks (a dict of ..., a pair of ..., a function returning ...) wait."""

    def threshold(desired_count):
        return ...

    assert exercises.is_blank({"minimumHealthyPercent": ..., "deploymentCircuitBreaker": {}})
    assert exercises.is_blank((..., ...))
    assert exercises.is_blank(threshold)
    assert not exercises.is_blank(solved.threshold())


# ---- 08-1: the deploymentConfiguration --------------------------------------------------------


def _deployment(**changes):
    return {**solved.deployment(), **changes}


def test_zero_downtime_solution_passes():
    """100 / 200 with the breaker and rollback on."""
    assert _check("08-1", solved.deployment()).passed


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (_deployment(minimumHealthyPercent=50), "stops the only one first"),
        (_deployment(maximumPercent=100), "cannot move"),
        (_deployment(deploymentCircuitBreaker={"enable": False, "rollback": False}), "for ever"),
        (
            _deployment(deploymentCircuitBreaker={"enable": True, "rollback": False}),
            "leaves the service on the broken revision",
        ),
        ("100/200", "the answer is a dict"),
    ],
)
def test_typical_rollout_mistakes_are_named(answer, expected):
    """Each typical wrong configuration gets the reason it hurts."""
    outcome = _check("08-1", answer)
    assert outcome.status == "to fix"
    assert expected in _messages(outcome)


# ---- 08-2: a Fargate size ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ((256, 3072), "Fargate refuses this pair"),
        ((512, 2500), "Fargate refuses this pair"),
        ((1024, 3072), "the smallest pair that fits is cheaper"),
        ((512, 2048), "less than the 3 GiB"),
        ("512/3072", "the answer is a pair"),
    ],
)
def test_sizes_fargate_refuses_or_that_do_not_fit_are_named(answer, expected):
    """A pair outside the table, too big or too small, each says which."""
    outcome = _check("08-2", answer)
    assert outcome.status == "to fix"
    assert expected in _messages(outcome)


def test_the_smallest_valid_size_passes_also_written_as_strings():
    """The API takes strings: ("512", "3072") is the same answer."""
    assert _check("08-2", solved.size()).passed
    assert _check("08-2", ("512", "3072")).passed


# ---- 08-3: the circuit-breaker threshold ------------------------------------------------------


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (lambda n: n // 2, "floor of 3"),
        (lambda n: max(n // 2, 3), "the model assumes it rounds up"),
        (lambda n: max(-(-n // 2), 3), "ceiling of 200"),
        (lambda n: 1 / 0, "raised ZeroDivisionError"),
    ],
)
def test_threshold_mistakes_name_the_documented_rule(answer, expected):
    """The floor, the rounding assumption and the ceiling are each named."""
    outcome = _check("08-3", answer)
    assert outcome.status == "to fix"
    assert expected in _messages(outcome)


def test_threshold_solution_matches_the_model():
    assert _check("08-3", solved.threshold()).passed


# ---- 08-4: the service, against the reference -------------------------------------------------


class Tampered:
    """An ECS client whose create_service changes some fields first (a typical slip)."""

    def __init__(self, client, **changes):
        self.client, self.changes = client, changes

    def __getattr__(self, name):
        return getattr(self.client, name)

    def create_service(self, **request):
        for key, value in self.changes.items():
            if key in ("subnets", "assignPublicIp"):
                request["networkConfiguration"]["awsvpcConfiguration"][key] = value(request)
            elif key == "containerPort":
                request["loadBalancers"][0][key] = value
            else:
                request[key] = value
        return self.client.create_service(**request)


def test_create_service_solution_passes_and_typical_slips_are_named(ctx):
    """One stack: the solution matches; one subnet, no public IP, a wrong port are named."""
    outputs = stack.apply(ctx, names, target=("iam", "ecr", "logs", "alb")).outputs
    ecr.record_image(ctx, names, "a5d7f3b")
    client = ctx.client("ecs")
    client.create_cluster(clusterName=names.cluster)
    td = ecs_spec.desired_task_definition(
        ctx, names, "a5d7f3b", secrets=outputs["secrets"], iam=outputs["iam"],
        ecr=outputs["ecr"], logs=outputs["logs"],
    )  # fmt: skip
    arn = client.register_task_definition(**td)["taskDefinition"]["taskDefinitionArn"]
    context = {
        "ctx": ctx,
        "task_definition_arn": arn,
        "network": outputs["network"],
        "alb": outputs["alb"],
        "deployment": solved.deployment(),
    }

    def attempt(c):
        return _check("08-4", solved.create_service, client=c, **context)

    assert attempt(client).passed
    slipped = attempt(
        Tampered(
            client,
            subnets=lambda r: r["networkConfiguration"]["awsvpcConfiguration"]["subnets"][:1],
            assignPublicIp=lambda r: "DISABLED",
            containerPort=80,
        )
    )
    text = _messages(slipped)
    assert slipped.status == "to fix"
    assert "one Availability Zone only" in text
    assert "CannotPullContainerError" in text
    assert "to a closed port" in text
    assert attempt(client).passed  # the reset deleted the slipped service first


def test_create_service_that_makes_nothing_is_not_done(ctx):
    """A function that never calls AWS leaves the service missing: not done yet, no crash."""
    outcome = _check(
        "08-4",
        lambda client, *rest: None,
        ctx=ctx,
        client=ctx.client("ecs"),
        task_definition_arn="x",
        network=None,
        alb=None,
        deployment={},
    )
    assert outcome.status == "not done"
