"""LocalStack and real AWS: opt-in tests that skip with a reason when nothing answers."""

import json
import os
import urllib.request

import pytest

from deploy import stack
from deploy.aws.backend import LOCALSTACK_ENDPOINT, Backend, start_backend
from deploy.aws.errors import BackendError
from deploy.aws.names import StackNames
from service.aws import AwsContext

# The free LocalStack plan has these; the ECS side needs a paid plan (localstack/README.md).
FREE_PLAN_MODULES = ("secrets", "logs", "state")


def _localstack_health() -> dict | None:
    try:
        with urllib.request.urlopen(LOCALSTACK_ENDPOINT + "/_localstack/health", timeout=2) as r:
            return json.loads(r.read())
    except OSError:
        return None


@pytest.mark.localstack
def test_state_modules_on_localstack():
    if _localstack_health() is None:
        pytest.skip(
            f"no LocalStack at {LOCALSTACK_ENDPOINT}: `docker compose --profile localstack up -d "
            "localstack` with LOCALSTACK_AUTH_TOKEN set (localstack/README.md)"
        )
    names = StackNames(project="ecs-workbook-localstack-test")
    try:
        ctx = start_backend("localstack").ctx
    except BackendError as exc:  # the ECS side needs a paid plan: test the free part
        if "does not offer" not in str(exc):
            raise
        ctx = Backend(
            AwsContext(
                endpoint_url=LOCALSTACK_ENDPOINT,
                kind="localstack",
                access_key_id="testing",
                secret_access_key="testing",
            )
        ).ctx
    try:
        first = stack.apply(ctx, names, target=FREE_PLAN_MODULES)
        again = stack.apply(ctx, names, target=FREE_PLAN_MODULES)
        assert first.changed and not again.changed
    finally:
        for name in reversed(stack.steps(FREE_PLAN_MODULES)):
            stack.MODULES[name].delete(ctx, names)


@pytest.mark.aws
def test_real_aws_read_only_plan():
    if os.environ.get("WORKBOOK_AWS_TESTS") != "1":
        pytest.skip("real-AWS tests are opt-in: set WORKBOOK_AWS_TESTS=1 with credentials")
    ctx = start_backend("aws", region=os.environ.get("AWS_REGION", "us-east-1")).ctx
    assert ctx.account_id.isdigit()
    # plan reads only; nothing billable is created without apply's confirmation
    actions = {c.action for c in stack.plan(ctx, StackNames()).changes}
    assert actions <= {"create", "update", "unchanged"}
