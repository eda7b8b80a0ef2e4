"""Fixtures for the service tests: settings on a temporary DATA_DIR, a running app client."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from fastapi.testclient import TestClient

from service.app import create_app
from service.config import Settings
from tests.service.builders import write_notes

if TYPE_CHECKING:
    from service.aws import AwsContext


@pytest.fixture(scope="session")
def notes_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Return a two-note library (small, so indexing it is quick)."""
    return write_notes(tmp_path_factory.mktemp("notes"))


@pytest.fixture
def make_settings(tmp_path: Path, notes_dir: Path) -> Callable[..., Settings]:
    """Return a factory of Settings on this test's DATA_DIR; keywords use the env names."""

    def make(**env: object) -> Settings:
        values: dict[str, object] = {"DATA_DIR": tmp_path / "data", "LIBRARY_DIR": notes_dir}
        values.update(env)
        return Settings(_env_file=None, **values)

    return make


@pytest.fixture
def settings(make_settings: Callable[..., Settings]) -> Settings:
    """Return default test settings."""
    return make_settings()


def started(settings: Settings, aws: AwsContext | None = None) -> TestClient:
    """Return an entered TestClient whose start-up loading has finished."""
    client = TestClient(create_app(settings, aws))
    client.__enter__()
    assert client.app.state.runtime.wait_loaded(60)
    return client


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    """Return a client of a started app (library indexed)."""
    c = started(settings)
    yield c
    c.__exit__(None, None, None)


def upload(
    client: TestClient,
    *files: tuple[str, bytes],
    session_id: str | None = None,
    headers: dict | None = None,
):
    """POST files to /upload and return the response."""
    data = {"session_id": session_id} if session_id else None
    parts = [("files", (name, content)) for name, content in files]
    return client.post("/upload", files=parts, data=data, headers=headers)
