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
from service.deps import AuthDep, ManagerDep
from service.library import LIBRARY_SESSION
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
def create(manager: ManagerDep, body: Annotated[SessionIn | None, Body()] = None) -> SessionOut:
    """Create an empty session with its own history (library-backed unless told otherwise)."""
    manifest = manager.create(library=(body or SessionIn()).library)
    return SessionOut(session_id=manifest.session_id, library=manifest.library, documents=[])


@router.get("/{session_id}/history", response_model=HistoryOut, responses=errors(404, 422))
def history(session_id: SessionPath, manager: ManagerDep) -> HistoryOut:
    """Return the session's documents and messages, oldest first ("library": none kept)."""
    if session_id == LIBRARY_SESSION:
        return HistoryOut(session_id=session_id, library=True, documents=[], messages=[])
    messages = manager.history(session_id)
    manifest = manager.manifest(session_id)
    return HistoryOut(
        session_id=session_id,
        library=manifest.library,
        documents=[DocumentOut(**vars(d)) for d in manifest.documents],
        messages=[MessageOut(**m.to_dict()) for m in messages],
    )


@router.delete(
    "/{session_id}",
    response_model=DeletedOut,
    dependencies=[AuthDep],
    responses=errors(401, 403, 404, 422),
)
def delete(session_id: SessionPath, manager: ManagerDep) -> DeletedOut:
    """Delete the session's documents, index snapshots and history."""
    manager.delete(session_id)
    return DeletedOut(session_id=session_id)
