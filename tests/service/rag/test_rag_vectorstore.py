"""Test the FAISS store: search, delete, atomic save, safe load."""

from __future__ import annotations

import json
import os
import pickle
from pathlib import Path

import pytest
from langchain_core.documents import Document
from langchain_core.embeddings import FakeEmbeddings

from service.rag import embeddings as embeddings_module
from service.rag.embeddings import HashingEmbeddings
from service.rag.errors import IndexLoadError, RagError
from service.rag.vectorstore import DOCSTORE, FaissStore


def top_source(store: FaissStore, query: str) -> str:
    return store.similarity_search(query, k=1)[0].metadata["source"]


def test_similarity_search_finds_the_paraphrased_chunk(store):
    assert top_source(store, "how much does serverless Fargate cost?") == "fargate.md"
    assert top_source(store, "revert a failed release") == "deploy.md"
    hits = store.similarity_search_with_score("where does stdout go", k=3)
    assert hits[0][0].metadata["source"] == "logs.txt"
    assert hits[0][1] >= hits[1][1] >= hits[2][1]


def test_empty_store_returns_nothing():
    store = FaissStore.empty(HashingEmbeddings())
    assert len(store) == 0
    assert store.similarity_search("anything") == []
    assert store.max_marginal_relevance_search("anything") == []


def test_filter_restricts_results_by_metadata(store):
    docs = store.similarity_search("health checks", k=3, filter={"source": "deploy.md"})
    assert docs and all(d.metadata["source"] == "deploy.md" for d in docs)


def test_mmr_returns_k_distinct_documents(store):
    docs = store.max_marginal_relevance_search("deployment", k=3, fetch_k=6)
    assert len(docs) == 3
    assert len({d.id for d in docs}) == 3


def test_delete_removes_documents_and_reports_unknown_ids(store):
    ids = store.add_texts(["zebra crossing notes"], [{"source": "z.txt"}])
    assert top_source(store, "zebra") == "z.txt"
    assert store.delete(ids) is True
    assert all(d.metadata["source"] != "z.txt" for d in store.similarity_search("zebra", k=10))
    assert store.delete(["no-such-id"]) is False


def test_adding_an_existing_id_replaces_it():
    store = FaissStore.empty(HashingEmbeddings())
    store.add_texts(["old text about logs"], ids=["a"])
    store.add_texts(["new text about alb"], ids=["a"])
    assert len(store) == 1
    assert store.get_by_ids(["a"])[0].page_content == "new text about alb"


def test_store_works_with_other_embeddings_too():
    store = FaissStore.from_texts(["a", "b"], FakeEmbeddings(size=8))
    assert len(store.similarity_search("a", k=2)) == 2
    store.delete([store.similarity_search("a", k=1)[0].id])
    assert len(store) == 1


def test_save_and_load_round_trip(store, tmp_path):
    before = store.similarity_search_with_score("fargate spot interruption", k=3)
    store.save(tmp_path / "idx")
    loaded = FaissStore.load(tmp_path / "idx", HashingEmbeddings())
    assert len(loaded) == len(store)
    after = loaded.similarity_search_with_score("fargate spot interruption", k=3)
    assert [(d.id, d.metadata, d.page_content) for d, _ in after] == [
        (d.id, d.metadata, d.page_content) for d, _ in before
    ]
    assert [s for _, s in after] == pytest.approx([s for _, s in before])
    # the fitted IDF travels with the index
    assert json.loads((tmp_path / "idx" / DOCSTORE).read_text())["embedding"]["state"]["n_docs"]


def test_empty_store_round_trips(tmp_path):
    FaissStore.empty(HashingEmbeddings()).save(tmp_path)
    assert len(FaissStore.load(tmp_path, HashingEmbeddings())) == 0


def test_save_leaves_one_index_file_and_no_temp_files(store, tmp_path):
    store.save(tmp_path / "idx")
    store.add_texts(["more text"])
    store.save(tmp_path / "idx")
    names = sorted(p.name for p in (tmp_path / "idx").iterdir())
    assert len(names) == 2 and names[0] == DOCSTORE and names[1].endswith(".faiss")


def test_crash_during_save_keeps_the_previous_index_loadable(store, tmp_path, monkeypatch):
    store.save(tmp_path)
    store.add_texts(["a brand new chunk about zebras"], [{"source": "zebra.txt"}])
    real_replace = os.replace

    def crash_on_docstore(src, dst):
        if Path(dst).name == DOCSTORE:
            raise OSError("disk full")
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", crash_on_docstore)
    with pytest.raises(OSError, match="disk full"):
        store.save(tmp_path)
    monkeypatch.setattr(os, "replace", real_replace)
    loaded = FaissStore.load(tmp_path, HashingEmbeddings())
    assert len(loaded) == len(store) - 1
    assert not list(tmp_path.glob(".*.tmp"))


