"""Embed text without model weights: hashed words, bigrams and char n-grams, IDF-weighted."""

from __future__ import annotations

import hashlib
import itertools
import math
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

import numpy as np
from langchain_core.embeddings import Embeddings

from service.rag import analysis, synonyms
from service.rag.analysis import analyze
from service.rag.errors import RagError

# Relative weight of each feature family. Words carry the meaning; bigrams reward phrases
# said the same way; character n-grams catch word forms the stemmer misses
# ("configuration" ~ "configure") and typos. Tuned on bench/retrieval_eval.yaml.
BIGRAM_WEIGHT = 0.5
CHAR_WEIGHT = 0.6
CHAR_NGRAMS = (3, 4)
# 4096 rather than 1024: fewer hash collisions, clearly better recall on the eval set
# (compare `python -m bench.retrieval --dim 1024`), for 16 KB of float32 per chunk.
DEFAULT_DIM = 4096
# Bump when the analyzer, the hashing or what the store embeds (vectorstore._embedding_text)
# changes meaning; indexes saved under another value are then re-embedded on load.
ALGORITHM = "hashing/3"


def fingerprint() -> str:
    """Return a short hash of everything that decides what a vector means."""
    parts = [
        ALGORITHM,
        repr((BIGRAM_WEIGHT, CHAR_WEIGHT, CHAR_NGRAMS)),
        repr(sorted(synonyms.SYNONYMS.items())),
        repr(sorted(synonyms.RELATED.items())),
        repr(sorted(analysis.STOPWORDS)),
    ]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Feature:
    """One hashed feature of a text: its kind, the text it stands for, its bucket and weight."""

    kind: Literal["word", "char", "bigram"]
    text: str  # the stemmed term, the char n-gram ("<dr") or the two terms of a bigram
    index: int  # the vector entry it is added to (shared with any feature hashing there)
    weight: float  # signed, before the vector is L2-normalised


@lru_cache(maxsize=1 << 18)
def _bucket(feature: str, dim: int) -> tuple[int, float]:
    """Return the (index, sign) of a feature: stable across processes, unlike hash()."""
    digest = int.from_bytes(hashlib.blake2b(feature.encode(), digest_size=8).digest(), "little")
    return digest % dim, 1.0 if (digest >> 63) & 1 else -1.0


@lru_cache(maxsize=1 << 16)
def _char_grams(term: str) -> tuple[str, ...]:
    padded = f"<{term}>"
    return tuple(padded[i : i + n] for n in CHAR_NGRAMS for i in range(len(padded) - n + 1)) or (
        padded,
    )


@lru_cache(maxsize=1 << 16)
def _term_features(term: str, dim: int) -> tuple[np.ndarray, np.ndarray]:
    """Return the hashed indices and signed weights of a term and its char n-grams."""
    grams = _char_grams(term)
    share = CHAR_WEIGHT / math.sqrt(len(grams))
    buckets = [_bucket("w:" + term, dim)] + [_bucket("c:" + g, dim) for g in grams]
    idx = np.array([b[0] for b in buckets], dtype=np.int64)
    val = np.array([buckets[0][1]] + [sign * share for _, sign in buckets[1:]], dtype=np.float64)
    return idx, val


def _doc_features(text: str) -> tuple[Counter[str], Counter[str]]:
    """Count the word and bigram features of one text."""
    main, related = analyze(text)
    return (
        Counter((*main, *related)),
        Counter(f"{a} {b}" for a, b in itertools.pairwise(main)),
    )


