"""Shared fixtures: one embedded moto server for the whole run, emptied before each test."""

import pytest

from deploy.aws.backend import Backend, start_backend
from service.aws import AwsContext


@pytest.fixture(scope="session")
def moto_backend() -> Backend:
    """Start one ThreadedMotoServer on a free 127.0.0.1 port for the test session."""
    backend = start_backend("moto", fresh=True)
    yield backend
    backend.stop()


@pytest.fixture
def aws(moto_backend: Backend) -> Backend:
    """Give a test an empty emulated AWS account (moto reset, IAM enforcement off)."""
    moto_backend.reset()
    yield moto_backend
    moto_backend.enforce_iam(None)


@pytest.fixture
def ctx(aws: Backend) -> AwsContext:
    """Return the AWS context of the emptied emulated account."""
    return aws.ctx


# The container tests share one built image and podman's storage, the benchmark tests share
# the guide's PyTorch environment and wrk: under pytest-xdist each folder runs on one worker,
# in file order (its session fixtures built once), while other workers take everything else.
SERIAL_FOLDERS = ("container", "bench")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Put the container tests in one xdist group and the benchmark tests in another."""
    for item in items:
        if item.path.parent.name in SERIAL_FOLDERS:
            item.add_marker(pytest.mark.xdist_group(item.path.parent.name))
