"""Keep history and documents on local disk under DATA_DIR, every write atomic."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

from service.errors import StorageError, storage_failure
from service.fileio import write_atomic
from service.storage.base import Manifest, Message

try:  # POSIX file locks keep two processes sharing one DATA_DIR from losing appends.
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+b") as fh:
        if fcntl is not None:
            fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            if fcntl is not None:
                fcntl.flock(fh, fcntl.LOCK_UN)


def _check_dir(root: Path) -> None:
    try:
        root.mkdir(parents=True, exist_ok=True)
        probe = root / f".probe-{uuid.uuid4().hex}"
        probe.write_bytes(b"ok")
        probe.unlink()
    except OSError as exc:
        raise StorageError(f"DATA_DIR {root} is not writable: {exc.strerror or exc}") from exc


class LocalHistoryStore:
    """Chat history as one JSON file per session under DATA_DIR/history."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root) / "history"
        self._lock = threading.Lock()

    def _path(self, session_id: str) -> Path:
        return self.root / f"{session_id}.json"

    def _read(self, session_id: str) -> list[dict]:
        try:
            return json.loads(self._path(session_id).read_text("utf-8"))
        except FileNotFoundError:
            return []
        except (OSError, ValueError) as exc:
            raise StorageError(f"history of session {session_id!r} is unreadable") from exc

    def append(self, session_id: str, message: Message) -> None:
        """Add a message to the end of a session's history."""
        self.append_many(session_id, [message])

    def append_many(self, session_id: str, messages: list[Message]) -> None:
        """Add messages to the end of a session's history in one write (all or none)."""
        try:
            with self._lock, _file_lock(self.root / ".lock"):
                items = self._read(session_id)
                items.extend(m.to_dict() for m in messages)
                write_atomic(self._path(session_id), json.dumps(items).encode())
        except OSError as exc:
            raise storage_failure(exc, f"save the history of session {session_id!r}") from exc

    def messages(self, session_id: str, limit: int | None = None) -> list[Message]:
        """Return the session's messages, oldest first (the last `limit` when given)."""
        items = self._read(session_id)
        if limit is not None:
            items = items[-limit:] if limit else []
        return [Message.from_dict(item) for item in items]

    def delete(self, session_id: str) -> None:
        """Remove a session's history."""
        with self._lock:
            self._path(session_id).unlink(missing_ok=True)

    def check(self) -> None:
        """Raise StorageError when DATA_DIR cannot be written."""
        _check_dir(self.root)


class LocalDocumentStore:
    """Uploads, index snapshots and manifests under DATA_DIR/sessions/<id>/."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root) / "sessions"

    def _dir(self, session_id: str) -> Path:
        return self.root / session_id

    def read_manifest(self, session_id: str) -> Manifest | None:
        """Return the session's manifest, or None when the session does not exist."""
        try:
            data = json.loads((self._dir(session_id) / "manifest.json").read_text("utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError) as exc:
            raise StorageError(f"manifest of session {session_id!r} is unreadable") from exc
        return Manifest.from_dict(data)

    def write_manifest(self, manifest: Manifest) -> None:
        """Commit a manifest (the last write of an upload)."""
        path = self._dir(manifest.session_id) / "manifest.json"
        try:
            write_atomic(path, json.dumps(manifest.to_dict(), indent=1).encode())
        except OSError as exc:
            raise storage_failure(exc, f"save session {manifest.session_id!r}") from exc

    def put_document(self, session_id: str, name: str, data: bytes) -> None:
        """Store an uploaded file under its safe name."""
        try:
            write_atomic(self._dir(session_id) / "documents" / name, data)
        except OSError as exc:
            raise storage_failure(exc, f"store {name}") from exc

    def put_index(self, session_id: str, version: str, source: Path) -> None:
        """Copy the index files in `source` into place as snapshot `version`, atomically."""
        target = self._dir(session_id) / "index" / version
        staging = target.with_name(f".{version}.{uuid.uuid4().hex}.tmp")
        try:
            staging.mkdir(parents=True)
            for path in sorted(Path(source).iterdir()):  # flat: an index file + its docstore
                if path.is_file():
                    shutil.copyfile(path, staging / path.name)
            os.replace(staging, target)
        except OSError as exc:
            raise storage_failure(exc, "store the index") from exc
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    def fetch_index(self, session_id: str, version: str) -> Path:
        """Return the directory of snapshot `version`."""
        path = self._dir(session_id) / "index" / version
        if not path.is_dir():
            raise StorageError(f"index snapshot {version} of session {session_id!r} is missing")
        return path

    def delete_index(self, session_id: str, version: str) -> None:
        """Remove an old snapshot."""
        shutil.rmtree(self._dir(session_id) / "index" / version, ignore_errors=True)

    def delete_session(self, session_id: str) -> None:
        """Remove everything stored for a session (manifest first, so it vanishes at once)."""
        (self._dir(session_id) / "manifest.json").unlink(missing_ok=True)
        shutil.rmtree(self._dir(session_id), ignore_errors=True)

    def session_ids(self) -> list[str]:
        """Return the id of every session folder under DATA_DIR/sessions."""
        try:
            return sorted(p.name for p in self.root.iterdir() if p.is_dir())
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise storage_failure(exc, "list the sessions") from exc

    def check(self) -> None:
        """Raise StorageError when DATA_DIR cannot be written."""
        _check_dir(self.root)
