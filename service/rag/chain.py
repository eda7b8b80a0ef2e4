"""Tie retrieval and answering together, with history-aware retrieval over several stores."""

from __future__ import annotations

from collections.abc import Sequence

from langchain_core.documents import Document

from service.rag.answers import Answer, Answerer, History, Hit, refusal
from service.rag.errors import RagError
from service.rag.extractive import ExtractiveAnswerer
from service.rag.history import check_history
from service.rag.lexical import term_weights
from service.rag.spelling import correct, unknown_names
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
        """Return the k best (chunk, similarity) hits across all stores, best first.

        Each store ranks by reciprocal rank fusion of embedding similarity and BM25; the
        stores' fused scores are on one scale (ranks), so their hits merge by it.
        """
        k = k or self.k
        ranked: list[tuple[Document, float, float]] = []
        for store in stores:
            if len(store):
                ranked.extend(store.hybrid_search_with_score(question, k))
        ranked.sort(key=lambda r: (-r[2], -r[1]))
        return [(doc, similarity) for doc, similarity, _ in ranked[:k]]

    @staticmethod
    def spelled(stores: Sequence[FaissStore], question: str) -> str:
        """Return the question with words no store knows spelt as the stores spell them."""
        return correct(question, [store.speller() for store in stores if len(store)])

    def ask(
        self, stores: Sequence[FaissStore], question: str, history: History | None = None
    ) -> Answer:
        """Answer a question from `stores` given the conversation so far as [(role, text)]."""
        if isinstance(stores, FaissStore):
            raise RagError("stores must be a sequence of stores: pass [store]")
        history = list(history or [])
        check_history(history)
        standalone = self.spelled(stores, self.answerer.condense(question, history))
        spellers = [store.speller() for store in stores if len(store)]
        if not self.answerer.judges_relevance and unknown_names(standalone, spellers):
            return refusal(standalone)  # it names something no document mentions
        weight = term_weights([store.lexical() for store in stores if len(store)])
        return self.answerer.answer(standalone, self.retrieve(stores, standalone), weight)
