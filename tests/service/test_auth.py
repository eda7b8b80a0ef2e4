"""API_KEY: every route that reads or writes a session needs the key, checked before the body."""

from __future__ import annotations

import socket

import pytest

from service.api.routing import depends_on, select
from service.app import ROUTERS, create_app
from service.deps import require_api_key
from service.server import serve_in_thread
from tests.service.asgi import call_unread
from tests.service.conftest import started, upload

KEY = "s3cret-key-for-tests"
AUTH = {"Authorization": f"Bearer {KEY}"}
HINT = "missing or wrong API key: send the header 'Authorization: Bearer <API_KEY>'"

# Every route: (method, path, request keywords, status without the key, status with it).
OPEN = [
    ("GET", "/health", {}, 200),
    ("GET", "/ready", {}, 200),
    ("GET", "/", {}, 200),
    ("GET", "/static/app.js", {}, 200),
    ("GET", "/favicon.ico", {}, 200),
    ("GET", "/notes", {}, 200),  # the notes library is public, like the page
    ("GET", "/notes/roles.md", {}, 200),
    ("GET", "/docs", {}, 200),
    ("GET", "/redoc", {}, 200),
    ("GET", "/docs/oauth2-redirect", {}, 200),
    ("GET", "/openapi.json", {}, 200),
]
PROTECTED = [
    ("POST", "/upload", {"files": [("files", ("a.md", b"# A\n\nECR stores images."))]}, 200),
    ("POST", "/chat", {"json": {"session_id": "library", "message": "What is ECR?"}}, 200),
    ("POST", "/sessions", {"json": {"library": True}}, 201),
    ("GET", "/sessions/library/history", {}, 200),
    ("DELETE", "/sessions/no-such-session", {}, 404),
]
# The service's own routes behind the table's paths (the rest: FastAPI's docs, /static).
OPEN_ROUTES = {
    ("GET", "/health"),
    ("GET", "/ready"),
    ("GET", "/"),
    ("GET", "/favicon.ico"),
    ("GET", "/notes"),
    ("GET", "/notes/{name:path}"),
}
PROTECTED_ROUTES = {
    ("POST", "/upload"),
    ("POST", "/chat"),
    ("POST", "/sessions"),
    ("GET", "/sessions/{session_id}/history"),
    ("DELETE", "/sessions/{session_id}"),
}


@pytest.fixture
def locked(make_settings):
    c = started(make_settings(API_KEY=KEY))
    yield c
    c.__exit__(None, None, None)


def service_routes(app) -> set[tuple[str, str]]:
    """Return (method, path template) for the routers' routes and every documented one."""
    documented = {(m.upper(), p) for p, ops in app.openapi()["paths"].items() for m in ops}
    routed = {(m, r.path) for router in ROUTERS for r in router.routes for m in r.methods}
    return documented | routed


def test_the_table_lists_every_route_and_the_key_guards_exactly_the_session_routes(settings):
    assert service_routes(create_app(settings)) == OPEN_ROUTES | PROTECTED_ROUTES
    guarded = select(ROUTERS, depends_on(require_api_key))
    assert {(m, r.path) for r in guarded for m in r.methods} == PROTECTED_ROUTES


@pytest.mark.parametrize(("method", "path", "kwargs", "status"), OPEN)
def test_open_routes_answer_without_the_key(locked, method, path, kwargs, status):
    assert locked.request(method, path, **kwargs).status_code == status


@pytest.mark.parametrize(("method", "path", "kwargs", "status"), PROTECTED)
def test_protected_routes_need_the_key(locked, method, path, kwargs, status):
    for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": f"Basic {KEY}"}):
        r = locked.request(method, path, headers=headers, **kwargs)
        assert r.status_code == 401, (headers, r.text)
        assert r.json() == {"detail": HINT}
        assert r.headers["www-authenticate"] == "Bearer"
    r = locked.request(method, path, headers=AUTH, **kwargs)
    assert r.status_code == status, r.text


def test_history_of_a_session_needs_the_key(locked):
    sid = locked.post("/sessions", json={"library": False}, headers=AUTH).json()["session_id"]
    assert locked.get(f"/sessions/{sid}/history").status_code == 401
    r = locked.get(f"/sessions/{sid}/history", headers=AUTH)
    assert r.status_code == 200
    assert r.json()["session_id"] == sid


def test_the_scheme_is_case_insensitive_as_in_the_dependency(locked):
    r = locked.post(
        "/chat",
        json={"session_id": "library", "message": "What is ECR?"},
        headers={"Authorization": f"bearer {KEY}"},
    )
    assert r.status_code == 200


def test_right_key_works_end_to_end(locked):
    r = upload(locked, ("a.md", b"# Note\n\nECR stores images."), headers=AUTH)
    assert r.status_code == 200
    sid = r.json()["session_id"]
    r = locked.post(
        "/chat", json={"session_id": sid, "message": "What stores images?"}, headers=AUTH
    )
    assert r.status_code == 200
    assert locked.delete(f"/sessions/{sid}", headers=AUTH).status_code == 200


def test_the_page_says_a_key_is_needed(locked):
    page = locked.get("/")
    assert page.status_code == 200
    assert 'data-auth-required="true"' in page.text


def test_no_key_configured_means_open(client):
    assert client.post("/chat", json={"session_id": "library", "message": "hi"}).status_code == 200
    assert client.get("/sessions/library/history").status_code == 200


def test_settings_can_be_swapped_with_dependency_overrides(client, make_settings):
    from service.deps import app_settings

    client.app.dependency_overrides[app_settings] = lambda: make_settings(API_KEY=KEY)
    assert client.post("/chat", json={"session_id": "library", "message": "hi"}).status_code == 401


@pytest.mark.parametrize(
    ("path", "content_type"),
    [("/chat", "application/json"), ("/upload", "multipart/form-data; boundary=x")],
)
def test_a_huge_body_without_the_key_is_refused_unread(make_settings, path, content_type):
    app = create_app(make_settings(API_KEY=KEY))
    huge = {"Content-Type": content_type, "Content-Length": str(10**9)}
    status, headers = call_unread(app, "POST", path, huge)
    assert status == 401  # the key is checked first: a stranger learns nothing of the limits
    assert headers["www-authenticate"] == "Bearer"
    status, _ = call_unread(app, "POST", path, {**huge, **AUTH})
    assert status == 413  # with the key, the declared size is refused, still unread


def test_a_real_server_refuses_a_keyless_body_it_never_receives(make_settings):
    with serve_in_thread(create_app(make_settings(API_KEY=KEY))) as server:
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as conn:
            conn.sendall(
                b"POST /chat HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
                b"Expect: 100-continue\r\nContent-Length: 100000000\r\n\r\n"
            )
            reply = conn.recv(65536)
        # No "100 Continue": the client is told not to send its 100 MB.
        assert reply.startswith(b"HTTP/1.1 401 ")
        assert HINT.encode() in reply
