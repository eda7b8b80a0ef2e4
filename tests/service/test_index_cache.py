"""Session indexes stay in memory within INDEX_CACHE_MB, least recently used dropped first."""

from __future__ import annotations

import pytest

from service.indexcache import IndexCache
from service.rag.embeddings import get_embeddings
from service.rag.ingest import load_bytes, split_documents
from service.rag.vectorstore import FaissStore
from tests.service.builders import GUIDE_MD
from tests.service.conftest import started, upload

QUESTION = "What does the circuit breaker do?"


class Sized:
    """A stand-in index that reports a fixed size."""

    def __init__(self, nbytes: int) -> None:
        self.nbytes = nbytes

    def memory_bytes(self) -> int:
        return self.nbytes


def test_the_cache_drops_the_least_recently_used_to_stay_in_budget():
    cache = IndexCache(budget_bytes=100)
    a, b, c = Sized(40), Sized(40), Sized(40)
    assert cache.put("a", "v1", a) and cache.put("b", "v1", b)
    assert cache.get("a", "v1") is a  # a is now the most recently used
    assert cache.put("c", "v1", c)
    assert "b" not in cache and cache.get("a", "v1") is a and cache.get("c", "v1") is c
    assert cache.nbytes == 80


def test_an_index_larger_than_the_budget_is_not_kept_and_evicts_nothing():
    cache = IndexCache(budget_bytes=100)
    small = Sized(30)
    cache.put("small", "v1", small)
    assert not cache.put("huge", "v1", Sized(101))
    assert "huge" not in cache and cache.get("small", "v1") is small
    assert cache.nbytes == 30


def test_a_new_snapshot_replaces_the_old_one_and_drop_forgets_it():
    cache = IndexCache(budget_bytes=100)
    cache.put("a", "v1", Sized(30))
    newer = Sized(50)
    cache.put("a", "v2", newer)
    assert cache.get("a", "v1") is None and cache.get("a", "v2") is newer
    assert cache.nbytes == 50
    cache.drop("a")
    assert "a" not in cache and cache.nbytes == 0


def test_the_estimate_counts_both_vector_copies_and_the_texts():
    chunks = split_documents(load_bytes(GUIDE_MD.encode() * 20, "guide.txt"))
    store = FaissStore.empty(get_embeddings("hashing"))
    store.add_documents(chunks)
    store.embeddings  # noqa: B018 - embed now, as a loaded index is
    dim = len(store.embeddings.embed_query("x"))
    texts = sum(len(c.page_content) for c in chunks)
    assert store.memory_bytes() >= 2 * len(chunks) * dim * 4 + texts


@pytest.mark.parametrize("mb", [0, 0.01])
def test_an_index_over_the_budget_is_used_but_not_kept(make_settings, mb):
    c = started(make_settings(INDEX_CACHE_MB=mb))
    try:
        sid = upload(c, ("guide.md", GUIDE_MD.encode())).json()["session_id"]
        r = c.post("/chat", json={"session_id": sid, "message": QUESTION})
        assert r.status_code == 200 and r.json()["citations"][0]["source"] == "guide.md"
        cache = c.app.state.runtime.sessions.cache
        assert sid not in cache and cache.nbytes == 0
    finally:
        c.__exit__(None, None, None)


def test_the_service_keeps_only_what_fits(make_settings):
    c = started(make_settings(INDEX_CACHE_MB=0.06))  # about 63 KB: one small index, not two
    try:
        cache = c.app.state.runtime.sessions.cache
        first = upload(c, ("guide.md", GUIDE_MD.encode())).json()["session_id"]
        assert first in cache and 0 < cache.nbytes <= cache.budget
        second = upload(c, ("other.md", GUIDE_MD.encode())).json()["session_id"]
        assert second in cache and first not in cache
        assert cache.nbytes <= cache.budget
        r = c.post("/chat", json={"session_id": first, "message": QUESTION})  # reloaded
        assert r.status_code == 200 and r.json()["citations"][0]["source"] == "guide.md"
        assert first in cache and second not in cache
    finally:
        c.__exit__(None, None, None)
