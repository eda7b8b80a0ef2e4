"""Chapter 04's exercises: typical wrong answers get named, blanks wait, solutions pass."""

import json

import pytest

from deploy.aws.names import DEFAULT_NAMES as names
from deploy.resources import secrets
from workbook import exercises
from workbook.checks import ch04
from workbook.solutions import ch04 as solved

ARN = f"arn:aws:secretsmanager:us-east-1:123456789012:secret:{names.secret}-AbCdEf"
KEY = "LANGCHAIN_API_KEY"


def _check(exercise_id, answer, **context):
    """Evaluate one answer of chapter 04 with the given context."""
    exercise = exercises.exercises_of("04")[exercise_id]
    return exercises.evaluate(exercise, answer, {"names": names, **context})


def _messages(outcome):
    return "\n".join(outcome.messages)


@pytest.mark.parametrize("exercise_id", list(exercises.exercises_of("04")))
def test_every_blank_check_says_not_done_yet_without_raising(exercise_id):
    """The chapter as shipped stays green: each blank prints 'not done yet'."""
    outcome = _check(exercise_id, ...)
    assert outcome.status == "not done"
    assert f"{exercise_id} not done yet" in str(outcome)


def test_blank_function_bodies_are_not_done():
    """A create_app_secret whose values are still ... is a blank, not a failure."""

    def create_app_secret(client, api_key):
        values = ...
        return client.create_secret(Name="llmops_prod", SecretString=json.dumps(values))["ARN"]

    assert exercises.is_blank(create_app_secret)
    assert not exercises.is_blank(solved.create_app_secret)


# ---- 04-1: the secret ----------------------------------------------------------------------------


def test_secret_solution_matches_the_reference(ctx):
    """The stored solution's secret passes, and a second run (reset first) passes again."""
    context = {"ctx": ctx, "client": ctx.client("secretsmanager"), "api_key": "k" * 43}
    for _ in range(2):
        outcome = _check("04-1", solved.create_app_secret, **context)
        assert outcome.passed, outcome


def test_secret_missing_a_referenced_key_and_api_key_is_named(ctx):
    """The guide's three keys only: LANGCHAIN_API_KEY and API_KEY missing, tags missing."""

    def create_app_secret(client, api_key):
        values = {"GROQ_API_KEY": "", "GOOGLE_API_KEY": "", "LLM_PROVIDER": "offline"}
        return client.create_secret(Name="llmops_prod", SecretString=json.dumps(values))["ARN"]

    context = {"ctx": ctx, "client": ctx.client("secretsmanager"), "api_key": "k" * 43}
    text = _messages(_check("04-1", create_app_secret, **context))
    assert "lacks LANGCHAIN_API_KEY: the task definition's secrets entry ends" in text
    assert "lacks API_KEY" in text
    assert "API_KEY is missing or empty: the service would then answer anyone" in text
    assert "tags are {}" in text


def test_secret_stored_as_plain_text_is_named(ctx):
    """A SecretString that is not JSON: ECS cannot pick keys out of it."""

    def create_app_secret(client, api_key):
        return client.create_secret(Name="llmops_prod", SecretString=api_key)["ARN"]

    context = {"ctx": ctx, "client": ctx.client("secretsmanager"), "api_key": "k" * 43}
    assert "SecretString is not a JSON object" in _messages(
        _check("04-1", create_app_secret, **context)
    )


def test_a_function_that_makes_no_secret_is_not_done(ctx):
    """A function that calls nothing: 'not done yet', naming the secret."""
    context = {"ctx": ctx, "client": ctx.client("secretsmanager"), "api_key": "k"}
    outcome = _check("04-1", lambda client, api_key: None, **context)
    assert outcome.status == "not done" and names.secret in str(outcome)


