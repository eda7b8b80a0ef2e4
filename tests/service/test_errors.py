"""Unexpected failures and CORS: JSON errors, no stack traces, the service stays up."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from service.app import create_app


def test_unexpected_error_is_a_json_500_with_the_request_id(settings, monkeypatch):
    app = create_app(settings)

    def broken(session_id):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(app.state.runtime.sessions, "get", broken)
    with TestClient(app, raise_server_exceptions=False) as c:
        r = c.get("/sessions/abc/history", headers={"X-Request-ID": "rid-42"})
        assert r.status_code == 500
        assert r.json() == {"detail": "internal error; quote request id rid-42 when reporting it"}
        assert r.headers["x-request-id"] == "rid-42"
        assert "disk on fire" not in r.text
        assert c.get("/health").status_code == 200


def test_a_raising_route_answers_500_with_the_request_id_and_the_security_headers(settings):
    app = create_app(settings)

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("disk on fire")

    with TestClient(app, raise_server_exceptions=False) as c:
        r = c.get("/boom", headers={"X-Request-ID": "rid-500"})
        assert r.status_code == 500
        assert r.headers["x-request-id"] == "rid-500"
        assert r.headers["x-content-type-options"] == "nosniff"
        assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
        r = c.get("/boom")  # without one, the id made up for the request is the one quoted
        assert r.json()["detail"] == (
            f"internal error; quote request id {r.headers['x-request-id']} when reporting it"
        )


def test_cors_allows_only_the_listed_origins(make_settings):
    with TestClient(create_app(make_settings(CORS_ORIGINS="https://ok.example"))) as c:
        ok = c.get("/health", headers={"Origin": "https://ok.example"})
        assert ok.headers["access-control-allow-origin"] == "https://ok.example"
        other = c.get("/health", headers={"Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in other.headers


@pytest.mark.parametrize("env", ["development", "production"])
def test_a_list_of_origins_never_answers_a_wildcard(make_settings, env):
    settings = make_settings(ENV=env, CORS_ORIGINS="https://a.example,https://b.example")
    with TestClient(create_app(settings)) as c:
        for origin in ("https://a.example", "https://b.example"):
            r = c.get("/health", headers={"Origin": origin})
            assert r.headers["access-control-allow-origin"] == origin
        evil = {"Origin": "https://evil.example"}
        assert "access-control-allow-origin" not in c.get("/health", headers=evil).headers
        preflight = c.options("/chat", headers={**evil, "Access-Control-Request-Method": "POST"})
        assert preflight.status_code == 400
        assert "access-control-allow-origin" not in preflight.headers


def test_a_wildcard_in_development_allows_any_origin(make_settings):
    with TestClient(create_app(make_settings(CORS_ORIGINS="*"))) as c:
        r = c.get("/health", headers={"Origin": "https://any.example"})
        assert r.headers["access-control-allow-origin"] == "*"
        assert "access-control-allow-credentials" not in r.headers


def test_a_preflight_needs_no_key_and_a_refusal_carries_cors_headers(make_settings):
    settings = make_settings(API_KEY="k-for-cors", CORS_ORIGINS="https://ok.example")
    origin = {"Origin": "https://ok.example"}
    with TestClient(create_app(settings)) as c:
        preflight = c.options(
            "/chat",
            headers={
                **origin,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "authorization,content-type",
            },
        )
        assert preflight.status_code == 200
        assert preflight.headers["access-control-allow-origin"] == "https://ok.example"
        refused = c.post("/chat", json={"session_id": "library", "message": "hi"}, headers=origin)
        assert refused.status_code == 401  # and the page's script may read why:
        assert refused.headers["access-control-allow-origin"] == "https://ok.example"


def test_no_cors_headers_by_default(client):
    r = client.get("/health", headers={"Origin": "https://any.example"})
    assert "access-control-allow-origin" not in r.headers


def test_unknown_route_is_a_json_404(client):
    r = client.get("/nope")
    assert r.status_code == 404
    assert r.json() == {"detail": "Not Found"}
