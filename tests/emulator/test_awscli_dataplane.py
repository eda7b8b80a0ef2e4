"""The AWS CLI against a running data plane: services-stable returns, the app's logs are there."""

from __future__ import annotations

import json
import secrets
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
    found = aws_cli(ctx, "logs", "filter-log-events", "--log-group-name", DEFAULT_NAMES.log_group)[
        "events"
    ]
    lines = []
    for event in found:
        try:
            line = json.loads(event["message"])
        except ValueError:
            continue
        if isinstance(line, dict) and line.get("request_id") == request_id:
            lines.append(line)
    return lines


def test_services_stable_returns_and_filter_log_events_shows_the_apps_json_request_lines(lab):
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
