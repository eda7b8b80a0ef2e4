"""Write and read a saved store: a FAISS index file plus the JSON docstore that names it."""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from langchain_core.documents import Document

from service.fileio import write_atomic
from service.rag.errors import IndexLoadError, RagError

FORMAT = "ecs-workbook-faiss/1"
DOCSTORE = "docstore.json"


@dataclass
class SavedStore:
    """What a store directory holds, checked but not yet turned into an index."""

    ids: list[str]
    docs: dict[str, Document]
    dim: int | None
    embedding_state: dict[str, Any] | None
    index_bytes: bytes
    index_path: Path


def write_store(
    directory: Path,
    *,
    index_bytes: bytes,
    dim: int | None,
    embedding: dict[str, Any],
    ids: list[str],
    docs: dict[str, Document],
) -> None:
    """Save a new index file, then the docstore naming it (the commit point), then clean up."""
    # Until the docstore is replaced, the old docstore still names the old index file, which
    # is only removed afterwards: a crash at any point leaves one consistent pair loadable.
    index_name = f"index-{uuid.uuid4().hex}.faiss"
    payload = {
        "format": FORMAT,
        "index_file": index_name,
        "index_sha256": hashlib.sha256(index_bytes).hexdigest(),
        "dim": dim,
        "embedding": embedding,
        "ids": ids,
        "docs": {
            i: {"page_content": d.page_content, "metadata": d.metadata} for i, d in docs.items()
        },
    }
    try:
        doc_bytes = json.dumps(payload, ensure_ascii=False).encode()
    except (TypeError, ValueError) as exc:
        raise RagError(f"document metadata must be JSON-serializable: {exc}") from exc
    directory.mkdir(parents=True, exist_ok=True)
    write_atomic(directory / index_name, index_bytes)
    write_atomic(directory / DOCSTORE, doc_bytes)
    for old in directory.glob("index-*.faiss"):
        if old.name != index_name:
            old.unlink(missing_ok=True)


def read_store(directory: Path) -> SavedStore:
    """Read and check a store directory; raise IndexLoadError naming what is wrong."""
    # JSON and raw bytes only: nothing here (or in FAISS's reader) unpickles.
    path = directory / DOCSTORE
    try:
        payload = json.loads(path.read_bytes())
    except FileNotFoundError as exc:
        raise IndexLoadError(f"no saved index in {directory}: {DOCSTORE} is missing") from exc
    except (OSError, ValueError) as exc:
        raise IndexLoadError(f"corrupt docstore {path}: {exc}") from exc
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise IndexLoadError(f"{path} is not a {FORMAT} docstore")
    try:
        ids, raw_docs = list(payload["ids"]), dict(payload["docs"])
        index_path = directory / Path(payload["index_file"]).name
        digest, dim = payload["index_sha256"], payload["dim"]
        state = payload["embedding"]["state"]
    except (KeyError, TypeError) as exc:
        raise IndexLoadError(f"corrupt docstore {path}: missing {exc}") from exc
    try:
        docs = {
            i: Document(
                page_content=raw_docs[i]["page_content"], metadata=raw_docs[i]["metadata"], id=i
            )
            for i in ids
        }
    except (KeyError, TypeError, ValueError) as exc:
        raise IndexLoadError(f"corrupt docstore {path}: bad document {exc}") from exc
    try:
        index_bytes = index_path.read_bytes()
    except OSError as exc:
        raise IndexLoadError(f"index file {index_path} is missing: {exc}") from exc
    if hashlib.sha256(index_bytes).hexdigest() != digest:
        raise IndexLoadError(f"index file {index_path} is corrupt (checksum mismatch)")
    return SavedStore(ids, docs, dim, state, index_bytes, index_path)
