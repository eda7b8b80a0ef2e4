"""Keep history and documents on local disk under DATA_DIR, every write atomic."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

from service.errors import StorageError, storage_failure
from service.fileio import write_atomic
from service.storage.base import Manifest, ManifestConflict, Message

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


def _token(raw: bytes) -> str:
    """Return the version token of a manifest's bytes."""
    return hashlib.sha256(raw).hexdigest()


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
    """Uploads, index snapshots and manifests under DATA_DIR/sessions/<id>/.

    A manifest's token is the SHA-256 of its bytes (every commit writes a new snapshot
    version into it, so no two commits write the same bytes). A conditional write compares
    it and replaces the file under an OS lock on DATA_DIR/sessions.lock, so threads and
    processes sharing one DATA_DIR never lose each other's commits.
    """

    def __init__(self, root: Path) -> None:
        self.root = Path(root) / "sessions"
        # Outside sessions/: a session's folder holds only what the session stores.
        self._lock_path = Path(root) / "sessions.lock"

    def _dir(self, session_id: str) -> Path:
        return self.root / session_id

    def _manifest(self, session_id: str) -> Path:
        return self._dir(session_id) / "manifest.json"

    def _read_bytes(self, session_id: str) -> bytes | None:
        try:
            return self._manifest(session_id).read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise StorageError(f"manifest of session {session_id!r} is unreadable") from exc

    def read_manifest(self, session_id: str) -> Manifest | None:
        """Return the session's manifest (token: its bytes' hash), or None when there is none."""
        raw = self._read_bytes(session_id)
        if raw is None:
            return None
        try:
            manifest = Manifest.from_dict(json.loads(raw))
        except (ValueError, KeyError, TypeError) as exc:
            raise StorageError(f"manifest of session {session_id!r} is unreadable") from exc
        manifest.token = _token(raw)
        return manifest

    def _check_unchanged(self, session_id: str, expected: str | None) -> None:
        """Raise ManifestConflict unless the stored manifest is `expected` (None: absent)."""
        raw = self._read_bytes(session_id)
        if (None if raw is None else _token(raw)) == expected:
            return
        if raw is None:
            raise ManifestConflict(f"session {session_id!r}: the manifest was removed meanwhile")
        if expected is None:
            raise ManifestConflict(f"session {session_id!r}: a manifest exists already")
        raise ManifestConflict(f"session {session_id!r}: the manifest changed since it was read")

    def write_manifest(self, manifest: Manifest, expected: str | None = None) -> None:
        """Commit a manifest if the stored one is still `expected` (None: if there is none)."""
        session_id = manifest.session_id
        body = json.dumps(manifest.to_dict(), indent=1).encode()
        try:
            with _file_lock(self._lock_path):
                self._check_unchanged(session_id, expected)
                write_atomic(self._manifest(session_id), body)
        except OSError as exc:
            raise storage_failure(exc, f"save session {session_id!r}") from exc

    def put_document(self, session_id: str, name: str, data: bytes) -> bool:
        """Store an uploaded file under its safe name, whole; False if the name is taken."""
        path = self._dir(session_id) / "documents" / name
        tmp = path.with_name(f".{name}.{uuid.uuid4().hex}.tmp")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(tmp, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.link(tmp, path)  # atomic, and fails (unlike a rename) when the name exists
        except FileExistsError:
            return False
        except OSError as exc:
            raise storage_failure(exc, f"store {name}") from exc
        finally:
            tmp.unlink(missing_ok=True)
        return True

    def delete_document(self, session_id: str, name: str) -> None:
        """Remove a stored file."""
        (self._dir(session_id) / "documents" / name).unlink(missing_ok=True)

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

    def delete_session(self, session_id: str, expected: str | None = None) -> None:
        """Remove everything stored for a session (manifest first, so it vanishes at once).

        With `expected`, only while the manifest is still that version (ManifestConflict).
        """
        try:
            with _file_lock(self._lock_path):  # no conditional write lands in between
                if expected is not None:
                    self._check_unchanged(session_id, expected)
                self._manifest(session_id).unlink(missing_ok=True)
        except OSError as exc:
            raise storage_failure(exc, f"delete session {session_id!r}") from exc
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
