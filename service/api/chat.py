"""Ask a session a question and get an answer with citations."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool

from service.api.schemas import ChatIn, ChatOut, errors
from service.deps import AuthDep, ChatDep

router = APIRouter(tags=["chat"])


@router.post(
    "/chat",
    response_model=ChatOut,
    dependencies=[AuthDep],
    responses=errors(401, 404, 422, 502, 503),
    description=(
        "Answer `message` from the session's documents, citing source and page. A session "
        "made with `library: true` also searches the notes library, and its history "
        'lets follow-up questions ("and what does it cost?") find their topic.\n\n'
        'The fixed id `"library"` asks the notes without a session: it is **stateless**. '
        "Every question is answered on its own (no follow-ups) and nothing is stored, "
        "because every client shares that id. Create your own session with `POST /sessions` "
        "to keep a conversation."
    ),
)
async def chat(body: ChatIn, chat: ChatDep) -> ChatOut:
    """Answer `message` from the session's documents, citing source and page."""
    if chat.answers_without_io(body.session_id):
        # About a millisecond of CPU: a threadpool hop would cost more than the work.
        answer = chat.ask(body.session_id, body.message)
    else:  # stores or a model provider over the network: keep the event loop free
        answer = await run_in_threadpool(chat.ask, body.session_id, body.message)
    return ChatOut(
        answer=answer.text,
        citations=answer.citations,
        session_id=body.session_id,
        grounded=answer.grounded,
    )