def test_crash_while_writing_the_index_keeps_the_previous_index(store, tmp_path, monkeypatch):
    store.save(tmp_path)
    monkeypatch.setattr(os, "replace", lambda *a: (_ for _ in ()).throw(OSError("boom")))
    store.add_texts(["another chunk"])
    with pytest.raises(OSError, match="boom"):
        store.save(tmp_path)
    monkeypatch.undo()
    assert len(FaissStore.load(tmp_path, HashingEmbeddings())) == len(store) - 1


def test_load_never_unpickles(store, tmp_path, monkeypatch):
    store.save(tmp_path)

    def forbidden(*args, **kwargs):
        raise AssertionError("pickle used during load")

    monkeypatch.setattr(pickle, "load", forbidden)
    monkeypatch.setattr(pickle, "loads", forbidden)
    monkeypatch.setattr(pickle, "Unpickler", forbidden)
    assert len(FaissStore.load(tmp_path, HashingEmbeddings())) == len(store)


def test_a_pickle_file_in_place_of_the_docstore_is_rejected(tmp_path):
    (tmp_path / DOCSTORE).write_bytes(pickle.dumps({"format": "x"}))
    with pytest.raises(IndexLoadError, match="corrupt docstore"):
        FaissStore.load(tmp_path, HashingEmbeddings())


def test_missing_index_raises_a_clear_error(tmp_path):
    with pytest.raises(IndexLoadError, match=r"no saved index.*docstore.json is missing"):
        FaissStore.load(tmp_path / "nothing", HashingEmbeddings())


def test_missing_index_file_raises(store, tmp_path):
    store.save(tmp_path)
    next(tmp_path.glob("*.faiss")).unlink()
    with pytest.raises(IndexLoadError, match=r"index file .* is missing"):
        FaissStore.load(tmp_path, HashingEmbeddings())


@pytest.mark.parametrize(
    ("target", "damage", "message"),
    [
        ("docstore", b"{not json", "corrupt docstore"),
        ("docstore", b'{"format": "other/9"}', "is not a"),
        ("docstore", b"[]", "is not a"),
        ("index", b"\x00garbage", "checksum mismatch"),
    ],
)
def test_corrupt_files_raise_index_load_error(store, tmp_path, target, damage, message):
    store.save(tmp_path)
    path = tmp_path / DOCSTORE if target == "docstore" else next(tmp_path.glob("*.faiss"))
    path.write_bytes(damage)
    with pytest.raises(IndexLoadError, match=message) as info:
        FaissStore.load(tmp_path, HashingEmbeddings())
    assert isinstance(info.value, RagError)


def test_docstore_missing_a_document_raises(store, tmp_path):
    store.save(tmp_path)
    payload = json.loads((tmp_path / DOCSTORE).read_text())
    payload["docs"].pop(payload["ids"][0])
    (tmp_path / DOCSTORE).write_text(json.dumps(payload))
    with pytest.raises(IndexLoadError, match="bad document"):
        FaissStore.load(tmp_path, HashingEmbeddings())


def test_loading_with_another_dim_or_embedder_version_re_embeds(store, tmp_path, monkeypatch):
    store.save(tmp_path)
    smaller = FaissStore.load(tmp_path, HashingEmbeddings(dim=512))
    assert smaller.embeddings.dim == 512
    assert smaller.similarity_search("how is Fargate billed", k=1)[0].metadata["section"] == (
        "Pricing"
    )
    monkeypatch.setattr(embeddings_module, "ALGORITHM", "hashing/next")
    again = FaissStore.load(tmp_path, HashingEmbeddings())
    assert (
        again.embeddings.state()["version"]
        != json.loads((tmp_path / DOCSTORE).read_text())["embedding"]["state"]["version"]
    )
    assert again.similarity_search("how is Fargate billed", k=1)[0].metadata["section"] == (
        "Pricing"
    )


def test_loading_with_other_embeddings_of_another_dim_raises(tmp_path):
    FaissStore.from_texts(["a", "b"], FakeEmbeddings(size=8)).save(tmp_path)
    with pytest.raises(IndexLoadError, match="dim 8"):
        FaissStore.load(tmp_path, FakeEmbeddings(size=16))


def test_metadata_that_is_not_json_is_refused_on_save(tmp_path):
    store = FaissStore.empty(HashingEmbeddings())
    store.add_documents([Document(page_content="x", metadata={"when": object()})])
    with pytest.raises(RagError, match="JSON-serializable"):
        store.save(tmp_path)


def test_mismatched_lengths_are_refused():
    with pytest.raises(RagError, match="same length"):
        FaissStore.empty(HashingEmbeddings()).add_texts(["a", "b"], [{}])


def test_store_plugs_into_langchain_retrievers(store):
    retriever = store.as_retriever(search_type="mmr", search_kwargs={"k": 2, "fetch_k": 5})
    docs = retriever.invoke("how much does serverless Fargate cost?")
    assert len(docs) == 2 and docs[0].metadata["source"] == "fargate.md"
    scored = store.similarity_search_with_relevance_scores("Fargate pricing", k=3)
    assert all(0.0 <= score <= 1.0 for _, score in scored)
