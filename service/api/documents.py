"""Upload documents into a session's index."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Annotated, TypeVar

import anyio
from fastapi import APIRouter, File, Form, Request, UploadFile
from starlette.concurrency import run_in_threadpool

from service.api.schemas import DocumentOut, UploadOut, errors
from service.deps import AuthDep, UploadsDep
from service.storage.base import SESSION_ID_PATTERN
from service.uploads import UploadResult

router = APIRouter(tags=["documents"])
T = TypeVar("T")
DISCONNECT_POLL_S = 0.2  # how often a running upload checks that its client is still there


async def unless_disconnected(
    request: Request, work: Callable[[threading.Event], T], poll_s: float = DISCONNECT_POLL_S
) -> T:
    """Run `work(cancelled)` in a thread; set `cancelled` if the client disconnects meanwhile."""
    # The work is never abandoned: it sees the flag, kills its parser and commits nothing,
    # and only then does this return (or raise what the work raised).
    cancelled = threading.Event()

    async def watch() -> None:
        while not await request.is_disconnected():
            await anyio.sleep(poll_s)
        cancelled.set()

    async def run() -> None:
        try:
            outcome.append(await run_in_threadpool(work, cancelled))
        except Exception as exc:  # raised below, outside the task group (which would wrap it)
            failure.append(exc)
        finally:
            tasks.cancel_scope.cancel()  # stop watching

    outcome: list[T] = []
    failure: list[Exception] = []
    async with anyio.create_task_group() as tasks:
        tasks.start_soon(watch)
        tasks.start_soon(run)
    if failure:
        raise failure[0]
    return outcome[0]


@router.post(
    "/upload",
    response_model=UploadOut,
    dependencies=[AuthDep],
    responses=errors(401, 403, 404, 413, 415, 422, 503),
    description=(
        "Index uploaded files into a new session (or `session_id`): all of them or none.\n\n"
        "Each limit refuses the whole upload, writes nothing and names its variable: 422 for "
        "content over MAX_UPLOAD_TEXT_CHARS, MAX_CHUNKS_PER_UPLOAD, MAX_PDF_PAGES or the PDF "
        "parser's PARSE_CPU_S, PARSE_TIMEOUT_S and PARSE_MEMORY_MB; 413 for a session that "
        "would exceed MAX_CHUNKS_PER_SESSION or SESSION_QUOTA_MB. If the client disconnects "
        "before the commit, the work stops and nothing is saved."
    ),
)
async def upload(
    request: Request,
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

    def work(cancelled: threading.Event) -> UploadResult:
        received = uploads.receive(files)
        return uploads.add(received, session_id or None, library=library, cancelled=cancelled)

    result = await unless_disconnected(request, work)
    docs = [DocumentOut(**vars(d)) for d in result.documents]
    return UploadOut(
        session_id=result.session_id,
        library=result.library,
        chunks_indexed=result.chunks_indexed,
        documents=docs,
        message=f"indexed {len(docs)} file(s) into {result.chunks_indexed} chunk(s)",
    )
