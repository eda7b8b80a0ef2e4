"""Scaling activities: each action the local autoscaler takes, served by DescribeScalingActivities.

moto 5.2.5 has no DescribeScalingActivities (HTTP 500, NotImplementedError, which the AWS CLI
and boto3 retry for 7-10 s). `install()` adds it to moto's in-process Application Auto Scaling
responses (emulator.moto_server installs it in every moto server it starts); `record()` keeps
an activity on the account and region's backend (so a moto reset forgets it). Fields and wording are AWS's, as the AWS CLI's example for an ECS service shows:
Description "Setting desired count to 2.", Cause "monitor alarm <alarm> in state ALARM
triggered policy <policy>", StatusMessage "Successfully set desired count to 2. Change
successfully fulfilled by ecs.", StatusCode "Successful".
https://docs.aws.amazon.com/autoscaling/application/APIReference/API_DescribeScalingActivities.html
https://docs.aws.amazon.com/autoscaling/application/userguide/application-auto-scaling-scaling-activities.html
`Details` says that the local data plane took it, and on which clock. localstack/README.md
lists the extension.
"""

from __future__ import annotations

import json
import threading
import uuid
from datetime import UTC, datetime
from typing import Any

from moto.applicationautoscaling.exceptions import AWSValidationException
from moto.applicationautoscaling.models import applicationautoscaling_backends
from moto.applicationautoscaling.responses import ApplicationAutoScalingResponse

MAX_RESULTS = 50  # the API's maximum page size (and its default)
_INSTALLED = threading.Lock()
_installed = False


def _activities(backend: Any) -> list[dict]:
    """Return the backend's activities, newest first (made on first use; a reset drops them)."""
    if not hasattr(backend, "scaling_activities"):
        backend.scaling_activities = []
    return backend.scaling_activities


def _epoch(when: datetime) -> float:
    """Return epoch seconds of a naive-UTC or aware datetime (the JSON protocol's timestamps)."""
    return (when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp()


def record(
    account_id: str,
    region: str,
    *,
    resource_id: str,
    new_count: int,
    cause: str,
    started: datetime,
    ended: datetime,
    details: str,
    namespace: str = "ecs",
    dimension: str = "ecs:service:DesiredCount",
) -> dict:
    """Record a successful change of an ECS service's desired count; return the activity."""
    activity = {
        "ActivityId": str(uuid.uuid4()),
        "ServiceNamespace": namespace,
        "ResourceId": resource_id,
        "ScalableDimension": dimension,
        "Description": f"Setting desired count to {new_count}.",
        "Cause": cause,
        "StartTime": _epoch(started),
        "EndTime": _epoch(ended),
        "StatusCode": "Successful",
        "StatusMessage": (
            f"Successfully set desired count to {new_count}. Change successfully fulfilled by ecs."
        ),
        "Details": details,
    }
    _activities(applicationautoscaling_backends[account_id][region]).insert(0, activity)
    return activity


def describe(
    backend: Any,
    namespace: str,
    resource_id: str | None = None,
    dimension: str | None = None,
    max_results: int | None = None,
    next_token: str | None = None,
) -> tuple[list[dict], str | None]:
    """Return one page of the backend's activities (newest first) and the next token."""
    if max_results is not None and not 1 <= int(max_results) <= MAX_RESULTS:
        raise AWSValidationException(
            f"1 validation error detected: Value '{max_results}' at 'maxResults' failed to "
            f"satisfy constraint: Member must have value between 1 and {MAX_RESULTS}"
        )
    found = [
        a
        for a in _activities(backend)
        if a["ServiceNamespace"] == namespace
        and resource_id in (None, a["ResourceId"])
        and dimension in (None, a["ScalableDimension"])
    ]
    start = int(next_token) if next_token and str(next_token).isdigit() else 0
    end = start + int(max_results or MAX_RESULTS)
    return found[start:end], (str(end) if end < len(found) else None)


def _describe_scaling_activities(self: ApplicationAutoScalingResponse) -> str:
    """moto's missing DescribeScalingActivities."""
    namespace = self._get_param("ServiceNamespace")
    if not namespace:
        raise AWSValidationException(
            "1 validation error detected: Value null at 'serviceNamespace' failed to satisfy "
            "constraint: Member must not be null"
        )
    page, token = describe(
        self.applicationautoscaling_backend,
        namespace,
        self._get_param("ResourceId"),
        self._get_param("ScalableDimension"),
        self._get_param("MaxResults"),
        self._get_param("NextToken"),
    )
    return json.dumps({"ScalingActivities": page, **({"NextToken": token} if token else {})})


def install() -> None:
    """Serve DescribeScalingActivities from moto's in-process backend (once per process)."""
    global _installed
    with _INSTALLED:
        if not _installed:
            ApplicationAutoScalingResponse.describe_scaling_activities = (
                _describe_scaling_activities
            )
            _installed = True
