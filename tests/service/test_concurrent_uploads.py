"""Two tasks writing one session at once: every acknowledged upload is kept and answerable.

Each task (a service instance with its own SessionStore) commits an upload with a
conditional manifest write; the one that loses re-reads the winner's manifest and commits
again on top of it. The interleavings are forced deterministically on one emulated S3 bucket
(moto) and on one shared DATA_DIR; the last test races real service processes.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from service import sessions as sessions_module
from service.storage.base import ManifestConflict
from service.storage.dynamodb import create_table
from tests.service.conftest import started, upload
from tests.service.server import ServiceProcess

BUCKET = "llmops-documents"
TABLE = "chat_history"
# Small documents, each with a word no other one has, and a question only it answers.
TOPICS = ["quokka", "narwhal", "axolotl", "pangolin", "okapi", "tapir"]


def doc(word: str) -> bytes:
    """Return a small Markdown note about `word`."""
    return f"# The {word} cache\n\nThe {word} cache keeps warm {word} replicas.\n".encode()


def question(word: str) -> str:
    """Return the question only the note about `word` answers."""
    return f"What does the {word} cache keep?"


@pytest.fixture(params=["s3", "local"])
def two_tasks(request, make_settings, tmp_path):
    """Return two started service instances sharing one store: an S3 bucket, or one DATA_DIR."""
    clients = []
    if request.param == "s3":
        ctx = request.getfixturevalue("ctx")
        ctx.client("s3").create_bucket(Bucket=BUCKET)
        create_table(ctx.client("dynamodb"), TABLE)
        for name in ("a", "b"):
            env = {"DATA_DIR": tmp_path / name, "DOCUMENT_BUCKET": BUCKET}
            clients.append(started(make_settings(CHAT_HISTORY_TABLE=TABLE, **env), ctx))
    else:
        clients = [started(make_settings()), started(make_settings())]
    yield request.param, *clients
    for c in clients:
        c.__exit__(None, None, None)


def store_of(client):
    """Return a client's document store (the S3 one once built)."""
    return client.app.state.runtime.sessions.documents


def before_manifest_writes(monkeypatch, client, action: Callable[[], None]) -> list[str]:
    """Run `action` before `client`'s next manifest write; return each write's outcome."""
    documents = store_of(client)
    write = documents.write_manifest
    outcomes: list[str] = []

    def hooked(manifest, expected=None):
        if not outcomes:
            action()  # another task commits between this task's read and its write
        try:
            write(manifest, expected)
        except ManifestConflict:
            outcomes.append("conflict")
            raise
        outcomes.append("written")

    monkeypatch.setattr(documents, "write_manifest", hooked)
    return outcomes


def ask(client, sid: str, word: str) -> str:
    """Ask the question about `word`; return the first cited source."""
    r = client.post("/chat", json={"session_id": sid, "message": question(word)})
    assert r.status_code == 200, r.text
    return r.json()["citations"][0]["source"]


def listed(client, sid: str) -> list[str]:
    """Return the names of the session's documents."""
    r = client.get(f"/sessions/{sid}/history")
    assert r.status_code == 200, r.text
    return [d["name"] for d in r.json()["documents"]]


def stored_files(backend: str, client, sid: str) -> dict[str, bytes]:
    """Return every stored file of the session's documents/ folder, by name."""
    if backend == "local":
        folder = client.app.state.settings.data_dir / "sessions" / sid / "documents"
        return {p.name: p.read_bytes() for p in folder.iterdir()} if folder.exists() else {}
    s3 = store_of(client).s3
    prefix = f"sessions/{sid}/documents/"
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("Contents", [])]
    return {k[len(prefix) :]: s3.get_object(Bucket=BUCKET, Key=k)["Body"].read() for k in keys}


