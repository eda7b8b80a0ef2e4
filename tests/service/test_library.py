"""The notes library: indexed once, cached under DATA_DIR by content hash."""

from __future__ import annotations

import shutil

from service.library import content_hash, load_library
from service.rag.ingest import SUPPORTED_SUFFIXES


def test_second_load_comes_from_the_cache(notes_dir, tmp_path):
    store, cached = load_library(notes_dir, tmp_path / "cache")
    assert not cached and len(store) > 0
    assert load_library(notes_dir, tmp_path / "cache")[1]  # the rebuilt cache replaced it
    again, cached = load_library(notes_dir, tmp_path / "cache")
    assert cached and len(again) == len(store)


def test_changed_notes_rebuild_and_replace_the_cache(notes_dir, tmp_path):
    notes = tmp_path / "notes"
    shutil.copytree(notes_dir, notes)
    load_library(notes, tmp_path / "cache")
    before = content_hash(notes, SUPPORTED_SUFFIXES)
    (notes / "extra.md").write_text("# Extra\n\nCapacity providers mix Fargate and Spot.")
    assert content_hash(notes, SUPPORTED_SUFFIXES) != before
    store, cached = load_library(notes, tmp_path / "cache")
    assert not cached
    assert any(d.metadata["source"] == "extra.md" for d in store.similarity_search("Spot", 3))
    assert [p.name for p in (tmp_path / "cache").iterdir()] == [
        content_hash(notes, SUPPORTED_SUFFIXES)
    ]


def test_a_corrupt_cache_is_rebuilt(notes_dir, tmp_path):
    load_library(notes_dir, tmp_path / "cache")
    for f in (tmp_path / "cache").rglob("docstore.json"):
        f.write_text("{broken")
    store, cached = load_library(notes_dir, tmp_path / "cache")
    assert not cached and len(store) > 0
    assert load_library(notes_dir, tmp_path / "cache")[1]  # the rebuilt cache replaced it


def test_the_real_notes_answer_an_interview_question(make_settings):
    from service.config import REPO_DIR
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
