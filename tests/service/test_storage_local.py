"""Local stores: atomic writes, safe names, history order, session layout, conditional writes."""

from __future__ import annotations

import json
import multiprocessing
import os
from pathlib import Path

import pytest

from service.errors import StorageError
from service.storage.base import (
    DocumentInfo,
    Manifest,
    ManifestConflict,
    Message,
    safe_filename,
    valid_session_id,
)
from service.storage.local import LocalDocumentStore, LocalHistoryStore, write_atomic


@pytest.mark.parametrize(
    ("name", "safe"),
    [
        ("../../etc/passwd.md", "passwd.md"),
        ("C:\\Users\\me\\notes.TXT", "notes.txt"),
        ("/abs/path/x.pdf", "x.pdf"),
        ("..md", "file.md"),
        ("a b (1).md", "a_b_1.md"),
        ("résumé.md", "resume.md"),
        ("", "file"),
    ],
)
def test_safe_filename(name, safe):
    assert safe_filename(name) == safe


def test_safe_filename_avoids_taken_names():
    assert safe_filename("a.md", {"a.md", "a-2.md"}) == "a-3.md"


def test_session_ids():
    assert valid_session_id("library")
    assert valid_session_id("0123abcd" * 4)
    for bad in ("", "../x", "a/b", "x" * 65, "a b"):
        assert not valid_session_id(bad)


def test_write_atomic_replaces_whole_and_leaves_no_temp(tmp_path, monkeypatch):
    target = tmp_path / "f.json"
    write_atomic(target, b"old")

    def boom(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError):
        write_atomic(target, b"new")
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["f.json"]


def test_history_keeps_order_and_limit(tmp_path):
    store = LocalHistoryStore(tmp_path)
    for i in range(5):
        store.append("s1", Message("user" if i % 2 == 0 else "assistant", f"m{i}"))
    assert [m.text for m in store.messages("s1")] == ["m0", "m1", "m2", "m3", "m4"]
    assert [m.text for m in store.messages("s1", limit=2)] == ["m3", "m4"]
    assert store.messages("s1", limit=0) == []
    assert store.messages("other") == []
    store.delete("s1")
    assert store.messages("s1") == []


def test_corrupt_history_is_a_storage_error(tmp_path):
    store = LocalHistoryStore(tmp_path)
    (tmp_path / "history").mkdir()
    (tmp_path / "history" / "s1.json").write_text("{not json")
    with pytest.raises(StorageError, match="s1"):
        store.messages("s1")


def test_document_store_round_trip(tmp_path):
    store = LocalDocumentStore(tmp_path / "data")
    assert store.read_manifest("s1") is None
    src = tmp_path / "snapshot"
    src.mkdir()
    (src / "docstore.json").write_text("{}")
    store.put_index("s1", "v1", src)
    store.put_document("s1", "a.md", b"text")
    store.write_manifest(Manifest("s1", "v1"))
    assert store.read_manifest("s1").version == "v1"
    assert (store.fetch_index("s1", "v1") / "docstore.json").read_text() == "{}"
    with pytest.raises(StorageError, match="v2"):
        store.fetch_index("s1", "v2")
    store.delete_session("s1")
    assert store.read_manifest("s1") is None
    assert not (tmp_path / "data" / "sessions" / "s1").exists()


def test_unwritable_data_dir_fails_the_check(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(StorageError, match="not writable"):
        LocalHistoryStore(blocker).check()


def test_a_manifest_write_replaces_only_the_version_it_read(tmp_path):
    store = LocalDocumentStore(tmp_path / "data")
    store.write_manifest(Manifest("s1", "v1"))  # created: there was none
    with pytest.raises(ManifestConflict, match="exists already"):
        store.write_manifest(Manifest("s1", "other"))
    first = store.read_manifest("s1")
    store.write_manifest(Manifest("s1", "v2"), first.token)
    second = store.read_manifest("s1")
    assert second.version == "v2" and second.token != first.token
    # A writer still holding the first version's token loses, and writes nothing.
    with pytest.raises(ManifestConflict, match="changed since it was read"):
        store.write_manifest(Manifest("s1", "v3"), first.token)
    assert store.read_manifest("s1").version == "v2"
    assert "token" not in json.loads((tmp_path / "data/sessions/s1/manifest.json").read_text())
    store.delete_session("s1")
    with pytest.raises(ManifestConflict, match="removed"):
        store.write_manifest(Manifest("s1", "v3"), second.token)
    assert store.read_manifest("s1") is None  # a deleted session is not brought back


def test_a_conditional_delete_spares_a_manifest_changed_meanwhile(tmp_path):
    store = LocalDocumentStore(tmp_path / "data")
    store.write_manifest(Manifest("s1", "v1"))
    stale = store.read_manifest("s1").token
    store.write_manifest(Manifest("s1", "v2"), stale)
    with pytest.raises(ManifestConflict):
        store.delete_session("s1", stale)
    assert store.read_manifest("s1").version == "v2"
    store.delete_session("s1", store.read_manifest("s1").token)
    assert not (tmp_path / "data" / "sessions" / "s1").exists()


def test_a_document_name_is_stored_once(tmp_path):
    store = LocalDocumentStore(tmp_path / "data")
    assert store.put_document("s1", "a.md", b"first") is True
    assert store.put_document("s1", "a.md", b"second") is False
    folder = tmp_path / "data" / "sessions" / "s1" / "documents"
    assert [p.name for p in folder.iterdir()] == ["a.md"]  # no temporary file left
    assert (folder / "a.md").read_bytes() == b"first"
    store.delete_document("s1", "a.md")
    assert store.put_document("s1", "a.md", b"second") is True


def add_documents(root: str, prefix: str, count: int) -> None:
    """Add `count` documents to session s1's manifest, one compare-and-swap at a time."""
    store = LocalDocumentStore(Path(root))
    for i in range(count):
        while True:
            current = store.read_manifest("s1")
            docs = [*current.documents, DocumentInfo(f"{prefix}{i}.md", "x", 1, 1)]
            try:
                store.write_manifest(Manifest("s1", f"{prefix}{i}", docs), current.token)
                break
            except ManifestConflict:
                continue


def test_two_processes_on_one_data_dir_lose_no_manifest_write(tmp_path):
    root = tmp_path / "data"
    LocalDocumentStore(root).write_manifest(Manifest("s1", ""))
    spawn = multiprocessing.get_context("spawn")
    workers = [spawn.Process(target=add_documents, args=(str(root), prefix, 25)) for prefix in "ab"]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
        assert worker.exitcode == 0
    names = {d.name for d in LocalDocumentStore(root).read_manifest("s1").documents}
    assert names == {f"{p}{i}.md" for p in "ab" for i in range(25)}
