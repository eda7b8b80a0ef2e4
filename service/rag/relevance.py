"""Decide which retrieved chunks are relevant enough to answer from."""

from __future__ import annotations

from service.rag.analysis import terms, topic_terms
from service.rag.answers import Hit

# A chunk counts as relevant when its similarity reaches MIN_SCORE and it shares at least
# one topic term with the question. The lexical check is what refuses off-topic questions:
# hashed char n-grams give unrelated text a small non-zero similarity, shared terms do not.
# MIN_SCORE is set from bench/retrieval.py (on-topic best hits vs off-topic best hits).
MIN_SCORE = 0.08


def relevant_hits(question: str, hits: list[Hit], min_score: float = MIN_SCORE) -> list[Hit]:
    """Keep the hits that reach min_score and share a topic term with the question."""
    wanted = topic_terms(question)
    if not wanted:
        return []
    return [
        (doc, score)
        for doc, score in hits
        if score >= min_score and wanted & set(terms(doc.page_content))
    ]
