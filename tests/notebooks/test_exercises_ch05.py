"""Chapter 05's exercises: typical wrong answers get named, blanks wait, solutions pass."""

import copy

import pytest

from deploy.aws.names import DEFAULT_NAMES as names
from service.aws import AwsContext
from workbook import exercises
from workbook.checks import ch05
from workbook.solutions import ch05 as solved

CTX = AwsContext(region="us-east-1")  # 05-3 reads only the region
TASK_ARN = "arn:aws:ecs:us-east-1:123456789012:task/llmopscluster/0123456789abcdef0123456789abcdef"


def _check(exercise_id, answer, **context):
    """Evaluate one answer of chapter 05 with the given context."""
    exercise = exercises.exercises_of("05")[exercise_id]
    return exercises.evaluate(exercise, answer, {"names": names, **context})


def _messages(outcome):
    return "\n".join(outcome.messages)


@pytest.mark.parametrize("exercise_id", list(exercises.exercises_of("05")))
def test_every_blank_check_says_not_done_yet_without_raising(exercise_id):
    """The chapter as shipped stays green: each blank prints 'not done yet'."""
    outcome = _check(exercise_id, ...)
    assert outcome.status == "not done"
    assert f"{exercise_id} not done yet" in str(outcome)


def test_shipped_blanks_are_blanks():
    """The notebook's blank shapes (a TODO query, a dict of ...) count as not done."""
    assert exercises.is_blank(...)
    assert exercises.is_blank({"incident_review": ..., "audit": ...})

    def stream_name(task_arn):
        prefix = ...  # awslogs-stream-prefix
        container = ...  # the container's name in the task definition
        task_id = ...  # from task_arn
        return f"{prefix}/{container}/{task_id}"

    assert exercises.is_blank(stream_name)
    assert not exercises.is_blank(solved.stream_name)


# ---- 05-1: retention --------------------------------------------------------------------------


def test_retention_solution_passes():
    """60 and 400 days: the smallest accepted values for 45 days and 13 months."""
    assert _check("05-1", solved.retention()).passed


def test_retention_not_accepted_by_aws_is_named():
    """45 is not on CloudWatch's list: PutRetentionPolicy refuses it."""
    text = _messages(_check("05-1", {"incident_review": 45, "audit": 400}))
    assert "incident_review: PutRetentionPolicy refuses 45" in text


def test_retention_too_short_and_too_long_are_told_apart():
    """A year is shorter than 13 months; 90 days keeps 45 but is not the smallest."""
    text = _messages(_check("05-1", {"incident_review": 90, "audit": 365}))
    assert "audit: 365 days is shorter than 13 months" in text
    assert "60 is the smallest accepted value >= 45 days" in text


# ---- 05-2: the log group -----------------------------------------------------------------------


def test_log_group_solution_matches_the_reference(ctx):
    """The stored solution's group passes, and a second run (reset first) passes again."""
    context = {"ctx": ctx, "client": ctx.client("logs"), "retention_days": 14}
    for _ in range(2):
        outcome = _check("05-2", solved.create_log_group, **context)
        assert outcome.passed, outcome


def test_log_group_without_retention_or_tags_is_named(ctx):
    """The guide's bare create-log-group: no retention (forever) and no Project tag."""

    def create_log_group(client, retention_days):
        client.create_log_group(logGroupName="/ecs/llmopstdlive")
        return "/ecs/llmopstdlive"

    context = {"ctx": ctx, "client": ctx.client("logs"), "retention_days": 14}
    text = _messages(_check("05-2", create_log_group, **context))
    assert "retention_days: no retention: a new log group keeps every event forever" in text
    assert "tags: tags are {}" in text


def test_log_group_with_a_shorter_retention_is_named(ctx):
    """Seven days (the guide's figure) against the stack's 14."""

    def create_log_group(client, retention_days):
        client.create_log_group(logGroupName="/ecs/llmopstdlive", tags={"Project": "ecs-workbook"})
        client.put_retention_policy(logGroupName="/ecs/llmopstdlive", retentionInDays=7)
        return "/ecs/llmopstdlive"

    context = {"ctx": ctx, "client": ctx.client("logs"), "retention_days": 14}
    text = _messages(_check("05-2", create_log_group, **context))
    assert "retention is 7 days: events older than that are deleted" in text


def test_log_group_under_another_name_is_not_done(ctx):
    """A group under a different name leaves the stack's group missing: not done, not raised."""

    def create_log_group(client, retention_days):
        client.create_log_group(logGroupName="ecs/llmopstdlive")
        return "ecs/llmopstdlive"

    context = {"ctx": ctx, "client": ctx.client("logs"), "retention_days": 14}
    outcome = _check("05-2", create_log_group, **context)
    assert outcome.status == "not done"
    assert "no log group /ecs/llmopstdlive" in _messages(outcome)


