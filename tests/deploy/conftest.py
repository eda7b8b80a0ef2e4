"""Deploy-test helpers shared by several modules."""

import contextlib

import pytest

from deploy.clients import client, reset_clients
from deploy.names import DEFAULT_NAMES


@pytest.fixture
def as_ci_user(aws, monkeypatch):
    """Return a context manager: calls inside it use the CI user's own key under IAM checks."""

    @contextlib.contextmanager
    def acting():
        key = client("iam").create_access_key(UserName=DEFAULT_NAMES.ci_user)["AccessKey"]
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", key["AccessKeyId"])
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", key["SecretAccessKey"])
        monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
        reset_clients()
        aws.enforce_iam(0)
        try:
            yield
        finally:
            aws.enforce_iam(None)
            monkeypatch.undo()
            reset_clients()

    return acting
