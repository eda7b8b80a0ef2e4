"""Keep sessions: manifests, indexes and history; the built-in "library" id is one of them."""

from __future__ import annotations

import logging
import random
import shutil
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from service.errors import ReadOnlySessionError, SessionNotFoundError, StorageError, storage_failure
from service.indexcache import IndexCache
from service.quota import Quota, held_chunks, stored_bytes
from service.rag.errors import IndexLoadError
from service.storage import (
    DocumentInfo,
    DocumentStore,
    HistoryStore,
    Manifest,
    ManifestConflict,
    Message,
    safe_filename,
)

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
# A commit whose manifest write loses to another task's tries again on top of the winner's:
# this many tries in all, pausing a random 0..BACKOFF_S * 2**(n-1) seconds before try n.
COMMIT_ATTEMPTS = 5
BACKOFF_S = 0.05
STALE_STAGING_S = 3600.0  # a staged snapshot this old was left by a killed process


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


class _Attempt:
    """What one commit carries from try to try: its files, names, and what it has stored."""

    def __init__(
        self, files: list[tuple[str, bytes]], added: list[DocumentInfo], chunks: list[Document]
    ) -> None:
        self.files = list(files)
        self.added = [replace(info) for info in added]
        self.chunks = list(chunks)
        self.stored: set[str] = set()  # files stored under their final names
        self.refused: set[str] = set()  # names the store said were taken
        self.pending = ""  # the snapshot version stored and not (yet) committed
        self.previous: str | None = None  # the generation that commit would make obsolete
        self.store: FaissStore | None = None  # the index of `pending`
        self.seen = False  # whether any try found the session's manifest

    def rename(self, held: set[str]) -> None:
        """Give each file not stored yet whose name is `held` or refused a free name."""
        taken = held | self.refused | {name for name, _ in self.files}
        for i, (name, data) in enumerate(self.files):
            if name in self.stored or (name not in held and name not in self.refused):
                continue
            info = next(d for d in self.added if d.name == name)
            fresh = safe_filename(info.original_name or name, taken)
            taken.add(fresh)
            self.files[i] = (fresh, data)
            info.name = fresh
            self.chunks = [_relabel(c, name, fresh) for c in self.chunks]

    def forget(self) -> None:
        """Keep everything stored so far (a manifest may now point at it)."""
        self.stored.clear()
        self.pending = ""


