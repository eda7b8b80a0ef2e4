"""Shared fixtures: one embedded moto server for the whole run, emptied before each test."""

import shutil

import pytest

from deploy.aws.backend import Backend, start_backend
from service.aws import AwsContext
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


# The container tests share one built image (a session fixture): under pytest-xdist they run
# on one worker, in file order. Each benchmark module runs on one worker too (a quick bench
# run is a few long steps in order); different modules may run at once on different workers:
# they share only the guide's PyTorch environment, whose build is locked (bench/_guide_env.py).
SERIAL_FOLDERS = ("container", "bench")


def _group(item: pytest.Item) -> str:
    folder = item.path.parent.name
    return folder if folder == "container" else f"{folder}-{item.path.stem}"


def _serial(item: pytest.Item) -> bool:
    # A module in those folders that shares none of that marks itself `independent`.
    return item.path.parent.name in SERIAL_FOLDERS and not item.get_closest_marker("independent")


def pytest_configure(config: pytest.Config) -> None:
    """Declare the `needs` marker: tools from Debian packages a test drives."""
    config.addinivalue_line(
        "markers", "needs(*tools): Debian tools the test drives (waits for make test's set-up)"
    )
    config.addinivalue_line(
        "markers", "independent: in tests/bench or tests/container, but shares nothing there"
    )


def _needs_setup(item: pytest.Item) -> bool:
    return _serial(item) or item.get_closest_marker("needs") is not None


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Group the container and benchmark tests for xdist; run what needs the set-up last."""
    for item in items:
        if _serial(item):
            item.add_marker(pytest.mark.xdist_group(_group(item)))
    # The set-up (system packages, base image) runs in the background meanwhile.
    items.sort(key=_needs_setup)  # stable: each part keeps its order


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Wait for the background set-up before a test that needs it; skip when a tool is absent."""
    if not _needs_setup(item):
        return
    wait_for_setup()
    for marker in item.iter_markers("needs"):
        missing = [tool for tool in marker.args if shutil.which(tool) is None]
        if missing:
            pytest.skip(
                f"{', '.join(missing)} not installed (make system-deps installs it on Debian as root)"
            )
