"""Chat: answers cite their sources; bad messages and unknown sessions are refused."""

from __future__ import annotations

import pytest

from service.chat import check_message
from service.errors import InvalidInputError
from tests.service.builders import GUIDE_MD, make_pdf
from tests.service.conftest import started, upload


def ask(client, session_id, message, **kw):
    """POST a chat message and return the response."""
    return client.post("/chat", json={"session_id": session_id, "message": message}, **kw)


def test_answer_cites_the_uploaded_document(client):
    sid = upload(client, ("guide.md", GUIDE_MD.encode())).json()["session_id"]
    r = ask(client, sid, "What does the circuit breaker do?")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["session_id"] == sid
    assert body["grounded"] is True
    assert "roll" in body["answer"].lower()
    assert body["citations"][0]["source"] == "guide.md"
    assert body["citations"][0]["snippet"]


def test_pdf_citations_carry_the_page(client):
    pdf = make_pdf(
        [
            "Nothing here but an introduction.",
            "The awsvpc network mode gives every Fargate task its own ENI.",
        ]
    )
    sid = upload(client, ("net.pdf", pdf)).json()["session_id"]
    body = ask(client, sid, "Which network mode gives a task its own ENI?").json()
    assert body["citations"][0] == {
        "source": "net.pdf",
        "page": 2,
        "snippet": body["citations"][0]["snippet"],
        "section": None,  # a PDF has no headings
        "url": None,  # an upload is not served
    }


def test_user_session_searches_only_its_own_documents(client):
    sid = upload(client, ("guide.md", GUIDE_MD.encode())).json()["session_id"]
    body = ask(client, sid, "What is the task execution role used for?").json()
    assert all(c["source"] == "guide.md" for c in body["citations"])
    assert not any("roles.md" in c["source"] for c in body["citations"])


def test_library_session_answers_from_the_notes(client):
    r = ask(client, "library", "What is the task execution role used for?")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["session_id"] == "library"
    assert body["citations"][0]["source"] == "roles.md"


def test_out_of_scope_question_is_not_answered(client):
    sid = upload(client, ("guide.md", GUIDE_MD.encode())).json()["session_id"]
    body = ask(client, sid, "What is the capital of Australia?").json()
    assert body["grounded"] is False
    assert body["citations"] == []


def test_unknown_session_is_404(client):
    r = ask(client, "nosuchsession", "hello?")
    assert r.status_code == 404
    assert "nosuchsession" in r.json()["detail"]


@pytest.mark.parametrize("message", ["", "   \n "])
def test_empty_message_is_422(client, message):
    r = ask(client, "library", message)
    assert r.status_code == 422
    assert "message" in r.json()["detail"]


def test_over_long_message_is_422(make_settings):
    c = started(make_settings(MAX_MESSAGE_CHARS=50))
    try:
        r = ask(c, "library", "why " * 30)
        assert r.status_code == 422
        assert "MAX_MESSAGE_CHARS" in r.json()["detail"]
    finally:
        c.__exit__(None, None, None)


@pytest.mark.parametrize(
    ("message", "limit", "named"),
    [
        ("", 2000, "must not be empty"),
        ("  \n ", 2000, "must not be empty"),
        ("x" * 2001, 2000, "2001 characters, at most 2000 allowed (MAX_MESSAGE_CHARS)"),
        ("Fargate? " * 20, 100, "at most 100 allowed"),
    ],
)
def test_check_message_names_what_is_wrong(message, limit, named):
    with pytest.raises(InvalidInputError, match=r"^message: ") as caught:
        check_message(message, limit)
    assert named in str(caught.value)


def test_check_message_strips_and_accepts_a_message_at_the_cap():
    assert check_message(" " + "x" * 100 + "\n", 100) == "x" * 100


def test_the_chain_is_built_once_not_per_question(settings, monkeypatch):
    import service.rag.chain as chain_module

    built = []

    class Counting(chain_module.RagChain):
        def __init__(self, *args, **kwargs):
            built.append(self)
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(chain_module, "RagChain", Counting)
    c = started(settings)
    try:
        sid = upload(c, ("guide.md", GUIDE_MD.encode())).json()["session_id"]
        for session_id in (sid, sid, "library", "library"):
            assert ask(c, session_id, "What does the circuit breaker do?").status_code == 200
    finally:
        c.__exit__(None, None, None)
    assert len(built) == 1


def test_malformed_json_is_422(client):
    r = client.post(
        "/chat",
        content=b'{"session_id": "library", "message": ',
        headers={"content-type": "application/json"},
    )
    assert r.status_code == 422
    assert r.json()["detail"] == "the request body is not valid JSON"


