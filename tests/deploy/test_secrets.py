"""The app secret against moto: JSON keys, merges, valueFrom syntax, never leaking values."""

import json
import re

import pytest

from deploy.aws.errors import InvalidInput, PermissionDenied
from deploy.aws.names import DEFAULT_NAMES
from deploy.resources import secrets
from tests.awscli import aws_cli

N = DEFAULT_NAMES
FAKE_KEY = "gsk_not-a-real-key-7f3a"


def actions(result) -> list[str]:
    return [c.action for c in result.changes]


def test_ensure_creates_a_json_secret_with_the_guide_keys(ctx):
    assert actions(secrets.plan(ctx, N)) == ["create"]
    secrets.ensure(ctx, N, values={"GROQ_API_KEY": FAKE_KEY})
    got = aws_cli(ctx, "secretsmanager", "get-secret-value", "--secret-id", "llmops_prod")
    stored = json.loads(got["SecretString"])
    assert set(stored) == set(secrets.SECRET_KEYS)
    assert stored["GROQ_API_KEY"] == FAKE_KEY and stored["LLM_PROVIDER"] == "offline"
    assert {"Key": "Project", "Value": "ecs-workbook"} in secrets.find_secret(ctx, N)["Tags"]


def test_second_ensure_changes_nothing(ctx):
    secrets.ensure(ctx, N, values={"GROQ_API_KEY": FAKE_KEY})
    assert actions(secrets.ensure(ctx, N, values={"GROQ_API_KEY": FAKE_KEY})) == ["unchanged"]
    assert actions(secrets.ensure(ctx, N)) == ["unchanged"]


def _stored(ctx) -> dict:
    return json.loads(
        ctx.client("secretsmanager").get_secret_value(SecretId=N.secret)["SecretString"]
    )


def test_ensure_generates_an_api_key_and_a_re_apply_keeps_it(ctx, capsys):
    planned = secrets.plan(ctx, N).changes
    result = secrets.ensure(ctx, N)
    key = _stored(ctx)["API_KEY"]
    assert len(key) >= 43 and re.fullmatch(r"[A-Za-z0-9_-]+", key)  # 256 random bits
    assert actions(secrets.ensure(ctx, N)) == ["unchanged"]
    secrets.set_secret_values(ctx, N, {"GROQ_API_KEY": FAKE_KEY})
    secrets.ensure(ctx, N, values={"GOOGLE_API_KEY": FAKE_KEY})
    assert _stored(ctx)["API_KEY"] == key  # kept through every later write
    # the key's name is shown, its value never: not in a plan, a result, describe or output
    shown = repr(planned) + repr(result) + repr(secrets.describe(ctx, N))
    shown += "".join(capsys.readouterr())
    assert "API_KEY" in repr(planned) and key not in shown


def test_a_secret_without_an_api_key_gets_one_on_the_next_apply(ctx):
    secrets.ensure(ctx, N)
    ctx.client("secretsmanager").put_secret_value(
        SecretId=N.secret, SecretString=json.dumps({"GROQ_API_KEY": FAKE_KEY})
    )
    [change] = secrets.plan(ctx, N).changes
    assert (change.action, change.detail["keys_generated"]) == ("update", ["API_KEY"])
    assert "API_KEY" not in _stored(ctx)  # a plan writes nothing
    secrets.ensure(ctx, N)
    stored = _stored(ctx)
    assert stored["API_KEY"] and stored["GROQ_API_KEY"] == FAKE_KEY
    assert actions(secrets.plan(ctx, N)) == ["unchanged"]


def test_two_stacks_get_different_api_keys(ctx):
    secrets.ensure(ctx, N)
    other = N.with_overrides(secret="llmops_staging")
    secrets.ensure(ctx, other)
    values = ctx.client("secretsmanager").get_secret_value(SecretId="llmops_staging")
    assert json.loads(values["SecretString"])["API_KEY"] != _stored(ctx)["API_KEY"]


def test_a_given_api_key_is_used_and_an_empty_one_refused(ctx):
    secrets.ensure(ctx, N, values={"API_KEY": "chosen-by-the-operator"})
    assert _stored(ctx)["API_KEY"] == "chosen-by-the-operator"
    with pytest.raises(InvalidInput, match="API_KEY must not be empty"):
        secrets.set_secret_values(ctx, N, {"API_KEY": " "})
    assert _stored(ctx)["API_KEY"] == "chosen-by-the-operator"


def test_value_from_is_the_full_arn_json_key_and_two_empty_fields(ctx):
    arn = secrets.ensure(ctx, N).outputs.arn
    value = secrets.value_from(arn, "GROQ_API_KEY")
    assert re.fullmatch(
        r"arn:aws:secretsmanager:us-east-1:123456789012:secret:llmops_prod-[A-Za-z0-9]{6}"
        r":GROQ_API_KEY::",
        value,
    )
    assert value.startswith(secrets.find_secret(ctx, N)["ARN"] + ":")


@pytest.mark.parametrize("key", ["", "A:B"])
def test_bad_json_key_is_refused(ctx, key):
    arn = secrets.ensure(ctx, N).outputs.arn
    with pytest.raises(InvalidInput, match="JSON key"):
        secrets.value_from(arn, key)


