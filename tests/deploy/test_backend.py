"""The embedded moto backend: start, reset, IAM enforcement, stop."""

import os

import pytest
from botocore.exceptions import ClientError

from deploy.backend import start_backend
from deploy.clients import client
from deploy.errors import BackendError


def test_moto_points_this_process_at_loopback(aws):
    assert aws.endpoint_url.startswith("http://127.0.0.1:")
    assert os.environ["AWS_ENDPOINT_URL"] == aws.endpoint_url
    assert client("sts").get_caller_identity()["Account"] == "123456789012"


def test_reset_wipes_resources(aws):
    client("ecs").create_cluster(clusterName="gone-after-reset")
    aws.reset()
    assert client("ecs").list_clusters()["clusterArns"] == []


def test_iam_enforcement_denies_unsigned_identity(aws):
    aws.enforce_iam(0)
    with pytest.raises(ClientError):
        client("ecs").list_clusters()
    aws.enforce_iam(None)
    assert client("ecs").list_clusters()["clusterArns"] == []


def test_reusing_the_running_backend(aws):
    assert start_backend("moto") is aws


def test_unknown_backend_is_refused(aws):
    with pytest.raises(BackendError, match="unknown backend"):
        start_backend("azure")
