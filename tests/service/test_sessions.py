"""Session history and deletion."""

from __future__ import annotations

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
    second = started(settings.model_copy(update={"history_turns": 0}))
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
