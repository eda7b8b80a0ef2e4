"""Malformed multipart uploads: no boundary, truncated, wrong type, duplicate fields, odd parts."""

from __future__ import annotations

from collections.abc import Iterator

from bench.probe.names import check_upload
from bench.probe.target import Target
from bench.probe.verdict import Verdict, judge
from bench.probe.wire import (
    BOUNDARY,
    TEXT,
    Part,
    exchange,
    form_type,
    multipart,
    send,
    upload_body,
)

CATEGORY = "malformed multipart"
PDF_SUFFIX_TEXT = b"this is plain text that claims to be a PDF\n" * 20


def post(t: Target, label: str, body: bytes, content_type: str | None, **kw) -> Verdict:
    """POST a body to /upload with a given Content-Type; a 4xx that writes nothing is right."""
    before = t.snapshot()
    headers = {**t.auth(), **({"Content-Type": content_type} if content_type else {})}
    reply = send(t.client, "POST", t.base + "/upload", content=body, headers=headers)
    wrote, outside = t.changes(before)
    return judge(CATEGORY, label, reply, wrote=wrote, outside=outside, **kw)


def _cases(t: Target) -> list[tuple[str, bytes, str | None, dict]]:
    good = upload_body("probe.txt")
    refuse: dict = {}
    either = {"expect": "either"}
    over = t.limits.max_upload_bytes + 1
    return [
        ("no boundary parameter", good, "multipart/form-data", refuse),
        ("boundary that is not in the body", good, form_type("other-boundary"), refuse),
        ("truncated: no closing boundary", good[: good.rfind(b"--" + BOUNDARY.encode())],
         form_type(), refuse),
        ("truncated inside a part's headers", good[:60], form_type(), refuse),
        ("empty body", b"", form_type(), refuse),
        ("JSON content type, multipart body", good, "application/json", refuse),
        ("text/plain content type", good, "text/plain", refuse),
        ("no content type", good, None, refuse),
        ("url-encoded form naming a file", b"files=probe.txt&library=true",
         "application/x-www-form-urlencoded", refuse),
        ("no files field", multipart([Part("library", b"true", content_type=None)]),
         form_type(), refuse),
        ("files sent as a plain field", multipart([Part("files", TEXT, content_type=None)]),
         form_type(), refuse),
        ("part without Content-Disposition",
         f"--{BOUNDARY}\r\nContent-Type: text/plain\r\n\r\n".encode() + TEXT
         + f"\r\n--{BOUNDARY}--\r\n".encode(), form_type(), refuse),
        ("duplicate session_id fields",
         multipart([Part("session_id", b"../../etc", content_type=None),
                    Part("session_id", b"abc", content_type=None), Part("files", TEXT, "p.txt")]),
         form_type(), refuse),
        ("duplicate library fields",
         multipart([Part("library", b"true", content_type=None),
                    Part("library", b"false", content_type=None), Part("files", TEXT, "p.txt")]),
         form_type(), either),
        ("library = maybe", upload_body("p.txt", library="maybe"), form_type(), refuse),
        ("session_id with traversal", upload_body("p.txt", session_id="../../etc"), form_type(),
         refuse),
        ("session_id of 100 KB", upload_body("p.txt", session_id="a" * 100_000), form_type(),
         refuse),
        ("unknown session_id", upload_body("p.txt", session_id="0" * 32), form_type(), refuse),
        ("a file field named otherwise", multipart([Part("file", TEXT, "p.txt")]), form_type(),
         refuse),
        (f"{t.limits.max_files + 1} files (MAX_FILES + 1)",
         multipart([Part("files", TEXT, f"p{i}.txt") for i in range(t.limits.max_files + 1)]),
         form_type(), refuse),
        ("3,000 empty fields", multipart([Part(f"f{i}", b"", content_type=None)
                                          for i in range(3000)] + [Part("files", TEXT, "p.txt")]),
         form_type(), refuse),
        ("part header of 100 KB",
         multipart([Part("files", TEXT, "p.txt", headers=b"X-Pad: " + b"a" * 100_000 + b"\r\n")]),
         form_type(), either),
        ("boundary of 200 characters", multipart([Part("files", TEXT, "p.txt")], "b" * 200),
         form_type("b" * 200), either),
        ("LF-only line endings", multipart([Part("files", TEXT, "p.txt")], eol=b"\n"),
         form_type(), either),
        ("nested multipart/mixed part",
         multipart([Part("files", multipart([Part("files", TEXT, "inner.txt")], "inner"),
                         "outer.txt", content_type="multipart/mixed; boundary=inner")]),
         form_type(), either),
        ("RFC 5987 filename* with traversal",
         f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"files\"; "
         f"filename*=UTF-8''..%2F..%2Fprobe-{t.marker}.txt\r\n\r\n".encode() + TEXT
         + f"\r\n--{BOUNDARY}--\r\n".encode(), form_type(), either),
        ("executable content type, .txt name",
         multipart([Part("files", TEXT, "p.txt", content_type="application/x-msdownload")]),
         form_type(), either),
        (".pdf that is plain text", upload_body("p.pdf", PDF_SUFFIX_TEXT), form_type(), refuse),
        (".txt with NUL bytes", upload_body("p.txt", b"abc\x00def" * 100), form_type(), refuse),
        ("empty .txt", upload_body("p.txt", b""), form_type(), refuse),
        ("whitespace-only .txt", upload_body("p.txt", b" \n\t" * 100), form_type(), refuse),
        (".exe file", upload_body("p.exe", b"MZ\x90\x00" * 64), form_type(), refuse),
        (".html file", upload_body("p.html", b"<script>alert(1)</script>"), form_type(), refuse),
        (".svg file", upload_body("p.svg", b"<svg onload=alert(1)/>"), form_type(), refuse),
        ("one byte over MAX_UPLOAD_MB", upload_body("big.txt", b"a" * over), form_type(), refuse),
    ]  # fmt: skip


