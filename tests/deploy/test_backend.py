"""The embedded moto backend: start, reset, IAM enforcement, stop; no environment written."""

import os

import pytest
from botocore.exceptions import ClientError

from deploy.aws import backend as backend_module
from deploy.aws.backend import start_backend
from deploy.aws.errors import BackendError
from emulator import moto_server


def test_moto_listens_on_loopback_and_leaves_the_environment_alone(aws):
    assert aws.endpoint_url.startswith("http://127.0.0.1:")
    assert os.environ.get("AWS_ENDPOINT_URL") != aws.endpoint_url
    assert aws.ctx.account_id == moto_server.ACCOUNT_ID
    assert aws.ctx.environment()["AWS_ENDPOINT_URL"] == aws.endpoint_url


def test_an_exported_endpoint_does_not_redirect_a_context(aws, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # nothing listens on 9
    fresh = type(aws.ctx)(
        **{
            f: getattr(aws.ctx, f)
            for f in ("region", "endpoint_url", "kind", "access_key_id", "secret_access_key")
        }
    )
    assert fresh.client("ecs").list_clusters()["clusterArns"] == []


def test_reset_wipes_resources(aws):
    aws.ctx.client("ecs").create_cluster(clusterName="gone-after-reset")
    aws.reset()
    assert aws.ctx.client("ecs").list_clusters()["clusterArns"] == []


def test_iam_enforcement_denies_unsigned_identity(aws):
    aws.enforce_iam(0)
    with pytest.raises(ClientError):
        aws.ctx.client("ecs").list_clusters()
    aws.enforce_iam(None)
    assert aws.ctx.client("ecs").list_clusters()["clusterArns"] == []


def test_a_running_moto_server_is_reused(aws):
    again = start_backend("moto", endpoint_url=aws.endpoint_url)
    assert again.endpoint_url == aws.endpoint_url and again.server is None
    again.stop()  # stopping a reused backend leaves the server running
    assert moto_server.answers(aws.endpoint_url)


def test_unknown_backend_is_refused():
    with pytest.raises(BackendError, match="unknown backend 'azure'"):
        start_backend("azure")


def test_localstack_that_does_not_answer_is_explained():
    with pytest.raises(BackendError, match="LOCALSTACK_AUTH_TOKEN") as err:
        start_backend("localstack", localstack_endpoint="http://127.0.0.1:9")
    assert "nothing answers at http://127.0.0.1:9" in str(err.value)


def test_reset_is_refused_off_moto():
    aws = start_backend("aws")
    with pytest.raises(BackendError, match="only offered for moto"):
        aws.reset()


def test_the_embedded_server_is_found_again_by_its_exported_endpoint(monkeypatch):
    """A second set-up in one kernel (its endpoint exported) gets the server this process runs."""
    monkeypatch.setattr(backend_module, "_EMBEDDED", None)
    first = start_backend("moto")
    try:
        again = start_backend("moto", endpoint_url=first.endpoint_url + "/")
        assert again is first and again.server is not None  # the models are in this process
        private = start_backend("moto", fresh=True)
        assert private is not first and private.server is not None
        private.stop()
    finally:
        first.stop()
    assert backend_module._EMBEDDED is None
