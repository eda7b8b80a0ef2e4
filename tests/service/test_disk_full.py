"""A full DATA_DIR: clear 507s, nothing acknowledged is lost, nothing half-written, recovery."""

from __future__ import annotations

import errno
import json
import os
import subprocess
import tempfile
from pathlib import Path

import pytest

from service.errors import DiskFullError, StorageError, storage_failure
from service.storage.base import Message
from service.storage.dynamodb import DynamoHistoryStore, create_table
from tests.service.builders import GUIDE_MD
from tests.service.conftest import started, upload

TMPFS_MB = 8


@pytest.fixture
def tiny_disk(tmp_path):
    """Mount a small tmpfs as DATA_DIR (root only) and unmount it afterwards."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    mount = tmp_path / "data"
    mount.mkdir()
    got = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={TMPFS_MB}m", "tmpfs", str(mount)],
        capture_output=True,
        text=True,
    )
    if got.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {got.stderr.strip()}")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(disk: Path) -> Path:
    """Fill `disk` to the last byte with one filler file; return its path."""
    filler = disk / "filler.bin"
    with open(filler, "wb", buffering=0) as fh:
        for size in (1 << 20, 4096, 1):
            try:
                while True:
                    fh.write(b"\0" * size)
            except OSError as exc:
                assert exc.errno == errno.ENOSPC
    return filler


def state(disk: Path) -> dict[str, object]:
    """Return every session's manifest and history, and any staging leftovers, on `disk`."""
    sessions = disk / "sessions"
    manifests = {p.parent.name: json.loads(p.read_text()) for p in sessions.glob("*/manifest.json")}
    history = {p.stem: json.loads(p.read_text()) for p in (disk / "history").glob("*.json")}
    leftovers = [p.name for p in sessions.glob("*/index/.*")]
    leftovers += [p.name for p in (disk / "staging").glob("*")]
    return {"manifests": manifests, "history": history, "leftovers": leftovers}


def assert_disk_full(reply) -> None:
    assert reply.status_code == 507, reply.text
    assert "no space left" in reply.json()["detail"]


@pytest.fixture
def full_service(tiny_disk, make_settings, monkeypatch):
    """Return (client, disk, session id) of a service on a tmpfs, one document and one turn."""
    # Index snapshots are staged on DATA_DIR's own disk, whatever the system temp dir is:
    # point that at a roomy disk, which once let a full DATA_DIR answer 200.
    roomy = tiny_disk.parent / "roomy-tmp"
    roomy.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(roomy))
    client = started(make_settings(DATA_DIR=tiny_disk))
    reply = upload(client, ("guide.md", GUIDE_MD.encode()))
    assert reply.status_code == 200, reply.text
    sid = reply.json()["session_id"]
    assert client.post("/chat", json={"session_id": sid, "message": "circuit breaker?"}).is_success
    yield client, tiny_disk, sid
    client.__exit__(None, None, None)


def test_full_disk_gives_507_and_keeps_every_committed_state(full_service):
    client, disk, sid = full_service
    before = state(disk)
    filler = fill(disk)

    assert_disk_full(
        upload(client, ("more.md", b"# More\n\nFargate tasks pull images."), session_id=sid)
    )
    assert_disk_full(upload(client, ("new.md", b"# New\n\nA fresh session.")))
    assert_disk_full(client.post("/sessions", json={"library": False}))
    assert_disk_full(client.post("/chat", json={"session_id": sid, "message": "rollback?"}))
    # Nothing half-written: the same manifests and histories, no staging snapshot left.
    assert state(disk) == before
    assert before["leftovers"] == []
    # Reads keep working while the disk is full.
    history = client.get(f"/sessions/{sid}/history")
    assert history.status_code == 200
    assert [d["name"] for d in history.json()["documents"]] == ["guide.md"]
    assert len(history.json()["messages"]) == 2

    filler.unlink()
    again = upload(client, ("more.md", b"# More\n\nFargate tasks pull images."), session_id=sid)
    assert again.status_code == 200, again.text
    chat = client.post("/chat", json={"session_id": sid, "message": "What do Fargate tasks pull?"})
    assert chat.status_code == 200
    assert "more.md" in {c["source"] for c in chat.json()["citations"]}
    assert client.post("/sessions", json={"library": False}).status_code == 201
    history = client.get(f"/sessions/{sid}/history").json()
    assert [d["name"] for d in history["documents"]] == ["guide.md", "more.md"]
    assert [m["role"] for m in history["messages"]] == ["user", "assistant"] * 2


