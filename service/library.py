"""Load the notes library once, cached under DATA_DIR by content hash; serve it read-only."""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import shutil
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

from service.errors import NotReadyError

if TYPE_CHECKING:
    from langchain_core.documents import Document

    from service.rag.vectorstore import FaissStore

LIBRARY_WAIT_S = 10.0  # how long a library question waits for the start-up indexing
# Bump when the way the library is chunked or embedded changes: old caches are then ignored.
CACHE_FORMAT = "library-cache/3"  # 3: chunks carry "library": True (citations link notes)
CHUNK_SIZE = 800
CHUNK_OVERLAP = 120

log = logging.getLogger("service.library")


def content_hash(library_dir: Path, suffixes: tuple[str, ...], embeddings: str = "hashing") -> str:
    """Return a hash of every indexable file (path and bytes) plus the indexing parameters."""
    params = f"{CACHE_FORMAT}|{CHUNK_SIZE}|{CHUNK_OVERLAP}"
    # The default keeps the key it always had, so existing caches stay valid.
    digest = hashlib.sha256(
        (params if embeddings == "hashing" else f"{params}|{embeddings}").encode()
    )
    for path in sorted(p for p in library_dir.rglob("*") if p.is_file()):
        if path.suffix.lower() in suffixes:
            digest.update(path.relative_to(library_dir).as_posix().encode() + b"\0")
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()[:20]


def library_chunks(library_dir: Path) -> list[Document]:
    """Return the notes' chunks, each marked "library" (citation_for links those to /notes)."""
    # langchain loads in the start-up loader's thread, as in load_library, not at import.
    from service.rag.ingest import load_directory, split_documents

    chunks = split_documents(load_directory(library_dir), CHUNK_SIZE, CHUNK_OVERLAP)
    for chunk in chunks:  # an upload's chunk is never marked: its name may be a note's
        chunk.metadata["library"] = True
    return chunks


def build_index(library_dir: Path, embeddings_name: str = "hashing") -> FaissStore:
    """Return a new index of the notes (chunked and embedded now)."""
    from service.rag.embeddings import get_embeddings
    from service.rag.vectorstore import FaissStore

    store = FaissStore.empty(get_embeddings(embeddings_name))
    if chunks := library_chunks(library_dir):
        store.add_documents(chunks)
    return store


def library_key(library_dir: Path, embeddings_name: str = "hashing") -> str:
    """Return the key an index of these notes is stored under (their content hash)."""
    from service.rag.ingest import SUPPORTED_SUFFIXES

    return content_hash(library_dir, SUPPORTED_SUFFIXES, embeddings_name)


def load_library(
    library_dir: Path,
    cache_root: Path,
    embeddings_name: str = "hashing",
    prebuilt: Path | None = None,
) -> tuple[FaissStore, str]:
    """Return the library's store and its source: "prebuilt", "cache" or "built" (then cached).

    `prebuilt` is the image's own index (LIBRARY_INDEX_DIR, built with the image); it is used
    only when it was built from these very notes, as the cache under DATA_DIR is.
    """
    from service.rag.embeddings import get_embeddings
    from service.rag.errors import IndexLoadError
    from service.rag.vectorstore import FaissStore

    key = library_key(library_dir, embeddings_name)
    for source, root in (("prebuilt", prebuilt), ("cache", cache_root)):
        if root is None or not (root / key).is_dir():
            continue
        try:
            return FaissStore.load(root / key, get_embeddings(embeddings_name)), source
        except IndexLoadError as exc:
            log.warning(f"library {source} index unreadable", extra={"error": str(exc)})
    store = build_index(library_dir, embeddings_name)
    _save_cache(store, cache_root, key)
    return store, "built"


def prebuild(library_dir: Path, dest: Path, embeddings_name: str = "hashing") -> Path:
    """Build the notes' index under dest/<key>, as the image build does; return its directory.

    An index already there for the same notes is kept; older ones are removed.
    """
    key = library_key(library_dir, embeddings_name)
    if not (dest / key).is_dir():
        dest.mkdir(parents=True, exist_ok=True)
        # Never replaced once there: another process may be loading it.
        _store_index(build_index(library_dir, embeddings_name), dest, key, replace=False)
    return dest / key


