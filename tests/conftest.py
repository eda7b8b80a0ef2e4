"""Shared fixtures: an embedded moto server for the whole run, reset before each test."""

import pytest

from deploy.backend import Backend, start_backend
from deploy.clients import reset_clients


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
    reset_clients()
    yield moto_backend
    moto_backend.enforce_iam(None)
