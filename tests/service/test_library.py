"""The notes library: indexed once (or with the image), cached under DATA_DIR by content hash."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

from service.config import REPO_DIR
from service.library import content_hash, library_key, load_library, prebuild
from service.rag.ingest import SUPPORTED_SUFFIXES


def test_second_load_comes_from_the_cache(notes_dir, tmp_path):
    store, source = load_library(notes_dir, tmp_path / "cache")
    assert source == "built" and len(store) > 0
    again, source = load_library(notes_dir, tmp_path / "cache")
    assert source == "cache" and len(again) == len(store)


def test_a_prebuilt_index_of_the_same_notes_is_used_and_nothing_is_cached(notes_dir, tmp_path):
    built = prebuild(notes_dir, tmp_path / "image-index")
    assert built.name == library_key(notes_dir) and (built / "docstore.json").is_file()
    store, source = load_library(notes_dir, tmp_path / "cache", prebuilt=tmp_path / "image-index")
    assert source == "prebuilt" and len(store) > 0
    assert store.similarity_search("Fargate", 1)  # searchable as loaded
    assert not (tmp_path / "cache").exists()  # nothing to write at start-up
    assert prebuild(notes_dir, tmp_path / "image-index") == built  # kept, not rebuilt


def test_a_prebuild_racing_another_keeps_the_first_index_whole(notes_dir, tmp_path, monkeypatch):
    from service import library

    real, other = library.build_index, []

    def meanwhile(*args):
        store = real(*args)
        if not other:  # another process finishes the same index while this one builds
            monkeypatch.setattr(library, "build_index", real)
            done = prebuild(notes_dir, tmp_path / "image-index")
            other.append((done, done.stat().st_ino))
        return store

    monkeypatch.setattr(library, "build_index", meanwhile)
    built = prebuild(notes_dir, tmp_path / "image-index")
    assert other == [(built, built.stat().st_ino)]  # the first one's, never swapped out
    assert [p.name for p in (tmp_path / "image-index").iterdir()] == [built.name]  # no staging
    store, source = load_library(notes_dir, tmp_path / "cache", prebuilt=tmp_path / "image-index")
    assert source == "prebuilt" and len(store) > 0


def test_a_prebuilt_index_of_other_notes_is_not_used(notes_dir, tmp_path):
    notes = tmp_path / "notes"
    shutil.copytree(notes_dir, notes)
    prebuild(notes, tmp_path / "image-index")
    (notes / "extra.md").write_text("# Extra\n\nCapacity providers mix Fargate and Spot.")
    store, source = load_library(notes, tmp_path / "cache", prebuilt=tmp_path / "image-index")
    assert source == "built"  # the notes changed after the image was built
    assert any(d.metadata["source"] == "extra.md" for d in store.similarity_search("Spot", 3))


def test_a_corrupt_prebuilt_index_falls_back_to_indexing(notes_dir, tmp_path, caplog):
    built = prebuild(notes_dir, tmp_path / "image-index")
    (built / "docstore.json").write_text("{broken")
    store, source = load_library(notes_dir, tmp_path / "cache", prebuilt=tmp_path / "image-index")
    assert source == "built" and len(store) > 0
    assert "library prebuilt index unreadable" in caplog.text


def test_the_build_command_indexes_library_dir_and_refuses_a_missing_one(notes_dir, tmp_path):
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO_DIR), "DATA_DIR": str(tmp_path)}
    cmd = [sys.executable, "-m", "service.library", str(tmp_path / "index")]
    done = subprocess.run(
        cmd, env={**env, "LIBRARY_DIR": str(notes_dir)}, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    key = library_key(notes_dir)
    assert json.loads((tmp_path / "index" / key / "docstore.json").read_text())
    missing = subprocess.run(
        cmd, env={**env, "LIBRARY_DIR": str(tmp_path / "nope")}, capture_output=True, text=True
    )
    assert missing.returncode == 2
    assert f"LIBRARY_DIR {tmp_path / 'nope'} is not a directory" in missing.stderr


def test_changed_notes_rebuild_and_replace_the_cache(notes_dir, tmp_path):
    notes = tmp_path / "notes"
    shutil.copytree(notes_dir, notes)
    load_library(notes, tmp_path / "cache")
    before = content_hash(notes, SUPPORTED_SUFFIXES)
    (notes / "extra.md").write_text("# Extra\n\nCapacity providers mix Fargate and Spot.")
    assert content_hash(notes, SUPPORTED_SUFFIXES) != before
    store, source = load_library(notes, tmp_path / "cache")
    assert source == "built"
    assert any(d.metadata["source"] == "extra.md" for d in store.similarity_search("Spot", 3))
    assert [p.name for p in (tmp_path / "cache").iterdir()] == [
        content_hash(notes, SUPPORTED_SUFFIXES)
    ]


def test_a_corrupt_cache_is_rebuilt(notes_dir, tmp_path):
    load_library(notes_dir, tmp_path / "cache")
    for f in (tmp_path / "cache").rglob("docstore.json"):
        f.write_text("{broken")
    store, source = load_library(notes_dir, tmp_path / "cache")
    assert source == "built" and len(store) > 0
    assert load_library(notes_dir, tmp_path / "cache")[1] == "cache"  # the rebuilt one


def test_the_real_notes_answer_an_interview_question(make_settings):
    from tests.service.conftest import started

    c = started(make_settings(LIBRARY_DIR=REPO_DIR / "notes"))
    try:
        r = c.post(
            "/chat",
            json={
                "session_id": "library",
                "message": "What is the difference between the task role "
                "and the task execution role?",
            },
        )
        assert r.status_code == 200
        assert r.json()["grounded"] and r.json()["citations"][0]["source"].endswith(".md")
    finally:
        c.__exit__(None, None, None)
