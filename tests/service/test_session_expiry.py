"""Idle sessions expire after SESSION_IDLE_TTL_HOURS: removed like a deleted one, then 404."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from service.storage import Message
from service.storage.dynamodb import create_table
from tests.service.builders import GUIDE_MD
from tests.service.conftest import started, upload

HOUR = 3600.0
QUESTION = "What does the circuit breaker do?"


@pytest.fixture
def hourly(make_settings):
    """Return a started client whose sessions expire after one idle hour."""
    c = started(make_settings(SESSION_IDLE_TTL_HOURS=1))
    yield c
    c.__exit__(None, None, None)


def later(client, seconds: float) -> None:
    """Move the session store's clock `seconds` past now."""
    client.app.state.runtime.sessions.clock = lambda: time.time() + seconds


def new_session(client) -> str:
    r = upload(client, ("guide.md", GUIDE_MD.encode()))
    assert r.status_code == 200, r.text
    return r.json()["session_id"]


def plant(data_dir: Path, session_id: str, age_s: float) -> Path:
    """Write a bare session manifest last changed `age_s` ago; return its folder."""
    folder = data_dir / "sessions" / session_id
    folder.mkdir(parents=True)
    stamp = time.time() - age_s
    manifest = {"session_id": session_id, "version": "", "created": stamp, "updated": stamp}
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return folder


def test_an_idle_session_answers_404_and_is_removed(hourly, settings):
    sid = new_session(hourly)
    hourly.post("/chat", json={"session_id": sid, "message": QUESTION})
    later(hourly, 2 * HOUR)
    assert hourly.get(f"/sessions/{sid}/history").status_code == 404
    assert hourly.post("/chat", json={"session_id": sid, "message": QUESTION}).status_code == 404
    assert upload(hourly, ("more.md", b"# More\n\nText."), session_id=sid).status_code == 404
    assert hourly.delete(f"/sessions/{sid}").status_code == 404
    data_dir = hourly.app.state.settings.data_dir
    assert not (data_dir / "sessions" / sid).exists()
    assert not (data_dir / "history" / f"{sid}.json").exists()
    assert sid not in hourly.app.state.runtime.sessions.cache


def test_a_session_used_within_the_ttl_stays(hourly):
    sid = new_session(hourly)
    later(hourly, 0.9 * HOUR)
    assert hourly.post("/chat", json={"session_id": sid, "message": QUESTION}).status_code == 200
    later(hourly, 1.8 * HOUR)  # 1.8 h after the upload, 0.9 h after the question
    assert hourly.get(f"/sessions/{sid}/history").status_code == 200
    later(hourly, 1.7 * HOUR)
    assert upload(hourly, ("more.md", b"# More\n\nText."), session_id=sid).status_code == 200
    later(hourly, 2.6 * HOUR)  # 0.9 h after the upload: an upload counts as use too
    assert hourly.get(f"/sessions/{sid}/history").status_code == 200


def test_a_question_asked_through_another_task_keeps_the_session(make_settings):
    first = started(make_settings(SESSION_IDLE_TTL_HOURS=1))
    sid = new_session(first)
    # Another task answered a question 2 h after the upload: only the history knows.
    first.app.state.runtime.sessions.history.append(
        sid, Message("user", "q", ts=time.time() + 2 * HOUR)
    )
    first.__exit__(None, None, None)
    second = started(make_settings(SESSION_IDLE_TTL_HOURS=1))
    try:
        later(second, 2.5 * HOUR)
        assert second.get(f"/sessions/{sid}/history").status_code == 200
        later(second, 3.5 * HOUR)
        assert second.get(f"/sessions/{sid}/history").status_code == 404
    finally:
        second.__exit__(None, None, None)


def test_the_sweep_removes_idle_sessions_only(hourly):
    idle, busy = new_session(hourly), new_session(hourly)
    runtime = hourly.app.state.runtime
    later(hourly, 0.9 * HOUR)
    assert hourly.post("/chat", json={"session_id": busy, "message": QUESTION}).status_code == 200
    later(hourly, 1.5 * HOUR)
    assert runtime.sweep() == 1
    data_dir = hourly.app.state.settings.data_dir
    assert not (data_dir / "sessions" / idle).exists()
    assert (data_dir / "sessions" / busy / "manifest.json").exists()
    assert runtime.sweep() == 0


