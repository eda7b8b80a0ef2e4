"""Rank chunks by BM25 over the analyzer's terms, with the section headings weighted up."""

from __future__ import annotations

import functools
import math
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence

import numpy as np

from service.rag.analysis import terms

# Okapi BM25's usual constants: k1 saturates repeated terms, b normalises by chunk length.
K1 = 1.2
B = 0.75
# A heading term counts as this many extra occurrences: a section's title says what the whole
# section is about, where a body word may be in passing. A chunk's text already starts with its
# heading path ("Note title > Section"), so a section's heading terms count 1 + 3 = 4 times in
# all and the note's title terms once. Indexing the body without that line (section 3 times,
# or the whole path 3 times) was measured on 2026-12-06 on bench/tuning and the retrieval eval
# set: within a question or two either way, so the tuned counts stay.
TITLE_WEIGHT = 3


class Bm25Index:
    """Score chunks for a query with Okapi BM25 (Robertson and Zaragoza, 2009)."""

    def __init__(self, docs: Sequence[tuple[str, str]]) -> None:
        """Index (heading, body) pairs; row n of every result is docs[n]."""
        self.n = len(docs)
        self._postings: dict[str, list[tuple[int, float]]] = defaultdict(list)
        lengths = np.zeros(self.n, dtype=np.float64)
        for row, (heading, body) in enumerate(docs):
            tf: Counter[str] = Counter(terms(body))
            for term in terms(heading):
                tf[term] += TITLE_WEIGHT
            lengths[row] = sum(tf.values())
            for term, count in tf.items():
                self._postings[term].append((row, float(count)))
        avg = float(lengths.mean()) if self.n else 0.0
        # The length normaliser of each chunk: k1 * (1 - b + b * |d| / avgdl).
        self._norm = K1 * (1 - B + B * lengths / avg) if avg else np.full(self.n, K1)
        self._arrays = {
            t: (np.fromiter((r for r, _ in p), np.int64), np.fromiter((c for _, c in p), float))
            for t, p in self._postings.items()
        }

    def idf(self, term: str) -> float:
        """Return BM25's IDF of a term (0 for a term no chunk holds)."""
        df = len(self._postings.get(term, ()))
        return math.log(1 + (self.n - df + 0.5) / (df + 0.5)) if df else 0.0

    def known(self, term: str) -> bool:
        """Tell whether any chunk holds the term."""
        return term in self._postings

    def scores(self, query: str) -> np.ndarray:
        """Return every chunk's BM25 score for the query (repeated query terms count once)."""
        out = np.zeros(self.n, dtype=np.float64)
        for term in set(terms(query)):
            if term not in self._arrays:
                continue
            rows, tf = self._arrays[term]
            out[rows] += self.idf(term) * tf * (K1 + 1) / (tf + self._norm[rows])
        return out

    def search(self, query: str, k: int) -> list[tuple[int, float]]:
        """Return up to k (row, score) pairs with a positive score, best first."""
        if not self.n or k <= 0:
            return []
        scores = self.scores(query)
        top = np.argsort(-scores, kind="stable")[:k]
        return [(int(r), float(scores[r])) for r in top if scores[r] > 0]


def term_weights(indexes: Sequence[Bm25Index]) -> Callable[[str], float]:
    """Return a term's weight across indexes: its highest IDF, or the top IDF if unknown."""
    # A term no chunk holds weighs like the rarest term: it is what the question is about
    # and nothing answers it, which should count against every chunk.
    unknown = max((math.log(1 + (ix.n + 0.5) / 0.5) for ix in indexes), default=1.0)

    @functools.cache  # one question's few terms are weighed for every sentence it meets
    def weight(term: str) -> float:
        return max((ix.idf(term) for ix in indexes if ix.known(term)), default=unknown)

    return weight
