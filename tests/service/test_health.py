"""Liveness and readiness."""

from __future__ import annotations

import threading

from tests.service.conftest import started


def test_health_reports_ok_and_version(client):
    r = client.get("/health")
    assert r.status_code == 200
    assert r.json()["status"] == "ok"
    assert r.json()["version"]
    assert r.headers["x-request-id"]


def test_ready_once_library_loaded(client):
    r = client.get("/ready")
    assert r.status_code == 200, r.json()
    assert r.json()["checks"]["library"] == "ready"


def test_ready_is_503_while_the_library_loads(settings, monkeypatch):
    gate = threading.Event()
    import service.library as library_module

    real = library_module.load_library

    def slow(*args, **kwargs):
        gate.wait(30)
        return real(*args, **kwargs)

    monkeypatch.setattr(library_module, "load_library", slow)
    from fastapi.testclient import TestClient

    from service.app import create_app

    with TestClient(create_app(settings)) as c:
        r = c.get("/ready")
        assert r.status_code == 503
        assert r.json()["checks"]["library"] == "loading"
        assert c.get("/health").status_code == 200  # liveness does not wait
        gate.set()
        assert c.app.state.runtime.wait_loaded(30)
        assert c.get("/ready").status_code == 200


def test_ready_is_503_when_data_dir_is_unwritable(make_settings, tmp_path):
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where a directory should be")
    c = started(make_settings(DATA_DIR=blocker / "data"))
    try:
        r = c.get("/ready")
        assert r.status_code == 503
        assert "not writable" in r.json()["checks"]["history"]
        assert c.get("/health").status_code == 200
    finally:
        c.__exit__(None, None, None)


def test_missing_library_dir_does_not_block_readiness(make_settings, tmp_path):
    c = started(make_settings(LIBRARY_DIR=tmp_path / "nowhere"))
    try:
        assert c.get("/ready").status_code == 200
        r = c.post("/chat", json={"session_id": "library", "message": "what is ECS?"})
        assert r.status_code == 503
        assert "LIBRARY_DIR" in r.json()["detail"]
    finally:
        c.__exit__(None, None, None)


def test_openapi_is_served(client):
    paths = client.get("/openapi.json").json()["paths"]
    assert {
        "/health",
        "/ready",
        "/upload",
        "/chat",
        "/sessions/{session_id}/history",
        "/sessions/{session_id}",
    } <= set(paths)
    assert client.get("/docs").status_code == 200


def test_health_shows_the_configured_release(make_settings):
    c = started(make_settings(APP_VERSION="1.2.3", GIT_SHA="abc1234"))
    try:
        assert c.get("/health").json() == {"status": "ok", "version": "1.2.3", "commit": "abc1234"}
    finally:
        c.__exit__(None, None, None)
