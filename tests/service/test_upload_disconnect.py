"""A client that goes away mid-upload stops the work: the parser is killed, nothing is saved."""

from __future__ import annotations

import asyncio
import json
import logging
import signal
import socket
import threading
import time
from pathlib import Path

import httpx
import pytest

import service.sandbox as sandbox_module
from service.errors import UploadCancelledError
from service.sandbox import Sandbox
from service.uploads import Upload
from tests.service.conftest import started
from tests.service.crafted import pages_sharing_one_stream
from tests.service.server import ServiceProcess
from tests.service.test_documents import stored_files


def multipart(*files: tuple[str, bytes]) -> tuple[bytes, str]:
    """Return an /upload body and its content type."""
    request = httpx.Request("POST", "http://testserver/upload", files=[("files", f) for f in files])
    return request.read(), request.headers["content-type"]


def post_then_disconnect(app, body: bytes, content_type: str, gone: threading.Event) -> list[dict]:
    """Send the body to the ASGI app, then report the client gone once `gone` is set."""
    pending = [{"type": "http.request", "body": body, "more_body": False}]

    async def receive() -> dict:
        if pending:
            return pending.pop(0)
        while not gone.is_set():  # still connected: a real server would wait here too
            await asyncio.sleep(0.01)
        return {"type": "http.disconnect"}

    sent: list[dict] = []

    async def send(message: dict) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/upload",
        "raw_path": b"/upload",
        "root_path": "",
        "query_string": b"",
        "headers": [
            (b"host", b"testserver"),
            (b"content-type", content_type.encode()),
            (b"content-length", str(len(body)).encode()),
        ],
        "client": ("127.0.0.1", 1),
        "server": ("testserver", 80),
    }
    asyncio.run(app(scope, receive, send))
    return sent


def test_a_disconnect_while_parsing_kills_the_parser_and_saves_nothing(
    make_settings, monkeypatch, caplog
):
    # Only the disconnect can stop this parse in time (it needs about 18 s of CPU a page).
    # The page cap is lifted so that the crafted page is parsed (slowly), not refused.
    c = started(make_settings(PARSE_CPU_S=600, PARSE_TIMEOUT_S=30, MAX_PDF_PAGE_KB=100_000))
    box = Sandbox()
    children = []
    start = sandbox_module._start
    monkeypatch.setattr(sandbox_module, "_start", lambda: children.append(start()) or children[-1])
    monkeypatch.setattr(c.app.state.runtime.uploads, "parser", box)
    parsing = threading.Event()  # the client hangs up once the PDF's parser is at work
    exchange = sandbox_module._exchange

    def exchange_and_hang_up(*args):
        parsing.set()
        return exchange(*args)

    monkeypatch.setattr(sandbox_module, "_exchange", exchange_and_hang_up)
    try:
        body, kind = multipart(
            ("notes.md", b"# Notes\n\nText."), ("slow.pdf", pages_sharing_one_stream())
        )
        with caplog.at_level(logging.INFO, logger="service.uploads"):
            sent = post_then_disconnect(c.app, body, kind, parsing)
        assert sent[0]["status"] == 499, sent
        assert stored_files(c.app.state.settings.data_dir) == []
        assert "upload cancelled: the client went away" in caplog.messages
        killed = [child.returncode for child in children if child.returncode is not None]
        assert killed == [-signal.SIGKILL]
    finally:
        box.close()
        c.__exit__(None, None, None)


def test_a_disconnect_after_parsing_commits_nothing(make_settings, monkeypatch):
    # The client leaves while the index is being built: the commit's last check stops it.
    c = started(make_settings())
    try:
        uploads, sessions = c.app.state.runtime.uploads, c.app.state.runtime.sessions
        cancelled = threading.Event()
        build = sessions._empty_index

        def leave_while_indexing():
            cancelled.set()
            return build()

        monkeypatch.setattr(sessions, "_empty_index", leave_while_indexing)
        with pytest.raises(UploadCancelledError):
            uploads.add([Upload("a.md", b"# A\n\nAlpha text.")], cancelled=cancelled)
        assert stored_files(c.app.state.settings.data_dir) == []
    finally:
        c.__exit__(None, None, None)


def test_a_connected_client_gets_its_upload(client):
    body, kind = multipart(("a.md", b"# A\n\nAlpha text."))
    r = client.post("/upload", content=body, headers={"content-type": kind})
    assert r.status_code == 200, r.text


@pytest.mark.slow
def test_a_real_client_that_hangs_up_leaves_no_session(tmp_path, notes_dir):
    data_dir = tmp_path / "data"
    env = {
        "DATA_DIR": str(data_dir),
        "LIBRARY_DIR": str(notes_dir),
        "PARSE_CPU_S": "600",
        "PARSE_TIMEOUT_S": "30",
        "MAX_PDF_PAGE_KB": "100000",  # so that the crafted page is parsed (slowly), not refused
        "LOG_LEVEL": "DEBUG",
    }
    svc = ServiceProcess(env, tmp_path / "out.log")
    try:
        svc.wait_for("/ready")
        body, kind = multipart(("slow.pdf", pages_sharing_one_stream()))
        head = (
            f"POST /upload HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {kind}\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        ).encode()
        with socket.create_connection(("127.0.0.1", svc.port), timeout=10) as sock:
            sock.sendall(head + body)
            parser = wait_for_log(svc, "pdf parse started")["pid"]
        # The socket is closed: the service notices, kills the parser and saves nothing.
        logged = wait_for_log(svc, "upload cancelled: the client went away")
        assert logged["request_id"]
        assert not Path(f"/proc/{parser}").exists()  # killed and reaped, not left running
        assert "documents indexed" not in svc.output()
        assert list((data_dir / "sessions").glob("*")) == []
        assert svc.get("/health")[0] == 200
    finally:
        svc.stop()


def wait_for_log(svc: ServiceProcess, message: str, limit: float = 60) -> dict:
    """Return the first JSON log line with `message` (fail if none comes in `limit` seconds)."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        for line in svc.output().splitlines():
            if line.startswith("{") and json.loads(line).get("message") == message:
                return json.loads(line)
        time.sleep(0.05)
    raise AssertionError(f"no log line {message!r}:\n{svc.output()}")
