"""Chapter 00's exercises: typical wrong answers get named, blanks wait, solutions pass."""

import pytest

from deploy import stack
from deploy.aws.names import DEFAULT_NAMES as names
from workbook import exercises
from workbook.checks import ch00
from workbook.solutions import ch00 as solved


def _check(exercise_id, answer, **context):
    """Evaluate one answer of chapter 00 with the given context."""
    return exercises.evaluate(exercises.exercises_of("00")[exercise_id], answer, context)


def _text(outcome):
    return "\n".join(outcome.messages)


@pytest.mark.parametrize("exercise_id", list(exercises.exercises_of("00")))
def test_every_blank_says_not_done_yet_without_raising(exercise_id):
    """The chapter as shipped stays green: each blank prints 'not done yet'."""
    outcome = _check(exercise_id, {"a": (..., ...)})
    assert outcome.status == "not done" and f"{exercise_id} not done yet" in str(outcome)


def test_value_solutions_pass():
    """The stored answers of 00-1, 00-2 and 00-4 pass their checks."""
    assert _check("00-1", solved.backends()).passed
    assert _check("00-2", solved.roles()).passed
    assert _check("00-4", solved.labels()).passed


def test_backend_pick_ignores_this_process_environment(monkeypatch):
    """The check's truth comes from the listed variables only, not from the kernel's own."""
    monkeypatch.setenv("WORKBOOK_BACKEND", "aws")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    assert ch00.pick({}) == ("moto", ch00.NEW)


@pytest.mark.parametrize(
    ("key", "guess", "expected"),
    [
        ("b", ("aws", None), "only WORKBOOK_BACKEND chooses the backend"),
        ("d", ("aws", "http://127.0.0.1:5000"), "switches off botocore's AWS_ENDPOINT_URL lookup"),
        ("a", ("moto", "http://127.0.0.1:5000"), "nothing names a running server"),
        ("b", ("moto", "new"), "moto reuses the server AWS_ENDPOINT_URL names"),
    ],
    ids=["endpoint-is-not-a-backend", "aws-ignores-endpoint", "nothing-to-reuse", "reuse"],
)
def test_backend_mistakes_are_explained(key, guess, expected):
    """Each typical confusion about backend selection names the rule that decides."""
    text = _text(_check("00-1", {**solved.backends(), key: guess}))
    assert text.startswith(f"{key}: ") and expected in text


def test_roles_mistakes_are_explained():
    """Giving the secret to the task role or opening 8080 to the world says why not."""
    wrong = {**solved.roles(), "secret": "b", "task_sg": "d"}
    text = _text(_check("00-2", wrong))
    assert "ECS reads the secret with the execution role" in text
    assert "only from the ALB's group" in text
    assert "pick one of" in _text(_check("00-2", {**solved.roles(), "push": "z"}))


def test_labels_mistakes_are_explained():
    """Calling moto's 'healthy' a model, or the threshold emulator output, is corrected."""
    text = _text(_check("00-4", {**solved.labels(), "b": "emulator", "e": "model"}))
    assert "b: model, not emulator" in text and "without probing" in text


def test_answers_of_the_wrong_shape_are_named():
    """A list, or a missing key, is refused with the shape expected."""
    assert "keys ['a', 'b', 'c', 'd']" in _text(_check("00-1", [("moto", "new")]))
    assert "give a pair" in _text(_check("00-1", {**solved.backends(), "a": "moto"}))
    assert "'emulator' or 'model'" in _text(_check("00-4", {"a": "emulator"}))


def test_account_check_reads_this_account_and_names_the_kernel_mistake(ctx):
    """After applying the log group only, the solution passes; another chapter's cluster is named."""
    stack.apply(ctx, names, target="logs")
    context = {"ctx": ctx, "names": names}
    assert _check("00-3", solved.account(names), **context).passed
    wrong = {"logs": [names.log_group], "ecr": [names.repository], "ecs": [names.cluster]}
    text = _text(_check("00-3", wrong, **context))
    assert "this kernel's own emulator" in text and "plan writes nothing" in text
    missing = _text(_check("00-3", {"logs": [], "ecr": [], "ecs": []}, **context))
    assert f"made {names.log_group}" in missing
