"""The app secret against moto: JSON keys, merges, valueFrom syntax, never leaking values."""

import json
import re
import subprocess
import sys

import pytest

from deploy import secrets
from deploy.clients import client
from deploy.errors import InvalidInput, PermissionDenied, ResourceError
from deploy.names import DEFAULT_NAMES

N = DEFAULT_NAMES
FAKE_KEY = "gsk_not-a-real-key-7f3a"


def aws_cli(*args: str) -> dict:
    """Run the AWS CLI v1 (it follows AWS_ENDPOINT_URL) and return its JSON output."""
    out = subprocess.run(
        [sys.executable, "-m", "awscli", *args, "--output", "json"],
        capture_output=True, text=True, check=True, timeout=60,
    )  # fmt: skip
    return json.loads(out.stdout or "{}")


def test_ensure_creates_a_json_secret_with_the_guide_keys(aws):
    assert [c.action for c in secrets.plan(N)] == ["create"]
    secrets.ensure(N, values={"GROQ_API_KEY": FAKE_KEY})
    got = aws_cli("secretsmanager", "get-secret-value", "--secret-id", "llmops_prod")
    stored = json.loads(got["SecretString"])
    assert set(stored) == set(secrets.SECRET_KEYS)
    assert stored["GROQ_API_KEY"] == FAKE_KEY and stored["LLM_PROVIDER"] == "offline"
    assert {"Key": "Project", "Value": "ecs-workbook"} in secrets.find_secret(N)["Tags"]


def test_second_ensure_changes_nothing(aws):
    secrets.ensure(N, values={"GROQ_API_KEY": FAKE_KEY})
    assert [c.action for c in secrets.ensure(N, values={"GROQ_API_KEY": FAKE_KEY})] == ["unchanged"]
    assert [c.action for c in secrets.ensure(N)] == ["unchanged"]


def test_value_from_is_the_full_arn_json_key_and_two_empty_fields(aws):
    secrets.ensure(N)
    value = secrets.value_from(N, "GROQ_API_KEY")
    assert re.fullmatch(
        r"arn:aws:secretsmanager:us-east-1:123456789012:secret:llmops_prod-[A-Za-z0-9]{6}"
        r":GROQ_API_KEY::",
        value,
    )
    assert value.startswith(secrets.secret_arn(N) + ":")


@pytest.mark.parametrize("key", ["", "A:B"])
def test_bad_json_key_is_refused(aws, key):
    secrets.ensure(N)
    with pytest.raises(InvalidInput, match="JSON key"):
        secrets.value_from(N, key)


def test_set_secret_values_merges_as_a_new_version(aws):
    secrets.ensure(N, values={"GROQ_API_KEY": "old-value"})
    change = secrets.set_secret_values(N, {"GROQ_API_KEY": FAKE_KEY, "EXTRA": "x"})
    assert change.action == "update" and change.detail == {
        "keys_changed": ["EXTRA", "GROQ_API_KEY"]
    }
    versions = client("secretsmanager").list_secret_version_ids(SecretId="llmops_prod")["Versions"]
    stages = sorted(s for v in versions for s in v["VersionStages"])
    assert stages == ["AWSCURRENT", "AWSPREVIOUS"]
    assert "GOOGLE_API_KEY" in secrets.keys(N)  # merged, not replaced
    assert secrets.set_secret_values(N, {"EXTRA": "x"}).action == "unchanged"


def test_values_never_appear_in_results_or_output(aws, capsys):
    changes = secrets.ensure(N, values={"GROQ_API_KEY": FAKE_KEY})
    changes.append(secrets.set_secret_values(N, {"GOOGLE_API_KEY": FAKE_KEY + "g"}))
    changes += secrets.plan(N, values={"GROQ_API_KEY": FAKE_KEY + "new"})
    shown = repr(changes) + repr(secrets.describe(N)) + "".join(capsys.readouterr())
    assert FAKE_KEY not in shown
    assert "GROQ_API_KEY" in shown  # keys are fine to show


def test_non_string_value_is_refused_without_echoing_it(aws):
    with pytest.raises(InvalidInput, match="GROQ_API_KEY") as info:
        secrets.ensure(N, values={"GROQ_API_KEY": 12345})
    assert "12345" not in str(info.value)


def test_missing_secret_is_a_clear_error(aws):
    with pytest.raises(ResourceError, match="secret llmops_prod does not exist"):
        secrets.value_from(N, "GROQ_API_KEY")


def test_delete_then_absent(aws):
    secrets.ensure(N)
    assert [c.action for c in secrets.delete(N)] == ["delete"]
    assert [c.action for c in secrets.delete(N)] == ["absent"]
    assert secrets.describe(N)["exists"] is False


def test_recovery_window_outside_aws_range_is_refused(aws):
    secrets.ensure(N)
    with pytest.raises(InvalidInput, match="recovery_days"):
        secrets.delete(N, recovery_days=3)


def test_secret_in_its_recovery_window_is_restored_by_ensure(aws):
    secrets.ensure(N, values={"GROQ_API_KEY": FAKE_KEY})
    secrets.delete(N, recovery_days=7)
    assert secrets.describe(N)["exists"] is False
    assert [(c.action, c.detail) for c in secrets.plan(N)] == [("update", {"restore": True})]
    secrets.ensure(N)
    assert secrets.describe(N)["exists"] is True
    assert [c.action for c in secrets.plan(N)] == ["unchanged"]


def test_denied_call_names_the_action(aws):
    aws.enforce_iam(0)
    with pytest.raises(PermissionDenied, match="secretsmanager:DescribeSecret"):
        secrets.ensure(N)
