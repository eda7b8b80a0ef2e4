"""Unexpected failures and CORS: JSON errors, no stack traces, the service stays up."""

from __future__ import annotations

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
        assert "disk on fire" not in r.text
        assert c.get("/health").status_code == 200


def test_cors_allows_only_the_listed_origins(make_settings):
    with TestClient(create_app(make_settings(CORS_ORIGINS="https://ok.example"))) as c:
        ok = c.get("/health", headers={"Origin": "https://ok.example"})
        assert ok.headers["access-control-allow-origin"] == "https://ok.example"
        other = c.get("/health", headers={"Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in other.headers


def test_no_cors_headers_by_default(client):
    r = client.get("/health", headers={"Origin": "https://any.example"})
    assert "access-control-allow-origin" not in r.headers


def test_unknown_route_is_a_json_404(client):
    r = client.get("/nope")
    assert r.status_code == 404
    assert r.json() == {"detail": "Not Found"}
