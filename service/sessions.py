"""Manage sessions: upload into an index, answer from it, keep history, load the library."""

from __future__ import annotations

import logging
import tempfile
import threading
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from service.errors import (
    AnswerError,
    InvalidInputError,
    NotReadyError,
    ReadOnlySessionError,
    SessionNotFoundError,
    StorageError,
    UploadError,
    storage_failure,
)
from service.library import LIBRARY_SESSION, load_library
from service.storage import (
    Deferred,
    DocumentInfo,
    DocumentStore,
    HistoryStore,
    Manifest,
    Message,
    safe_filename,
)

if TYPE_CHECKING:
    from service.config import Settings
    from service.rag.answers import Answer, Answerer
    from service.rag.vectorstore import FaissStore

log = logging.getLogger("service.sessions")
CACHED_SESSIONS = 32  # indexes kept in memory; others reload from their snapshot on demand
LIBRARY_WAIT_S = 10.0  # how long a library question waits for the start-up indexing


@dataclass
class Upload:
    """One file received: the name the client sent and its bytes."""

    filename: str
    data: bytes


@dataclass
class UploadResult:
    """What an upload indexed."""

    session_id: str
    chunks_indexed: int
    documents: list[DocumentInfo]
    library: bool = False


def _make_answerer(s: Settings) -> Answerer:
    # make_answerer imports the LLM prompt stack only for a real provider.
    from service.rag.providers import make_answerer

    key = {"groq": s.groq_api_key, "google": s.google_api_key}.get(s.llm_provider)
    return make_answerer(
        s.llm_provider,
        model=s.llm_model,
        api_key=key.get_secret_value() if key else None,
        base_url=s.ollama_base_url if s.llm_provider == "ollama" else None,
        region=s.aws_region,
    )


def _new_version() -> str:
    return f"{time.time_ns():020d}-{uuid.uuid4().hex[:8]}"


