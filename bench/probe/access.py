"""API-key variants, CORS and the production surface (docs, security headers, key leaks).

These run against a service started with API_KEY, CORS_ORIGINS=ALLOWED_ORIGIN and
ENV=production, the shape it is deployed in.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator

from bench.figures import BenchError
from bench.probe.target import Target
from bench.probe.verdict import Reply, Verdict, judge, leaks
from bench.probe.wire import form_type, raw_request, send, upload_body

KEY_CATEGORY = "API key"
CORS_CATEGORY = "CORS, headers and docs"
ALLOWED_ORIGIN = "https://app.example"
CHAT = {"session_id": "library", "message": "What does an ECS service do?"}
# A protected route answering without the key: the issue ranks history as low (it needs an
# unguessable session id), everything else as high (anyone can upload, chat and delete).
BYPASS = {"history": "low"}
# The first variants (no key, a wrong key) are tried on every protected route; all on /chat.
EVERY_ROUTE = 2


def _routes(t: Target, sid: str) -> list[tuple[str, str, str, dict]]:
    body = upload_body("k.txt")
    return [
        ("upload", "POST", "/upload",
         {"content": body, "headers": {"Content-Type": form_type()}}),
        ("chat", "POST", "/chat", {"json": CHAT}),
        ("create session", "POST", "/sessions", {"json": {"library": True}}),
        ("history", "GET", f"/sessions/{sid}/history", {}),
        ("delete", "DELETE", f"/sessions/{sid}", {}),
    ]  # fmt: skip


def _variants(key: str) -> list[tuple[str, dict[str, str], str, bool]]:
    """Return (label, headers, query, whether the key is really sent as a Bearer token)."""
    basic = base64.b64encode(f"user:{key}".encode()).decode()
    return [
        ("no key", {}, "", False),
        ("wrong key", {"Authorization": "Bearer wrong-" + key[:4]}, "", False),
        ("key prefix", {"Authorization": f"Bearer {key[:-1]}"}, "", False),
        ("key plus a character", {"Authorization": f"Bearer {key}x"}, "", False),
        ("key in upper case", {"Authorization": f"Bearer {key.upper()}"}, "", False),
        ("empty bearer", {"Authorization": "Bearer "}, "", False),
        ("lowercase 'bearer'", {"Authorization": f"bearer {key}"}, "", True),
        ("extra spaces", {"Authorization": f"Bearer   {key}"}, "", True),
        ("trailing space", {"Authorization": f"Bearer {key} "}, "", True),
        ("'Token' scheme", {"Authorization": f"Token {key}"}, "", False),
        ("key in the query string", {}, f"?api_key={key}&key={key}&token={key}", False),
        ("Basic auth with the key as password", {"Authorization": f"Basic {basic}"}, "", False),
        ("X-API-Key header", {"X-API-Key": key}, "", False),
    ]


def _judge_key(t: Target, label: str, reply: Reply, real: bool, route: str) -> Verdict:
    if leaks(reply, t.api_key):
        return Verdict(KEY_CATEGORY, label, "high", "the answer contains the API key")
    if reply.status is not None and 200 <= reply.status < 300 and not real:
        severity = BYPASS.get(route, "high")
        if "query" in label or "Basic" in label:
            severity = "low"  # the right key, in a place that ends up in logs and histories
        return Verdict(KEY_CATEGORY, label, severity, f"answered {reply.status} without the key")
    if real:  # the right key in a form RFC 9110 allows: either answer is safe
        return judge(KEY_CATEGORY, label, reply, expect="either", secret=t.api_key)
    if reply.status == 401 and "www-authenticate" not in reply.headers:
        return Verdict(KEY_CATEGORY, label, "low", "401 without a WWW-Authenticate header")
    return judge(KEY_CATEGORY, label, reply, secret=t.api_key)


def key_checks(t: Target) -> Iterator[Verdict]:
    """Every route without the key; every variant on /chat; the key never in an answer or log."""
    if not t.api_key:
        raise BenchError("the API-key checks need a service started with API_KEY")
    made = send(t.client, "POST", t.base + "/sessions", json={"library": True}, headers=t.auth())
    data = made.json()
    sid = data.get("session_id", "0" * 32) if isinstance(data, dict) else "0" * 32
    variants = _variants(t.api_key)
    for route, method, path, kw in _routes(t, sid):
        for variant, headers, _, _ in variants[:EVERY_ROUTE]:
            before = t.snapshot()
            reply = send(t.client, method, t.base + path,
                         **{**kw, "headers": {**kw.get("headers", {}), **headers}})  # fmt: skip
            wrote, _ = t.changes(before)
            label = f"{route}, {variant}"
            verdict = _judge_key(t, label, reply, False, route)
            if verdict.handled and wrote:
                verdict = Verdict(KEY_CATEGORY, label, "medium", f"refused but wrote {wrote[:3]}")
            yield verdict
    body = json.dumps(CHAT).encode()
    for label, headers, query, real in variants[EVERY_ROUTE:]:
        # Raw: httpx refuses some of these header values (an empty token, a trailing space).
        sent = [("Content-Type", "application/json"), *headers.items()]
        reply = raw_request(*t.host_port, "POST", "/chat" + query, sent, body)
        yield _judge_key(t, f"chat, {label}", reply, real, "chat")
    yield _two_authorization_headers(t)
    yield _key_in_log(t)


def _two_authorization_headers(t: Target) -> Verdict:
    """Send a wrong and a right Authorization header: the request must not pass as keyed."""
    headers = [("Authorization", "Bearer wrong"), ("Authorization", f"Bearer {t.api_key}"),
               ("Content-Type", "application/json")]  # fmt: skip
    reply = raw_request(*t.host_port, "POST", "/chat", headers, json.dumps(CHAT).encode())
    # Either reading is defensible (refuse the ambiguity, or take one header); a 5xx is not.
    return judge(KEY_CATEGORY, "chat, a wrong and a right Authorization header", reply,
                 expect="either", secret=t.api_key)  # fmt: skip


def _key_in_log(t: Target) -> Verdict:
    label = "API key kept out of the service log"
    if t.service is None:
        return Verdict(KEY_CATEGORY, label, None, "no log to read")
    if t.api_key and t.api_key in t.service.log.read_text(errors="replace"):
        return Verdict(KEY_CATEGORY, label, "medium", "the service log contains the API key")
    return Verdict(KEY_CATEGORY, label, None, "not in the log")


def _cors(t: Target, label: str, method: str, path: str, origin: str, **headers) -> Verdict:
    reply = send(t.client, method, t.base + path, headers={"Origin": origin, **headers})
    allowed = reply.headers.get("access-control-allow-origin")
    creds = reply.headers.get("access-control-allow-credentials", "").lower() == "true"
    foreign = origin != ALLOWED_ORIGIN
    if foreign and allowed in ("*", origin):
        severity = "high" if creds else "medium"
        return Verdict(CORS_CATEGORY, label, severity, f"allows {origin!r} (ACAO {allowed!r})")
    if not foreign and allowed != origin:
        return Verdict(CORS_CATEGORY, label, "low", f"the allowed origin got ACAO {allowed!r}")
    if reply.status is not None and reply.status >= 500:
        return Verdict(CORS_CATEGORY, label, "medium", f"server error {reply.short()}")
    return Verdict(CORS_CATEGORY, label, None, f"{reply.status}, ACAO {allowed!r}")


def cors_checks(t: Target) -> Iterator[Verdict]:
    """Foreign origins, look-alikes, preflights; then /docs and the page's security headers."""
    pre = {"Access-Control-Request-Method": "POST"}
    yield _cors(t, "simple GET from a foreign origin", "GET", "/health", "https://evil.example")
    yield _cors(t, "preflight from a foreign origin", "OPTIONS", "/chat", "https://evil.example",
                **pre)  # fmt: skip
    yield _cors(t, "preflight from Origin null", "OPTIONS", "/chat", "null", **pre)
    yield _cors(t, "look-alike origin (suffix)", "OPTIONS", "/chat",
                ALLOWED_ORIGIN + ".evil.example", **pre)  # fmt: skip
    yield _cors(t, "look-alike origin (http)", "OPTIONS", "/chat",
                ALLOWED_ORIGIN.replace("https", "http"), **pre)  # fmt: skip
    yield _cors(t, "preflight from the allowed origin", "OPTIONS", "/chat", ALLOWED_ORIGIN, **pre)
    reply = send(t.client, "OPTIONS", t.base + "/chat", headers={
        "Origin": ALLOWED_ORIGIN, **pre, "Access-Control-Request-Headers": "x-evil"})  # fmt: skip
    allowed = reply.headers.get("access-control-allow-headers", "").lower()
    yield Verdict(
        CORS_CATEGORY, "preflight asking for an unlisted header",
        "low" if "x-evil" in allowed or allowed == "*" else None,
        f"{reply.status}, allowed headers {allowed!r}",
    )  # fmt: skip
    yield from surface_checks(t)