def session_keys(backend: str, client, sid: str) -> list[str]:
    """Return everything stored under the session (files or object keys)."""
    if backend == "local":
        folder = client.app.state.settings.data_dir / "sessions" / sid
        return [str(p) for p in folder.rglob("*") if p.is_file()] if folder.exists() else []
    got = store_of(client).s3.list_objects_v2(Bucket=BUCKET, Prefix=f"sessions/{sid}/")
    return [o["Key"] for o in got.get("Contents", [])]


def test_both_uploads_read_the_same_manifest_and_both_are_kept(two_tasks, monkeypatch):
    _, a, b = two_tasks
    sid = a.post("/sessions", json={"library": False}).json()["session_id"]

    def b_uploads() -> None:
        assert upload(b, ("narwhal.md", doc("narwhal")), session_id=sid).status_code == 200

    outcomes = before_manifest_writes(monkeypatch, a, b_uploads)
    r = upload(a, ("quokka.md", doc("quokka")), session_id=sid)
    assert r.status_code == 200, r.text
    assert outcomes == ["conflict", "written"]  # A lost the first race and committed on top
    for client in (a, b):
        assert listed(client, sid) == ["narwhal.md", "quokka.md"]
        assert ask(client, sid, "quokka") == "quokka.md"
        assert ask(client, sid, "narwhal") == "narwhal.md"


def test_two_uploads_of_one_file_name_keep_both_files(two_tasks, monkeypatch):
    backend, a, b = two_tasks
    sid = a.post("/sessions", json={"library": False}).json()["session_id"]
    answers = []

    def b_uploads() -> None:
        answers.append(upload(b, ("notes.md", doc("narwhal")), session_id=sid))

    before_manifest_writes(monkeypatch, a, b_uploads)
    mine = upload(a, ("notes.md", doc("quokka")), session_id=sid)
    assert mine.status_code == 200 and answers[0].status_code == 200, answers[0].text
    named = {
        "quokka": mine.json()["documents"][0]["name"],
        "narwhal": answers[0].json()["documents"][0]["name"],
    }
    assert sorted(named.values()) == ["notes-2.md", "notes.md"]  # one renamed, as on re-upload
    assert sorted(listed(a, sid)) == ["notes-2.md", "notes.md"]
    for word, name in named.items():
        assert ask(b, sid, word) == name
    # Each name holds the bytes of the upload that answered with it: nothing overwritten.
    assert stored_files(backend, a, sid) == {named[w]: doc(w) for w in named}


def test_a_session_deleted_before_the_manifest_write_stays_deleted(two_tasks, monkeypatch):
    backend, a, b = two_tasks
    sid = a.post("/sessions", json={"library": False}).json()["session_id"]
    assert upload(a, ("quokka.md", doc("quokka")), session_id=sid).status_code == 200

    def b_deletes() -> None:
        assert b.delete(f"/sessions/{sid}").status_code == 200

    before_manifest_writes(monkeypatch, a, b_deletes)
    r = upload(a, ("narwhal.md", doc("narwhal")), session_id=sid)
    assert r.status_code == 404, r.text
    assert sid in r.json()["detail"]
    assert a.get(f"/sessions/{sid}/history").status_code == 404
    assert session_keys(backend, a, sid) == []  # the upload's files and snapshot went too


def test_an_upload_that_keeps_losing_is_a_503_and_leaves_nothing(two_tasks, monkeypatch):
    backend, a, _ = two_tasks
    sid = a.post("/sessions", json={"library": False}).json()["session_id"]
    assert upload(a, ("quokka.md", doc("quokka")), session_id=sid).status_code == 200
    before = sorted(session_keys(backend, a, sid))
    monkeypatch.setattr(sessions_module, "BACKOFF_S", 0.0)
    tries = []

    def always_lose(manifest, expected=None):
        tries.append(manifest.version)
        raise ManifestConflict(f"session {sid!r}: the manifest changed since it was read")

    monkeypatch.setattr(store_of(a), "write_manifest", always_lose)
    r = upload(a, ("narwhal.md", doc("narwhal")), session_id=sid)
    assert r.status_code == 503, r.text
    assert "lost to other uploads" in r.json()["detail"] and "retry" in r.json()["detail"]
    assert len(tries) == sessions_module.COMMIT_ATTEMPTS
    assert sorted(session_keys(backend, a, sid)) == before  # no file, no snapshot left
    assert listed(a, sid) == ["quokka.md"]