def test_set_secret_values_merges_as_a_new_version(ctx):
    secrets.ensure(ctx, N, values={"GROQ_API_KEY": "old-value"})
    change = secrets.set_secret_values(ctx, N, {"GROQ_API_KEY": FAKE_KEY, "EXTRA": "x"})
    assert change.action == "update" and change.detail == {
        "keys_changed": ["EXTRA", "GROQ_API_KEY"]
    }
    versions = ctx.client("secretsmanager").list_secret_version_ids(SecretId="llmops_prod")[
        "Versions"
    ]
    stages = sorted(s for v in versions for s in v["VersionStages"])
    assert stages == ["AWSCURRENT", "AWSPREVIOUS"]
    assert "GOOGLE_API_KEY" in secrets.keys(ctx, N)  # merged, not replaced
    assert secrets.set_secret_values(ctx, N, {"EXTRA": "x"}).action == "unchanged"


def test_values_never_appear_in_results_or_output(ctx, capsys):
    changes = secrets.ensure(ctx, N, values={"GROQ_API_KEY": FAKE_KEY}).changes
    changes.append(secrets.set_secret_values(ctx, N, {"GOOGLE_API_KEY": FAKE_KEY + "g"}))
    changes += secrets.plan(ctx, N, values={"GROQ_API_KEY": FAKE_KEY + "new"}).changes
    shown = repr(changes) + repr(secrets.describe(ctx, N)) + "".join(capsys.readouterr())
    assert FAKE_KEY not in shown
    assert "GROQ_API_KEY" in shown  # keys are fine to show


def test_non_string_value_is_refused_without_echoing_it(ctx):
    with pytest.raises(InvalidInput, match="GROQ_API_KEY") as info:
        secrets.ensure(ctx, N, values={"GROQ_API_KEY": 12345})
    assert "12345" not in str(info.value)


def test_plan_before_the_secret_exists_hands_forward_an_unknown_arn(ctx):
    result = secrets.plan(ctx, N)
    assert actions(result) == ["create"] and result.outputs.arn == secrets.UNKNOWN
    assert result.outputs.arn == "<known after apply>"


def test_delete_then_absent(ctx):
    secrets.ensure(ctx, N)
    assert [c.action for c in secrets.delete(ctx, N)] == ["delete"]
    assert [c.action for c in secrets.delete(ctx, N)] == ["absent"]
    assert secrets.describe(ctx, N)["exists"] is False


def test_recovery_window_outside_aws_range_is_refused(ctx):
    secrets.ensure(ctx, N)
    with pytest.raises(InvalidInput, match="recovery_days"):
        secrets.delete(ctx, N, recovery_days=3)


def test_secret_in_its_recovery_window_is_restored_by_ensure(ctx):
    secrets.ensure(ctx, N, values={"GROQ_API_KEY": FAKE_KEY})
    secrets.delete(ctx, N, recovery_days=7)
    assert secrets.describe(ctx, N)["exists"] is False
    assert [(c.action, c.detail) for c in secrets.plan(ctx, N).changes] == [
        ("update", {"restore": True})
    ]
    secrets.ensure(ctx, N)
    assert secrets.describe(ctx, N)["exists"] is True
    assert actions(secrets.plan(ctx, N)) == ["unchanged"]


def test_denied_call_names_the_action(aws, ctx):
    aws.enforce_iam(0)
    with pytest.raises(PermissionDenied, match="secretsmanager:DescribeSecret"):
        secrets.ensure(ctx, N)


def test_a_key_the_task_definition_reads_dropped_by_update_secret_is_put_back(ctx):
    secrets.ensure(ctx, N, values={"GROQ_API_KEY": FAKE_KEY})
    kept = _stored(ctx)
    # the guide's `aws secretsmanager update-secret --secret-string` replaces the whole JSON
    dropped = {k: v for k, v in kept.items() if k != "LANGCHAIN_API_KEY"}
    ctx.client("secretsmanager").update_secret(SecretId=N.secret, SecretString=json.dumps(dropped))
    [change] = secrets.plan(ctx, N).changes
    assert (change.action, change.detail) == ("update", {"keys_missing": ["LANGCHAIN_API_KEY"]})
    assert "LANGCHAIN_API_KEY" not in _stored(ctx)  # a plan writes nothing
    secrets.ensure(ctx, N)
    assert _stored(ctx) == {**kept, "LANGCHAIN_API_KEY": ""}  # the others, API_KEY included, kept
    assert actions(secrets.plan(ctx, N)) == ["unchanged"]


def test_deleting_a_secret_in_its_recovery_window_ends_the_window(ctx):
    secrets.ensure(ctx, N)
    secrets.delete(ctx, N, recovery_days=7)
    # a second window is not asked for (AWS refuses one): the schedule is reported as it is
    [again] = secrets.delete(ctx, N, recovery_days=30)
    assert again.action == "unchanged" and "scheduled_for_deletion" in again.detail
    [change] = secrets.delete(ctx, N)
    assert change.action == "delete" and "was_scheduled_for" in change.detail
    # gone for good: the name is free, so the next apply creates a new secret, not a restore
    assert actions(secrets.plan(ctx, N)) == ["create"]
    assert secrets.delete(ctx, N)[0].action == "absent"
