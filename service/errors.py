"""Define the service's errors; each maps to one HTTP status and a message a human reads."""

from __future__ import annotations

import errno


class ServiceError(Exception):
    """Signal a failure the API reports to the caller (status says which kind)."""

    status_code = 500


class StorageError(ServiceError):
    """Signal a history or document store that cannot be read or written."""

    status_code = 503


class SessionNotFoundError(ServiceError):
    """Signal a session id that has no documents and no history."""

    status_code = 404

    def __init__(self, session_id: str) -> None:
        self.session_id = session_id
        super().__init__(f"session {session_id!r} not found: upload documents to start one")


class ReadOnlySessionError(ServiceError):
    """Signal a change to the built-in library session."""

    status_code = 403


class NotReadyError(ServiceError):
    """Signal that something the request needs is still loading (retry shortly)."""

    status_code = 503


class UploadError(ServiceError):
    """Signal an upload refused as a whole (too big, too many files, bad type, bad content)."""

    def __init__(self, message: str, status_code: int = 422) -> None:
        self.status_code = status_code
        super().__init__(message)


class UploadCancelledError(ServiceError):
    """Signal an upload stopped because its client went away; nothing was committed."""

    status_code = 499  # nginx's "client closed request": nobody is left to read it


class AnswerError(ServiceError):
    """Signal that the answerer (an LLM provider) failed to produce an answer."""

    status_code = 502


class InvalidInputError(ServiceError):
    """Signal a request whose content is unacceptable (e.g. an empty question)."""

    status_code = 422


class DiskFullError(StorageError):
    """Signal a write refused because the disk under DATA_DIR (or TMPDIR) is full."""

    status_code = 507  # Insufficient Storage: the request was fine, the server has no room


DISK_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})


def storage_failure(exc: OSError, what: str) -> StorageError:
    """Return the error to raise when `what` (e.g. "store the index") failed with `exc`."""
    # A full disk or quota gets 507 and says so; any other OS error (read-only, permissions)
    # is a 503 naming the error, never a bare 500.
    reason = exc.strerror or str(exc)
    if exc.errno in DISK_FULL_ERRNOS:
        return DiskFullError(
            f"cannot {what}: no space left on the service's disk ({reason}); "
            "nothing was saved, retry once space is freed"
        )
    return StorageError(f"cannot {what}: {reason}")
