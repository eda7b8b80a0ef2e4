"""Hostile file names: traversal, absolute paths, NUL, RTL, very long, reserved, dot files."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator

from bench.probe.target import Target
from bench.probe.verdict import Reply, Verdict, judge
from bench.probe.wire import Part, form_type, multipart, send, upload_body

CATEGORY = "hostile file names"
# `{m}` is the run's marker: a file written where it must not be is found by that name.
NAMES: list[tuple[str, str | bytes]] = [
    ("parent traversal", "../../probe-{m}.txt"),
    ("deep traversal to /", "../" * 20 + "probe-{m}.txt"),
    ("traversal to /tmp", "../../../../../../tmp/probe-{m}.txt"),
    ("traversal in the middle", "a/../../probe-{m}.txt"),
    ("backslash traversal", "..\\..\\probe-{m}.txt"),
    ("mixed separators", "..\\/..\\/probe-{m}.txt"),
    ("doubled dot-dot-slash", "....//....//probe-{m}.txt"),
    ("URL-encoded traversal", "..%2f..%2fprobe-{m}.txt"),
    ("double-encoded traversal", "..%252f..%252fprobe-{m}.txt"),
    ("encoded dots", "%2e%2e/%2e%2e/probe-{m}.txt"),
    ("overlong UTF-8 dots", b"\xc0\xae\xc0\xae/\xc0\xae\xc0\xae/probe-{m}.txt"),
    ("fullwidth dots and solidus", "\uff0e\uff0e\uff0fprobe-{m}.txt"),
    ("absolute path in /tmp", "/tmp/probe-{m}.txt"),
    ("absolute path in /etc", "/etc/probe-{m}.txt"),
    ("Windows drive path", "C:\\Windows\\Temp\\probe-{m}.txt"),
    ("UNC path", "\\\\server\\share\\probe-{m}.txt"),
    ("file URL", "file:///tmp/probe-{m}.txt"),
    ("home directory", "~/probe-{m}.txt"),
    ("NUL inside the name", "probe-{m}\x00.txt"),
    ("NUL before a second suffix", "probe-{m}.txt\x00.pdf"),
    ("control characters", "probe\x01\x1b[31m-{m}.txt"),
    ("CR LF in the name", "probe\r\nX-Evil: 1-{m}.txt"),
    ("tab in the name", "probe\t-{m}.txt"),
    ("RTL override, hidden .exe", "probe-{m}\u202etxt.exe"),
    ("RTL override, real .txt", "invoice\u202efdp.{m}.txt"),
    ("bidi isolates", "\u2067probe\u2069-{m}.txt"),
    ("zero-width only", "\u200b\u200b\u200b.txt"),
    ("combining marks", "e\u0301\u0301\u0301\u0301.txt"),
    ("fullwidth name", "\uff50\uff52\uff4f\uff42\uff45\uff0e\uff54\uff58\uff54"),
    ("emoji", "probe-\U0001f600-{m}.txt"),
    ("CJK name", "\u6587\u4ef6-{m}.txt"),
    ("255 characters", "a" * 251 + ".txt"),
    ("1,000 characters", "b" * 996 + ".txt"),
    ("64 KB name", "c" * 65532 + ".txt"),
    ("Windows reserved CON", "CON.txt"),
    ("Windows reserved NUL", "NUL.txt"),
    ("Windows reserved AUX", "aux.txt"),
    ("Windows reserved COM1", "COM1.txt"),
    ("Windows reserved LPT9", "lpt9.txt"),
    ("Windows reserved CONIN$", "CONIN$.txt"),
    ("NTFS data stream", "probe.txt::$DATA"),
    ("trailing dot", "probe.txt."),
    ("trailing space", "probe.txt "),
    ("dot file .env", ".env"),
    ("dot file .htaccess", ".htaccess"),
    ("dot file with a suffix", ".bashrc.txt"),
    ("only dots", "..."),
    ("single dot", "."),
    ("dot dot", ".."),
    ("empty name", ""),
    ("a space", " "),
    ("double suffix", "probe.pdf.txt"),
    ("semicolon suffix trick", "probe.txt;.pdf"),
    ("quote in the name", 'pro"be.txt'),
    ("shell substitution", "$(touch /tmp/probe-{m}).txt"),
    ("glob", "*.txt"),
]
# Characters that turn a stored name into a path, or cut it short in C APIs.
FORBIDDEN = {"/", "\\", "\x00"}
# Bidi controls (they make "invoice\u202efdp.txt" display as "invoicetxt.pdf").
BIDI = {chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A), 0x200E, 0x200F)}


def unsafe(stored: str) -> str | None:
    """Return why a stored file name is unsafe on disk or in S3 (None when it is safe)."""
    if not stored or stored in (".", ".."):
        return f"stored as {stored!r}"
    if FORBIDDEN & set(stored):
        return f"stored name {stored[:80]!r} keeps a path separator or NUL"
    if stored.startswith("."):
        return f"stored as a dot file {stored[:80]!r}"
    if any(unicodedata.category(c) in ("Cc", "Cf") or c in BIDI for c in stored):
        return f"stored name {stored[:80]!r} keeps control or bidi characters"
    if len(stored.encode()) > 255:
        return f"stored name is {len(stored.encode())} bytes (file systems allow 255)"
    return None


def stored_names(reply: Reply) -> list[str]:
    """Return the safe names an upload answer says it stored."""
    data = reply.json()
    docs = data.get("documents", []) if isinstance(data, dict) else []
    return [str(d.get("name", "")) for d in docs if isinstance(d, dict)]


def upload(
    t: Target,
    label: str,
    body: bytes,
    category: str = CATEGORY,
    files: int = 1,
    content_type: str | None = None,
    payload: str | None = None,
) -> tuple[Verdict, Reply]:
    """Upload a prepared multipart body; judge the answer, the stored names and the disk.

    `payload` is text that must not come back unescaped in a page (the hostile name itself).
    """
    before = t.snapshot()
    headers = {"Content-Type": content_type or form_type(), **t.auth()}
    reply = send(t.client, "POST", t.base + "/upload", content=body, headers=headers)
    wrote, outside = t.changes(before)
    verdict = judge(
        category, label, reply, expect="either", wrote=wrote, outside=outside, payload=payload
    )
    if not verdict.handled:
        return verdict, reply
    names = stored_names(reply)
    for name in [*names, *(p.rsplit("/", 1)[-1] for p in wrote)]:
        if why := unsafe(name):
            return Verdict(category, label, "high", why), reply
    if reply.status == 200 and len(set(names)) != files:
        why = f"{files} file(s) sent, stored as {sorted(set(names))}"
        return Verdict(category, label, "high", why), reply
    if reply.status == 200:
        shown = ", ".join(repr(n if len(n) < 60 else n[:56] + "…") for n in names)
        return Verdict(category, label, None, f"200: stored as {shown}"), reply
    return verdict, reply


def check_upload(t: Target, label: str, body: bytes, category: str = CATEGORY, **kw) -> Verdict:
    """Return the verdict of `upload`."""
    return upload(t, label, body, category, **kw)[0]


def check_name(t: Target, label: str, name: str | bytes) -> Verdict:
    """Upload a small text file under a hostile name; judge where and as what it was stored."""
    if isinstance(name, bytes):
        name = name.replace(b"{m}", t.marker.encode())
    else:
        name = name.replace("{m}", t.marker)
    shown = name if isinstance(name, str) else None
    return check_upload(t, label, upload_body(name), payload=shown)


def checks(t: Target) -> Iterator[Verdict]:
    """Try every hostile name, then two files whose names collide once made safe."""
    for label, name in NAMES:
        yield check_name(t, label, name)
    body = multipart([Part("files", b"one " * 10, "a?.txt"), Part("files", b"two " * 10, "a*.txt")])
    yield check_upload(t, "two names equal once made safe", body, files=2)
