"""Session ids and lifecycles: unknown and huge ids, the built-in library, upload racing DELETE."""

from __future__ import annotations

import threading
from collections.abc import Iterator

from bench.probe.target import Target
from bench.probe.verdict import Reply, Verdict, judge
from bench.probe.wire import TEXT, form_type, raw_request, send, upload_body

CATEGORY = "sessions"
UNKNOWN = "0123456789abcdef0123456789abcdef"
RACES, QUICK_RACES = 4, 1


def _session(t: Target) -> str | None:
    reply = send(t.client, "POST", t.base + "/upload", content=upload_body("s.txt"),
                 headers={"Content-Type": form_type(), **t.auth()})  # fmt: skip
    data = reply.json()
    return data.get("session_id") if isinstance(data, dict) else None


def _request(t: Target, label: str, method: str, path: str, expect: str = "refuse", **kw):
    before = t.snapshot()
    reply = send(t.client, method, t.base + path, headers={**t.auth(), **kw.pop("headers", {})},
                 **kw)  # fmt: skip
    wrote, outside = t.changes(before)
    return judge(CATEGORY, label, reply, expect=expect, wrote=wrote, outside=outside)


def _raw_path(t: Target, label: str, path: str) -> Verdict:
    """GET a path exactly as written (no client normalizing dots or encodings)."""
    return judge(CATEGORY, label, raw_request(*t.host_port, "GET", path, list(t.auth().items())))


def lifecycle(t: Target) -> Iterator[Verdict]:
    """Delete a session twice, then ask it, read it and upload to it."""
    sid = _session(t)
    if not sid:
        yield Verdict(CATEGORY, "delete twice", "medium", "could not make a session to delete")
        return
    yield _request(t, "delete a session", "DELETE", f"/sessions/{sid}", expect="accept")
    yield _request(t, "delete it again", "DELETE", f"/sessions/{sid}")
    yield _request(t, "ask a deleted session", "POST", "/chat",
                   json={"session_id": sid, "message": "What is ECS?"})  # fmt: skip
    yield _request(t, "history of a deleted session", "GET", f"/sessions/{sid}/history")
    yield _request(t, "upload to a deleted session", "POST", "/upload",
                   content=upload_body("s.txt", session_id=sid),
                   headers={"Content-Type": form_type()})  # fmt: skip
    yield _request(t, "session id in upper case", "GET", f"/sessions/{UNKNOWN.upper()}/history")


def library(t: Target) -> Iterator[Verdict]:
    """The built-in library session: read-only, stateless, not deletable."""
    yield _request(t, "delete the library session", "DELETE", "/sessions/library")
    yield _request(t, "upload to the library session", "POST", "/upload",
                   content=upload_body("s.txt", session_id="library"),
                   headers={"Content-Type": form_type()})  # fmt: skip
    send(
        t.client,
        "POST",
        t.base + "/chat",
        headers=t.auth(),
        json={"session_id": "library", "message": "What does the deregistration delay do?"},
    )
    reply = send(t.client, "GET", t.base + "/sessions/library/history", headers=t.auth())
    data = reply.json()
    label = "library session keeps no history"
    if isinstance(data, dict) and data.get("messages"):
        yield Verdict(CATEGORY, label, "low", "the shared library id stores every client's chat")
    else:
        yield judge(CATEGORY, label, reply, expect="accept")


def race(t: Target, attempts: int) -> Verdict:
    """Upload to a session while deleting it; the deleted session must stay deleted."""
    label = f"upload racing DELETE ({attempts} attempts)"
    big = TEXT * 4000  # about 300 KB: long enough for the DELETE to land mid-upload
    for _ in range(attempts):
        sid = _session(t)
        if not sid:
            return Verdict(CATEGORY, label, "medium", "could not make a session")
        replies: dict[str, Reply] = {}

        def up(sid=sid, replies=replies):
            replies["upload"] = send(
                t.client, "POST", t.base + "/upload",
                content=upload_body("race.txt", big, session_id=sid),
                headers={"Content-Type": form_type(), **t.auth()},
            )  # fmt: skip

        thread = threading.Thread(target=up)
        thread.start()
        replies["delete"] = send(t.client, "DELETE", t.base + f"/sessions/{sid}", headers=t.auth())
        thread.join()
        after = send(t.client, "GET", t.base + f"/sessions/{sid}/history", headers=t.auth())
        for r in (*replies.values(), after):
            if r.status is None or r.status >= 500:
                return Verdict(CATEGORY, label, "medium", f"server error {r.short()}")
        if replies["delete"].status == 200 and after.status == 200:
            data = after.json() or {}
            return Verdict(
                CATEGORY, label, "low",
                f"DELETE answered 200, then the upload answered {replies['upload'].status} and "
                f"the session came back with {len(data.get('documents', []))} document(s)",
            )  # fmt: skip
    return Verdict(CATEGORY, label, None, "a deleted session stayed deleted")


def checks(t: Target) -> Iterator[Verdict]:
    """Try unknown, huge and malformed ids, the library session, deletes and the race."""
    yield _request(t, "history of an unknown session", "GET", f"/sessions/{UNKNOWN}/history")
    yield _request(t, "delete an unknown session", "DELETE", f"/sessions/{UNKNOWN}")
    yield _request(t, "ask an unknown session", "POST", "/chat",
                   json={"session_id": UNKNOWN, "message": "What is ECS?"})  # fmt: skip
    yield _request(t, "session id of 65 characters", "GET", f"/sessions/{'a' * 65}/history")
    yield _raw_path(t, "session id of 100 KB", f"/sessions/{'a' * 100_000}/history")
    yield _request(t, "huge session id in /chat", "POST", "/chat",
                   json={"session_id": "a" * 100_000, "message": "What is ECS?"})  # fmt: skip
    yield _request(t, "session id with a unicode letter", "GET", "/sessions/caf%C3%A9/history")
    yield _request(t, "session id with an encoded NUL", "GET", "/sessions/ab%00cd/history")
    yield _request(t, "chat session id with traversal", "POST", "/chat",
                   json={"session_id": "../../etc/passwd", "message": "hi"})  # fmt: skip
    yield _raw_path(t, "encoded traversal in the path", "/sessions/..%2F..%2Fetc/history")
    yield _raw_path(t, "dot-dot segment in the path", "/sessions/../../etc/history")
    yield _raw_path(t, "backslash traversal in the path", "/sessions/..%5C..%5Cetc/history")
    yield from library(t)
    yield from lifecycle(t)
    yield race(t, QUICK_RACES if t.quick else RACES)
