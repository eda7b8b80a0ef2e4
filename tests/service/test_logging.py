"""Logs: JSON lines on stdout, one per request, secrets never printed."""

from __future__ import annotations

import json
import logging

from fastapi.testclient import TestClient

from service.app import create_app
from tests.service.builders import GUIDE_MD
from tests.service.conftest import upload

MARKER = "gsk_MARKER_d0n7_l0g_m3_42"


def json_lines(text: str) -> list[dict]:
    """Parse every stdout line as JSON (fails if any line is not JSON)."""
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_one_json_line_per_request(make_settings, capsys):
    with TestClient(create_app(make_settings())) as c:
        c.app.state.runtime.wait_loaded(30)
        capsys.readouterr()
        c.get("/health", headers={"X-Request-ID": "req-123"})
        c.post("/chat", json={"session_id": "nope", "message": "hi"})
        out = capsys.readouterr().out
    requests = [r for r in json_lines(out) if r["message"] == "request"]
    assert [(r["method"], r["route"], r["status"]) for r in requests] == [
        ("GET", "/health", 200),
        ("POST", "/chat", 404),
    ]
    assert requests[0]["request_id"] == "req-123"
    assert all(isinstance(r["latency_ms"], float) for r in requests)
    assert len({r["request_id"] for r in requests}) == 2


def test_route_is_the_template_not_the_raw_path(make_settings, capsys):
    with TestClient(create_app(make_settings())) as c:
        c.get("/sessions/abc123/history")
        out = capsys.readouterr().out
    line = [r for r in json_lines(out) if r["message"] == "request"][-1]
    assert line["route"] == "/sessions/{session_id}/history"


def test_secret_values_never_appear(make_settings, capsys):
    settings = make_settings(GROQ_API_KEY=MARKER, LOG_LEVEL="DEBUG")
    with TestClient(create_app(settings)) as c:
        c.app.state.runtime.wait_loaded(30)
        sid = upload(c, ("guide.md", GUIDE_MD.encode())).json()["session_id"]
        c.post("/chat", json={"session_id": sid, "message": "What does the circuit breaker do?"})
        c.post("/chat", json={"session_id": sid, "message": MARKER})  # a user pastes it
        c.get("/ready")
        c.post("/chat", content=b"{bad json")
        # Even code that logged the value by mistake would not leak it.
        logging.getLogger("service.test").warning("oops %s", MARKER)
        out = capsys.readouterr()
    assert "groq_api_key" in out.out  # the start-up summary was logged...
    assert MARKER not in out.out  # ...without the value
    assert MARKER not in out.err
    assert "***" in out.out


def test_a_500_is_logged_with_the_id_its_response_carries(make_settings, capsys):
    app = create_app(make_settings())

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("disk on fire")

    with TestClient(app, raise_server_exceptions=False) as c:
        capsys.readouterr()
        r = c.get("/boom")
        out = capsys.readouterr().out
    line = [x for x in json_lines(out) if x["message"] == "request"][-1]
    assert (line["route"], line["status"]) == ("/boom", 500)
    assert line["request_id"] == r.headers["x-request-id"]
    error = next(x for x in json_lines(out) if x["message"] == "unhandled error")
    assert error["request_id"] == r.headers["x-request-id"]
