"""Body limits: JSON and other bodies get MAX_JSON_KB, multipart uploads MAX_UPLOAD_MB x FILES."""

from __future__ import annotations

import json

import pytest

from tests.service.asgi import call_unread
from tests.service.conftest import started, upload


@pytest.fixture
def small(make_settings):
    """Return a client whose JSON limit is 1 KB."""
    c = started(make_settings(MAX_JSON_KB=1))
    yield c
    c.__exit__(None, None, None)


def chunks(data: bytes, size: int = 256):
    """Yield `data` in pieces: the client then sends no Content-Length (chunked encoding)."""
    for i in range(0, len(data), size):
        yield data[i : i + size]


def test_a_chat_body_over_the_limit_is_413_naming_max_json_kb(small):
    body = json.dumps({"session_id": "library", "message": "x" * 2000}).encode()
    r = small.post("/chat", content=body, headers={"Content-Type": "application/json"})
    assert r.status_code == 413
    assert r.json() == {"detail": "request body larger than 1 KB (MAX_JSON_KB)"}
    ok = small.post("/chat", json={"session_id": "library", "message": "What is ECR?"})
    assert ok.status_code == 200  # a body under the limit is answered


def test_a_streamed_body_without_length_is_counted(small):
    body = json.dumps({"session_id": "library", "message": "x" * 2000}).encode()
    r = small.post("/chat", content=chunks(body), headers={"Content-Type": "application/json"})
    assert r.status_code == 413
    assert "MAX_JSON_KB" in r.json()["detail"]
    assert small.get("/health").status_code == 200


def test_the_default_json_limit_is_64_kb(client):
    assert client.app.state.settings.max_json_kb == 64
    message = {"session_id": "library", "message": "x"}
    padded = json.dumps(message).encode() + b" " * (64 * 1024)
    r = client.post("/chat", content=padded, headers={"Content-Type": "application/json"})
    assert r.status_code == 413
    assert r.json()["detail"] == "request body larger than 64 KB (MAX_JSON_KB)"


def test_every_non_upload_body_gets_the_json_limit(small):
    big = b"x" * 4096
    # Multipart sent to a JSON route, a JSON body for the upload route, a new session.
    r = small.post("/chat", files=[("files", ("a.md", big))])
    assert (r.status_code, "MAX_JSON_KB" in r.text) == (413, True)
    r = small.post("/upload", content=big, headers={"Content-Type": "application/json"})
    assert (r.status_code, "MAX_JSON_KB" in r.text) == (413, True)
    r = small.post("/upload", data={"session_id": "x" * 4096})  # a form without files
    assert (r.status_code, "MAX_JSON_KB" in r.text) == (413, True)
    r = small.post("/sessions", content=big, headers={"Content-Type": "application/json"})
    assert (r.status_code, "MAX_JSON_KB" in r.text) == (413, True)


def test_multipart_uploads_keep_the_upload_limit(small):
    note = b"# Note\n\n" + b"ECR stores container images. " * 200  # about 6 KB > 1 KB
    r = upload(small, ("note.md", note))
    assert r.status_code == 200, r.text
    assert r.json()["chunks_indexed"] >= 1


def test_a_declared_oversize_body_is_refused_unread(make_settings):
    from service.app import create_app

    app = create_app(make_settings(MAX_JSON_KB=1))
    headers = {"Content-Type": "application/json", "Content-Length": "2048"}
    status, _ = call_unread(app, "POST", "/chat", headers)
    assert status == 413


def test_max_json_kb_must_be_positive(make_settings):
    with pytest.raises(ValueError, match="MAX_JSON_KB"):
        make_settings(MAX_JSON_KB=0)
