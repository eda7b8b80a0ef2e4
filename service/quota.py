"""Say what one session may hold: chunks (MAX_CHUNKS_PER_SESSION) and MB (SESSION_QUOTA_MB)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from service.errors import UploadError

if TYPE_CHECKING:
    from service.config import Settings
    from service.storage import DocumentInfo

MB = 1024 * 1024


def held_chunks(documents: Iterable[DocumentInfo]) -> int:
    """Return the chunks a session's documents were split into."""
    return sum(d.chunks for d in documents)


def stored_bytes(documents: Iterable[DocumentInfo]) -> int:
    """Return the bytes of a session's stored documents."""
    return sum(d.size for d in documents)


def _whose(session_id: str | None) -> str:
    return f"session {session_id!r}" if session_id else "a new session"


def _hint(session_id: str | None) -> str:
    return "start a new session for more documents" if session_id else "upload less at once"


def size(n: float) -> str:
    """Return a byte count for people: KB under a megabyte, else MB."""
    return f"{n / 1024:.1f} KB" if n < MB else f"{n / MB:.1f} MB"


@dataclass(frozen=True)
class Quota:
    """What one session may hold; each check raises a 413 naming its variable."""

    max_chunks: int
    max_mb: float

    @classmethod
    def of(cls, settings: Settings) -> Quota:
        """Return the quota the settings name."""
        return cls(settings.max_chunks_per_session, settings.session_quota_mb)

    def check_chunks(self, session_id: str | None, held: int, adding: int) -> None:
        """Refuse an upload that would take the session over MAX_CHUNKS_PER_SESSION."""
        if held + adding > self.max_chunks:
            raise UploadError(
                f"{_whose(session_id)} would hold {held + adding:,} chunks ({held:,} already, "
                f"{adding:,} from this upload), more than MAX_CHUNKS_PER_SESSION="
                f"{self.max_chunks}: {_hint(session_id)}",
                413,
            )

    def check_bytes(self, session_id: str | None, documents: int, index: int = 0) -> None:
        """Refuse an upload that would store more than SESSION_QUOTA_MB (documents + index)."""
        if documents + index > self.max_mb * MB:
            parts = f"documents {size(documents)}" + (f" + index {size(index)}" if index else "")
            raise UploadError(
                f"{_whose(session_id)} would store {size(documents + index)} ({parts}), "
                f"more than SESSION_QUOTA_MB={self.max_mb:g}: {_hint(session_id)}",
                413,
            )
