"""Tie retrieval and answering together, with history-aware retrieval over several stores."""

from __future__ import annotations

from collections.abc import Sequence

from service.rag.answers import Answer, Answerer, History, Hit
from service.rag.errors import RagError
from service.rag.extractive import ExtractiveAnswerer
from service.rag.history import check_history
from service.rag.vectorstore import FaissStore


class RagChain:
    """Answer questions from the stores each call names, rewriting follow-ups before retrieval.

    One chain per answerer: it holds no per-question state, so the service builds it once and
    passes each question the stores of its session (its uploads, the notes library or both).
    """

    def __init__(self, answerer: Answerer | None = None, *, k: int = 4) -> None:
        if k < 1:
            raise RagError(f"k must be at least 1, got {k}")
        self.answerer = answerer if answerer is not None else ExtractiveAnswerer()
        self.k = k

    def retrieve(
        self, stores: Sequence[FaissStore], question: str, k: int | None = None
    ) -> list[Hit]:
        """Return the k best (chunk, similarity) hits across all stores, best first."""
        k = k or self.k
        hits: list[Hit] = []
        for store in stores:
            if len(store):
                hits.extend(store.similarity_search_with_score(question, k))
        hits.sort(key=lambda hit: -hit[1])
        return hits[:k]

    def ask(
        self, stores: Sequence[FaissStore], question: str, history: History | None = None
    ) -> Answer:
        """Answer a question from `stores` given the conversation so far as [(role, text)]."""
        if isinstance(stores, FaissStore):
            raise RagError("stores must be a sequence of stores: pass [store]")
        history = list(history or [])
        check_history(history)
        standalone = self.answerer.condense(question, history)
        return self.answerer.answer(standalone, self.retrieve(stores, standalone))