class SessionManager:
    """Own the stores, the in-memory indexes, the answerer and the notes library."""

    def __init__(self, settings: Settings, history: HistoryStore, documents: DocumentStore):
        self.settings = settings
        self.history_store = history
        self.documents = documents
        self._cache: OrderedDict[str, tuple[str, FaissStore]] = OrderedDict()
        self._cache_lock = threading.Lock()
        self._session_locks: dict[str, threading.Lock] = {}
        self._answerer: Answerer | None = None
        self._library: FaissStore | None = None
        self._library_state = "loading"
        self._loaded = threading.Event()
        self._thread: threading.Thread | None = None

    # -- start-up -----------------------------------------------------------------------
    def start(self) -> None:
        """Load the answerer and the library in a background thread (start-up stays fast)."""
        if self._thread is not None:  # idempotent: a second lifespan reuses the first load
            return
        self._thread = threading.Thread(target=self._load, name="library-loader", daemon=True)
        self._thread.start()

    def wait_loaded(self, timeout: float | None = None) -> bool:
        """Block until start-up loading has finished (or failed); say whether it finished."""
        return self._loaded.wait(timeout)

    def _load(self) -> None:
        started = time.perf_counter()
        try:
            s = self.settings
            self._resolve_stores()
            self._answerer = _make_answerer(s)
            if not s.library_dir.is_dir():
                self._library_state = f"missing: LIBRARY_DIR {s.library_dir} is not a directory"
                log.warning("library directory missing", extra={"path": str(s.library_dir)})
                return
            store, cached = load_library(s.library_dir, s.data_dir / "library", s.embeddings)
            store.embeddings  # noqa: B018 - fit the IDF now, so searches never mutate the store
            self._library, self._library_state = store, "ready"
            log.info(
                "library loaded",
                extra={
                    "chunks": len(store),
                    "from_cache": cached,
                    "ms": round((time.perf_counter() - started) * 1000),
                },
            )
        except Exception as exc:  # reported by /ready; the process stays up to say so
            self._library_state = f"error: {exc}"
            log.exception("start-up loading failed")
        finally:
            self._loaded.set()

    def _resolve_stores(self) -> None:
        # Build deferred AWS stores here, not in a request; a failure shows in /ready.
        for store in (self.history_store, self.documents):
            if isinstance(store, Deferred):
                try:
                    store.resolve()
                except Exception:
                    log.exception("cannot create a storage client", extra={"store": repr(store)})

    # -- status -------------------------------------------------------------------------
    def checks(self) -> dict[str, str]:
        """Return each dependency's state; "ok"/"ready" means usable."""
        out = {"library": self._library_state}
        if self._loaded.is_set():
            out["answerer"] = "ok" if self._answerer is not None else "error"
        else:
            out["answerer"] = "loading"
        for name, store in (("history", self.history_store), ("documents", self.documents)):
            try:
                store.check()
                out[name] = "ok"
            except StorageError as exc:
                out[name] = f"error: {exc}"
        return out

    @staticmethod
    def is_ready(checks: dict[str, str]) -> bool:
        """Say whether every check passed (a missing library directory is allowed)."""
        return all(v in ("ok", "ready") or v.startswith("missing") for v in checks.values())

    # -- sessions -----------------------------------------------------------------------
    def _lock(self, session_id: str) -> threading.Lock:
        with self._cache_lock:
            return self._session_locks.setdefault(session_id, threading.Lock())

    def manifest(self, session_id: str) -> Manifest:
        """Return a user session's manifest or raise SessionNotFoundError."""
        manifest = self.documents.read_manifest(session_id)
        if manifest is None:
            raise SessionNotFoundError(session_id)
        return manifest

    def exists(self, session_id: str) -> bool:
        """Say whether a session exists (the library always does)."""
        return session_id == LIBRARY_SESSION or self.documents.read_manifest(session_id) is not None

    def create(self, library: bool = True) -> Manifest:
        """Create an empty session; `library` makes it search the notes besides its uploads."""
        manifest = Manifest(session_id=uuid.uuid4().hex, version="", library=library)
        self.documents.write_manifest(manifest)
        log.info("session created", extra={"session_id": manifest.session_id, "library": library})
        return manifest

    def _store(self, session_id: str) -> FaissStore:
        """Return the session's index, reloading it when another task committed a newer one."""
        from service.rag.embeddings import get_embeddings
        from service.rag.errors import IndexLoadError
        from service.rag.vectorstore import FaissStore

        for attempt in range(2):
            manifest = self.manifest(session_id)
            if not manifest.version:  # created empty: nothing uploaded yet
                return FaissStore.empty(get_embeddings(self.settings.embeddings))
            with self._cache_lock:
                hit = self._cache.get(session_id)
                if hit and hit[0] == manifest.version:
                    self._cache.move_to_end(session_id)
                    return hit[1]
            try:
                path = self.documents.fetch_index(session_id, manifest.version)
                store = FaissStore.load(path, get_embeddings(self.settings.embeddings))
            except (StorageError, IndexLoadError) as exc:
                if attempt:  # the snapshot may have been replaced meanwhile: read again once
                    raise StorageError(f"cannot load the index of {session_id!r}: {exc}") from exc
                continue
            store.embeddings  # noqa: B018 - fit now; searches then only read
            self._remember(session_id, manifest.version, store)
            return store
        raise StorageError(f"cannot load the index of {session_id!r}")  # pragma: no cover

    def _remember(self, session_id: str, version: str, store: FaissStore) -> None:
        with self._cache_lock:
            self._cache[session_id] = (version, store)
            self._cache.move_to_end(session_id)
            while len(self._cache) > CACHED_SESSIONS:
                self._cache.popitem(last=False)

    def _library_store(self) -> FaissStore:
        if not self._loaded.wait(LIBRARY_WAIT_S):
            raise NotReadyError("the notes library is still being indexed; retry in a moment")
        if self._library is None:
            raise NotReadyError(f"the notes library is unavailable ({self._library_state})")
        return self._library

    # -- upload -------------------------------------------------------------------------
    def upload(
        self, files: list[Upload], session_id: str | None = None, library: bool = False
    ) -> UploadResult:
        """Index files into a new or existing session; validate everything before writing."""
        # `library` applies to a new session only; an existing one keeps what it was made with.
        from service.rag.errors import IngestError, UnsupportedTypeError
        from service.rag.ingest import load_bytes, split_documents

        if session_id == LIBRARY_SESSION:
            raise ReadOnlySessionError("the library session is built in: upload to your own")
        manifest = self.manifest(session_id) if session_id else None
        taken = {d.name for d in manifest.documents} if manifest else set()
        added: list[DocumentInfo] = []
        chunks: list[Any] = []
        payloads: list[tuple[str, bytes]] = []
        for upload in files:
            name = safe_filename(upload.filename or "file", taken)
            taken.add(name)
            try:
                docs = load_bytes(upload.data, name)
            except UnsupportedTypeError as exc:
                raise UploadError(str(exc), 415) from exc
            except IngestError as exc:
                raise UploadError(str(exc), 422) from exc
            pieces = split_documents(docs)
            if not pieces:
                raise UploadError(f"{name}: no text to index", 422)
            chunks.extend(pieces)
            payloads.append((name, upload.data))
            pages = len(docs) if name.lower().endswith(".pdf") else None
            original = Path(upload.filename.replace("\\", "/")).name if upload.filename else name
            added.append(DocumentInfo(name, original[:200], len(upload.data), len(pieces), pages))
        # Everything parsed: now write. The manifest goes last; until then nothing is visible.
        session_id = session_id or uuid.uuid4().hex
        with self._lock(session_id):
            self._commit(session_id, payloads, chunks, added, library)
        log.info(
            "documents indexed",
            extra={"session_id": session_id, "files": len(added), "chunks": len(chunks)},
        )
        library = manifest.library if manifest else library
        return UploadResult(session_id, len(chunks), added, library)

    def _commit(
        self, session_id: str, payloads: list, chunks: list, added: list, library: bool
    ) -> None:
        from service.rag.embeddings import get_embeddings
        from service.rag.vectorstore import FaissStore

        current = self.documents.read_manifest(session_id)
        store = (
            FaissStore.load(
                self.documents.fetch_index(session_id, current.version),
                get_embeddings(self.settings.embeddings),
            )
            if current and current.version
            else FaissStore.empty(get_embeddings(self.settings.embeddings))
        )
        store.add_documents(chunks)
        version = _new_version()
        try:
            with tempfile.TemporaryDirectory(prefix="index-") as tmp:
                store.save(Path(tmp))
                self.documents.put_index(session_id, version, Path(tmp))
            for name, data in payloads:
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

    # -- chat ---------------------------------------------------------------------------
    def answers_without_io(self, session_id: str) -> bool:
        """Say whether answering `session_id` is pure CPU: offline, stateless, library loaded."""
        return (
            session_id == LIBRARY_SESSION
            and self.settings.llm_provider == "offline"
            and self.settings.embeddings == "hashing"
            and self._loaded.is_set()
            and self._library is not None
        )

    def ask(self, session_id: str, message: str) -> Answer:
        """Answer a message from a session's documents (plus the notes if library-backed)."""
        if session_id == LIBRARY_SESSION:
            # The shared id: every user may send it, so it keeps no history at all.
            return self._answer(session_id, [self._library_store()], message, [])
        manifest = self.manifest(session_id)
        stores = [self._store(session_id)]
        if manifest.library:
            stores.append(self._library_store())
        turns = []
        if self.settings.history_turns:
            turns = self.history_store.messages(session_id, limit=2 * self.settings.history_turns)
        answer = self._answer(session_id, stores, message, [(m.role, m.text) for m in turns])
        citations = [
            {"source": c.source, "page": c.page, "snippet": c.snippet} for c in answer.citations
        ]
        # One write for the question and its answer: a failure stores neither.
        self.history_store.append_many(
            session_id,
            [Message("user", message), Message("assistant", answer.text, citations=citations)],
        )
        return answer

    def _answer(
        self, session_id: str, stores: list[FaissStore], message: str, history: list
    ) -> Answer:
        from service.rag.chain import RagChain
        from service.rag.errors import RagError

        self._loaded.wait(LIBRARY_WAIT_S)  # the answerer is made by the start-up loader
        if self._answerer is None:
            raise NotReadyError("the answerer is not available: see /ready")
        chain = RagChain.for_stores(
            stores,
            self._answerer,
            k=self.settings.retrieval_k,
            max_question_chars=self.settings.max_message_chars,
        )
        try:
            return chain.ask(message, history)
        except RagError as exc:
            raise InvalidInputError(str(exc)) from exc
        except Exception as exc:  # a provider's network or quota error
            log.exception("answerer failed", extra={"session_id": session_id})
            raise AnswerError(f"the {self.settings.llm_provider} model failed to answer") from exc

    def history(self, session_id: str) -> list[Message]:
        """Return a session's messages, oldest first (none for the stateless "library")."""
        if session_id == LIBRARY_SESSION:
            return []
        self.manifest(session_id)
        return self.history_store.messages(session_id)

    def delete(self, session_id: str) -> None:
        """Remove a session's documents, indexes and history."""
        if session_id == LIBRARY_SESSION:
            raise ReadOnlySessionError("the library session is built in and cannot be deleted")
        self.manifest(session_id)
        with self._lock(session_id):
            self.documents.delete_session(session_id)
            self.history_store.delete(session_id)
            with self._cache_lock:
                self._cache.pop(session_id, None)
        log.info("session deleted", extra={"session_id": session_id})
