"""A DATA_DIR the service cannot write: it must say so (503 naming it), never crash or 500."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

from bench.figures import BenchError
from bench.probe.target import Service, Target
from bench.probe.verdict import Verdict, judge
from bench.probe.wire import form_type, send, upload_body

CATEGORY = "read-only DATA_DIR"
STORAGE = (503, 507)


def unwritable_dir(box: Path) -> tuple[Path, str]:
    """Return a DATA_DIR this process cannot write, and how it was made so."""
    if os.geteuid() != 0:
        ro = box / "read-only"
        ro.mkdir()
        ro.chmod(0o555)
        return ro, "a directory with mode 0555"
    # root writes through any mode bits: put DATA_DIR beneath a regular file instead.
    blocker = box / "a-file"
    blocker.write_text("DATA_DIR cannot be made below a file\n")
    return blocker / "data", "a path beneath a regular file (root ignores mode bits)"


def start(service: Service) -> Verdict | None:
    """Start the service on the unwritable DATA_DIR; None when it serves /health."""
    label = "start with an unwritable DATA_DIR"
    try:
        service.start(wait="/health", limit_s=120)
    except BenchError as exc:
        said = str(exc)
        if "DATA_DIR" in said:
            return Verdict(CATEGORY, label, None, "refused to start, naming DATA_DIR")
        return Verdict(CATEGORY, label, "medium", f"exited without naming DATA_DIR: {said[-200:]}")
    return None


def checks(t: Target, how: str) -> Iterator[Verdict]:
    """Ask /ready, upload, create, chat, read and delete; each must fail clearly or work."""
    yield Verdict(CATEGORY, "start with an unwritable DATA_DIR", None, f"serves /health ({how})")
    ready = send(t.client, "GET", t.base + "/ready")
    if ready.status == 200:
        yield Verdict(CATEGORY, "/ready", "low", "reports ready though DATA_DIR is not writable")
    else:
        yield judge(CATEGORY, "/ready", ready, allowed=STORAGE)
    cases = [
        ("upload", "POST", "/upload",
         {"content": upload_body("r.txt"), "headers": {"Content-Type": form_type()}}, "refuse"),
        ("create a session", "POST", "/sessions", {"json": {"library": True}}, "refuse"),
        ("ask the library", "POST", "/chat",
         {"json": {"session_id": "library", "message": "What is ECS?"}}, "either"),
        ("history of an unknown session", "GET", "/sessions/" + "0" * 32 + "/history", {},
         "refuse"),
        ("delete an unknown session", "DELETE", "/sessions/" + "0" * 32, {}, "refuse"),
    ]  # fmt: skip
    for label, method, path, kw, expect in cases:
        reply = send(t.client, method, t.base + path, **kw)
        yield judge(CATEGORY, label, reply, expect=expect, allowed=STORAGE)
