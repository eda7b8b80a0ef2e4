"""S3 + DynamoDB: two service instances share uploads, snapshots and history; conditional puts."""

from __future__ import annotations

import time

import pytest

from service.errors import StorageError
from service.storage.base import Manifest, ManifestConflict
from service.storage.dynamodb import PARTITION_KEY, SORT_KEY, TTL_ATTRIBUTE, create_table
from tests.service.builders import GUIDE_MD
from tests.service.conftest import started, upload

BUCKET = "llmops-documents"
TABLE = "chat_history"


@pytest.fixture
def shared(ctx, make_settings, tmp_path):
    """Return a factory of started clients that share one bucket and one table."""
    ctx.client("s3").create_bucket(Bucket=BUCKET)
    create_table(ctx.client("dynamodb"), TABLE)
    clients = []

    def make(name: str, **env):
        values = {
            "DATA_DIR": tmp_path / name,
            "DOCUMENT_BUCKET": BUCKET,
            "CHAT_HISTORY_TABLE": TABLE,
            **env,
        }
        c = started(make_settings(**values), ctx)
        clients.append(c)
        return c

    yield make
    for c in clients:
        c.__exit__(None, None, None)


def ask(c, sid, message):
    return c.post("/chat", json={"session_id": sid, "message": message})


def test_two_instances_share_uploads_and_history(shared):
    a, b = shared("a"), shared("b")
    assert a.get("/ready").status_code == 200
    sid = upload(a, ("guide.md", GUIDE_MD.encode())).json()["session_id"]
    # B never saw the upload: it loads the index snapshot from S3.
    r = ask(b, sid, "What does the circuit breaker do?")
    assert r.status_code == 200, r.text
    assert r.json()["citations"][0]["source"] == "guide.md"
    history = a.get(f"/sessions/{sid}/history").json()["messages"]
    assert [m["role"] for m in history] == ["user", "assistant"]
    assert history[1]["citations"][0]["source"] == "guide.md"


def test_a_stale_index_is_reloaded(shared):
    a, b = shared("a"), shared("b")
    sid = upload(a, ("guide.md", GUIDE_MD.encode())).json()["session_id"]
    assert ask(b, sid, "What does the circuit breaker do?").status_code == 200  # B caches v1
    extra = b"# ECR\n\nLifecycle policies expire untagged images after a number of days."
    assert upload(a, ("ecr.md", extra), session_id=sid).status_code == 200  # A commits v2
    r = ask(b, sid, "What do lifecycle policies expire?")
    assert r.json()["citations"][0]["source"] == "ecr.md"
    assert [d["name"] for d in b.get(f"/sessions/{sid}/history").json()["documents"]] == [
        "guide.md",
        "ecr.md",
    ]


def test_objects_and_items_have_the_documented_shape(shared, ctx):
    a = shared("a")
    sid = upload(a, ("guide.md", GUIDE_MD.encode())).json()["session_id"]
    ask(a, sid, "What does the circuit breaker do?")
    s3 = ctx.client("s3")
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET)["Contents"]}
    assert f"sessions/{sid}/manifest.json" in keys
    assert f"sessions/{sid}/documents/guide.md" in keys
    assert any(k.startswith(f"sessions/{sid}/index/") for k in keys)
    db = ctx.client("dynamodb")
    items = db.query(
        TableName=TABLE,
        KeyConditionExpression="#p = :s",
        ExpressionAttributeNames={"#p": PARTITION_KEY},
        ExpressionAttributeValues={":s": {"S": sid}},
    )["Items"]
    assert len(items) == 2
    seqs = [i[SORT_KEY]["S"] for i in items]
    assert seqs == sorted(seqs) and all(len(s.split("-")[0]) == 20 for s in seqs)
    expires = int(items[0][TTL_ATTRIBUTE]["N"])
    assert 29 * 86400 < expires - time.time() <= 30 * 86400


def test_delete_is_seen_by_the_other_instance(shared, ctx):
    a, b = shared("a"), shared("b")
    sid = upload(a, ("guide.md", GUIDE_MD.encode())).json()["session_id"]
    ask(b, sid, "What does the circuit breaker do?")
    assert a.delete(f"/sessions/{sid}").status_code == 200
    assert ask(b, sid, "hello").status_code == 404
    assert b.get(f"/sessions/{sid}/history").status_code == 404
    s3 = ctx.client("s3")
    assert s3.list_objects_v2(Bucket=BUCKET, Prefix=f"sessions/{sid}/").get("KeyCount") == 0


def test_ready_is_503_when_the_bucket_is_missing(shared):
    c = shared("c", DOCUMENT_BUCKET="no-such-bucket")
    r = c.get("/ready")
    assert r.status_code == 503
    assert "no-such-bucket" in r.json()["checks"]["documents"]
    assert r.json()["checks"]["history"] == "ok"


def test_missing_table_gives_a_clear_503(shared):
    c = shared("c", CHAT_HISTORY_TABLE="no_such_table")
    assert c.get("/ready").status_code == 503
    sid = c.post("/sessions", json={"library": True}).json()["session_id"]
    r = ask(c, sid, "What is the task role?")
    assert r.status_code == 503
    assert "no_such_table" in r.json()["detail"]


