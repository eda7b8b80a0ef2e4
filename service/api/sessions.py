"""Create sessions, read their history, delete them."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Path

from service.api.schemas import (
    DeletedOut,
    DocumentOut,
    HistoryOut,
    MessageOut,
    SessionIn,
    SessionOut,
    errors,
)
from service.deps import AuthDep, SessionsDep
from service.storage.base import SESSION_ID_PATTERN

router = APIRouter(prefix="/sessions", tags=["sessions"])
SessionPath = Annotated[str, Path(pattern=SESSION_ID_PATTERN, max_length=64)]


@router.post(
    "",
    response_model=SessionOut,
    status_code=201,
    dependencies=[AuthDep],
    responses=errors(401, 422, 503),
)
def create(sessions: SessionsDep, body: Annotated[SessionIn | None, Body()] = None) -> SessionOut:
    """Create an empty session with its own history (library-backed unless told otherwise)."""
    session = sessions.create(library=(body or SessionIn()).library)
    return SessionOut(session_id=session.id, library=session.library, documents=[])


@router.get(
    "/{session_id}/history",
    response_model=HistoryOut,
    dependencies=[AuthDep],
    responses=errors(401, 404, 422),
)
def history(session_id: SessionPath, sessions: SessionsDep) -> HistoryOut:
    """Return the session's documents and messages, oldest first ("library": none kept)."""
    session = sessions.get(session_id)
    return HistoryOut(
        session_id=session.id,
        library=session.library,
        documents=[DocumentOut(**vars(d)) for d in session.documents],
        messages=[
            MessageOut(role=m.role, text=m.text, ts=m.ts, citations=m.citations)
            for m in sessions.messages(session)
        ],
    )


@router.delete(
    "/{session_id}",
    response_model=DeletedOut,
    dependencies=[AuthDep],
    responses=errors(401, 403, 404, 422),
)
def delete(session_id: SessionPath, sessions: SessionsDep) -> DeletedOut:
    """Delete the session's documents, index snapshots and history."""
    sessions.delete(sessions.get(session_id))
    return DeletedOut(session_id=session_id)
