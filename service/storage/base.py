"""Define what the history and document stores hold and the interface both backends share."""

from __future__ import annotations

import re
import time
import unicodedata
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

from service.errors import StorageError
from service.rag.answers import Citation

SESSION_ID_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"
_SESSION_ID = re.compile(SESSION_ID_PATTERN)
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass
class Message:
    """One chat turn as stored: who spoke, what, when, and the answer's citations."""

    role: str
    text: str
    ts: float = field(default_factory=time.time)
    citations: list[Citation] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Message:
        """Build a message from its JSON form."""
        return cls(
            role=data["role"],
            text=data["text"],
            ts=data.get("ts", 0.0),
            citations=[Citation.from_dict(c) for c in data.get("citations", [])],
        )


@dataclass
class DocumentInfo:
    """One uploaded file as stored: its safe name, original name, size and chunk count."""

    name: str
    original_name: str
    size: int
    chunks: int
    pages: int | None = None


@dataclass
class Manifest:
    """A session's commit record: its documents and which index snapshot is current."""

    session_id: str
    # The current index snapshot; "" for a session created empty (nothing indexed yet).
    version: str
    documents: list[DocumentInfo] = field(default_factory=list)
    created: float = field(default_factory=time.time)
    updated: float = field(default_factory=time.time)
    # The snapshot this one replaced: kept one generation so a task still reading it is safe.
    previous: str | None = None
    # Whether the session also searches the built-in notes library (older manifests: False).
    library: bool = False
    # Which stored version of the manifest this is (S3 ETag, local content hash), set by
    # `read_manifest` and never stored: a conditional write names it to replace just that one.
    token: str = field(default="", compare=False, repr=False)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict (without the read-time `token`)."""
        data = asdict(self)
        del data["token"]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Manifest:
        """Build a manifest from its JSON form."""
        docs = [DocumentInfo(**d) for d in data.get("documents", [])]
        return cls(
            session_id=data["session_id"],
            version=data["version"],
            documents=docs,
            created=data.get("created", 0.0),
            updated=data.get("updated", 0.0),
            previous=data.get("previous"),
            library=bool(data.get("library", False)),
        )


class ManifestConflict(StorageError):
    """Signal a conditional manifest write that lost: the manifest changed since it was read."""


class HistoryStore(Protocol):
    """Chat history per session, oldest first."""

    def append(self, session_id: str, message: Message) -> None:
        """Add a message to the end of a session's history."""

    def append_many(self, session_id: str, messages: list[Message]) -> None:
        """Add messages to the end of a session's history in one write: all or none."""

    def messages(self, session_id: str, limit: int | None = None) -> list[Message]:
        """Return the session's messages, oldest first (the last `limit` when given)."""

    def delete(self, session_id: str) -> None:
        """Remove a session's history."""

    def check(self) -> None:
        """Raise StorageError when the store is unreachable."""


class DocumentStore(Protocol):
    """Uploaded files, index snapshots and the manifest that says which snapshot is current.

    Several tasks (or processes on one DATA_DIR) may write one session at once, so the
    manifest is written compare-and-swap: `write_manifest` replaces only the version whose
    `token` it is given, and an uploaded file is stored only under a name nobody holds yet.
    """

    def read_manifest(self, session_id: str) -> Manifest | None:
        """Return the session's manifest with its `token`, or None when there is none."""

    def write_manifest(self, manifest: Manifest, expected: str | None = None) -> None:
        """Commit a manifest if the stored one is still `expected` (None: if there is none).

        Raise ManifestConflict when it is not (another writer got there first, or the
        session was deleted): nothing is written then.
        """

    def put_document(self, session_id: str, name: str, data: bytes) -> bool:
        """Store an uploaded file under its safe name; False (nothing written) if it is taken."""

    def delete_document(self, session_id: str, name: str) -> None:
        """Remove a stored file (one an upload stored and then could not commit)."""

    def put_index(self, session_id: str, version: str, source: Path) -> None:
        """Store the index files in `source` as snapshot `version`."""

    def fetch_index(self, session_id: str, version: str) -> Path:
        """Return a local directory holding snapshot `version` (downloading it if needed)."""

    def delete_index(self, session_id: str, version: str) -> None:
        """Remove an old snapshot."""

    def delete_session(self, session_id: str, expected: str | None = None) -> None:
        """Remove everything stored for a session; with `expected`, only if unchanged.

        With `expected` (a manifest `token`), raise ManifestConflict and remove nothing when
        the manifest is no longer that version (an upload committed meanwhile, or it is gone).
        """

    def session_ids(self) -> list[str]:
        """Return the id of every session with something stored (for the idle sweep)."""

    def check(self) -> None:
        """Raise StorageError when the store is unreachable."""


def valid_session_id(session_id: str) -> bool:
    """Say whether a session id is safe to use in a path or key."""
    return bool(_SESSION_ID.match(session_id))


def safe_filename(name: str, taken: set[str] | frozenset[str] = frozenset()) -> str:
    """Return a name safe to store: no directories, no `..`, plain characters, unique."""
    # Browsers send a bare name, but a client may send "../../etc/passwd" or "C:\\x\\y.pdf".
    base = name.replace("\\", "/").split("/")[-1]
    base = unicodedata.normalize("NFKD", base).encode("ascii", "ignore").decode()
    stem, dot, suffix = base.rpartition(".")
    if not dot:
        stem, suffix = base, ""
    stem = _UNSAFE.sub("_", stem).strip("._-")[:80] or "file"
    suffix = _UNSAFE.sub("", suffix).lower()[:10]
    candidate = f"{stem}.{suffix}" if suffix else stem
    n = 2
    while candidate in taken:
        candidate = f"{stem}-{n}.{suffix}" if suffix else f"{stem}-{n}"
        n += 1
    return candidate
