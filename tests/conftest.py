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


# Tests that drive podman, wrk or the benchmarks share one engine and the machine's cores:
# under pytest-xdist they all run on one worker, in file order, while the other worker takes
# everything else.
ENGINE_FOLDERS = ("container", "bench")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Put the container and benchmark tests in one xdist group."""
    for item in items:
        if item.path.parent.name in ENGINE_FOLDERS:
            item.add_marker(pytest.mark.xdist_group("engine"))
