"""`aws logs tail` (a CLI v2 command) on the venv's AWS CLI v1, through the workbook's plugin."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime

import pytest

from deploy.aws import logs_tail
from deploy.aws.cli import cli, plugin_config

GROUP = "/ecs/llmopstdlive"
STREAM = "ecs/llmops/abc123"


def _put(ctx, *messages: str, at_ms: int | None = None) -> None:
    """Put events (now, a millisecond apart) into the test stream."""
    at = at_ms or int(time.time() * 1000)
    events = [{"timestamp": at + i, "message": m} for i, m in enumerate(messages)]
    ctx.client("logs").put_log_events(logGroupName=GROUP, logStreamName=STREAM, logEvents=events)


@pytest.fixture
def group(ctx):
    """A log group with one stream, as the awslogs driver makes them."""
    logs = ctx.client("logs")
    logs.create_log_group(logGroupName=GROUP)
    logs.create_log_stream(logGroupName=GROUP, logStreamName=STREAM)
    return ctx


def test_tail_prints_the_groups_events_with_time_and_stream(group, tmp_path):
    line = json.dumps({"level": "INFO", "message": "request", "route": "/health"})
    _put(group, "starting", line)
    out = cli(["logs", "tail", GROUP], group.environment(), tmp_path, 20)
    assert out.ok, out.stderr
    printed = out.stdout.splitlines()
    assert [p.split(" ", 2)[1:] for p in printed] == [[STREAM, "starting"], [STREAM, line]]
    assert datetime.fromisoformat(printed[0].split(" ")[0]).tzinfo is not None


def test_since_leaves_out_older_events_and_formats_short_and_json(group, tmp_path):
    an_hour_ago = int(time.time() * 1000) - 3_600_000
    _put(group, "old", at_ms=an_hour_ago)
    _put(group, '{"status": 200}')
    env = group.environment()
    recent = cli(["logs", "tail", GROUP, "--format", "short"], env, tmp_path, 20)
    assert recent.ok and [ln.split(" ", 1)[1] for ln in recent.stdout.splitlines()] == [
        '{"status": 200}'
    ]
    assert "old" in cli(["logs", "tail", GROUP, "--since", "2h"], env, tmp_path, 20).stdout
    pretty = cli(["logs", "tail", GROUP, "--format", "json"], env, tmp_path, 20).stdout
    assert '{\n    "status": 200\n}' in pretty


def test_filter_pattern_keeps_the_matching_events(group, tmp_path):
    _put(group, "ERROR cannot read the secret", "INFO request")
    out = cli(
        ["logs", "tail", GROUP, "--filter-pattern", "ERROR"], group.environment(), tmp_path, 20
    )
    assert out.ok and out.stdout.count("\n") == 1 and "cannot read the secret" in out.stdout


def test_follow_prints_new_events_once_until_ctrl_c(group, tmp_path, monkeypatch):
    monkeypatch.setattr(logs_tail, "POLL_S", 0.2)  # the forked CLI inherits it
    _put(group, "before")
    later = threading.Timer(1.0, lambda: _put(group, "after"))
    later.start()
    try:
        out = cli(["logs", "tail", GROUP, "--follow"], group.environment(), tmp_path, 2.0)
    finally:
        later.cancel()
    # Ctrl-C (SIGINT at the timeout) ends a follow: exit 0, each event printed once.
    assert out.exit_code == 0, out.stderr
    assert [ln.split(" ", 2)[2] for ln in out.stdout.splitlines()] == ["before", "after"]


def test_a_bad_since_and_a_missing_group_are_named(group, tmp_path):
    env = group.environment()
    bad = cli(["logs", "tail", GROUP, "--since", "yesterday"], env, tmp_path, 20)
    assert bad.exit_code == 252 and "--since 'yesterday'" in bad.stderr
    missing = cli(["logs", "tail", "/ecs/nothing-here"], env, tmp_path, 20)
    assert not missing.ok and "ResourceNotFoundException" in missing.stderr


def test_since_reads_relative_times_and_timestamps():
    now = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
    at = int(now.timestamp() * 1000)
    assert logs_tail.since_ms("10m", now) == at - 600_000
    assert logs_tail.since_ms("2h", now) == at - 7_200_000
    assert logs_tail.since_ms("2026-12-06T11:00:00Z", now) == at - 3_600_000
    assert logs_tail.since_ms("2026-12-06T11:00:00", now) == at - 3_600_000  # UTC if unsaid
    with pytest.raises(logs_tail.SinceError, match="relative time"):
        logs_tail.since_ms("5 minutes", now)


def test_the_plain_aws_command_has_tail_with_the_emulators_config_file(group, tmp_path):
    # What `workbook stack emulator` exports: AWS_CONFIG_FILE naming the plugin.
    _put(group, "hello")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(group.environment())
    run = [sys.executable, "-m", "awscli", "logs", "tail", GROUP]
    without = subprocess.run(run, env=env, capture_output=True, text=True, timeout=60)
    assert without.returncode != 0 and "Invalid choice" in without.stderr
    env["AWS_CONFIG_FILE"] = str(plugin_config(tmp_path / "aws-cli.config"))
    with_plugin = subprocess.run(run, env=env, capture_output=True, text=True, timeout=60)
    assert with_plugin.returncode == 0, with_plugin.stderr
    assert with_plugin.stdout.split(" ", 2)[1:] == [STREAM, "hello\n"]
