"""API_KEY: mutating routes need `Authorization: Bearer <key>`; reads stay open."""

from __future__ import annotations

import pytest

from tests.service.conftest import started, upload

KEY = "s3cret-key-for-tests"


@pytest.fixture
def locked(make_settings):
    c = started(make_settings(API_KEY=KEY))
    yield c
    c.__exit__(None, None, None)


def test_mutating_routes_need_the_key(locked):
    assert upload(locked, ("a.md", b"text")).status_code == 401
    r = locked.post("/chat", json={"session_id": "library", "message": "hi"})
    assert r.status_code == 401
    assert r.headers["www-authenticate"] == "Bearer"
    assert "Authorization: Bearer" in r.json()["detail"]
    assert locked.delete("/sessions/abc").status_code == 401


def test_wrong_key_is_401(locked):
    bad = {"Authorization": "Bearer nope"}
    assert upload(locked, ("a.md", b"text"), headers=bad).status_code == 401
    basic = {"Authorization": f"Basic {KEY}"}
    assert upload(locked, ("a.md", b"text"), headers=basic).status_code == 401


def test_right_key_works(locked):
    auth = {"Authorization": f"Bearer {KEY}"}
    r = upload(locked, ("a.md", b"# Note\n\nECR stores images."), headers=auth)
    assert r.status_code == 200
    sid = r.json()["session_id"]
    r = locked.post(
        "/chat", json={"session_id": sid, "message": "What stores images?"}, headers=auth
    )
    assert r.status_code == 200
    assert locked.delete(f"/sessions/{sid}", headers=auth).status_code == 200


def test_reads_stay_open(locked):
    assert locked.get("/health").status_code == 200
    assert locked.get("/sessions/library/history").status_code == 200
    page = locked.get("/")
    assert page.status_code == 200
    assert 'data-auth-required="true"' in page.text


def test_no_key_configured_means_open(client):
    assert client.post("/chat", json={"session_id": "library", "message": "hi"}).status_code == 200


def test_settings_can_be_swapped_with_dependency_overrides(client, make_settings):
    from service.deps import app_settings

    client.app.dependency_overrides[app_settings] = lambda: make_settings(API_KEY=KEY)
    assert client.post("/chat", json={"session_id": "library", "message": "hi"}).status_code == 401