def test_a_full_disk_during_the_snapshot_copy_leaves_no_staging(tiny_disk, make_settings):
    # Here TMPDIR has room and DATA_DIR does not: the copy into DATA_DIR is what fails.
    client = started(make_settings(DATA_DIR=tiny_disk))
    try:
        sid = upload(client, ("guide.md", GUIDE_MD.encode())).json()["session_id"]
        before = state(tiny_disk)
        fill(tiny_disk)
        assert_disk_full(upload(client, ("big.md", b"# Big\n\n" + b"word " * 4000), session_id=sid))
        assert state(tiny_disk) == before
        version = before["manifests"][sid]["version"]
        assert [p.name for p in (tiny_disk / "sessions" / sid / "index").iterdir()] == [version]
    finally:
        client.__exit__(None, None, None)


def test_other_write_errors_are_a_503_naming_the_cause(client, monkeypatch):
    sid = upload(client, ("guide.md", GUIDE_MD.encode())).json()["session_id"]

    def read_only(path, data):
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr("service.storage.local.write_atomic", read_only)
    reply = client.post("/chat", json={"session_id": sid, "message": "circuit breaker?"})
    assert reply.status_code == 503
    assert "Read-only file system" in reply.json()["detail"]
    monkeypatch.undo()
    assert len(client.get(f"/sessions/{sid}/history").json()["messages"]) == 0


def test_storage_failure_maps_errno_to_status():
    full = storage_failure(OSError(errno.ENOSPC, "No space left on device"), "store x")
    quota = storage_failure(OSError(errno.EDQUOT, "Disk quota exceeded"), "store x")
    other = storage_failure(OSError(errno.EACCES, "Permission denied"), "store x")
    assert isinstance(full, DiskFullError) and full.status_code == 507
    assert isinstance(quota, DiskFullError)
    assert type(other) is StorageError and other.status_code == 503
    assert str(other) == "cannot store x: Permission denied"


def test_dynamodb_stores_a_turn_whole(ctx):
    db = ctx.client("dynamodb")
    create_table(db, "turns")
    store = DynamoHistoryStore(db, "turns")
    store.append_many("s1", [Message("user", "q"), Message("assistant", "a")])
    assert [(m.role, m.text) for m in store.messages("s1")] == [("user", "q"), ("assistant", "a")]
    # A turn that cannot be stored whole is not stored at all.
    bad = Message("assistant", "x" * 500_000)  # over DynamoDB's 400 KB item limit
    with pytest.raises(StorageError, match="cannot append messages"):
        store.append_many("s1", [Message("user", "q2"), bad])
    assert len(store.messages("s1")) == 2


def test_an_upload_spooled_to_a_full_tmpdir_is_a_507_not_a_400(
    tiny_disk, make_settings, monkeypatch
):
    # Starlette spools a multipart file over 1 MB to TMPDIR; a full disk there surfaces as
    # FastAPI's 400 "There was an error parsing the body", which blames the client.
    tmp = tiny_disk / "tmp"
    tmp.mkdir()
    client = started(make_settings(DATA_DIR=tiny_disk))
    try:
        monkeypatch.setattr(tempfile, "tempdir", str(tmp))
        fill(tiny_disk)
        reply = upload(client, ("big.md", b"# Big\n\n" + b"word " * 500_000))
        assert_disk_full(reply)
    finally:
        client.__exit__(None, None, None)


def test_with_s3_documents_a_full_data_dir_still_answers_507(
    tiny_disk, make_settings, monkeypatch, ctx
):
    # With S3 the snapshot only passes through the task's disk; it is staged under DATA_DIR,
    # not the system temp dir (which Python may have pointed at another, roomier disk).
    ctx.client("s3").create_bucket(Bucket="docs")
    roomy = tiny_disk.parent / "roomy-tmp"
    roomy.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(roomy))
    client = started(make_settings(DATA_DIR=tiny_disk, DOCUMENT_BUCKET="docs"), ctx)
    try:
        sid = upload(client, ("guide.md", GUIDE_MD.encode())).json()["session_id"]
        filler = fill(tiny_disk)
        assert_disk_full(upload(client, ("more.md", b"# More\n\nFargate pulls."), session_id=sid))
        assert list((tiny_disk / "staging").iterdir()) == []
        filler.unlink()
        again = upload(client, ("more.md", b"# More\n\nFargate pulls."), session_id=sid)
        assert again.status_code == 200, again.text
    finally:
        client.__exit__(None, None, None)


def test_snapshots_a_killed_process_left_in_staging_are_pruned_at_start(make_settings, tmp_path):
    staging = tmp_path / "data" / "staging"
    old, fresh = staging / "index-old", staging / "index-fresh"
    for path in (old, fresh):
        path.mkdir(parents=True)
        (path / "index.faiss").write_bytes(b"x")
    os.utime(old, (0, 0))  # left long ago; `fresh` may be another process's, mid-save
    client = started(make_settings(DATA_DIR=tmp_path / "data"))
    try:
        assert sorted(p.name for p in staging.iterdir()) == ["index-fresh"]
    finally:
        client.__exit__(None, None, None)
