"""Keep sessions: manifests, indexes and history; the built-in "library" id is one of them."""

from __future__ import annotations

import logging
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from service.errors import ReadOnlySessionError, SessionNotFoundError, StorageError, storage_failure
from service.indexcache import IndexCache
from service.quota import Quota, held_chunks, stored_bytes
from service.rag.errors import IndexLoadError
from service.storage import DocumentInfo, DocumentStore, HistoryStore, Manifest, Message

if TYPE_CHECKING:
    from langchain_core.documents import Document

    from service.rag.answers import Answer
    from service.rag.vectorstore import FaissStore

log = logging.getLogger("service.sessions")
# The id every client may send to ask the notes library without a session of its own.
LIBRARY_SESSION = "library"
# Without settings (a store made by hand): limits that never refuse, a 256 MB index cache.
UNLIMITED = Quota(max_chunks=2**62, max_mb=float("inf"))
DEFAULT_CACHE_BYTES = 256 * 1024 * 1024


@dataclass(frozen=True)
class Session:
    """A session as one request sees it: what it searches, holds and keeps."""

    id: str
    library: bool  # also searches the notes library
    # The shared "library" id: every client may send it, so it stores nothing (no uploads,
    # no history) and cannot be deleted.
    builtin: bool = False
    version: str = ""  # the current index snapshot; "" until the first upload
    documents: list[DocumentInfo] = field(default_factory=list)

    @classmethod
    def of(cls, manifest: Manifest) -> Session:
        """Return the session a stored manifest describes."""
        return cls(
            manifest.session_id, manifest.library, False, manifest.version, manifest.documents
        )


LIBRARY = Session(LIBRARY_SESSION, library=True, builtin=True)


def _new_version() -> str:
    return f"{time.time_ns():020d}-{uuid.uuid4().hex[:8]}"