def test_a_library_session_made_on_one_instance_works_on_the_other(shared):
    a, b = shared("a"), shared("b")
    sid = a.post("/sessions", json={"library": True}).json()["session_id"]
    assert upload(b, ("guide.md", GUIDE_MD.encode()), session_id=sid).status_code == 200
    notes = ask(a, sid, "What is the task execution role used for?").json()
    assert notes["citations"][0]["source"] == "roles.md"
    mine = ask(b, sid, "What does the circuit breaker do?").json()
    assert mine["citations"][0]["source"] == "guide.md"
    follow_up = ask(a, sid, "and what is its failure threshold?").json()
    assert "desired count" in follow_up["answer"]
    history = b.get(f"/sessions/{sid}/history").json()
    assert history["library"] is True
    assert len(history["messages"]) == 6


def test_the_local_snapshot_cache_is_bounded_and_refills_from_s3(ctx, tmp_path):
    from service.storage.s3 import S3DocumentStore

    s3 = ctx.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    store = S3DocumentStore(s3, BUCKET, tmp_path / "cache", max_cached=2)
    source = tmp_path / "index"
    source.mkdir()
    (source / "index.faiss").write_bytes(b"vectors")
    for sid in ("a", "b", "c"):
        store.put_index(sid, "v1", source)
        assert (store.fetch_index(sid, "v1") / "index.faiss").read_bytes() == b"vectors"
    cached = sorted(p.parent.name for p in (tmp_path / "cache").glob("*/v1"))
    assert cached == ["b", "c"]  # the least recently used snapshot went first
    again = store.fetch_index("a", "v1")  # evicted: downloaded again from S3
    assert (again / "index.faiss").read_bytes() == b"vectors"
    assert len(list((tmp_path / "cache").glob("*/v1"))) == 2


@pytest.fixture
def s3_store(ctx, tmp_path):
    """Return an S3 document store on an empty bucket of the emulated account."""
    from service.storage.s3 import S3DocumentStore

    ctx.client("s3").create_bucket(Bucket=BUCKET)
    return S3DocumentStore(ctx.client("s3"), BUCKET, tmp_path / "cache")


def test_a_manifest_put_is_conditional_on_the_etag_read(s3_store, ctx):
    s3_store.write_manifest(Manifest("s1", "v1"))  # If-None-Match: *
    with pytest.raises(ManifestConflict, match="PreconditionFailed"):
        s3_store.write_manifest(Manifest("s1", "other"))
    first = s3_store.read_manifest("s1")
    head = ctx.client("s3").head_object(Bucket=BUCKET, Key="sessions/s1/manifest.json")
    assert first.token == head["ETag"]
    s3_store.write_manifest(Manifest("s1", "v2"), first.token)  # If-Match: the ETag read
    second = s3_store.read_manifest("s1")
    with pytest.raises(ManifestConflict, match="PreconditionFailed"):
        s3_store.write_manifest(Manifest("s1", "v3"), first.token)
    assert s3_store.read_manifest("s1").version == "v2"
    s3_store.delete_session("s1")
    with pytest.raises(ManifestConflict, match="NoSuchKey"):
        s3_store.write_manifest(Manifest("s1", "v3"), second.token)
    assert s3_store.read_manifest("s1") is None  # a deleted session is not brought back


def test_a_conditional_delete_spares_a_manifest_changed_meanwhile(s3_store, ctx):
    s3_store.write_manifest(Manifest("s1", "v1"))
    stale = s3_store.read_manifest("s1").token
    s3_store.write_manifest(Manifest("s1", "v2"), stale)
    with pytest.raises(ManifestConflict):
        s3_store.delete_session("s1", stale)
    assert s3_store.read_manifest("s1").version == "v2"
    s3_store.delete_session("s1", s3_store.read_manifest("s1").token)
    assert ctx.client("s3").list_objects_v2(Bucket=BUCKET, Prefix="sessions/s1/")["KeyCount"] == 0


def test_a_document_name_is_stored_once(s3_store, ctx):
    assert s3_store.put_document("s1", "a.md", b"first") is True
    assert s3_store.put_document("s1", "a.md", b"second") is False  # If-None-Match: *
    got = ctx.client("s3").get_object(Bucket=BUCKET, Key="sessions/s1/documents/a.md")
    assert got["Body"].read() == b"first"
    s3_store.delete_document("s1", "a.md")
    assert s3_store.put_document("s1", "a.md", b"second") is True


def test_other_s3_failures_are_a_storage_error_naming_the_bucket(ctx, tmp_path):
    from service.storage.s3 import S3DocumentStore

    store = S3DocumentStore(ctx.client("s3"), "no-such-bucket", tmp_path / "cache")
    for write in (
        lambda: store.write_manifest(Manifest("s1", "v1")),
        lambda: store.put_document("s1", "a.md", b"x"),
        lambda: store.delete_session("s1", '"etag"'),
    ):
        with pytest.raises(StorageError, match="no-such-bucket") as caught:
            write()
        assert not isinstance(caught.value, ManifestConflict)
