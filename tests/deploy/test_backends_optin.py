"""LocalStack and real AWS: opt-in tests that skip with a reason when nothing answers."""

import json
import urllib.request

import pytest

from deploy import stack
from deploy.backend import start_backend
from deploy.clients import reset_clients
from deploy.errors import BackendError
from deploy.names import StackNames

LOCALSTACK = "http://localhost:4566"
# The free LocalStack plan has these; the ECS side needs a paid plan (localstack/README.md).
FREE_PLAN_MODULES = ("secrets", "logs", "state")


def test_localstack_that_does_not_answer_is_explained(monkeypatch, aws):
    monkeypatch.setenv("LOCALSTACK_ENDPOINT", "http://127.0.0.1:9")  # nothing listens on 9
    reset_clients()
    with pytest.raises(BackendError, match="LOCALSTACK_AUTH_TOKEN") as err:
        start_backend("localstack")
    assert "nothing answers at http://127.0.0.1:9" in str(err.value)
    assert start_backend("moto") is aws  # the running backend was left alone
    reset_clients()


def _localstack_health() -> dict | None:
    try:
        with urllib.request.urlopen(LOCALSTACK + "/_localstack/health", timeout=2) as resp:
            return json.loads(resp.read())
    except OSError:
        return None


@pytest.mark.localstack
def test_state_modules_on_localstack():
    if _localstack_health() is None:
        pytest.skip(
            f"no LocalStack at {LOCALSTACK}: `docker compose --profile localstack up -d "
            "localstack` with LOCALSTACK_AUTH_TOKEN set (localstack/README.md)"
        )
    from deploy import backend as backend_module

    names = StackNames(project="ecs-workbook-localstack-test")
    try:
        backend_module._CURRENT = None
        start_backend("localstack")
    except BackendError as exc:  # the ECS side needs a paid plan: test the free part
        if "does not offer" not in str(exc):
            raise
        backend_module._CURRENT = backend_module.Backend("localstack", LOCALSTACK, "us-east-1")
    try:
        first = stack.apply(names, only=FREE_PLAN_MODULES, progress=False)
        again = stack.apply(names, only=FREE_PLAN_MODULES, progress=False)
        assert any(c.changed for c in first) and not any(c.changed for c in again)
    finally:
        for module in reversed(FREE_PLAN_MODULES):
            stack.module(module).delete(names)
        backend_module._CURRENT = None
        reset_clients()


@pytest.mark.aws
def test_real_aws_read_only_plan():
    import os

    if os.environ.get("WORKBOOK_AWS_TESTS") != "1":
        pytest.skip("real-AWS tests are opt-in: set WORKBOOK_AWS_TESTS=1 with credentials")
    from deploy.clients import account_id

    start_backend("aws")
    assert account_id().isdigit()
    # plan reads only; nothing billable is created without apply's confirmation
    assert all(c.action in ("create", "update", "unchanged") for c in stack.plan(StackNames()))