def _relabel(chunk: Document, old: str, new: str) -> Document:
    """Return `chunk` with its source renamed from `old` to `new` (itself if another file's)."""
    if chunk.metadata.get("source") != old:
        return chunk
    return type(chunk)(page_content=chunk.page_content, metadata={**chunk.metadata, "source": new})


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
        staging: Path | None = None,
    ) -> None:
        self.documents = documents
        self.history = history
        self.embeddings = embeddings  # the embedder name every index of this service uses
        self.quota = quota
        self.cache = IndexCache(cache_bytes)
        self.idle_ttl_s = idle_ttl_s  # 0: sessions never expire
        self.clock = clock
        # New snapshots are written here before they are stored: on the service's own disk,
        # so a full disk answers 507 (the system temp dir may be another, emptier disk).
        self.staging = staging
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
        """Create an empty session; `library` makes it search the notes besides its uploads.

        The manifest is written only if none exists (a fresh random id: it never does).
        """
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

    def _remove(self, session_id: str, expected: str | None = None) -> None:
        self.documents.delete_session(session_id, expected)
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
            try:  # only this version: another task may commit an upload at this moment
                self._remove(session_id, expected=manifest.token)
            except ManifestConflict:  # it did (kept), or a DELETE came first (gone)
                return self.documents.read_manifest(session_id) is None
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
        The quota is checked against what the session holds at commit time; `before_write`
        runs before each try writes anything (the upload's last chance to stop, e.g. when
        its client has gone).

        Another task may commit to the session at the same moment: the manifest write is
        conditional on the version read, and when it loses, the commit reads the winner's
        manifest and builds its snapshot again on top of the winner's (both uploads' files
        and chunks are kept; a file name the winner took is renamed as `safe_filename`
        would). After COMMIT_ATTEMPTS lost races it gives up with ManifestConflict (503).
        Whatever fails, what this commit stored and did not commit is removed again.
        """
        attempt = _Attempt(files, added, chunks)
        try:
            with self._lock(session_id):  # this process's uploads take turns; other tasks race
                for n in range(COMMIT_ATTEMPTS):
                    if n:
                        log.info(
                            "commit raced another writer: retrying",
                            extra={"session_id": session_id, "attempt": n + 1},
                        )
                        time.sleep(random.uniform(0, BACKOFF_S * 2 ** (n - 1)))
                    manifest = self._try_commit(
                        session_id, attempt, library, new=new, before_write=before_write
                    )
                    if manifest is not None:
                        return manifest
                raise ManifestConflict(
                    f"session {session_id!r}: {COMMIT_ATTEMPTS} tries to save this upload each "
                    "lost to other uploads to the same session; nothing was saved: retry"
                )
        except Exception as exc:
            gone = isinstance(exc, SessionNotFoundError) or (new and not attempt.seen)
            self._drop_uncommitted(session_id, attempt, gone)
            raise

    def _try_commit(
        self,
        session_id: str,
        attempt: _Attempt,
        library: bool,
        *,
        new: bool,
        before_write: Callable[[], None] | None,
    ) -> Manifest | None:
        """Commit on top of the current manifest; None when another writer committed first."""
        current = self.documents.read_manifest(session_id)
        if current is None and (attempt.seen or not new):
            raise SessionNotFoundError(session_id)  # deleted (or expired) meanwhile
        if attempt.pending:
            if current is not None and current.version == attempt.pending:
                # The last write landed although its answer was lost (a retried PUT): done.
                return self._committed(current, attempt.previous, attempt.store)
            self.documents.delete_index(session_id, attempt.pending)
            attempt.pending = ""
        attempt.seen = attempt.seen or current is not None
        held = current.documents if current else []
        owner = None if new else session_id
        self.quota.check_chunks(owner, held_chunks(held), len(attempt.chunks))
        documents = stored_bytes(held) + sum(len(data) for _, data in attempt.files)
        self.quota.check_bytes(owner, documents)
        attempt.rename({d.name for d in held})
        if current and current.version:
            store = self._load_index(session_id, current.version)
        else:
            store = self._empty_index()
        store.add_documents(attempt.chunks)
        version = _new_version()
        now = self.clock()
        manifest = Manifest(
            session_id=session_id,
            version=version,
            documents=[*held, *attempt.added],
            created=current.created if current else now,
            updated=now,
            previous=(current.version or None) if current else None,
            # `library` applies to a new session only; an existing one keeps its own.
            library=current.library if current else library,
        )
        with self._staging_dir() as tmp:
            try:
                store.save(Path(tmp))
                index_bytes = sum(p.stat().st_size for p in Path(tmp).iterdir() if p.is_file())
            except OSError as exc:
                raise storage_failure(exc, "save the new index") from exc
            self.quota.check_bytes(owner, documents, index_bytes)
            if before_write is not None:
                before_write()
            if not self._store_files(session_id, attempt):
                return None  # a name was taken meanwhile: rename, rebuild
            attempt.pending, attempt.store = version, store
            attempt.previous = current.previous if current else None
            self.documents.put_index(session_id, version, Path(tmp))
        try:
            self.documents.write_manifest(manifest, current.token if current else None)
        except ManifestConflict:
            return None
        except StorageError:
            # Whether it landed is unknown (a lost answer): keep what it may point at.
            attempt.forget()
            raise
        return self._committed(manifest, attempt.previous, store)

    def prune_staging(self, older_than_s: float = STALE_STAGING_S) -> int:
        """Remove snapshots a killed process left in `staging`; return how many went."""
        if self.staging is None or not self.staging.is_dir():
            return 0
        cutoff, removed = time.time() - older_than_s, 0
        for path in self.staging.iterdir():
            try:
                if path.stat().st_mtime < cutoff:
                    shutil.rmtree(path) if path.is_dir() else path.unlink()
                    removed += 1
            except OSError:  # another process removed it, or cannot: leave it
                continue
        return removed

    def _staging_dir(self) -> tempfile.TemporaryDirectory:
        """A fresh directory to write a snapshot in (under `staging` when set)."""
        if self.staging is None:
            return tempfile.TemporaryDirectory(prefix="index-")
        try:
            self.staging.mkdir(parents=True, exist_ok=True)
            return tempfile.TemporaryDirectory(prefix="index-", dir=self.staging)
        except OSError as exc:
            raise storage_failure(exc, "save the new index") from exc

    def _store_files(self, session_id: str, attempt: _Attempt) -> bool:
        """Store the files not stored yet; False if a name was taken (remembered in `attempt`)."""
        for name, data in attempt.files:
            if name in attempt.stored:
                continue
            if not self.documents.put_document(session_id, name, data):
                attempt.refused.add(name)
                return False
            attempt.stored.add(name)
        return True

    def _committed(self, manifest: Manifest, previous: str | None, store: FaissStore) -> Manifest:
        """Tidy up after `manifest` was committed; return it."""
        if previous:  # keep one older generation for readers mid-load
            self.documents.delete_index(manifest.session_id, previous)
        self.cache.put(manifest.session_id, manifest.version, store)
        return manifest

    def _drop_uncommitted(self, session_id: str, attempt: _Attempt, gone: bool) -> None:
        """Remove what a failed commit stored (frees space on a full disk)."""
        if not (attempt.stored or attempt.pending):
            return
        try:
            if gone:  # nothing else is there (new, or deleted meanwhile): everything goes
                self.documents.delete_session(session_id)
                return
            if attempt.pending:
                self.documents.delete_index(session_id, attempt.pending)
            for name in attempt.stored:
                self.documents.delete_document(session_id, name)
        except StorageError:
            log.warning("cannot drop an uncommitted snapshot", extra={"session_id": session_id})

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