def surface_checks(t: Target) -> Iterator[Verdict]:
    """The production surface: API docs off, security headers on, request ids, no TRACE echo."""
    for path in ("/docs", "/redoc", "/openapi.json"):
        reply = send(t.client, "GET", t.base + path)
        served = reply.status == 200
        reason = f"{reply.status}" + (" (served to anyone)" if served else "")
        yield Verdict(CORS_CATEGORY, f"{path} in ENV=production", "low" if served else None, reason)
    page = send(t.client, "GET", t.base + "/")
    wanted = {"content-security-policy": "frame-ancestors", "x-content-type-options": "nosniff"}
    missing = [h for h, must in wanted.items() if must not in page.headers.get(h, "").lower()]
    reason = f"missing {missing}" if missing else "CSP with frame-ancestors, nosniff"
    yield Verdict(CORS_CATEGORY, "page security headers", "low" if missing else None, reason)
    headers = {"Content-Type": "application/json", **t.auth()}
    bad = send(t.client, "POST", t.base + "/chat", content=b"{", headers=headers)
    has_id = "x-request-id" in bad.headers
    reason = f"{bad.status} {'with' if has_id else 'without'} x-request-id"
    yield Verdict(CORS_CATEGORY, "request id on error answers", None if has_id else "low", reason)
    trace = send(t.client, "TRACE", t.base + "/", headers={"X-Probe": t.marker})
    echoed = t.marker.encode() in trace.body
    yield Verdict(
        CORS_CATEGORY, "TRACE echoes nothing", "low" if echoed else None, f"{trace.status}"
    )
