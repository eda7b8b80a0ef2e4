"""Security headers on every response, a page that needs no inline code, docs off in production."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient

from service.api.headers import CSP, DOCS_CSP
from service.app import create_app
from tests.service.conftest import started

KEY = "k-for-headers"
SAME = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
}


@pytest.fixture
def locked(make_settings):
    c = started(make_settings(API_KEY=KEY, MAX_JSON_KB=1))
    yield c
    c.__exit__(None, None, None)


def assert_secured(response, csp: str = CSP) -> None:
    """Fail unless the response carries every security header, once."""
    for name, value in {**SAME, "content-security-policy": csp}.items():
        assert response.headers.get_list(name) == [value], (name, response.status_code)


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status"),
    [
        ("GET", "/", {}, 200),
        ("GET", "/static/app.js", {}, 200),
        ("GET", "/static/style.css", {}, 200),
        ("GET", "/static/missing.js", {}, 404),
        ("GET", "/health", {}, 200),
        ("GET", "/nope", {}, 404),
        ("POST", "/chat", {}, 401),  # refused by the key gate, before the app
        ("POST", "/chat", {"headers": {"Authorization": f"Bearer {KEY}"}, "json": {}}, 422),
        (
            "POST",
            "/chat",
            {"headers": {"Authorization": f"Bearer {KEY}"}, "content": b"{" * 2048},
            413,  # refused by the body limit
        ),
        ("GET", "/sessions/nope/history", {"headers": {"Authorization": f"Bearer {KEY}"}}, 404),
        ("GET", "/openapi.json", {}, 200),
    ],
)
def test_every_kind_of_response_is_secured(locked, method, path, kwargs, status):
    r = locked.request(method, path, **kwargs)
    assert r.status_code == status
    assert_secured(r)


@pytest.mark.parametrize("path", ["/docs", "/redoc"])
def test_the_docs_pages_get_their_own_policy(client, path):
    r = client.get(path)
    assert r.status_code == 200
    assert_secured(r, DOCS_CSP)


def test_the_page_policy_allows_nothing_inline_and_no_framing():
    directives = dict(d.strip().split(" ", 1) for d in CSP.split(";"))
    assert directives["default-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"
    assert "unsafe-inline" not in CSP and "unsafe-eval" not in CSP
    assert "script-src" not in directives and "style-src" not in directives  # 'self' only


def test_the_page_has_no_inline_script_or_style(client):
    html = client.get("/").text
    assert re.findall(r"<script\b[^>]*>(.*?)</script>", html, flags=re.S) == [""]  # src only
    assert "<style" not in html
    assert not re.search(r"\sstyle=", html)
    assert not re.search(r"\son[a-z]+=", html)  # no inline event handlers
    # Everything it loads comes from this origin (what 'self' allows).
    loaded = [urlsplit(u) for u in re.findall(r'\s(?:src|href)="([^"]+)"', html)]
    assert {u.path for u in loaded} == {
        "/static/app.js",
        "/static/style.css",
        "/static/favicon.svg",
    }
    assert {u.netloc for u in loaded} <= {"", "testserver"}


def test_a_foreign_host_header_does_not_reach_the_page_links(client):
    html = client.get("/", headers={"Host": "evil.example"}).text
    links = re.findall(r'\s(?:src|href)="([^"]+)"', html)
    assert sorted(links) == [
        "/static/app.js",
        "/static/favicon.svg",
        "/static/style.css",
    ]  # relative: no host at all


DOCS = ("/docs", "/redoc", "/openapi.json")


@pytest.mark.parametrize(
    ("env", "extra", "status"),
    [
        ("production", {}, 404),
        ("production", {"ENABLE_DOCS": "true"}, 200),
        ("development", {}, 200),
        ("development", {"ENABLE_DOCS": "false"}, 404),
    ],
)
def test_docs_are_served_unless_production_or_turned_off(make_settings, env, extra, status):
    with TestClient(create_app(make_settings(ENV=env, **extra))) as c:
        assert [c.get(path).status_code for path in DOCS] == [status] * len(DOCS)
        assert c.get("/health").status_code == 200