def _save_cache(store: FaissStore, cache_root: Path, key: str) -> None:
    """Save the index as cache_root/<key> (whole directory swapped in), drop older caches."""
    try:
        _store_index(store, cache_root, key, replace=True)  # an unreadable cache, if any, goes
    except OSError as exc:  # a read-only or full disk only costs the next start some time
        log.warning("cannot cache the library index", extra={"error": str(exc)})
    _drop_others(cache_root, key)


def _store_index(store: FaissStore, root: Path, key: str, *, replace: bool) -> None:
    """Save the index as root/<key> through a staging directory, then drop other keys' indexes.

    With `replace` False an index already at root/<key> (the same notes, put there meanwhile
    by another process) is kept and this one discarded.
    """
    staging = root / f".{key}.{uuid.uuid4().hex}.tmp"
    try:
        store.save(staging)
        if replace:
            shutil.rmtree(root / key, ignore_errors=True)
            os.replace(staging, root / key)
        else:
            with contextlib.suppress(OSError):  # a non-empty directory is there: keep it
                os.rename(staging, root / key)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    _drop_others(root, key)


def _drop_others(root: Path, key: str) -> None:
    """Remove the indexes of notes as they were before (every key but this one)."""
    for old in root.iterdir() if root.is_dir() else []:
        if old.is_dir() and old.name != key and not old.name.startswith("."):
            shutil.rmtree(old, ignore_errors=True)


class Library:
    """The notes library: indexed (or read from its cache) once at start-up, then read-only."""

    def __init__(
        self,
        library_dir: Path,
        cache_root: Path,
        embeddings: str = "hashing",
        prebuilt: Path | None = None,
    ) -> None:
        self.library_dir = library_dir
        self.cache_root = cache_root
        self.embeddings = embeddings
        self.prebuilt = prebuilt  # the image's index (LIBRARY_INDEX_DIR), if it has one
        self.state = "loading"  # then "ready", "missing: ..." or "error: ..." (shown by /ready)
        self._store: FaissStore | None = None
        self._loaded = threading.Event()

    def load(self) -> None:
        """Index the notes (the start-up loader calls this); a failure is kept as the state."""
        started = time.perf_counter()
        try:
            if not self.library_dir.is_dir():
                self.state = f"missing: LIBRARY_DIR {self.library_dir} is not a directory"
                log.warning("library directory missing", extra={"path": str(self.library_dir)})
                return
            store, source = load_library(
                self.library_dir, self.cache_root, self.embeddings, self.prebuilt
            )
            store.embeddings  # noqa: B018 - fit the IDF now, so searches never mutate the store
            self._store, self.state = store, "ready"
            log.info(
                "library loaded",
                extra={
                    "chunks": len(store),
                    "source": source,
                    "ms": round((time.perf_counter() - started) * 1000),
                },
            )
        except Exception as exc:  # reported by /ready; the process stays up to say so
            self.state = f"error: {exc}"
            log.exception("cannot load the notes library")
        finally:
            self._loaded.set()

    @property
    def ready(self) -> bool:
        """Say whether the notes are loaded (a search then needs no waiting and no I/O)."""
        return self._store is not None

    def store(self, wait_s: float = LIBRARY_WAIT_S) -> FaissStore:
        """Return the notes' index, waiting up to `wait_s` for start-up; else NotReadyError."""
        if not self._loaded.wait(wait_s):
            raise NotReadyError("the notes library is still being indexed; retry in a moment")
        if self._store is None:
            raise NotReadyError(f"the notes library is unavailable ({self.state})")
        return self._store


def main(argv: list[str] | None = None) -> int:
    """Build the notes' index into a directory: `python -m service.library DEST` (image build)."""
    import argparse

    from service.server import load_settings

    parser = argparse.ArgumentParser(
        prog="python -m service.library",
        description="Index LIBRARY_DIR's notes into DEST/<content hash> (LIBRARY_INDEX_DIR).",
    )
    parser.add_argument("dest", type=Path, help="directory the index goes under")
    args = parser.parse_args(argv)
    settings = load_settings()
    if not settings.library_dir.is_dir():
        print(f"error: LIBRARY_DIR {settings.library_dir} is not a directory", file=sys.stderr)
        return 2
    built = prebuild(settings.library_dir, args.dest, settings.embeddings)
    print(f"indexed {settings.library_dir} into {built}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
