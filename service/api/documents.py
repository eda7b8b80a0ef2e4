"""Upload documents into a session's index."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, UploadFile

from service.api.schemas import DocumentOut, UploadOut, errors
from service.deps import AuthDep, ManagerDep, SettingsDep
from service.errors import UploadError
from service.sessions import Upload
from service.storage.base import SESSION_ID_PATTERN

router = APIRouter(tags=["documents"])


@router.post(
    "/upload",
    response_model=UploadOut,
    dependencies=[AuthDep],
    responses=errors(401, 403, 404, 413, 415, 422, 503),
)
def upload(
    manager: ManagerDep,
    settings: SettingsDep,
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
    if len(files) > settings.max_files:
        raise UploadError(
            f"too many files: {len(files)} sent, at most {settings.max_files} per upload "
            "(MAX_FILES)",
            413,
        )
    limit = settings.max_upload_bytes
    received: list[Upload] = []
    for file in files:
        data = file.file.read(limit + 1)
        if len(data) > limit:
            raise UploadError(
                f"{file.filename}: larger than the {settings.max_upload_mb:g} MB limit "
                "(MAX_UPLOAD_MB)",
                413,
            )
        received.append(Upload(file.filename or "", data))
    result = manager.upload(received, session_id or None, library=library)
    docs = [DocumentOut(**vars(d)) for d in result.documents]
    return UploadOut(
        session_id=result.session_id,
        library=result.library,
        chunks_indexed=result.chunks_indexed,
        documents=docs,
        message=f"indexed {len(docs)} file(s) into {result.chunks_indexed} chunk(s)",
    )
