"""Put hostile requests on the wire: hand-built multipart bodies and raw HTTP/1.1 exchanges."""

from __future__ import annotations

import contextlib
import re
import socket
import threading
import time
from dataclasses import dataclass

import httpx

from bench.probe.verdict import Reply

CRLF = b"\r\n"
BOUNDARY = "probe-boundary-5c1e"
TEXT = b"Amazon ECS runs containers as tasks; a service keeps the desired count of tasks.\n"


def _b(value: str | bytes) -> bytes:
    return value if isinstance(value, bytes) else value.encode("utf-8", "surrogatepass")


@dataclass
class Part:
    """One multipart part; `filename` and headers go on the wire byte for byte."""

    field: str | bytes
    data: bytes
    filename: str | bytes | None = None
    content_type: str | None = "text/plain"
    headers: bytes = b""  # extra raw header lines, each ending in CRLF


def multipart(parts: list[Part], boundary: str = BOUNDARY, eol: bytes = CRLF) -> bytes:
    """Return a multipart/form-data body; nothing in a name or filename is escaped."""
    out = bytearray()
    for p in parts:
        out += b"--" + boundary.encode() + eol
        disposition = b'Content-Disposition: form-data; name="' + _b(p.field) + b'"'
        if p.filename is not None:
            disposition += b'; filename="' + _b(p.filename) + b'"'
        out += disposition + eol
        if p.content_type:
            out += b"Content-Type: " + p.content_type.encode() + eol
        out += p.headers + eol + p.data + eol
    out += b"--" + boundary.encode() + b"--" + eol
    return bytes(out)


def form_type(boundary: str = BOUNDARY) -> str:
    """Return the Content-Type header of a multipart body with `boundary`."""
    return f"multipart/form-data; boundary={boundary}"


def upload_body(filename: str | bytes, data: bytes = TEXT, **fields: str) -> bytes:
    """Return a one-file upload body, with optional form fields (session_id, library)."""
    parts = [Part(k, v.encode(), content_type=None) for k, v in fields.items()]
    return multipart([*parts, Part("files", data, filename)])


def send(client: httpx.Client, method: str, url: str, **kw) -> Reply:
    """Make one request with httpx; return a Reply (status None when there was no answer)."""
    t0 = time.perf_counter()
    try:
        r = client.request(method, url, **kw)
    except httpx.HTTPError as exc:
        return Reply(None, seconds=time.perf_counter() - t0, error=type(exc).__name__)
    headers = {k.lower(): v for k, v in r.headers.items()}
    return Reply(r.status_code, headers, r.content, time.perf_counter() - t0)


def _parse(buf: bytes) -> tuple[list[Reply], bytes]:
    """Split raw bytes into complete responses; return them and the unparsed rest."""
    replies = []
    while (end := buf.find(b"\r\n\r\n")) >= 0:
        head, rest = buf[:end].decode("latin-1"), buf[end + 4 :]
        match = re.match(r"HTTP/\d(?:\.\d)? (\d{3})", head)
        if not match:
            break
        headers = {}
        for line in head.split("\r\n")[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        if headers.get("transfer-encoding", "").lower() == "chunked":
            body, size_end = b"", 0
            while (size_end := rest.find(b"\r\n")) >= 0:
                size = int(rest[:size_end].split(b";")[0] or b"0", 16)
                if len(rest) < size_end + 2 + size + 2:
                    break
                body += rest[size_end + 2 : size_end + 2 + size]
                rest = rest[size_end + 2 + size + 2 :]
                if size == 0:
                    rest = rest[rest.find(b"\r\n") + 2 :] if rest.startswith(b"\r\n") else rest
                    break
            else:
                break
        else:
            length = int(headers.get("content-length", "0") or 0)
            if len(rest) < length:
                break
            body, rest = rest[:length], rest[length:]
        replies.append(Reply(int(match.group(1)), headers, body))
        buf = rest
    return replies, buf


def exchange(
    host: str, port: int, data: bytes, *, timeout: float = 5.0, idle: float = 1.0
) -> list[Reply]:
    """Send raw bytes on one connection; read until closed or idle; return every response."""
    buf = b""
    with socket.create_connection((host, port), timeout=timeout) as sock:
        # The server may refuse before reading everything: then read what it said.
        with contextlib.suppress(OSError):
            sock.sendall(data)
        deadline = time.monotonic() + timeout
        sock.settimeout(idle)
        while time.monotonic() < deadline:
            try:
                chunk = sock.recv(65536)
            except (TimeoutError, OSError):
                break
            if not chunk:
                break
            buf += chunk
    replies, rest = _parse(buf)
    if rest.startswith(b"HTTP/"):  # a response cut short by the close: keep its status
        status = re.match(rb"HTTP/\d(?:\.\d)? (\d{3})", rest)
        if status:
            replies.append(Reply(int(status.group(1)), body=rest))
    return replies


def raw_request(
    host: str,
    port: int,
    method: str,
    target: str,
    headers: list[tuple[str, str]] = (),
    body: bytes = b"",
    *,
    timeout: float = 10.0,
) -> Reply:
    """Send one request exactly as given (headers a client library would refuse included)."""
    head = f"{method} {target} HTTP/1.1\r\nHost: {host}\r\n"
    head += "".join(f"{name}: {value}\r\n" for name, value in headers)
    head += f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    t0 = time.perf_counter()
    replies = exchange(host, port, head.encode("utf-8", "surrogatepass") + body, timeout=timeout)
    reply = replies[0] if replies else Reply(None, error="closed without an answer")
    reply.seconds = time.perf_counter() - t0
    return reply


@dataclass
class Timed:
    """An answer to a large body: when its first byte came, and whether the body went first."""

    reply: Reply
    first_s: float  # seconds from the first header byte sent to the first answer byte
    body_sent_first: bool  # the whole body was sent before any answer: the server read it


def timed_refusal(
    host: str, port: int, head: bytes, body: bytes, *, timeout: float = 60.0
) -> Timed:
    """Send head then body (the body from a thread); time the answer's first byte."""
    sent_at: list[float] = []

    def sender(sock: socket.socket, t0: float) -> None:
        view = memoryview(body)
        try:
            for i in range(0, len(view), 1 << 20):
                sock.sendall(view[i : i + (1 << 20)])
        except OSError:
            return  # refused before the body was read: the point of the test
        sent_at.append(time.perf_counter() - t0)

    with socket.create_connection((host, port), timeout=timeout) as sock:
        t0 = time.perf_counter()
        sock.sendall(head)
        thread = threading.Thread(target=sender, args=(sock, t0), daemon=True)
        thread.start()
        buf, first, error = b"", None, ""
        try:
            while chunk := sock.recv(65536):
                first = first if first is not None else time.perf_counter() - t0
                buf += chunk
                if _parse(buf)[0]:
                    break
        except OSError as exc:
            error = type(exc).__name__
        finally:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        thread.join(5)
    took = first if first is not None else time.perf_counter() - t0
    replies, _ = _parse(buf)
    reply = replies[0] if replies else Reply(None, error=error or "closed without an answer")
    reply.seconds = took
    body_first = bool(sent_at) and first is not None and sent_at[0] <= first
    return Timed(reply, took, body_first)
