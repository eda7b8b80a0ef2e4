"""Read and delete a session's history."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from service.api.schemas import DeletedOut, DocumentOut, HistoryOut, MessageOut, errors
from service.deps import AuthDep, ManagerDep
from service.library import LIBRARY_SESSION
from service.storage.base import SESSION_ID_PATTERN

router = APIRouter(prefix="/sessions", tags=["sessions"])
SessionPath = Annotated[str, Path(pattern=SESSION_ID_PATTERN, max_length=64)]


@router.get("/{session_id}/history", response_model=HistoryOut, responses=errors(404, 422))
def history(session_id: SessionPath, manager: ManagerDep) -> HistoryOut:
    """Return the session's documents and messages, oldest first."""
    messages = manager.history(session_id)
    docs = [] if session_id == LIBRARY_SESSION else manager.manifest(session_id).documents
    return HistoryOut(
        session_id=session_id,
        documents=[DocumentOut(**vars(d)) for d in docs],
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
