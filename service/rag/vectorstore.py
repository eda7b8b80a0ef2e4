"""Store chunks in a FAISS inner-product index with a JSON docstore; save atomically."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import faiss
import numpy as np
from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings
from langchain_core.vectorstores import VectorStore
from langchain_core.vectorstores.utils import maximal_marginal_relevance

from service.rag.analysis import tokens
from service.rag.embeddings import HashingEmbeddings
from service.rag.errors import IndexLoadError, RagError
from service.rag.fusion import rrf
from service.rag.lexical import Bm25Index
from service.rag.spelling import Speller
from service.rag.storefile import DOCSTORE, read_store, write_store

__all__ = ["DOCSTORE", "FaissStore"]

Filter = dict[str, Any] | Callable[[dict[str, Any]], bool]
# Memory besides vectors and texts, measured with tracemalloc on 1,556 chunks of the notes:
# a Document with its metadata and id per chunk, and one IDF entry per hashed feature.
CHUNK_OVERHEAD_BYTES = 1024
FEATURE_BYTES = 100
# How deep each ranker looks (at least) before their rankings are fused: on bench/tuning,
# depths of 10 to 30 give the same answers, and the shallower search is cheaper.
FUSION_DEPTH = 10
# The rankers' weights in the fusion: (embedding similarity, BM25).
FUSION_WEIGHTS = (1.0, 1.0)


def _matches(metadata: dict[str, Any], where: Filter | None) -> bool:
    if where is None:
        return True
    if callable(where):
        return bool(where(metadata))
    return all(metadata.get(key) == value for key, value in where.items())


def _embedding_text(doc: Document) -> str:
    """Return the text a chunk is embedded from: its section heading, then its content."""
    # The splitter already prefixes the heading path; naming the section once more makes
    # the heading weigh like the strong topic signal it is (section recall@3 on the eval set
    # rises by about three points; see bench/retrieval.py).
    section = doc.metadata.get("section")
    return f"{section}\n{doc.page_content}" if section else doc.page_content


def _check_embedder(
    directory: Path | str, state: dict[str, Any] | None, dim: int | None, embeddings: Embeddings
) -> None:
    """Refuse an index whose vectors were made by another embedder than `embeddings`."""
    # Vectors from another model are not comparable: searching them would return nonsense
    # without any error, so refuse; the caller rebuilds from the documents (the library) or
    # reports the session's index as unreadable.
    saved_name = (state or {}).get("name")
    name = getattr(embeddings, "name", type(embeddings).__name__)
    if saved_name is not None and saved_name != name:
        raise IndexLoadError(
            f"index in {directory} was embedded with {saved_name!r} (dim {dim}); "
            f"it cannot be searched with {name!r}: rebuild it with the same EMBEDDINGS"
        )
    if dim is not None and len(embeddings.embed_query("dim check")) != dim:
        raise IndexLoadError(f"index in {directory} has dim {dim}, the embeddings do not")


class FaissStore(VectorStore):
    """Keep documents in a flat FAISS inner-product index over normalized vectors."""

    def __init__(self, embeddings: Embeddings) -> None:
        # `_base` is what the caller gave; `_embedder` is what vectors are made with. For the
        # hashing embedder it is a copy whose IDF is fitted on this store's own chunks, refitted
        # lazily (before the next search or save) whenever chunks are added or deleted.
        self._base = embeddings
        self._embedder: Embeddings = embeddings
        self._ids: list[str] = []
        self._docs: dict[str, Document] = {}
        self._vectors = np.zeros((0, 0), dtype=np.float32)
        self._index: faiss.IndexFlatIP | None = None
        # Built on first use after a change: the BM25 index and the vocabulary's speller.
        self._lexical: Bm25Index | None = None
        self._speller: Speller | None = None
        self._stale = False
        self._lock = threading.RLock()

    # -- construction -------------------------------------------------------------------
    @classmethod
    def empty(cls, embeddings: Embeddings) -> FaissStore:
        """Return a store with no documents."""
        return cls(embeddings)

    @classmethod
    def from_texts(
        cls,
        texts: list[str],
        embedding: Embeddings,
        metadatas: list[dict[str, Any]] | None = None,
        *,
        ids: list[str] | None = None,
        **kwargs: Any,
    ) -> FaissStore:
        """Build a store from texts."""
        store = cls(embedding)
        store.add_texts(texts, metadatas, ids=ids)
        return store

    @property
    def embeddings(self) -> Embeddings:
        """Return the embedder the vectors are made with (IDF-fitted for hashing)."""
        self._refresh()
        return self._embedder

    def __len__(self) -> int:
        return len(self._ids)

    def memory_bytes(self) -> int:
        """Estimate the memory the store holds: vectors (ours and FAISS's), texts, IDF."""
        with self._lock:
            vectors = self._vectors.nbytes
            if self._index is not None:
                vectors += self._index.ntotal * self._index.d * 4  # IndexFlat keeps a copy
            texts = sum(len(d.page_content) for d in self._docs.values())
            features = len(getattr(self._embedder, "df", None) or ())
            return (
                vectors + texts + len(self._docs) * CHUNK_OVERHEAD_BYTES + features * FEATURE_BYTES
            )

    # -- writes -------------------------------------------------------------------------
    def add_texts(
        self,
        texts: Iterable[str],
        metadatas: list[dict[str, Any]] | None = None,
        *,
        ids: list[str] | None = None,
        **kwargs: Any,
    ) -> list[str]:
        """Add texts (replacing any with the same id); return their ids."""
        texts = list(texts)
        metadatas = metadatas or [{} for _ in texts]
        ids = [i or uuid.uuid4().hex for i in ids] if ids else [uuid.uuid4().hex for _ in texts]
        if not len(texts) == len(metadatas) == len(ids):
            raise RagError("texts, metadatas and ids must have the same length")
        if len(set(ids)) != len(ids):
            raise RagError("duplicate ids in one add")
        with self._lock:
            replaced = [i for i in ids if i in self._docs]
            if replaced:
                self.delete(replaced)
            for i, text, meta in zip(ids, texts, metadatas, strict=True):
                self._docs[i] = Document(page_content=text, metadata=dict(meta), id=i)
                self._ids.append(i)
            self._lexical = self._speller = None
            if isinstance(self._base, HashingEmbeddings):
                self._stale = True
            else:
                batch = [_embedding_text(self._docs[i]) for i in ids]
                vectors = np.asarray(self._embedder.embed_documents(batch), dtype=np.float32)
                self._append(vectors)
        return ids

    def delete(self, ids: list[str] | None = None, **kwargs: Any) -> bool:
        """Delete documents by id; return True if all ids existed."""
        if not ids:
            return False
        with self._lock:
            gone = set(ids) & set(self._docs)
            keep = [n for n, i in enumerate(self._ids) if i not in gone]
            for i in gone:
                del self._docs[i]
            self._ids = [self._ids[n] for n in keep]
            self._lexical = self._speller = None
            if isinstance(self._base, HashingEmbeddings):
                self._stale = True
            elif len(self._vectors):
                self._vectors = self._vectors[keep]
                self._rebuild()
        return len(gone) == len(set(ids))

    def get_by_ids(self, ids: list[str], /) -> list[Document]:
        """Return the documents with these ids (unknown ids are skipped)."""
        return [self._docs[i] for i in ids if i in self._docs]

    def _append(self, vectors: np.ndarray) -> None:
        self._vectors = vectors if not len(self._vectors) else np.vstack([self._vectors, vectors])
        self._rebuild()

    def _rebuild(self) -> None:
        if not len(self._vectors):
            self._index = None
            return
        faiss.normalize_L2(self._vectors)
        self._index = faiss.IndexFlatIP(self._vectors.shape[1])
        self._index.add(self._vectors)

    def _refresh(self) -> None:
        """Refit the hashing IDF on the current chunks and re-embed them, if they changed."""
        with self._lock:
            if not self._stale:
                return
            assert isinstance(self._base, HashingEmbeddings)
            texts = [_embedding_text(self._docs[i]) for i in self._ids]
            fitted = self._base.fit(texts)
            vectors = np.zeros((0, 0), dtype=np.float32)
            if texts:
                vectors = fitted.matrix(texts)
            self._embedder, self._vectors = fitted, vectors
            self._rebuild()
            self._stale = False

    # -- reads --------------------------------------------------------------------------
    def _query_vector(self, query: str) -> np.ndarray:
        self._refresh()
        if isinstance(self._embedder, HashingEmbeddings):  # skip the list round trip
            vec = self._embedder.vector(query).reshape(1, -1)  # a fresh array: normalised in place
        else:
            vec = np.asarray([self._embedder.embed_query(query)], dtype=np.float32)
        faiss.normalize_L2(vec)
        return vec

    def _search(self, vec: np.ndarray, k: int, where: Filter | None) -> list[tuple[int, float]]:
        """Return (row, score) pairs, best first, honouring a metadata filter."""
        if self._index is None or k <= 0:
            return []
        n = len(self._ids) if where is not None else min(k, len(self._ids))
        scores, rows = self._index.search(vec, n)
        if where is None:
            return [(int(r), float(sc)) for r, sc in zip(rows[0], scores[0], strict=True) if r >= 0]
        hits = []
        for row, score in zip(rows[0], scores[0], strict=True):
            if row < 0:
                continue
            if _matches(self._docs[self._ids[row]].metadata, where):
                hits.append((int(row), float(score)))
            if len(hits) == k:
                break
        return hits

    def similarity_search_with_score(
        self, query: str, k: int = 4, filter: Filter | None = None, **kwargs: Any
    ) -> list[tuple[Document, float]]:
        """Return the k closest documents with their cosine similarity (higher is closer)."""
        with self._lock:
            hits = self._search(self._query_vector(query), k, filter)
            return [(self._docs[self._ids[row]], score) for row, score in hits]

    def lexical(self) -> Bm25Index:
        """Return the BM25 index of this store's chunks."""
        with self._lock:
            if self._lexical is None:
                docs = [self._docs[i] for i in self._ids]
                self._lexical = Bm25Index(
                    [(d.metadata.get("section") or "", d.page_content) for d in docs]
                )
            return self._lexical

    def lexical_search_with_score(self, query: str, k: int = 4) -> list[tuple[Document, float]]:
        """Return the k best documents by BM25 alone, with their BM25 scores (for explaining)."""
        with self._lock:
            hits = self.lexical().search(query, k)
            return [(self._docs[self._ids[row]], score) for row, score in hits]

    def speller(self) -> Speller:
        """Return the speller of this store's vocabulary (the words of its chunks)."""
        with self._lock:
            if self._speller is None:
                self._speller = Speller(
                    t for i in self._ids for t in tokens(self._docs[i].page_content)
                )
            return self._speller

    def hybrid_search_with_score(
        self, query: str, k: int = 4
    ) -> list[tuple[Document, float, float]]:
        """Return the k best (document, cosine similarity, fused score) by RRF of both rankers."""
        with self._lock:
            vec = self._query_vector(query)
            if self._index is None or k <= 0:
                return []
            depth = max(k, FUSION_DEPTH)
            dense = self._search(vec, depth, None)
            lexical = self.lexical().search(query, depth)
            fused = rrf([[r for r, _ in dense], [r for r, _ in lexical]], FUSION_WEIGHTS)
            rows = sorted(fused, key=lambda r: -fused[r])[:k]
            cosine = self._vectors[rows] @ vec[0] if rows else []
            return [
                (self._docs[self._ids[r]], float(c), fused[r])
                for r, c in zip(rows, cosine, strict=True)
            ]

    def similarity_search(
        self, query: str, k: int = 4, filter: Filter | None = None, **kwargs: Any
    ) -> list[Document]:
        """Return the k closest documents."""
        return [doc for doc, _ in self.similarity_search_with_score(query, k, filter)]

    def similarity_search_by_vector(
        self, embedding: list[float], k: int = 4, filter: Filter | None = None, **kwargs: Any
    ) -> list[Document]:
        """Return the k documents closest to a vector."""
        vec = np.asarray([embedding], dtype=np.float32)
        faiss.normalize_L2(vec)
        with self._lock:
            self._refresh()
            return [self._docs[self._ids[row]] for row, _ in self._search(vec, k, filter)]

    def max_marginal_relevance_search(
        self,
        query: str,
        k: int = 4,
        fetch_k: int = 20,
        lambda_mult: float = 0.5,
        filter: Filter | None = None,
        **kwargs: Any,
    ) -> list[Document]:
        """Return k documents that are relevant yet diverse (maximal marginal relevance)."""
        with self._lock:
            vec = self._query_vector(query)
            hits = self._search(vec, fetch_k, filter)
            if not hits:
                return []
            candidates = self._vectors[[row for row, _ in hits]]
            picked = maximal_marginal_relevance(vec[0], candidates, lambda_mult=lambda_mult, k=k)
            return [self._docs[self._ids[hits[p][0]]] for p in picked]

    def _select_relevance_score_fn(self) -> Callable[[float], float]:
        # Cosine similarity of normalized vectors, clipped into [0, 1].
        return lambda score: min(1.0, max(0.0, score))

    # -- persistence --------------------------------------------------------------------
    def save(self, directory: Path | str) -> None:
        """Save atomically: a new index file, then the JSON docstore that names it."""
        with self._lock:
            self._refresh()
            embedder = self._embedder
            write_store(
                Path(directory),
                index_bytes=b""
                if self._index is None
                else faiss.serialize_index(self._index).tobytes(),
                dim=self._vectors.shape[1] if len(self._vectors) else None,
                embedding={
                    "class": type(self._base).__name__,
                    # Hashing and MiniLM record their name and dim, so a load can tell them apart.
                    "state": embedder.state() if hasattr(embedder, "state") else None,
                },
                ids=list(self._ids),
                docs=self._docs,
            )

    @classmethod
    def load(cls, directory: Path | str, embeddings: Embeddings) -> FaissStore:
        """Load a saved store; raise IndexLoadError if it is missing, corrupt or mismatched."""
        saved = read_store(Path(directory))
        store = cls(embeddings)
        store._ids, store._docs = saved.ids, saved.docs
        if isinstance(embeddings, HashingEmbeddings):
            if not embeddings.compatible(saved.embedding_state):
                # Saved by another embedder version or dim: the texts are in the docstore,
                # so re-embed them (lazily) rather than refuse the index.
                store._stale = True
                return store
            store._embedder = HashingEmbeddings.from_state(saved.embedding_state)
        else:
            _check_embedder(directory, saved.embedding_state, saved.dim, embeddings)
        if not saved.ids:
            return store
        try:
            index = faiss.deserialize_index(np.frombuffer(saved.index_bytes, dtype=np.uint8))
        except RuntimeError as exc:
            raise IndexLoadError(f"index file {saved.index_path} is corrupt: {exc}") from exc
        if index.ntotal != len(saved.ids) or index.d != saved.dim:
            raise IndexLoadError(
                f"index file {saved.index_path} holds {index.ntotal} vectors of dim {index.d}, "
                f"docstore expects {len(saved.ids)} of dim {saved.dim}"
            )
        store._vectors = index.reconstruct_n(0, index.ntotal)
        store._index = index
        return store
