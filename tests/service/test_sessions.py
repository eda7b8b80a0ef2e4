"""Session history and deletion."""

from __future__ import annotations

import json

import pytest

from tests.service.builders import GUIDE_MD
from tests.service.conftest import started, upload


def test_history_lists_turns_with_citations(client):
    sid = upload(client, ("guide.md", GUIDE_MD.encode())).json()["session_id"]
    client.post("/chat", json={"session_id": sid, "message": "What does the circuit breaker do?"})
    r = client.get(f"/sessions/{sid}/history")
    assert r.status_code == 200
    messages = r.json()["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant"]
    assert messages[0]["text"] == "What does the circuit breaker do?"
    assert messages[1]["citations"][0]["source"] == "guide.md"


def test_history_survives_a_restart(settings):
    first = started(settings)
    sid = upload(first, ("guide.md", GUIDE_MD.encode())).json()["session_id"]
    first.post("/chat", json={"session_id": sid, "message": "What does the circuit breaker do?"})
    first.__exit__(None, None, None)
    second = started(settings)
    try:
        assert len(second.get(f"/sessions/{sid}/history").json()["messages"]) == 2
        r = second.post(
            "/chat", json={"session_id": sid, "message": "What does the circuit breaker do?"}
        )
        assert r.status_code == 200
        assert r.json()["citations"][0]["source"] == "guide.md"
    finally:
        second.__exit__(None, None, None)


def test_unknown_session_history_is_404(client):
    r = client.get("/sessions/unknown123/history")
    assert r.status_code == 404


def test_delete_removes_everything(client, settings):
    sid = upload(client, ("guide.md", GUIDE_MD.encode())).json()["session_id"]
    client.post("/chat", json={"session_id": sid, "message": "What does the circuit breaker do?"})
    r = client.delete(f"/sessions/{sid}")
    assert r.status_code == 200
    assert r.json() == {"session_id": sid, "deleted": True}
    assert client.get(f"/sessions/{sid}/history").status_code == 404
    assert client.post("/chat", json={"session_id": sid, "message": "hi"}).status_code == 404
    assert not (settings.data_dir / "sessions" / sid).exists()
    assert not (settings.data_dir / "history" / f"{sid}.json").exists()
    assert client.delete(f"/sessions/{sid}").status_code == 404


def test_library_cannot_be_deleted(client):
    assert client.delete("/sessions/library").status_code == 403
    assert client.get("/sessions/library/history").status_code == 200


def ask(client, sid, message):
    """POST a chat message and return the JSON answer."""
    r = client.post("/chat", json={"session_id": sid, "message": message})
    assert r.status_code == 200, r.text
    return r.json()


def test_create_session_defaults_to_library_backed(client, settings):
    r = client.post("/sessions")
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["library"] is True and body["documents"] == []
    sid = body["session_id"]
    history = client.get(f"/sessions/{sid}/history").json()
    assert history == {"session_id": sid, "library": True, "documents": [], "messages": []}
    manifest = json.loads((settings.data_dir / "sessions" / sid / "manifest.json").read_text())
    assert manifest["library"] is True
    # An empty library-backed session answers from the notes at once.
    assert (
        ask(client, sid, "What is the task execution role used for?")["citations"][0]["source"]
        == "roles.md"
    )


def test_a_session_without_the_library_knows_nothing_until_upload(client):
    r = client.post("/sessions", json={"library": False})
    assert r.status_code == 201 and r.json()["library"] is False
    sid = r.json()["session_id"]
    body = ask(client, sid, "What is the task execution role used for?")
    assert body["grounded"] is False and body["citations"] == []
    upload(client, ("guide.md", GUIDE_MD.encode()), session_id=sid)
    assert ask(client, sid, "What does the circuit breaker do?")["grounded"] is True


