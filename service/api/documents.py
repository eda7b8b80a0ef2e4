"""Upload documents into a session's index."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, UploadFile

from service.api.schemas import DocumentOut, UploadOut, errors
from service.deps import AuthDep, UploadsDep
from service.storage.base import SESSION_ID_PATTERN

router = APIRouter(tags=["documents"])


@router.post(
    "/upload",
    response_model=UploadOut,
    dependencies=[AuthDep],
    responses=errors(401, 403, 404, 413, 415, 422, 503),
)
def upload(
    uploads: UploadsDep,
    files: Annotated[list[UploadFile], File(description="PDF, Markdown or text files.")],
    session_id: Annotated[
        str | None,
        Form(pattern=SESSION_ID_PATTERN, description="Add to this session instead of a new one."),
    ] = None,
    library: Annotated[
        bool,
        Form(description="For a new session: also search the notes library (default false)."),
    ] = False,
) -> UploadOut:
    """Index uploaded files into a new session (or `session_id`); all or nothing."""
    result = uploads.add(uploads.receive(files), session_id or None, library=library)
    docs = [DocumentOut(**vars(d)) for d in result.documents]
    return UploadOut(
        session_id=result.session_id,
        library=result.library,
        chunks_indexed=result.chunks_indexed,
        documents=docs,
        message=f"indexed {len(docs)} file(s) into {result.chunks_indexed} chunk(s)",
    )
