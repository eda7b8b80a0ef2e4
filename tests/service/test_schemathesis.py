"""Fuzz every operation from the OpenAPI schema: no input produces a server error."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from service.app import create_app
from service.config import Settings
from tests.service.builders import write_notes

ROOT = Path(tempfile.mkdtemp(prefix="service-fuzz-"))
APP = create_app(
    Settings(_env_file=None, DATA_DIR=ROOT / "data", LIBRARY_DIR=write_notes(ROOT / "notes"))
)
schema = schemathesis.openapi.from_asgi("/openapi.json", APP)


@pytest.fixture(scope="module", autouse=True)
def loaded_app():
    """Load the library before the first case; remove the temporary DATA_DIR afterwards."""
    APP.state.runtime.start()
    assert APP.state.runtime.wait_loaded(60)
    yield
    shutil.rmtree(ROOT, ignore_errors=True)


@schema.parametrize()
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_no_server_errors(case):
    case.call_and_validate(checks=[not_a_server_error])