def _declared_longer(t: Target) -> Verdict:
    """Declare a longer body than is sent, then close: the service must neither hang nor crash."""
    host, port = t.host_port
    body = upload_body("p.txt")
    head = (
        f"POST /upload HTTP/1.1\r\nHost: {host}\r\nContent-Type: {form_type()}\r\n"
        f"Content-Length: {len(body) + 5000}\r\nConnection: close\r\n"
    )
    head += "".join(f"{k}: {v}\r\n" for k, v in t.auth().items())
    before = t.snapshot()
    exchange(host, port, head.encode() + b"\r\n" + body, timeout=2, idle=1)
    health = send(t.client, "GET", t.base + "/health")
    wrote, outside = t.changes(before)
    label = "Content-Length longer than the body, then close"
    if health.status != 200:
        return judge(CATEGORY, label, health, expect="accept")
    if wrote or outside:
        return Verdict(CATEGORY, label, "medium", f"a cut-off upload wrote {wrote + outside}")
    return Verdict(CATEGORY, label, None, "nothing written; /health still answers")


def _chunked_over_limit(t: Target) -> Verdict:
    """Stream an upload without Content-Length, larger than every limit together."""
    size = (t.limits.max_upload_bytes * t.limits.max_files) + (4 << 20)
    head = upload_body("big.txt", b"")[: -len(f"\r\n--{BOUNDARY}--\r\n")]

    def stream():
        yield head
        chunk = b"a" * (1 << 20)
        for _ in range(size // len(chunk)):
            yield chunk
        yield f"\r\n--{BOUNDARY}--\r\n".encode()

    before = t.snapshot()
    headers = {"Content-Type": form_type(), **t.auth()}
    reply = send(t.client, "POST", t.base + "/upload", content=stream(), headers=headers)
    wrote, outside = t.changes(before)
    label = f"chunked upload of {size / 1e6:.0f} MB, no Content-Length"
    return judge(CATEGORY, label, reply, wrote=wrote, outside=outside)


def checks(t: Target) -> Iterator[Verdict]:
    """Send every malformed upload."""
    for label, body, content_type, kw in _cases(t):
        if kw.get("expect") == "either":  # accepted is fine too: then judge what was stored
            yield check_upload(t, label, body, CATEGORY, content_type=content_type)
        else:
            yield post(t, label, body, content_type, **kw)
    yield _declared_longer(t)
    yield _chunked_over_limit(t)
    body = multipart(
        [Part("files", b"one " * 10, "same.txt"), Part("files", b"two " * 10, "same.txt")]
    )
    yield check_upload(t, "two files with the same name", body, CATEGORY, files=2)
