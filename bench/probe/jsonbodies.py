"""JSON bodies: invalid JSON, wrong types, odd encodings, deep nesting, bodies over the limit."""

from __future__ import annotations

import json
from collections.abc import Iterator

from bench.probe.target import Target
from bench.probe.verdict import Verdict, judge
from bench.probe.wire import send

CATEGORY = "JSON bodies"
Q = "What does an ECS service do?"


def _json(value: object) -> bytes:
    return json.dumps(value).encode()


def _cases(t: Target) -> list[tuple[str, str, bytes, str | None, str]]:
    """Return (label, path, body, content type, expect)."""
    js = "application/json"
    over = "a" * (t.limits.max_message_chars + 1)
    return [
        ("invalid JSON", "/chat", b'{"session_id": "library", "message": ', js, "refuse"),
        ("empty body", "/chat", b"", js, "refuse"),
        ("JSON array instead of an object", "/chat", b"[1, 2, 3]", js, "refuse"),
        ("JSON string instead of an object", "/chat", b'"hello"', js, "refuse"),
        ("message is a number", "/chat", _json({"session_id": "library", "message": 123}), js,
         "refuse"),
        ("message is null", "/chat", _json({"session_id": "library", "message": None}), js,
         "refuse"),
        ("message is a list", "/chat", _json({"session_id": "library", "message": [Q]}), js,
         "refuse"),
        ("message is an object", "/chat", _json({"session_id": "library", "message": {"a": 1}}),
         js, "refuse"),
        ("session_id is a number", "/chat", _json({"session_id": 5, "message": Q}), js, "refuse"),
        ("session_id is null", "/chat", _json({"session_id": None, "message": Q}), js, "either"),
        ("no message field", "/chat", _json({"session_id": "library"}), js, "refuse"),
        ("extra fields", "/chat", _json({"session_id": "library", "message": Q, "admin": True}),
         js, "either"),
        ("empty message", "/chat", _json({"session_id": "library", "message": ""}), js, "refuse"),
        ("whitespace message", "/chat", _json({"session_id": "library", "message": " \n\t "}),
         js, "refuse"),
        ("message one over MAX_MESSAGE_CHARS", "/chat",
         _json({"session_id": "library", "message": over}), js, "refuse"),
        ("nesting 30,000 deep", "/chat", b"[" * 30_000 + b"]" * 30_000, js, "refuse"),
        ("integer of 5,000 digits", "/chat",
         b'{"session_id": "library", "message": "x", "n": ' + b"9" * 5000 + b"}", js, "either"),
        ("number 1e999", "/chat", b'{"session_id": "library", "message": 1e999}', js, "refuse"),
        ("lone surrogate in the message", "/chat",
         b'{"session_id": "library", "message": "ECS \\ud800 tasks"}', js, "either"),
        ("NUL in the message", "/chat",
         b'{"session_id": "library", "message": "ECS \\u0000 tasks"}', js, "either"),
        ("bytes that are not UTF-8", "/chat",
         b'{"session_id": "library", "message": "\xff\xfe ECS"}', js, "refuse"),
        ("UTF-16 body", "/chat",
         _json({"session_id": "library", "message": Q}).decode().encode("utf-16"),
         "application/json; charset=utf-16", "either"),
        ("byte-order mark", "/chat", b"\xef\xbb\xbf" + _json({"session_id": "library",
                                                              "message": Q}), js, "either"),
        ("duplicate keys", "/chat",
         b'{"session_id": "nope", "session_id": "library", "message": "x"}', js, "either"),
        ("JSON sent as text/plain", "/chat", _json({"session_id": "library", "message": Q}),
         "text/plain", "either"),
        ("JSON sent as a form", "/chat", b"session_id=library&message=hi",
         "application/x-www-form-urlencoded", "refuse"),
        ("session library = 'yes'", "/sessions", _json({"library": "yes"}), js, "either"),
        ("session body is a list", "/sessions", b"[]", js, "refuse"),
        ("1 MB JSON body", "/chat",
         _json({"session_id": "library", "message": "a" * 1_000_000}), js, "refuse"),
        ("1 MB body to POST /sessions", "/sessions",
         _json({"library": True, "pad": "a" * 1_000_000}), js, "refuse"),
    ]  # fmt: skip


def _streamed_json(t: Target) -> Verdict:
    """Stream 8 MB of JSON without Content-Length: it must be cut off at the JSON limit."""

    def body():
        yield b'{"session_id": "library", "message": "'
        for _ in range(8):
            yield b"a" * (1 << 20)
        yield b'"}'

    before = t.snapshot()
    reply = send(t.client, "POST", t.base + "/chat", content=body(),
                 headers={"Content-Type": "application/json", **t.auth()})  # fmt: skip
    wrote, outside = t.changes(before)
    return judge(CATEGORY, "8 MB chunked JSON, no Content-Length", reply, wrote=wrote,
                 outside=outside)  # fmt: skip


def checks(t: Target) -> Iterator[Verdict]:
    """Send every body and judge the answers."""
    for label, path, body, content_type, expect in _cases(t):
        before = t.snapshot()
        headers = {**t.auth(), **({"Content-Type": content_type} if content_type else {})}
        reply = send(t.client, "POST", t.base + path, content=body, headers=headers)
        wrote, outside = t.changes(before)
        yield judge(CATEGORY, label, reply, expect=expect, wrote=wrote, outside=outside)
    yield _streamed_json(t)
