"""Shared fixtures: one embedded moto server for the whole run, emptied before each test."""

import shutil

import pytest

from deploy.aws.backend import Backend, start_backend
from service.aws import AwsContext
from tests import xdist_groups
from tests.setup_wait import wait_for_setup


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


def pytest_configure(config: pytest.Config) -> None:
    """Declare the `needs` marker: tools from Debian packages a test drives."""
    config.addinivalue_line(
        "markers", "needs(*tools): Debian tools the test drives (waits for make test's set-up)"
    )
    config.addinivalue_line(
        "markers", "independent: in tests/bench or tests/container, but shares nothing there"
    )


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook, which reads the groups
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Group the container and benchmark tests for xdist; run what needs the set-up last."""
    xdist_groups.group(config, items)


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Wait for the background set-up before a test that needs it; skip when a tool is absent."""
    if not xdist_groups.needs_setup(item):
        return
    wait_for_setup()
    for marker in item.iter_markers("needs"):
        missing = [tool for tool in marker.args if shutil.which(tool) is None]
        if missing:
            pytest.skip(
                f"{', '.join(missing)} not installed (make system-deps installs it on Debian as root)"
            )