def test_the_library_session_never_expires(hourly):
    data_dir = hourly.app.state.settings.data_dir
    planted = plant(data_dir, "library", age_s=1000 * HOUR)  # even if something stored one
    later(hourly, 1000 * HOUR)
    assert hourly.app.state.runtime.sweep() == 0
    assert planted.exists()
    r = hourly.post("/chat", json={"session_id": "library", "message": QUESTION})
    assert r.status_code == 200
    assert hourly.get("/sessions/library/history").status_code == 200


def test_a_ttl_of_zero_keeps_every_session(make_settings):
    c = started(make_settings(SESSION_IDLE_TTL_HOURS=0))
    try:
        sid = new_session(c)
        later(c, 10_000 * HOUR)
        assert c.app.state.runtime.sweep() == 0
        assert c.get(f"/sessions/{sid}/history").status_code == 200
    finally:
        c.__exit__(None, None, None)


def test_the_runtime_sweeps_in_the_background_at_start(make_settings, tmp_path):
    data_dir = tmp_path / "data"
    old = plant(data_dir, "abandoned", age_s=200 * HOUR)  # idle for longer than the default
    fresh = plant(data_dir, "recent", age_s=HOUR)
    c = started(make_settings())  # SESSION_IDLE_TTL_HOURS=168
    try:
        deadline = time.monotonic() + 30
        while old.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not old.exists()
        assert fresh.exists()
    finally:
        c.__exit__(None, None, None)


def test_a_manifest_of_an_older_release_is_read_and_kept(hourly):
    data_dir = hourly.app.state.settings.data_dir
    # Written before `updated` and `library` existed: its age comes from `created`.
    folder = data_dir / "sessions" / "older"
    folder.mkdir(parents=True)
    manifest = {"session_id": "older", "version": "", "created": time.time() - 0.5 * HOUR}
    (folder / "manifest.json").write_text(json.dumps(manifest))
    assert hourly.app.state.runtime.sweep() == 0
    assert hourly.get("/sessions/older/history").json()["library"] is False
    later(hourly, HOUR)
    assert hourly.app.state.runtime.sweep() == 1


def test_an_upload_racing_the_sweep_is_404_and_writes_nothing(hourly, monkeypatch):
    sid = new_session(hourly)
    runtime = hourly.app.state.runtime
    commit = runtime.sessions.commit

    def swept_first(session_id, *args, **kwargs):
        later(hourly, 2 * HOUR)
        assert runtime.sweep() == 1
        return commit(session_id, *args, **kwargs)

    monkeypatch.setattr(runtime.sessions, "commit", swept_first)
    r = upload(hourly, ("more.md", b"# More\n\nText."), session_id=sid)
    assert r.status_code == 404, r.text
    assert not (hourly.app.state.settings.data_dir / "sessions" / sid).exists()


def test_idle_sessions_expire_from_s3_and_dynamodb(ctx, make_settings, tmp_path):
    bucket, table = "llmops-documents", "chat_history"
    ctx.client("s3").create_bucket(Bucket=bucket)
    create_table(ctx.client("dynamodb"), table)
    settings = make_settings(
        DOCUMENT_BUCKET=bucket, CHAT_HISTORY_TABLE=table, SESSION_IDLE_TTL_HOURS=1
    )
    c = started(settings, ctx)
    try:
        idle, busy = new_session(c), new_session(c)
        for sid in (idle, busy):
            assert c.post("/chat", json={"session_id": sid, "message": QUESTION}).status_code == 200
        runtime = c.app.state.runtime
        assert sorted(runtime.sessions.documents.session_ids()) == sorted([idle, busy])
        later(c, 0.9 * HOUR)
        assert c.post("/chat", json={"session_id": busy, "message": QUESTION}).status_code == 200
        later(c, 1.5 * HOUR)
        assert runtime.sweep() == 1
        keys = [
            o["Key"] for o in ctx.client("s3").list_objects_v2(Bucket=bucket).get("Contents", [])
        ]
        assert not [k for k in keys if k.startswith(f"sessions/{idle}/")]
        assert any(k.startswith(f"sessions/{busy}/") for k in keys)
        items = ctx.client("dynamodb").scan(TableName=table)["Items"]
        assert {i["session_id"]["S"] for i in items} == {busy}
        assert c.get(f"/sessions/{idle}/history").status_code == 404
    finally:
        c.__exit__(None, None, None)