# ---- 05-3: logConfiguration --------------------------------------------------------------------


def _config(**options):
    config = copy.deepcopy(solved.log_configuration(CTX))
    for key, value in options.items():
        if value is None:
            config["options"].pop(key)
        else:
            config["options"][key] = value
    return config


def test_log_configuration_solution_is_the_task_definitions():
    """The solution equals what deploy/task-definition.json renders for the region."""
    assert solved.log_configuration(CTX) == ch05.reference_log_configuration(CTX.region, names)
    assert _check("05-3", solved.log_configuration(CTX), ctx=CTX).passed


def test_log_configuration_blocking_mode_is_explained():
    """blocking keeps every line but stalls the app; its buffer option is refused."""
    text = _messages(_check("05-3", _config(mode="blocking"), ctx=CTX))
    assert "mode is 'blocking': nothing is lost, but when CloudWatch is slow" in text
    assert "max-buffer-size applies to non-blocking mode only" in text


def test_log_configuration_without_mode_names_the_account_default():
    """No mode: the account's defaultLogDriverMode decides (non-blocking since June 2025)."""
    text = _messages(_check("05-3", _config(mode=None), ctx=CTX))
    assert "defaultLogDriverMode" in text and "June 2025" in text


def test_log_configuration_typical_mistakes_are_named():
    """A boolean option, no stream prefix, another region: each named with its effect."""
    wrong = _config(**{"awslogs-create-group": True, "awslogs-stream-prefix": None})
    wrong["options"]["awslogs-region"] = "eu-west-1"
    text = _messages(_check("05-3", wrong, ctx=CTX))
    assert "awslogs-create-group: every option value is a string" in text
    assert "awslogs-stream-prefix is missing: Fargate requires it" in text
    assert "awslogs-region is 'eu-west-1': the group lives in us-east-1" in text


# ---- 05-4: stream name -------------------------------------------------------------------------


def test_stream_name_solution_passes():
    """ecs/llmops-container/TASK_ID for the task ARN given."""
    assert _check("05-4", solved.stream_name, task_arn=TASK_ARN).passed


@pytest.mark.parametrize(
    ("wrong", "message"),
    [
        (lambda arn: f"ecs/llmops-container/{arn}", "not the whole ARN"),
        (lambda arn: f"ecs/llmops-container/{arn.split('/')[1]}", "'llmopscluster' is the cluster"),
        (lambda arn: f"ecs/{arn.rsplit('/', 1)[1]}", "the container's name is missing"),
        (lambda arn: f"ecs/llmopstd/{arn.rsplit('/', 1)[1]}", "not 'llmopstd'"),
        (lambda arn: f"/ecs/llmops-container/{arn.rsplit('/', 1)[1]}", "no leading '/'"),
    ],
)
def test_stream_name_typical_mistakes_are_named(wrong, message):
    """The whole ARN, the cluster, no container, the family, a leading slash."""
    assert message in _messages(_check("05-4", wrong, task_arn=TASK_ARN))


# ---- 05-5: Logs Insights query -----------------------------------------------------------------


def test_insights_solution_passes():
    """filter status >= 500 keeps the 500, 502, 503 and 504 request lines only."""
    assert _check("05-5", solved.insights_query()).passed
    kept = ch05.run_filters(solved.insights_query(), ch05.sample_log_lines())
    assert sorted(ch05._status(line) for line in kept) == [500, 502, 503, 504]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("fields @message | filter status > 500", "(> 500 leaves out 500 itself: use >= 500)"),
        ("filter status >= 400", "it also keeps a 404"),
        ("filter @message like /5\\d\\d/", "match the parsed `status` field, not @message"),
        ('filter level = "ERROR"', "the service logs every request at INFO"),
        ("fields @timestamp, @message | limit 20", "has no `filter` command"),
        ("filter status in [500, 503, 504]", "it misses the line(s) with status [502]"),
        ("filter status >= 500 | limit 2", "limit 2 cuts the answer short"),
        ("filter level = ERROR", "'ERROR' is not a number, a quoted string or a /regex/"),
    ],
)
def test_insights_typical_mistakes_are_named(query, message):
    """Off by one, 4xx included, raw text search, level instead of status, no filter."""
    assert message in _messages(_check("05-5", query))


def test_insights_sample_lines_are_the_services_json():
    """The lines the query is checked on come from the service's own JSON formatter."""
    import json

    rows = [json.loads(line) for line in ch05.sample_log_lines()]
    assert {"time", "level", "logger", "message"} <= set(rows[0])
    assert {r["status"] for r in rows if "status" in r} == {200, 404, 500, 502, 503, 504}
