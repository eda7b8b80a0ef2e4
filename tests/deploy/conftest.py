"""Deploy-test helpers shared by several modules."""

import contextlib
import json

import pytest

from deploy.aws.names import DEFAULT_NAMES


@pytest.fixture
def as_ci_user(aws):
    """Return a context manager yielding an AWS context that signs as the CI user, IAM enforced.

    The CI user is opt-in: the test applies IAM with `ci_user=True` first.
    """

    @contextlib.contextmanager
    def acting():
        key = aws.ctx.client("iam").create_access_key(UserName=DEFAULT_NAMES.ci_user)
        ci = aws.ctx.with_credentials(
            key["AccessKey"]["AccessKeyId"], key["AccessKey"]["SecretAccessKey"]
        )
        aws.enforce_iam(0)
        try:
            yield ci
        finally:
            aws.enforce_iam(None)

    return acting


@pytest.fixture
def aws_calls(ctx):
    """Return watch(*services): from then on, the context's calls to them as (operation, params)."""
    calls: list[tuple[str, str]] = []
    hooked = []

    def record(params, model, **_):
        calls.append((model.name, json.dumps(params, sort_keys=True, default=str)))

    def watch(*services: str) -> list[tuple[str, str]]:
        for service in services:
            event = f"provide-client-params.{service}"
            ctx.client(service).meta.events.register(event, record)
            hooked.append((service, event))
        calls.clear()
        return calls

    yield watch
    for service, event in hooked:  # the clients are shared by every test: leave no hook behind
        ctx.client(service).meta.events.unregister(event, record)
