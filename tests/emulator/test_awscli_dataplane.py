"""The AWS CLI against a running data plane: services-stable returns, `logs tail` shows the app."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import time
import urllib.request

import pytest

from bench import _plane_lab
from deploy.aws.names import DEFAULT_NAMES
from emulator.clock import Clock
from tests.awscli import aws_cli

CLOCK = Clock(scale=0.1)  # compressed: a 5 s interval probes every 0.5 s
GRACE = 60  # AWS seconds (6 s here): covers the app's 2-3 s start on a busy machine


@pytest.fixture
def lab(ctx):
    """A data plane (process mode, log shipper on) with one service of rev1 behind an ALB."""
    started = _plane_lab.start(ctx, clock=CLOCK, grace_s=GRACE)
    yield started
    started.stop()


def _app_lines(ctx, request_id: str) -> list[dict]:
    """The app's JSON lines of one request, read with the guide's `aws logs tail` (short form)."""
    # `python -m deploy.aws` is the venv's AWS CLI v1 with the workbook's `logs tail` plugin.
    tailed = subprocess.run(
        [sys.executable, "-m", "deploy.aws", "logs", "tail", DEFAULT_NAMES.log_group,
         "--since", "5m", "--format", "short"],
        capture_output=True, text=True, timeout=60, env={**os.environ, **ctx.environment()},
    )  # fmt: skip
    assert tailed.returncode == 0, tailed.stderr
    lines = []
    for printed in tailed.stdout.splitlines():
        try:
            line = json.loads(printed.split(" ", 1)[1])
        except (IndexError, ValueError):
            continue
        if isinstance(line, dict) and line.get("request_id") == request_id:
            lines.append(line)
    return lines


def test_services_stable_returns_and_logs_tail_shows_the_apps_json_request_lines(lab):
    lab.stable("rev1", limit=60)
    # The CLI's waiter asks describe-services itself: one deployment, running == desired.
    aws_cli(
        lab.ctx, "ecs", "wait", "services-stable", "--cluster", lab.cluster,
        "--services", lab.name,
    )  # fmt: skip
    request_id = f"cli-{secrets.token_hex(4)}"
    request = urllib.request.Request(lab.url() + "/health", headers={"X-Request-ID": request_id})
    with urllib.request.urlopen(request, timeout=5) as resp:
        assert resp.status == 200
    deadline = time.monotonic() + 30
    while not (lines := _app_lines(lab.ctx, request_id)) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert lines, f"no JSON log line of request {request_id} in {DEFAULT_NAMES.log_group}"
    # The app's own request log line (service/logging.py), shipped by the awslogs driver.
    assert {(line["route"], line["method"], line["status"]) for line in lines} == {
        ("/health", "GET", 200)
    }
