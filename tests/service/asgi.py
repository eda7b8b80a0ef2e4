"""Call an ASGI app by hand, to see what it does before it reads a request's body."""

from __future__ import annotations

import asyncio


def call_unread(app, method: str, path: str, headers: dict[str, str]) -> tuple[int, dict]:
    """Call the ASGI app with a body it must not read; return (status, response headers)."""

    async def receive():
        raise AssertionError("the app read the body")

    sent: list[dict] = []

    async def send(message):
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "client": ("127.0.0.1", 1),
        "server": ("testserver", 80),
    }
    asyncio.run(app(scope, receive, send))
    start = next(m for m in sent if m["type"] == "http.response.start")
    return start["status"], {k.decode(): v.decode() for k, v in start["headers"]}
