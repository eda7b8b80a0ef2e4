"""Request smuggling shapes over a raw socket: CL+TE, duplicate Content-Length, obs-fold, more.

Each ambiguous request is followed, on the same connection, by a hidden GET that names the
run's marker: if any answer mentions it, the hidden request was executed as a second one.
"""

from __future__ import annotations

from collections.abc import Iterator

from bench.probe.target import Target
from bench.probe.verdict import Verdict
from bench.probe.wire import exchange, send

CATEGORY = "request smuggling"
BODY = b'{"session_id": "library", "message": "What does an ECS service do?"}'
REFUSALS = {400, 411, 413, 414, 431, 501, 505}


def chunked(data: bytes) -> bytes:
    """Return `data` as one chunk plus the last chunk."""
    return b"%x\r\n%s\r\n0\r\n\r\n" % (len(data), data)


def _cases(host: str, hidden: bytes) -> list[tuple[str, bytes, bool]]:
    """Return (label, raw bytes, whether RFC 9112 requires a 400).

    Where RFC 9112 allows processing the request but requires closing the connection after it
    (CL with TE, TE on HTTP/1.0) or allows replacing the offending bytes (obs-fold, NUL), only
    the hidden request's execution is a problem.
    """
    start = f"POST /chat HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n".encode()
    n = len(BODY)
    c = chunked(BODY)
    return [
        ("Content-Length and chunked (CL.TE)",
         start + b"Content-Length: %d\r\nTransfer-Encoding: chunked\r\n\r\n"
         % (len(c) + len(hidden)) + c + hidden, False),
        ("chunked and a short Content-Length (TE.CL)",
         start + b"Transfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n" + c + hidden, False),
        ("two different Content-Length headers",
         start + b"Content-Length: %d\r\nContent-Length: %d\r\n\r\n" % (n, n + len(hidden))
         + BODY + hidden, True),
        ("two equal Content-Length headers",
         start + b"Content-Length: %d\r\nContent-Length: %d\r\n\r\n" % (n, n) + BODY, False),
        ("Content-Length list '5, 9'",
         start + b"Content-Length: %d, %d\r\n\r\n" % (n, n + len(hidden)) + BODY + hidden, True),
        ("Content-Length with a plus sign",
         start + b"Content-Length: +%d\r\n\r\n" % n + BODY + hidden, True),
        ("negative Content-Length", start + b"Content-Length: -1\r\n\r\n" + BODY + hidden, True),
        ("Content-Length past 2**64",
         start + b"Content-Length: %d\r\n\r\n" % (2**64 + n) + BODY + hidden, True),
        ("Transfer-Encoding 'chunked, identity'",
         start + b"Transfer-Encoding: chunked, identity\r\n\r\n" + c + hidden, True),
        ("Transfer-Encoding 'xchunked'",
         start + b"Transfer-Encoding: xchunked\r\nContent-Length: %d\r\n\r\n" % n + BODY + hidden,
         True),
        ("Transfer-Encoding twice (chunked, identity)",
         start + b"Transfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n\r\n" + c + hidden,
         True),
        ("Transfer-Encoding folded onto a second line (obs-fold)",
         start + b"Content-Length: %d\r\nTransfer-Encoding:\r\n chunked\r\n\r\n" % n + BODY
         + hidden, False),
        ("obs-fold in an ordinary header",
         start + b"X-Probe: a\r\n b\r\nContent-Length: %d\r\n\r\n" % n + BODY, False),
        ("space before the colon in Content-Length",
         start + b"Content-Length : %d\r\n\r\n" % n + BODY + hidden, True),
        ("chunked on an HTTP/1.0 request",
         start.replace(b"HTTP/1.1", b"HTTP/1.0") + b"Transfer-Encoding: chunked\r\n\r\n" + c
         + hidden, False),
        ("chunk size past 2**64",
         start + b"Transfer-Encoding: chunked\r\n\r\n" + b"1%032x\r\n" % 0 + BODY + hidden, True),
        ("chunk extension of 100 KB",
         start + b"Transfer-Encoding: chunked\r\n\r\n" + b"%x;ext=%s\r\n" % (n, b"a" * 100_000)
         + BODY + b"\r\n0\r\n\r\n", False),
        ("bare LF line endings",
         start.replace(b"\r\n", b"\n") + b"Content-Length: %d\n\n" % n + BODY, False),
        ("NUL in a header value",
         start + b"X-Probe: a\x00b\r\nContent-Length: %d\r\n\r\n" % n + BODY + hidden, False),
        ("absolute-form request target",
         start.replace(b"POST /chat", b"POST http://evil.example/chat")
         + b"Content-Length: %d\r\n\r\n" % n + BODY, False),
        ("request line of 100 KB",
         b"GET /" + b"a" * 100_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", False),
        ("header block of 200 KB",
         b"GET /health HTTP/1.1\r\nHost: x\r\n" + b"X-Pad: %s\r\n" % (b"a" * 8000) * 25 + b"\r\n",
         False),
        ("10,000 header lines",
         b"GET /health HTTP/1.1\r\nHost: x\r\n" + b"X-P: a\r\n" * 10_000 + b"\r\n", False),
    ]  # fmt: skip


def check_raw(t: Target, label: str, data: bytes, must_refuse: bool) -> Verdict:
    """Send one raw request; judge the answers and whether the hidden request ran."""
    host, port = t.host_port
    replies = exchange(host, port, data, timeout=5, idle=1.5)
    statuses = [r.status for r in replies]
    if any(t.marker.encode() in r.body for r in replies):
        return Verdict(
            CATEGORY, label, "medium", f"the hidden request was executed (answers {statuses})"
        )
    health = send(t.client, "GET", t.base + "/health")
    if health.status != 200:
        return Verdict(CATEGORY, label, "high", f"/health stopped answering: {health.short()}")
    if any(s is not None and s >= 500 and s not in REFUSALS for s in statuses):
        return Verdict(CATEGORY, label, "medium", f"server error (answers {statuses})")
    if must_refuse and replies and replies[0].status not in REFUSALS:
        return Verdict(
            CATEGORY, label, "low", f"accepted (answers {statuses}); RFC 9112 says refuse it"
        )
    return Verdict(CATEGORY, label, None, f"answers {statuses or 'none (closed)'}")


def checks(t: Target) -> Iterator[Verdict]:
    """Send every framing shape on its own connection."""
    host, _ = t.host_port
    hidden = f"GET /sessions/smuggle{t.marker}/history HTTP/1.1\r\nHost: {host}\r\n\r\n".encode()
    for label, data, must_refuse in _cases(host, hidden):
        yield check_raw(t, label, data, must_refuse)
