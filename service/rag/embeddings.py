"""Embed text without model weights: hashed words, bigrams and char n-grams, IDF-weighted."""

from __future__ import annotations

import hashlib
import math
from collections import Counter
from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any

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
# 4096 rather than 1024: fewer hash collisions lift section recall@3 on the eval set from
# about 0.90 to 0.94 (bench/retrieval.py), for 16 KB per chunk.
DEFAULT_DIM = 4096
# Bump when the analyzer or the hashing changes meaning; saved indexes are then re-embedded.
ALGORITHM = "hashing/1"


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


@lru_cache(maxsize=1 << 18)
def _bucket(feature: str, dim: int) -> tuple[int, float]:
    """Return the (index, sign) of a feature: stable across processes, unlike hash()."""
    digest = int.from_bytes(hashlib.blake2b(feature.encode(), digest_size=8).digest(), "little")
    return digest % dim, 1.0 if (digest >> 63) & 1 else -1.0


@lru_cache(maxsize=1 << 16)
def _char_grams(term: str) -> tuple[str, ...]:
    padded = f"<{term}>"
    return tuple(
        padded[i : i + n] for n in CHAR_NGRAMS for i in range(len(padded) - n + 1)
    ) or (padded,)


def _doc_features(text: str) -> tuple[Counter[str], Counter[str]]:
    """Count the word and bigram features of one text."""
    main, related = analyze(text)
    return (
        Counter((*main, *related)),
        Counter(f"{a} {b}" for a, b in zip(main, main[1:], strict=False)),
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
        return bool(state) and state.get("version") == fingerprint() and state.get("dim") == self.dim

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
        vec = np.zeros(self.dim, dtype=np.float32)
        words, bigrams = _doc_features(text)
        for term, tf in words.items():
            weight = (1.0 + math.log(tf)) * self.idf(term)
            idx, sign = _bucket("w:" + term, self.dim)
            vec[idx] += sign * weight
            grams = _char_grams(term)
            share = weight * CHAR_WEIGHT / math.sqrt(len(grams))
            for gram in grams:
                idx, sign = _bucket("c:" + gram, self.dim)
                vec[idx] += sign * share
        for bigram, tf in bigrams.items():
            weight = (1.0 + math.log(tf)) * self.idf(bigram) * BIGRAM_WEIGHT
            idx, sign = _bucket("b:" + bigram, self.dim)
            vec[idx] += sign * weight
        norm = float(np.linalg.norm(vec))
        return vec / norm if norm > 0 else vec

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """Embed a batch of documents."""
        return [self.vector(t).tolist() for t in texts]

    def embed_query(self, text: str) -> list[float]:
        """Embed a query."""
        return self.vector(text).tolist()


def get_embeddings(name: str = "hashing", **kw: Any) -> Embeddings:
    """Return the embeddings named `name` ("hashing" is the only built-in one)."""
    if name == "hashing":
        return HashingEmbeddings(**kw)
    raise RagError(f"unknown embeddings {name!r}; available: 'hashing'")