class HashingEmbeddings(Embeddings):
    """Embed text deterministically by feature hashing; no weights, no network."""

    name = "hashing"

    def __init__(
        self,
        dim: int = DEFAULT_DIM,
        *,
        df: Mapping[str, int] | None = None,
        n_docs: int = 0,
    ) -> None:
        if dim < 16:
            raise RagError(f"embedding dim must be at least 16, got {dim}")
        self.dim = dim
        # Document frequencies of word and bigram features over the indexed corpus. Empty
        # means "not fitted": every feature then weighs the same.
        self.df: dict[str, int] = dict(df or {})
        self.n_docs = n_docs

    # -- IDF ----------------------------------------------------------------------------
    def fit(self, texts: Iterable[str]) -> HashingEmbeddings:
        """Return a copy whose IDF is fitted on texts (this instance is left unchanged)."""
        df: Counter[str] = Counter()
        n = 0
        for text in texts:
            words, bigrams = _doc_features(text)
            df.update(words.keys())
            df.update(bigrams.keys())
            n += 1
        return HashingEmbeddings(self.dim, df=df, n_docs=n)

    @property
    def fitted(self) -> bool:
        """Tell whether an IDF has been fitted."""
        return self.n_docs > 0

    def idf(self, feature: str) -> float:
        """Return the smoothed IDF of a feature (1.0 when not fitted)."""
        if not self.n_docs:
            return 1.0
        return math.log((1 + self.n_docs) / (1 + self.df.get(feature, 0))) + 1.0

    def state(self) -> dict[str, Any]:
        """Return a JSON-safe description from which `from_state` rebuilds this embedder."""
        return {
            "name": self.name,
            "version": fingerprint(),
            "dim": self.dim,
            "n_docs": self.n_docs,
            "df": self.df,
        }

    def compatible(self, state: Mapping[str, Any] | None) -> bool:
        """Tell whether vectors saved with `state` mean the same as this embedder's."""
        return (
            bool(state) and state.get("version") == fingerprint() and state.get("dim") == self.dim
        )

    @classmethod
    def from_state(cls, state: Mapping[str, Any]) -> HashingEmbeddings:
        """Rebuild an embedder from `state()` output."""
        try:
            return cls(int(state["dim"]), df=state.get("df") or {}, n_docs=int(state["n_docs"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise RagError(f"invalid hashing-embedder state: {exc}") from exc

    # -- vectors ------------------------------------------------------------------------
    def vector(self, text: str) -> np.ndarray:
        """Return the L2-normalized float32 vector of one text."""
        words, bigrams = _doc_features(text)
        indices, values = [], []
        for term, tf in words.items():
            idx, val = _term_features(term, self.dim)
            indices.append(idx)
            values.append(val * ((1.0 + math.log(tf)) * self.idf(term)))
        for bigram, tf in bigrams.items():
            idx, sign = _bucket("b:" + bigram, self.dim)
            indices.append(np.array([idx]))
            values.append(
                np.array([sign * (1.0 + math.log(tf)) * self.idf(bigram) * BIGRAM_WEIGHT])
            )
        if not indices:
            return np.zeros(self.dim, dtype=np.float32)
        vec = np.bincount(
            np.concatenate(indices), weights=np.concatenate(values), minlength=self.dim
        ).astype(np.float32)
        norm = float(np.linalg.norm(vec))
        return vec / norm if norm > 0 else vec

    def features(self, text: str) -> list[Feature]:
        """Return the hashed features of one text with their bucket and weight (for explaining).

        Summing the weights per bucket and L2-normalising gives `vector(text)`.
        """
        words, bigrams = _doc_features(text)
        out: list[Feature] = []
        for term, tf in words.items():
            scale = (1.0 + math.log(tf)) * self.idf(term)
            index, sign = _bucket("w:" + term, self.dim)
            out.append(Feature("word", term, index, sign * scale))
            grams = _char_grams(term)
            share = CHAR_WEIGHT / math.sqrt(len(grams))
            for gram in grams:
                index, sign = _bucket("c:" + gram, self.dim)
                out.append(Feature("char", gram, index, sign * share * scale))
        for bigram, tf in bigrams.items():
            index, sign = _bucket("b:" + bigram, self.dim)
            weight = sign * (1.0 + math.log(tf)) * self.idf(bigram) * BIGRAM_WEIGHT
            out.append(Feature("bigram", bigram, index, weight))
        return out

    def matrix(self, texts: list[str]) -> np.ndarray:
        """Embed texts into a float32 matrix, one normalized row per text."""
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            out[row] = self.vector(text)
        return out

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """Embed a batch of documents."""
        return self.matrix(texts).tolist()

    def embed_query(self, text: str) -> list[float]:
        """Embed a query."""
        return self.vector(text).tolist()


def get_embeddings(name: str = "hashing", **kw: Any) -> Embeddings:
    """Return the embeddings named `name`: "hashing" (built in) or "minilm" (needs torch)."""
    if name == "hashing":
        return HashingEmbeddings(**kw)
    if name == "minilm":
        # Imported here: service.rag.minilm imports nothing heavy, and torch only on first use.
        from service.rag.minilm import MiniLMEmbeddings

        return MiniLMEmbeddings(**kw)
    raise RagError(f"unknown embeddings {name!r}; available: 'hashing', 'minilm'")
