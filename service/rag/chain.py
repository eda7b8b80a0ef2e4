"""Tie retrieval and answering together, with history-aware retrieval over several stores."""

from __future__ import annotations

from collections.abc import Sequence

from service.rag.answers import Answer, Answerer, History, Hit
from service.rag.errors import RagError
from service.rag.extractive import ExtractiveAnswerer
from service.rag.history import check_history
from service.rag.vectorstore import FaissStore

# The default cap; the service passes its own MAX_MESSAGE_CHARS instead.
MAX_QUESTION_CHARS = 2000


class RagChain:
    """Answer questions from one or more stores, rewriting follow-ups before retrieval."""

    def __init__(
        self,
        store: FaissStore | Sequence[FaissStore],
        answerer: Answerer | None = None,
        k: int = 4,
        *,
        max_question_chars: int = MAX_QUESTION_CHARS,
    ) -> None:
        stores = [store] if isinstance(store, FaissStore) else list(store)
        if not stores:
            raise RagError("RagChain needs at least one store")
        if k < 1:
            raise RagError(f"k must be at least 1, got {k}")
        if max_question_chars < 1:
            raise RagError(f"max_question_chars must be at least 1, got {max_question_chars}")
        self.max_question_chars = max_question_chars
        self.stores = stores
        self.answerer = answerer if answerer is not None else ExtractiveAnswerer()
        self.k = k

    @classmethod
    def for_stores(
        cls,
        stores: Sequence[FaissStore],
        answerer: Answerer | None = None,
        k: int = 4,
        *,
        max_question_chars: int = MAX_QUESTION_CHARS,
    ) -> RagChain:
        """Search several stores together (e.g. a session's uploads and the notes library)."""
        return cls(list(stores), answerer, k, max_question_chars=max_question_chars)

    def retrieve(self, question: str, k: int | None = None) -> list[Hit]:
        """Return the k best (chunk, similarity) hits across all stores, best first."""
        k = k or self.k
        hits: list[Hit] = []
        for store in self.stores:
            if len(store):
                hits.extend(store.similarity_search_with_score(question, k))
        hits.sort(key=lambda hit: -hit[1])
        return hits[:k]

    def ask(self, question: str, history: History | None = None) -> Answer:
        """Answer a question given the conversation so far as [(role, text)]."""
        question = (question or "").strip()
        if not question:
            raise RagError("the question is empty")
        if len(question) > self.max_question_chars:
            raise RagError(f"the question is longer than {self.max_question_chars} characters")
        history = list(history or [])
        check_history(history)
        standalone = self.answerer.condense(question, history)
        return self.answerer.answer(standalone, self.retrieve(standalone))