class SessionStore:
    """Find, create and delete sessions; load and commit their indexes; keep their history.

    A session idle for `idle_ttl_s` (no upload, no question) is expired: removed like a
    deleted one, by `expire_idle` (the runtime's sweep) or when it is next looked up.
    """

    def __init__(
        self,
        documents: DocumentStore,
        history: HistoryStore,
        embeddings: str,
        *,
        quota: Quota = UNLIMITED,
        cache_bytes: int = DEFAULT_CACHE_BYTES,
        idle_ttl_s: float = 0.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.documents = documents
        self.history = history
        self.embeddings = embeddings  # the embedder name every index of this service uses
        self.quota = quota
        self.cache = IndexCache(cache_bytes)
        self.idle_ttl_s = idle_ttl_s  # 0: sessions never expire
        self.clock = clock
        self._guard = threading.Lock()
        self._locks: dict[str, threading.Lock] = {}
        # Last question seen per session by this process: spares a history read per lookup.
        self._asked: dict[str, float] = {}

    # -- sessions -----------------------------------------------------------------------
    @staticmethod
    def is_builtin(session_id: str) -> bool:
        """Say whether `session_id` is the built-in library session (known without I/O)."""
        return session_id == LIBRARY_SESSION

    def get(self, session_id: str) -> Session:
        """Return the session (one manifest read) or raise SessionNotFoundError (also: expired)."""
        if self.is_builtin(session_id):
            return LIBRARY
        manifest = self.documents.read_manifest(session_id)
        if manifest is None or (self._idle(manifest) and self._expire(session_id)):
            raise SessionNotFoundError(session_id)
        return Session.of(manifest)

    def create(self, library: bool = True) -> Session:
        """Create an empty session; `library` makes it search the notes besides its uploads."""
        manifest = Manifest(session_id=uuid.uuid4().hex, version="", library=library)
        self.documents.write_manifest(manifest)
        log.info("session created", extra={"session_id": manifest.session_id, "library": library})
        return Session.of(manifest)

    def delete(self, session: Session) -> None:
        """Remove a session's documents, indexes and history."""
        if session.builtin:
            raise ReadOnlySessionError("the library session is built in and cannot be deleted")
        with self._lock(session.id):
            self._remove(session.id)
        log.info("session deleted", extra={"session_id": session.id})

    def _remove(self, session_id: str) -> None:
        self.documents.delete_session(session_id)
        self.history.delete(session_id)
        self.cache.drop(session_id)
        self._asked.pop(session_id, None)

    # -- expiry -------------------------------------------------------------------------
    def last_active(self, manifest: Manifest) -> float:
        """Return when the session was last used: made, uploaded to, or asked a question."""
        known = max(manifest.created, manifest.updated, self._asked.get(manifest.session_id, 0))
        if self.idle_ttl_s and self.clock() - known > self.idle_ttl_s:
            # Idle by what this process knows: the history says whether another task was asked.
            last = self.history.messages(manifest.session_id, limit=1)
            if last:
                known = max(known, last[-1].ts)
                self._asked[manifest.session_id] = known
        return known

    def _idle(self, manifest: Manifest) -> bool:
        if not self.idle_ttl_s:
            return False
        return self.clock() - self.last_active(manifest) > self.idle_ttl_s

    def _expire(self, session_id: str) -> bool:
        """Remove the session if it is still idle (checked again under its lock)."""
        with self._lock(session_id):
            manifest = self.documents.read_manifest(session_id)
            if manifest is None:
                return True  # deleted meanwhile: gone either way
            if not self._idle(manifest):
                return False  # used meanwhile (an upload committed)
            self._remove(session_id)
        log.info("session expired", extra={"session_id": session_id, "idle_ttl_s": self.idle_ttl_s})
        return True

    def expire_idle(self) -> int:
        """Remove every session idle for longer than the TTL; return how many were removed."""
        if not self.idle_ttl_s:
            return 0
        removed = 0
        for session_id in self.documents.session_ids():
            if self.is_builtin(session_id):  # never stored, never expired; skipped to be sure
                continue
            try:
                manifest = self.documents.read_manifest(session_id)
                # No manifest: an upload of a new session may be writing it right now.
                if manifest is not None and self._idle(manifest) and self._expire(session_id):
                    removed += 1
            except StorageError as exc:  # one unreadable session must not stop the sweep
                log.warning(
                    "cannot expire a session", extra={"session_id": session_id, "error": str(exc)}
                )
        return removed

    # -- history ------------------------------------------------------------------------
    def messages(self, session: Session, limit: int | None = None) -> list[Message]:
        """Return the session's messages, oldest first (the last `limit` when given)."""
        if session.builtin or limit == 0:
            return []
        return self.history.messages(session.id, limit=limit)

    def record(self, session: Session, question: str, answer: Answer) -> None:
        """Append a question and its answer in one write (a failure stores neither)."""
        if session.builtin:
            return
        self._asked[session.id] = self.clock()
        self.history.append_many(
            session.id,
            [
                Message("user", question),
                Message("assistant", answer.text, citations=list(answer.citations)),
            ],
        )

    # -- indexes ------------------------------------------------------------------------
    def index(self, session: Session) -> FaissStore | None:
        """Return the session's index (None before its first upload), reloading newer ones."""
        for attempt in range(2):
            if not session.version:
                return None
            hit = self.cache.get(session.id, session.version)
            if hit is not None:
                return hit
            try:
                store = self._load_index(session.id, session.version)
            except (StorageError, IndexLoadError) as exc:
                if attempt:
                    raise StorageError(f"cannot load the index of {session.id!r}: {exc}") from exc
                session = self.get(session.id)  # the snapshot may have been replaced meanwhile
                continue
            self.cache.put(session.id, session.version, store)
            return store
        raise StorageError(f"cannot load the index of {session.id!r}")  # pragma: no cover

    def commit(
        self,
        session_id: str,
        chunks: list[Document],
        files: list[tuple[str, bytes]],
        added: list[DocumentInfo],
        library: bool,
        *,
        new: bool = False,
        before_write: Callable[[], None] | None = None,
    ) -> Manifest:
        """Add chunks and files to a session as a new snapshot, manifest last; all or nothing.

        `new` says the upload makes the session; otherwise it must exist still (a DELETE or
        the idle sweep may have removed it since the upload began: SessionNotFoundError).
        The quota is checked here, under the session's lock, against what the session holds
        now; `before_write` runs just before the first write (the upload's last chance to
        stop, e.g. when its client has gone).
        """
        # `library` applies to a new session only; an existing one keeps what it was made with.
        with self._lock(session_id):
            current = self.documents.read_manifest(session_id)
            if current is None and not new:
                raise SessionNotFoundError(session_id)
            held = current.documents if current else []
            self.quota.check_chunks(None if new else session_id, held_chunks(held), len(chunks))
            documents = stored_bytes(held) + sum(len(data) for _, data in files)
            self.quota.check_bytes(None if new else session_id, documents)
            if current and current.version:
                store = self._load_index(session_id, current.version)
            else:
                store = self._empty_index()
            store.add_documents(chunks)
            version = _new_version()
            now = self.clock()
            manifest = Manifest(
                session_id=session_id,
                version=version,
                documents=[*(current.documents if current else []), *added],
                created=current.created if current else now,
                updated=now,
                previous=(current.version or None) if current else None,
                library=current.library if current else library,
            )

            def check(index_bytes: int) -> None:
                self.quota.check_bytes(None if new else session_id, documents, index_bytes)
                if before_write is not None:
                    before_write()

            self._write_snapshot(session_id, version, store, files, check, new=current is None)
            self.documents.write_manifest(manifest)
            if current and current.previous:  # keep one older generation for readers mid-load
                self.documents.delete_index(session_id, current.previous)
            self.cache.put(session_id, version, store)
        return manifest

    def _write_snapshot(
        self,
        session_id: str,
        version: str,
        store: FaissStore,
        files: list[tuple[str, bytes]],
        check: Callable[[int], None],
        new: bool,
    ) -> None:
        """Save the index locally, `check` its size, then store it and the files."""
        written = False
        try:
            with tempfile.TemporaryDirectory(prefix="index-") as tmp:
                store.save(Path(tmp))
                check(sum(p.stat().st_size for p in Path(tmp).iterdir() if p.is_file()))
                written = True
                self.documents.put_index(session_id, version, Path(tmp))
            for name, data in files:
                self.documents.put_document(session_id, name, data)
        except (OSError, StorageError) as exc:
            if written:
                self._drop_uncommitted(session_id, version, new)
            if isinstance(exc, StorageError):
                raise
            raise storage_failure(exc, "save the new index") from exc

    def _drop_uncommitted(self, session_id: str, version: str, new: bool) -> None:
        """Remove what a failed commit wrote (frees space on a full disk)."""
        try:
            if new:  # nothing else is there: the files stored so far go too
                self.documents.delete_session(session_id)
            else:
                self.documents.delete_index(session_id, version)
        except StorageError:
            log.warning("cannot drop an uncommitted snapshot", extra={"version": version})

    def _load_index(self, session_id: str, version: str) -> FaissStore:
        # FAISS and numpy load with the first index, never on the start-up path.
        from service.rag.embeddings import get_embeddings
        from service.rag.vectorstore import FaissStore

        path = self.documents.fetch_index(session_id, version)
        store = FaissStore.load(path, get_embeddings(self.embeddings))
        store.embeddings  # noqa: B018 - fit now; searches then only read
        return store

    def _empty_index(self) -> FaissStore:
        from service.rag.embeddings import get_embeddings  # as in _load_index
        from service.rag.vectorstore import FaissStore

        return FaissStore.empty(get_embeddings(self.embeddings))

    def _lock(self, session_id: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(session_id, threading.Lock())