def test_the_idle_sweep_spares_a_session_an_upload_just_committed_to(two_tasks, monkeypatch):
    _, a, b = two_tasks
    sid = a.post("/sessions", json={"library": False}).json()["session_id"]
    sweeper = a.app.state.runtime.sessions
    monkeypatch.setattr(sweeper, "idle_ttl_s", 60.0)
    monkeypatch.setattr(sweeper, "clock", lambda: 2e9)  # far ahead: the session looks idle
    documents = store_of(a)
    delete = documents.delete_session

    def b_uploads_first(session_id, expected=None):
        assert upload(b, ("narwhal.md", doc("narwhal")), session_id=sid).status_code == 200
        delete(session_id, expected)

    monkeypatch.setattr(documents, "delete_session", b_uploads_first)
    assert sweeper.expire_idle() == 0
    assert listed(b, sid) == ["narwhal.md"]
    assert ask(b, sid, "narwhal") == "narwhal.md"


@pytest.fixture
def atomic_moto_puts(monkeypatch):
    """Make the embedded moto check a PUT's condition and store the object in one step."""
    # moto 5.2.5 checks If-Match / If-None-Match, then stores, without a lock: two PUTs
    # arriving together could both pass. S3 itself decides conditional writes atomically.
    from moto.s3.responses import S3Response

    put = S3Response.put_object
    lock = threading.Lock()

    def locked(self, *args, **kwargs):
        with lock:
            return put(self, *args, **kwargs)

    monkeypatch.setattr(S3Response, "put_object", locked)


@pytest.mark.slow
def test_concurrent_uploads_to_two_service_processes_are_all_kept(
    ctx, tmp_path, notes_dir, atomic_moto_puts
):
    env = {
        **ctx.environment(),
        "LIBRARY_DIR": str(notes_dir),
        "DOCUMENT_BUCKET": BUCKET,
        "CHAT_HISTORY_TABLE": TABLE,
    }
    services = [
        ServiceProcess({**env, "DATA_DIR": str(tmp_path / name)}, tmp_path / f"{name}.log")
        for name in ("a", "b")
    ]
    try:
        ctx.client("s3").create_bucket(Bucket=BUCKET)  # while both processes start
        create_table(ctx.client("dynamodb"), TABLE)
        for svc in services:
            svc.wait_for("/ready")  # the library is indexed, the bucket and table answer
        with httpx.Client(timeout=60) as http:
            made = http.post(services[0].url + "/sessions", json={"library": False})
            sid = made.json()["session_id"]
            start = threading.Barrier(len(TOPICS))

            def send(i: int) -> tuple[str, int]:
                word = TOPICS[i]
                start.wait(10)  # all at once, split across both processes
                r = http.post(
                    services[i % 2].url + "/upload",
                    files=[("files", (f"{word}.md", doc(word)))],
                    data={"session_id": sid},
                )
                return word, r.status_code

            with ThreadPoolExecutor(len(TOPICS)) as pool:
                results = list(pool.map(send, range(len(TOPICS))))
            acknowledged = [word for word, status in results if 200 <= status < 300]
            # Each commit loses only to one the other process made: all fit in the retries.
            assert acknowledged == TOPICS, results
            for i, svc in enumerate(services):
                history = http.get(f"{svc.url}/sessions/{sid}/history").json()
                names = sorted(d["name"] for d in history["documents"])
                assert names == sorted(f"{w}.md" for w in acknowledged), svc.output()
                for word in acknowledged[i::2]:
                    body = {"session_id": sid, "message": question(word)}
                    r = http.post(svc.url + "/chat", json=body)
                    assert r.status_code == 200, r.text
                    assert r.json()["citations"][0]["source"] == f"{word}.md"
    finally:
        for svc in services:
            svc.stop()