def test_missing_fields_are_named(client):
    r = client.post("/chat", json={"session_id": "library"})
    assert r.status_code == 422
    assert "message" in r.json()["detail"]


def test_bad_session_id_is_422(client):
    r = ask(client, "../../etc", "hi")
    assert r.status_code == 422
    assert "session_id" in r.json()["detail"]


def test_follow_up_uses_history(client):
    sid = upload(client, ("guide.md", GUIDE_MD.encode())).json()["session_id"]
    ask(client, sid, "What does the circuit breaker do?")
    r = ask(client, sid, "and what is its failure threshold?")
    assert r.status_code == 200
    assert "desired count" in r.json()["answer"]


def test_a_long_message_within_max_message_chars_is_answered(make_settings):
    c = started(make_settings(MAX_MESSAGE_CHARS=3000))
    try:
        message = "What is the task execution role used for? " + "please " * 330
        assert 2000 < len(message) <= 3000
        r = ask(c, "library", message)
        assert r.status_code == 200, r.text
        assert r.json()["citations"][0]["source"] == "roles.md"
    finally:
        c.__exit__(None, None, None)


def test_a_fresh_question_after_a_turn_is_not_treated_as_a_follow_up(client):
    sid = upload(client, ("guide.md", GUIDE_MD.encode())).json()["session_id"]
    ask(client, sid, "What does the circuit breaker do?")
    body = ask(client, sid, "When does the circuit breaker roll back?").json()
    assert body["grounded"] is True
    assert "rolls a failed deployment back" in body["answer"]


@pytest.fixture(scope="module")
def notes_client(tmp_path_factory):
    """Return a client whose library is the repository's real notes."""
    from service.config import REPO_DIR, Settings

    data = tmp_path_factory.mktemp("real-notes-data")
    c = started(Settings(_env_file=None, DATA_DIR=data, LIBRARY_DIR=REPO_DIR / "notes"))
    yield c
    c.__exit__(None, None, None)


def circuit_breaker_session(c):
    """Return a library-backed session whose last turn was about the circuit breaker."""
    sid = c.post("/sessions", json={"library": True}).json()["session_id"]
    first = ask(c, sid, "What does the circuit breaker do?").json()
    assert first["grounded"] and first["citations"][0]["source"] == "ecs-service.md"
    return sid


def test_real_notes_lifecycle_question_after_a_circuit_breaker_turn(notes_client):
    sid = circuit_breaker_session(notes_client)
    body = ask(notes_client, sid, "What do lifecycle policies expire?").json()
    assert body["grounded"] is True, body["answer"]
    assert body["citations"][0]["source"] == "ecr.md"
    assert "image" in body["answer"].lower()


def test_real_notes_roll_back_question_after_a_circuit_breaker_turn(notes_client):
    sid = circuit_breaker_session(notes_client)
    body = ask(notes_client, sid, "When does the circuit breaker roll back?").json()
    assert body["grounded"] is True, body["answer"]
    assert "roll" in body["answer"].lower()


def test_real_notes_true_follow_up_keeps_the_topic(notes_client):
    sid = circuit_breaker_session(notes_client)
    body = ask(notes_client, sid, "how many failures trigger it?").json()
    assert body["grounded"] is True
    assert body["citations"][0]["source"] == "ecs-service.md"
    assert "circuit breaker" in body["answer"].lower() or "rollback" in body["answer"].lower()


def test_a_slow_session_store_does_not_stall_library_answers(client):
    """A named session's history read blocks in the threadpool, not on the event loop."""
    import asyncio
    import threading

    import httpx

    sid = client.post("/sessions", json={"library": True}).json()["session_id"]
    history = client.app.state.runtime.sessions.history
    gate, entered = threading.Event(), threading.Event()
    real = history.messages

    def slow_messages(session_id, **kw):
        entered.set()
        gate.wait(30)
        return real(session_id, **kw)

    history.messages = slow_messages

    async def scenario():
        transport = httpx.ASGITransport(app=client.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
            named = asyncio.create_task(
                http.post("/chat", json={"session_id": sid, "message": "What is ECS?"})
            )
            while not entered.is_set():
                await asyncio.sleep(0.01)
            library = await asyncio.wait_for(
                http.post("/chat", json={"session_id": "library", "message": "What is ECS?"}),
                timeout=20,
            )
            assert not named.done()  # still waiting on its store, yet the library answered
            gate.set()
            return library, await named

    try:
        library, named = asyncio.run(scenario())
    finally:
        gate.set()
        history.messages = real
    assert library.status_code == 200 and library.json()["citations"]
    assert named.status_code == 200 and named.json()["session_id"] == sid