# ---- 04-2: one secrets entry ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ({"name": KEY, "value": "lsv2_plain"}, "`value` is the plain-text form"),
        ({"name": KEY, "valueFrom": ARN}, "ECS would put the whole JSON document"),
        ({"name": KEY, "valueFrom": f"{ARN}:{KEY}::AWSCURRENT::"}, "double colons"),
        ({"name": KEY, "valueFrom": f"{ARN}:{KEY}"}, "two more fields"),
        ({"name": KEY, "valueFrom": ARN.rsplit("-", 1)[0] + f":{KEY}::"}, "6-character suffix"),
        ({"name": KEY, "valueFrom": f"{names.secret}:{KEY}::"}, "is not an ARN"),
        ({"name": KEY, "valueFrom": f"{ARN}:GROQ_API_KEY::"}, "selects JSON key 'GROQ_API_KEY'"),
        ({"name": KEY, "valueFrom": f"{ARN}:{KEY}:AWSPREVIOUS:"}, "pins LANGCHAIN_API_KEY"),
        ({"name": "LANGCHAIN", "valueFrom": f"{ARN}:{KEY}::"}, "Settings reads LANGCHAIN_API_KEY"),
    ],
    ids=["plain-value", "bare-arn", "guide-comment", "no-fields", "partial", "name", "key",
         "previous", "env-name"],
)  # fmt: skip
def test_secrets_entry_check_names_the_typical_mistake(entry, expected):
    """Each typical wrong `secrets` entry gets its own diagnosis."""
    outcome = _check("04-2", entry, secret_arn=ARN)
    assert outcome.status == "to fix"
    assert expected in _messages(outcome)


@pytest.mark.parametrize("stage", ["", "AWSCURRENT"])
def test_secrets_entry_solution_and_explicit_current_pass(stage):
    """The package's valueFrom passes; naming AWSCURRENT explicitly is the same thing."""
    assert _check("04-2", solved.langchain_entry(ARN), secret_arn=ARN).passed
    entry = {"name": KEY, "valueFrom": f"{ARN}:{KEY}:{stage}:"}
    assert _check("04-2", entry, secret_arn=ARN).passed
    assert solved.langchain_entry(ARN)["valueFrom"] == secrets.value_from(ARN, KEY)


# ---- 04-3: plain settings ----------------------------------------------------------------------


def test_a_secret_in_plain_environment_is_caught_by_name():
    """Putting API_KEY in `environment` is named, with why it leaks."""
    outcome = _check("04-3", solved.plain_settings() | {"API_KEY"})
    text = _messages(outcome)
    assert outcome.status == "to fix"
    assert "API_KEY is a secret" in text and "ecs:DescribeTaskDefinition" in text
    assert "GROQ_API_KEY" not in text


def test_a_missing_plain_setting_and_a_wrong_answer_type_are_named():
    """Leaving out DATA_DIR says why it is needed; a string is refused with the expected shape."""
    missing = _messages(_check("04-3", {"ENV", "PORT", "LOG_LEVEL", "LLM_PROVIDER"}))
    assert "DATA_DIR is missing" in missing and "taskdef.check refuses" in missing
    assert "a set of names" in _messages(_check("04-3", "ENV, PORT"))
    assert "not one of the settings offered" in _messages(_check("04-3", {"ENV", "HOME"}))
    assert _check("04-3", solved.plain_settings()).passed


# ---- 04-4: a safe secret update ---------------------------------------------------------------


def _update_context(ctx):
    return {
        "ctx": ctx,
        "client": ctx.client("secretsmanager"),
        "secret_id": ch04.PRACTICE_SECRET,
        "new_value": "gsk_new_value",
    }


def test_the_guides_update_secret_is_named_for_what_it_drops(ctx):
    """update_secret with only the new key drops the others, naming those still referenced."""

    def update_key(client, secret_id, new_value):
        client.update_secret(
            SecretId=secret_id, SecretString=json.dumps({"GROQ_API_KEY": new_value})
        )

    text = _messages(_check("04-4", update_key, **_update_context(ctx)))
    assert "dropped GOOGLE_API_KEY, LANGCHAIN_API_KEY, LLM_PROVIDER, API_KEY" in text
    assert "the task definition still references GOOGLE_API_KEY, LANGCHAIN_API_KEY, API_KEY" in text
    assert "llmops_practice" not in [
        s["Name"] for s in ctx.client("secretsmanager").list_secrets()["SecretList"]
    ]  # the check leaves no practice copy behind


def test_an_unchanged_secret_is_not_done_and_a_solution_passes(ctx):
    """A function that writes nothing is 'not done yet'; the merge passes, twice."""
    outcome = _check("04-4", lambda client, secret_id, new_value: None, **_update_context(ctx))
    assert outcome.status == "not done"
    for _ in range(2):
        assert _check("04-4", solved.update_key, **_update_context(ctx)).passed


def test_the_practice_reset_refuses_the_real_secret(ctx):
    """The practice reset deletes what it is given, so it refuses any other secret."""
    with pytest.raises(ValueError, match="llmops_practice"):
        ch04.reset_practice(ctx, names.secret)
