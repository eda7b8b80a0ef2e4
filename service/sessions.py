"""Keep sessions: manifests, indexes and history; the built-in "library" id is one of them."""

from __future__ import annotations

import logging
import tempfile
import threading
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from service.errors import ReadOnlySessionError, SessionNotFoundError, StorageError, storage_failure
from service.rag.errors import IndexLoadError
from service.storage import DocumentInfo, DocumentStore, HistoryStore, Manifest, Message

if TYPE_CHECKING:
    from langchain_core.documents import Document

    from service.rag.answers import Answer
    from service.rag.vectorstore import FaissStore

log = logging.getLogger("service.sessions")
# The id every client may send to ask the notes library without a session of its own.
LIBRARY_SESSION = "library"
CACHED_SESSIONS = 32  # indexes kept in memory; others reload from their snapshot on demand


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
    """Find, create and delete sessions; load and commit their indexes; keep their history."""

    def __init__(self, documents: DocumentStore, history: HistoryStore, embeddings: str) -> None:
        self.documents = documents
        self.history = history
        self.embeddings = embeddings  # the embedder name every index of this service uses
        self._cache: OrderedDict[str, tuple[str, FaissStore]] = OrderedDict()
        self._guard = threading.Lock()
        self._locks: dict[str, threading.Lock] = {}

    # -- sessions -----------------------------------------------------------------------
    @staticmethod
    def is_builtin(session_id: str) -> bool:
        """Say whether `session_id` is the built-in library session (known without I/O)."""
        return session_id == LIBRARY_SESSION

    def get(self, session_id: str) -> Session:
        """Return the session (one manifest read) or raise SessionNotFoundError."""
        if self.is_builtin(session_id):
            return LIBRARY
        manifest = self.documents.read_manifest(session_id)
        if manifest is None:
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
            self.documents.delete_session(session.id)
            self.history.delete(session.id)
            with self._guard:
                self._cache.pop(session.id, None)
        log.info("session deleted", extra={"session_id": session.id})

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
            with self._guard:
                hit = self._cache.get(session.id)
                if hit and hit[0] == session.version:
                    self._cache.move_to_end(session.id)
                    return hit[1]
            try:
                store = self._load_index(session.id, session.version)
            except (StorageError, IndexLoadError) as exc:
                if attempt:
                    raise StorageError(f"cannot load the index of {session.id!r}: {exc}") from exc
                session = self.get(session.id)  # the snapshot may have been replaced meanwhile
                continue
            self._remember(session.id, session.version, store)
            return store
        raise StorageError(f"cannot load the index of {session.id!r}")  # pragma: no cover

    def commit(
        self,
        session_id: str,
        chunks: list[Document],
        files: list[tuple[str, bytes]],
        added: list[DocumentInfo],
        library: bool,
    ) -> Manifest:
        """Add chunks and files to a session (made when new) as a new snapshot, manifest last."""
        # `library` applies to a new session only; an existing one keeps what it was made with.
        with self._lock(session_id):
            current = self.documents.read_manifest(session_id)
            if current and current.version:
                store = self._load_index(session_id, current.version)
            else:
                store = self._empty_index()
            store.add_documents(chunks)
            version = _new_version()
            self._write_snapshot(session_id, version, store, files)
            manifest = Manifest(
                session_id=session_id,
                version=version,
                documents=[*(current.documents if current else []), *added],
                created=current.created if current else time.time(),
                previous=(current.version or None) if current else None,
                library=current.library if current else library,
            )
            self.documents.write_manifest(manifest)
            if current and current.previous:  # keep one older generation for readers mid-load
                self.documents.delete_index(session_id, current.previous)
            self._remember(session_id, version, store)
        return manifest

    def _write_snapshot(
        self, session_id: str, version: str, store: FaissStore, files: list[tuple[str, bytes]]
    ) -> None:
        try:
            with tempfile.TemporaryDirectory(prefix="index-") as tmp:
                store.save(Path(tmp))
                self.documents.put_index(session_id, version, Path(tmp))
            for name, data in files:
                self.documents.put_document(session_id, name, data)
        except (OSError, StorageError) as exc:
            # Not committed: drop the unreferenced snapshot (frees space on a full disk).
            try:
                self.documents.delete_index(session_id, version)
            except StorageError:
                log.warning("cannot drop an uncommitted snapshot", extra={"version": version})
            if isinstance(exc, StorageError):
                raise
            raise storage_failure(exc, "save the new index") from exc

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

    def _remember(self, session_id: str, version: str, store: FaissStore) -> None:
        with self._guard:
            self._cache[session_id] = (version, store)
            self._cache.move_to_end(session_id)
            while len(self._cache) > CACHED_SESSIONS:
                self._cache.popitem(last=False)

    def _lock(self, session_id: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(session_id, threading.Lock())
