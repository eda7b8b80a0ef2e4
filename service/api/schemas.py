"""Request and response bodies of the HTTP API."""

from __future__ import annotations

from pydantic import BaseModel, Field

from service.rag.answers import Citation
from service.storage.base import SESSION_ID_PATTERN

SessionId = Field(
    pattern=SESSION_ID_PATTERN,
    max_length=64,
    description='A session id returned by POST /sessions or /upload, or "library" to ask '
    "the built-in notes statelessly (no history kept).",
    examples=["library"],
)


class ErrorOut(BaseModel):
    """An error: one sentence saying what was wrong."""

    detail: str


class HealthOut(BaseModel):
    """Liveness: the process answers."""

    status: str = "ok"
    version: str
    commit: str | None = None


class ReadyOut(BaseModel):
    """Readiness: each dependency's state."""

    ready: bool
    checks: dict[str, str]


class ChatIn(BaseModel):
    """A question for a session."""

    session_id: str = SessionId
    message: str = Field(description="The question (not empty; at most MAX_MESSAGE_CHARS).")


class ChatOut(BaseModel):
    """An answer with its citations."""

    answer: str
    citations: list[Citation]
    session_id: str
    grounded: bool = Field(description="False when the documents do not answer the question.")


class DocumentOut(BaseModel):
    """One stored document."""

    name: str = Field(description="The safe name it is stored and cited under.")
    original_name: str
    size: int
    chunks: int
    pages: int | None = None


class SessionIn(BaseModel):
    """Options for a new session."""

    library: bool = Field(
        True, description="Also search the built-in notes library, besides your uploads."
    )


class SessionOut(BaseModel):
    """A session just created."""

    session_id: str
    library: bool
    documents: list[DocumentOut] = []


class UploadOut(BaseModel):
    """What an upload indexed."""

    session_id: str
    library: bool = Field(description="Whether the session also searches the notes library.")
    chunks_indexed: int
    documents: list[DocumentOut]
    message: str


class MessageOut(BaseModel):
    """One chat turn."""

    role: str
    text: str
    ts: float
    citations: list[Citation] = []


class HistoryOut(BaseModel):
    """A session's conversation, oldest first."""

    session_id: str
    library: bool = Field(description="Whether the session searches the notes library.")
    documents: list[DocumentOut]
    messages: list[MessageOut]


class DeletedOut(BaseModel):
    """Confirmation of a deleted session."""

    session_id: str
    deleted: bool = True


def errors(*codes: int) -> dict[int | str, dict]:
    """Return OpenAPI `responses` entries documenting error codes with the ErrorOut body."""
    return {code: {"model": ErrorOut} for code in codes}
