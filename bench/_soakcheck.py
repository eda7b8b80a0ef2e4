"""Check a soak afterwards: every acknowledged write is there, every index loads."""

from __future__ import annotations

import json
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import httpx

CHECK_WORKERS = 4
GENERIC_500 = "internal error"  # the start of the app's catch-all answer: an unexpected error


@dataclass
class Acks:
    """What wrk's threads logged: acknowledged writes, error responses, pairing problems."""

    sessions: set[str] = field(default_factory=set)
    uploads: list[tuple[str, str, str]] = field(default_factory=list)  # sid, name, marker
    chats: list[tuple[str, str]] = field(default_factory=list)  # sid, message
    errors: list[tuple[int, str, int, str]] = field(default_factory=list)  # ts, kind, status, body
    mismatches: int = 0


def read_logs(directory: Path) -> Acks:
    """Parse the per-thread logs written by bench/soak.lua."""
    acks = Acks()
    for path in sorted(directory.glob("thread-*.log")):
        for line in path.read_text().splitlines():
            ts, kind, *rest = line.split("\t")
            if kind == "create":
                acks.sessions.add(rest[0])
            elif kind == "upload":
                acks.sessions.add(rest[0])
                acks.uploads.append((rest[0], rest[1], rest[2]))
            elif kind == "chat":
                acks.chats.append((rest[0], rest[1]))
            elif kind == "error":
                acks.errors.append(
                    (int(ts), rest[0], int(rest[1]), rest[2] if len(rest) > 2 else "")
                )
            elif kind in ("mismatch", "orphan"):
                acks.mismatches += 1
    return acks


def is_clear(status: int, body: str) -> bool:
    """Say whether an error answer names its problem: JSON with a detail, not the catch-all."""
    try:
        detail = json.loads(body).get("detail")
    except (ValueError, AttributeError):
        return False  # cut at 300 characters by the Lua log, or not JSON at all
    return isinstance(detail, str) and bool(detail) and not detail.startswith(GENERIC_500)


def classify_errors(acks: Acks, windows: list[tuple[float, float]]) -> dict[str, int]:
    """Count error answers: 4xx, 5xx inside and outside the fault windows, unclear ones."""
    out: Counter[str] = Counter()
    for ts, _kind, status, body in acks.errors:
        # The Lua log has whole seconds: widen each window by one second on both sides.
        inside = any(start - 1 <= ts <= end + 1 for start, end in windows)
        if status < 500:
            out["4xx"] += 1
        else:
            out["5xx in faults" if inside else "5xx outside faults"] += 1
        if not is_clear(status, body) and len(body) < 300:
            out["unclear"] += 1
        out[f"status {status}"] += 1
    return dict(out)


def _retried(call) -> httpx.Response:
    # A check reads what was stored; a passing emulator hiccup (a 5xx) is not a loss.
    for _ in range(3):
        reply = call()
        if reply.status_code < 500:
            return reply
        time.sleep(0.5)
    return reply


def _history(client: httpx.Client, sid: str) -> dict | None:
    reply = _retried(lambda: client.get(f"/sessions/{sid}/history"))
    return reply.json() if reply.status_code == 200 else None


def _cites(client: httpx.Client, sid: str, name: str, marker: str) -> bool:
    question = {"session_id": sid, "message": f"Which record mentions {marker}?"}
    reply = _retried(lambda: client.post("/chat", json=question))
    return reply.status_code == 200 and name in {c["source"] for c in reply.json()["citations"]}


def verify_acks(base: str, acks: Acks) -> dict[str, int]:
    """Check through the API: sessions exist, chat turns are in history, uploads are cited."""
    with httpx.Client(base_url=base, timeout=60) as client:
        with ThreadPoolExecutor(CHECK_WORKERS) as pool:
            ids = sorted(acks.sessions)
            histories = dict(zip(ids, pool.map(lambda s: _history(client, s), ids), strict=True))
        found_chats = 0
        for sid, message in acks.chats:
            msgs = (histories.get(sid) or {}).get("messages", [])
            at = [i for i, m in enumerate(msgs) if m["role"] == "user" and m["text"] == message]
            if at and at[0] + 1 < len(msgs) and msgs[at[0] + 1]["role"] == "assistant":
                found_chats += 1
        listed = [
            name in {d["original_name"] for d in (histories.get(sid) or {}).get("documents", [])}
            for sid, name, _ in acks.uploads
        ]
        with ThreadPoolExecutor(CHECK_WORKERS) as pool:
            cited = list(pool.map(lambda u: _cites(client, *u), acks.uploads))
    return {
        "sessions": len(acks.sessions),
        "sessions found": sum(h is not None for h in histories.values()),
        "chats": len(acks.chats),
        "chats found": found_chats,
        "uploads": len(acks.uploads),
        "uploads listed": sum(listed),
        "uploads cited": sum(c and ok for c, ok in zip(cited, listed, strict=True)),
    }


def check_indexes(s3, bucket: str, sessions: set[str], cache_dir: Path) -> dict[str, int]:
    """Load every session's current and previous snapshot from S3 and every cached copy."""
    from service.rag.embeddings import get_embeddings
    from service.rag.vectorstore import FaissStore

    embeddings = get_embeddings("hashing")
    loaded = corrupt = 0

    def load(path: Path) -> bool:
        try:
            FaissStore.load(path, embeddings)
            return True
        except Exception:  # any failure to load is what this check counts
            return False

    for sid in sorted(sessions):
        try:
            body = s3.get_object(Bucket=bucket, Key=f"sessions/{sid}/manifest.json")["Body"]
            manifest = json.loads(body.read())
        except Exception:
            corrupt += 1  # a session acknowledged without a readable manifest
            continue
        for version in filter(None, (manifest["version"], manifest.get("previous"))):
            prefix = f"sessions/{sid}/index/{version}/"
            keys = [
                o["Key"]
                for o in s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])
            ]
            with tempfile.TemporaryDirectory(prefix="soak-index-") as tmp:
                for key in keys:
                    data = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
                    (Path(tmp) / key.rsplit("/", 1)[-1]).write_bytes(data)
                ok = bool(keys) and load(Path(tmp))
            loaded, corrupt = loaded + ok, corrupt + (not ok)
    for path in sorted(cache_dir.glob("*/*")) if cache_dir.is_dir() else []:
        if path.is_dir() and not path.name.startswith("."):
            ok = load(path)
            loaded, corrupt = loaded + ok, corrupt + (not ok)
    leftovers = len(list(cache_dir.glob("*/.*"))) if cache_dir.is_dir() else 0
    return {"indexes loaded": loaded, "indexes corrupt": corrupt, "staging leftovers": leftovers}
