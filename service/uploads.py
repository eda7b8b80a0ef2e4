"""Receive uploaded files, check them all, then index them into a session in one commit."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Protocol

from service.errors import ReadOnlySessionError, UploadError
from service.rag.errors import IngestError, UnsupportedTypeError
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
    """Index uploads into sessions: all files or none, within MAX_FILES and MAX_UPLOAD_MB."""

    def __init__(self, settings: Settings, sessions: SessionStore) -> None:
        self.settings = settings
        self.sessions = sessions

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
        self, files: list[Upload], session_id: str | None = None, library: bool = False
    ) -> UploadResult:
        """Index files into a new session (or `session_id`); parse everything before writing."""
        # `library` applies to a new session only; an existing one keeps what it was made with.
        session = self.sessions.get(session_id) if session_id else None
        if session is not None and session.builtin:
            raise ReadOnlySessionError("the library session is built in: upload to your own")
        taken = {d.name for d in session.documents} if session else set()
        chunks: list[Document] = []
        payloads: list[tuple[str, bytes]] = []
        added: list[DocumentInfo] = []
        for upload in files:
            name = safe_filename(upload.filename or "file", taken)
            taken.add(name)
            pieces, pages = _parse(upload.data, name)
            chunks.extend(pieces)
            payloads.append((name, upload.data))
            original = Path(upload.filename.replace("\\", "/")).name if upload.filename else name
            added.append(DocumentInfo(name, original[:200], len(upload.data), len(pieces), pages))
        # Everything parsed: now write. The manifest goes last; until then nothing is visible.
        session_id = session_id or uuid.uuid4().hex
        manifest = self.sessions.commit(session_id, chunks, payloads, added, library)
        log.info(
            "documents indexed",
            extra={"session_id": session_id, "files": len(added), "chunks": len(chunks)},
        )
        return UploadResult(session_id, len(chunks), added, manifest.library)


def _parse(data: bytes, name: str) -> tuple[list[Document], int | None]:
    """Return a file's chunks and its page count (PDF only); refuse unreadable files."""
    # The loaders import pypdf and the text splitters: paid on the first upload only.
    from service.rag.ingest import load_bytes, split_documents

    try:
        docs = load_bytes(data, name)
    except UnsupportedTypeError as exc:
        raise UploadError(str(exc), 415) from exc
    except IngestError as exc:
        raise UploadError(str(exc), 422) from exc
    pieces = split_documents(docs)
    if not pieces:
        raise UploadError(f"{name}: no text to index", 422)
    return pieces, len(docs) if name.lower().endswith(".pdf") else None
