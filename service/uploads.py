"""Receive uploaded files, check them all, then index them into a session in one commit.

Every limit is checked as early as what it counts is known, and a refusal writes nothing:
the file count and sizes on receipt; types, emptiness and the session's quota before any
parsing; text, pages and chunks while each file is read and split (a PDF in the sandbox);
the session's chunks and bytes again when committing, against the manifest the commit
builds on (another task may commit to the session meanwhile: see SessionStore.commit).
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Protocol

from service.errors import (
    ReadOnlySessionError,
    ServiceError,
    UploadCancelledError,
    UploadError,
)
from service.quota import held_chunks, stored_bytes
from service.rag.errors import IngestError, UnsupportedTypeError
from service.rag.pdftext import LimitError
from service.sandbox import ParseFailed, ParseLimits, Sandbox
from service.sessions import SessionStore
from service.storage import DocumentInfo, safe_filename

if TYPE_CHECKING:
    from langchain_core.documents import Document

    from service.config import Settings

log = logging.getLogger("service.uploads")


class Incoming(Protocol):
    """A file as the web framework hands it over (Starlette's UploadFile is one)."""

    filename: str | None
    file: IO[bytes]


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


class Uploads:
    """Index uploads into sessions: all files or none, within the upload and session limits."""

    def __init__(self, settings: Settings, sessions: SessionStore, parser: Sandbox) -> None:
        self.settings = settings
        self.sessions = sessions
        self.parser = parser

    def receive(self, files: Sequence[Incoming]) -> list[Upload]:
        """Read the files, refusing too many of them or one over the size limit (413)."""
        s = self.settings
        if len(files) > s.max_files:
            raise UploadError(
                f"too many files: {len(files)} sent, at most {s.max_files} per upload (MAX_FILES)",
                413,
            )
        received = []
        for file in files:
            data = file.file.read(s.max_upload_bytes + 1)
            if len(data) > s.max_upload_bytes:
                raise UploadError(
                    f"{file.filename}: larger than the {s.max_upload_mb:g} MB limit "
                    "(MAX_UPLOAD_MB)",
                    413,
                )
            received.append(Upload(file.filename or "", data))
        return received

    def add(
        self,
        files: list[Upload],
        session_id: str | None = None,
        library: bool = False,
        cancelled: threading.Event | None = None,
    ) -> UploadResult:
        """Index files into a new session (or `session_id`); parse everything before writing.

        Setting `cancelled` (the client went away) stops the upload with nothing committed.
        """
        cancelled = cancelled or threading.Event()
        # `library` applies to a new session only; an existing one keeps what it was made with.
        session = self.sessions.get(session_id) if session_id else None
        if session is not None and session.builtin:
            raise ReadOnlySessionError("the library session is built in: upload to your own")
        held = session.documents if session else []
        taken = {d.name for d in held}
        named = []
        for upload in files:
            named.append((safe_filename(upload.filename or "file", taken), upload))
            taken.add(named[-1][0])
        self._precheck(named, session_id, stored_bytes(held))
        try:
            chunks, added = self._read_all(named, session_id, held_chunks(held), cancelled)
            _go_on(cancelled)
            # Everything parsed: now write. The manifest goes last; until then nothing is
            # visible. The commit checks the quota again and calls `_go_on` before writing.
            manifest = self.sessions.commit(
                session_id or uuid.uuid4().hex,
                chunks,
                [(name, upload.data) for name, upload in named],
                added,
                library,
                new=session is None,
                before_write=lambda: _go_on(cancelled),
            )
        except UploadCancelledError:
            log.info("upload cancelled: the client went away", extra={"session_id": session_id})
            raise
        log.info(
            "documents indexed",
            extra={"session_id": manifest.session_id, "files": len(added), "chunks": len(chunks)},
        )
        # The documents as committed: a name another upload took meanwhile was renamed.
        final = manifest.documents[len(manifest.documents) - len(added) :]
        return UploadResult(manifest.session_id, len(chunks), final, manifest.library)

    def _precheck(
        self, named: list[tuple[str, Upload]], session_id: str | None, stored: int
    ) -> None:
        """Refuse, before parsing anything, a bad type, an empty file or an over-quota upload."""
        # Local import: the ingest module loads the text splitters (paid on the first upload).
        from service.rag.ingest import check_type

        for name, upload in named:
            try:
                check_type(name)
            except UnsupportedTypeError as exc:
                raise UploadError(str(exc), 415) from exc
            if not upload.data.strip():
                raise UploadError(f"{name}: the file is empty", 422)
        incoming = sum(len(upload.data) for _, upload in named)
        self.sessions.quota.check_bytes(session_id, stored + incoming)

    def _read_all(
        self,
        named: list[tuple[str, Upload]],
        session_id: str | None,
        held: int,
        cancelled: threading.Event,
    ) -> tuple[list[Document], list[DocumentInfo]]:
        """Extract and split every file within the upload's text and chunk limits."""
        from service.rag.ingest import split_documents  # as in _precheck

        s = self.settings
        chunks: list[Document] = []
        added: list[DocumentInfo] = []
        text_used = 0
        for name, upload in named:
            _go_on(cancelled)
            docs, pages = self._extract(upload.data, name, text_used, cancelled)
            text_used += sum(len(d.page_content) for d in docs)
            try:
                pieces = split_documents(docs, max_chunks=s.max_chunks_per_upload - len(chunks))
            except LimitError as exc:
                raise UploadError(
                    f"{name}: this upload makes more than {s.max_chunks_per_upload:,} chunks "
                    f"(MAX_CHUNKS_PER_UPLOAD={s.max_chunks_per_upload}): upload fewer or "
                    "smaller files at a time",
                    422,
                ) from exc
            if not pieces:
                raise UploadError(f"{name}: no text to index", 422)
            chunks.extend(pieces)
            self.sessions.quota.check_chunks(session_id, held, len(chunks))
            original = Path(upload.filename.replace("\\", "/")).name if upload.filename else name
            added.append(DocumentInfo(name, original[:200], len(upload.data), len(pieces), pages))
        return chunks, added

    def _extract(
        self, data: bytes, name: str, text_used: int, cancelled: threading.Event
    ) -> tuple[list[Document], int | None]:
        """Return a file's documents and page count (PDF only), within the text left."""
        from service.rag.ingest import decode_text, pdf_documents, text_documents  # as above

        s = self.settings
        room = s.max_upload_text_chars - text_used
        try:
            if name.lower().endswith(".pdf"):
                limits = ParseLimits(
                    s.max_pdf_pages,
                    room,
                    s.max_pdf_page_kb * 1024,
                    s.parse_cpu_s,
                    s.parse_timeout_s,
                    s.parse_memory_mb,
                )
                pages = self.parser.parse(data, name, limits, cancelled)
                return pdf_documents(pages, name), len(pages)
            text = decode_text(data, name)
            if len(text) > room:
                raise LimitError(name, "characters", room, len(text), exact=True)
            return text_documents(text, name), None
        except LimitError as exc:
            raise self._over_limit(name, exc, text_used) from exc
        except ParseFailed as exc:
            raise _parse_failed(name, exc) from exc
        except IngestError as exc:
            raise UploadError(str(exc), 422) from exc

    def _over_limit(self, name: str, exc: LimitError, text_used: int) -> UploadError:
        s = self.settings
        if exc.what == "pages":
            return UploadError(
                f"{name}: {exc.seen:,} pages, at most {s.max_pdf_pages:,} per PDF "
                f"(MAX_PDF_PAGES={s.max_pdf_pages})",
                422,
            )
        if exc.what.startswith("bytes of content"):
            page = exc.what.rsplit(" ", 1)[-1]
            return UploadError(
                f"{name}: page {page} draws {exc.seen / 1024:,.0f} KB of content, at most "
                f"{s.max_pdf_page_kb:,} KB per page (MAX_PDF_PAGE_KB={s.max_pdf_page_kb})",
                422,
            )
        count = f"{exc.seen:,}" if exc.exact else f"at least {exc.seen:,}"
        before = f", after {text_used:,} in the upload's earlier files" if text_used else ""
        return UploadError(
            f"{name}: {count} characters of text{before}; one upload may hold at most "
            f"{s.max_upload_text_chars:,} (MAX_UPLOAD_TEXT_CHARS={s.max_upload_text_chars})",
            422,
        )


def _go_on(cancelled: threading.Event) -> None:
    """Raise UploadCancelledError once the upload's client has gone."""
    if cancelled.is_set():
        raise UploadCancelledError("the client went away: nothing was saved")


def _parse_failed(name: str, exc: ParseFailed) -> ServiceError:
    if exc.kind == "cancelled":
        return UploadCancelledError("the client went away: nothing was saved")
    if exc.kind == "unavailable":
        return UploadError(f"{name}: {exc}", 503)
    return UploadError(f"{name}: {exc}", 422)