@pytest.mark.parametrize(
    ("body", "named"),
    [({"library": "maybe"}, "library"), ({"library": None}, "library"), ([1, 2], "object")],
)
def test_create_session_refuses_a_bad_body(client, body, named):
    r = client.post("/sessions", json=body)
    assert r.status_code == 422
    assert named in r.json()["detail"]


def test_a_library_session_searches_the_notes_and_its_uploads(client):
    sid = client.post("/sessions", json={"library": True}).json()["session_id"]
    r = upload(client, ("guide.md", GUIDE_MD.encode()), session_id=sid)
    assert r.status_code == 200 and r.json()["library"] is True
    assert (
        ask(client, sid, "What does the circuit breaker do?")["citations"][0]["source"]
        == "guide.md"
    )
    assert (
        ask(client, sid, "What is the task execution role used for?")["citations"][0]["source"]
        == "roles.md"
    )


def test_upload_without_a_session_is_not_library_backed_unless_asked(client):
    plain = upload(client, ("guide.md", GUIDE_MD.encode())).json()
    assert plain["library"] is False
    body = ask(client, plain["session_id"], "What is the task execution role used for?")
    assert all(c["source"] == "guide.md" for c in body["citations"])
    parts = [("files", ("guide.md", GUIDE_MD.encode()))]
    backed = client.post("/upload", files=parts, data={"library": "true"}).json()
    assert backed["library"] is True
    body = ask(client, backed["session_id"], "What is the task execution role used for?")
    assert body["citations"][0]["source"] == "roles.md"


def test_each_session_keeps_its_own_conversation(client):
    first = client.post("/sessions").json()["session_id"]
    second = client.post("/sessions").json()["session_id"]
    ask(client, first, "What is the task execution role used for?")
    ask(client, second, "Which path does the ALB health check probe?")
    # The follow-up in the first session resolves "it" against that session's question,
    # not against the other user's health-check question asked in between.
    body = ask(client, first, "and what can it fetch?")
    assert body["citations"][0]["source"] == "roles.md"
    texts = [m["text"] for m in client.get(f"/sessions/{first}/history").json()["messages"]]
    assert "Which path does the ALB health check probe?" not in texts
    assert len(texts) == 4


def test_the_library_id_is_stateless(client, settings):
    ask(client, "library", "Which path does the ALB health check probe?")
    history = client.get("/sessions/library/history").json()
    assert history["messages"] == [] and history["documents"] == []
    assert not (settings.data_dir / "history" / "library.json").exists()
    # No earlier turn steers the next question: a bare follow-up has nothing to lean on.
    body = ask(client, "library", "and what threshold applies to it?")
    assert all(c["source"] != "health.md" for c in body["citations"])


def delete_before_commit(client, monkeypatch) -> list[int]:
    """Make the next upload's session be deleted (DELETE /sessions) between parse and commit."""
    sessions = client.app.state.runtime.sessions
    commit = sessions.commit
    answers: list[int] = []

    def deleted_first(session_id, *args, **kwargs):
        answers.append(client.delete(f"/sessions/{session_id}").status_code)
        return commit(session_id, *args, **kwargs)

    monkeypatch.setattr(sessions, "commit", deleted_first)
    return answers


@pytest.mark.parametrize("library", [True, False])
def test_an_upload_racing_delete_is_404_and_does_not_bring_the_session_back(
    client, settings, monkeypatch, library
):
    sid = client.post("/sessions", json={"library": library}).json()["session_id"]
    deletes = delete_before_commit(client, monkeypatch)
    r = upload(client, ("guide.md", GUIDE_MD.encode()), session_id=sid)
    assert deletes == [200]  # the DELETE ran, and answered "deleted", mid-upload
    assert r.status_code == 404, r.text
    assert sid in r.json()["detail"]
    assert not (settings.data_dir / "sessions" / sid).exists()
    assert client.get(f"/sessions/{sid}/history").status_code == 404
    # Nothing half-made either: no document, index or manifest anywhere.
    assert [p for p in (settings.data_dir / "sessions").rglob("*") if p.is_file()] == []
