"""XSS through file names, file content and messages: every answer and the page stay inert."""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import quote

from bench.probe.names import upload
from bench.probe.target import Target
from bench.probe.verdict import Reply, Verdict, judge, reflected_as_html
from bench.probe.wire import exchange, form_type, send, upload_body

CATEGORY = "XSS"
# (kind, payload); `{m}` is the run's marker, so a reflection is this run's and no other's.
PAYLOADS = [
    ("script tag", "<script>alert('{m}')</script>"),
    ("attribute break-out", "\"><img src=x onerror=alert('{m}')>"),
    ("svg onload", "<svg onload=alert('{m}')>"),
    ("javascript: URL", "javascript:alert('{m}')//"),
    ("template syntax", "{{7*7}}${{7*7}}<b>{m}</b>"),
]
# Script sinks that turn data into markup; the page must write text only (textContent).
SINKS = re.compile(r"\.(innerHTML|outerHTML)\s*=|insertAdjacentHTML|document\.write")


def _views(t: Target, session_id: str | None, payload: str) -> Verdict | None:
    """GET the history and the page; return a problem if either shows the payload raw."""
    paths = ["/"] + ([f"/sessions/{session_id}/history"] if session_id else [])
    for path in paths:
        reply = send(t.client, "GET", t.base + path, headers=t.auth())
        if reflected_as_html(reply, payload):
            return Verdict(CATEGORY, "", "high", f"GET {path} shows the payload unescaped")
        if path != "/" and reply.status == 200 and reply.content_type != "application/json":
            return Verdict(CATEGORY, "", "medium", f"GET {path} answers {reply.content_type}")
    return None


def _session(reply: Reply) -> str | None:
    data = reply.json()
    return data.get("session_id") if isinstance(data, dict) else None


def via_name(t: Target, payload: str, kind: str) -> Verdict:
    """Upload a file named with the payload; then read the history and the page."""
    label = f"file name: {kind}"
    verdict, reply = upload(t, label, upload_body(payload + ".txt"), CATEGORY, payload=payload)
    if not verdict.handled:
        return verdict
    problem = _views(t, _session(reply), payload)
    return Verdict(CATEGORY, label, problem.severity, problem.reason) if problem else verdict


def via_content(t: Target, payload: str, kind: str) -> Verdict:
    """Upload text holding the payload, ask about it, then read the answer, history and page."""
    label = f"file content: {kind}"
    text = f"The deployment circuit breaker notes say {payload} about rollbacks.\n" * 5
    up = send(t.client, "POST", t.base + "/upload", content=upload_body("notes.txt", text.encode()),
              headers={"Content-Type": form_type(), **t.auth()})  # fmt: skip
    session_id = _session(up)
    if up.status != 200 or not session_id:
        return judge(CATEGORY, label, up, expect="accept", payload=payload)
    question = {"session_id": session_id, "message": "What do the notes say about rollbacks?"}
    chat = send(t.client, "POST", t.base + "/chat", headers=t.auth(), json=question)
    verdict = judge(CATEGORY, label, chat, expect="accept", payload=payload)
    if verdict.handled and chat.content_type != "application/json":
        return Verdict(CATEGORY, label, "medium", f"/chat answers {chat.content_type}")
    problem = _views(t, session_id, payload)
    return Verdict(CATEGORY, label, problem.severity, problem.reason) if problem else verdict


def via_message(t: Target, payload: str, kind: str) -> Verdict:
    """Send the payload as a chat message to an own session; read the answer and the history."""
    label = f"chat message: {kind}"
    made = send(t.client, "POST", t.base + "/sessions", json={"library": True}, headers=t.auth())
    session_id = _session(made) or "library"
    chat = send(t.client, "POST", t.base + "/chat", headers=t.auth(),
                json={"session_id": session_id, "message": payload})  # fmt: skip
    verdict = judge(CATEGORY, label, chat, expect="either", payload=payload)
    problem = _views(t, session_id, payload) if verdict.handled else None
    return Verdict(CATEGORY, label, problem.severity, problem.reason) if problem else verdict


def reflections(t: Target, payload: str) -> Iterator[Verdict]:
    """Put the payload in a path, a query, an Accept header and the Host header."""
    for label, path, headers in (
        ("payload in an unknown path", "/" + quote(payload), {}),
        ("payload in the page's query", "/?q=" + quote(payload), {}),
        ("payload in a session id", "/sessions/" + quote(payload) + "/history", t.auth()),
        ("error asked for as HTML", "/sessions/nope" + quote(payload) + "/history",
         {"Accept": "text/html", **t.auth()}),
    ):  # fmt: skip
        reply = send(t.client, "GET", t.base + path, headers=headers)
        yield judge(CATEGORY, label, reply, expect="either", payload=payload)
    host, port = t.host_port
    raw = f"GET / HTTP/1.1\r\nHost: {payload}\r\nConnection: close\r\n\r\n".encode()
    replies = exchange(host, port, raw, timeout=5)
    reply = replies[0] if replies else Reply(None, error="closed without an answer")
    yield judge(CATEGORY, "payload in the Host header", reply, expect="either", payload=payload)


def host_links(t: Target) -> Verdict:
    """Ask for the page with a foreign Host: its links must not point to that host."""
    host, port = t.host_port
    raw = b"GET / HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n"
    replies = exchange(host, port, raw, timeout=5)
    label = "page links under a foreign Host header"
    if not replies:
        return Verdict(CATEGORY, label, None, "no answer to a foreign Host")
    if b"//evil.example" in replies[0].body:
        return Verdict(
            CATEGORY, label, "low",
            "the page's script and style URLs are absolute, built from the Host header (harmless "
            "without a shared cache in front; relative URLs avoid it)",
        )  # fmt: skip
    return Verdict(CATEGORY, label, None, "links do not name the Host")


def page_script(t: Target) -> Verdict:
    """Read the page's script: it must write data as text, never as HTML."""
    reply = send(t.client, "GET", t.base + "/static/app.js")
    label = "page script writes data as text"
    if reply.status != 200:
        return Verdict(CATEGORY, label, None, f"no script served ({reply.status})")
    sinks = sorted(set(SINKS.findall(reply.text)))
    if sinks:
        return Verdict(CATEGORY, label, "medium", f"app.js uses HTML sinks: {', '.join(sinks)}")
    return Verdict(CATEGORY, label, None, "textContent only")


def checks(t: Target) -> Iterator[Verdict]:
    """Try every payload through names, content and messages; then the reflections."""
    payloads = [(kind, p.replace("{m}", t.marker)) for kind, p in PAYLOADS]
    for kind, payload in payloads:
        yield via_name(t, payload, kind)
        yield via_content(t, payload, kind)
    for kind, payload in payloads[:2]:
        yield via_message(t, payload, kind)
    yield from reflections(t, payloads[0][1])
    yield host_links(t)
    yield page_script(t)
