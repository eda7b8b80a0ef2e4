"""Test the pieces that open the RAG box: features, BM25-only hits, scored and picked sentences."""

from __future__ import annotations

import numpy as np
import pytest

from service.rag.chain import RagChain
from service.rag.embeddings import HashingEmbeddings
from service.rag.extractive import ExtractiveAnswerer
from service.rag.fusion import rrf
from service.rag.lexical import term_weights
from service.rag.relevance import relevant_hits
from service.rag.vectorstore import FUSION_DEPTH, FUSION_WEIGHTS

QUESTION = "How long is a Fargate Spot warning before the task is interrupted?"


def _recompose(features, dim: int) -> np.ndarray:
    vec = np.zeros(dim)
    for f in features:
        vec[f.index] += f.weight
    norm = np.linalg.norm(vec)
    return vec / norm if norm else vec


@pytest.mark.parametrize(
    "text", [QUESTION, "scaling scaling policies and a scaling policy", "Fargate", ""]
)
def test_features_sum_to_the_vector_the_embedder_makes(store, text):
    """Adding each feature's weight into its bucket and normalising gives vector(text)."""
    embedder = store.embeddings  # IDF-fitted on the store's chunks
    assert np.allclose(_recompose(embedder.features(text), embedder.dim), embedder.vector(text))


def test_features_name_words_bigrams_and_char_grams_of_the_stemmed_text():
    """'draining targets' yields the stems, their bigram and padded char n-grams."""
    features = HashingEmbeddings(dim=64).features("draining targets")
    by_kind = {k: [f.text for f in features if f.kind == k] for k in ("word", "bigram", "char")}
    assert by_kind["word"] == ["drain", "target"]
    assert by_kind["bigram"] == ["drain target"]
    assert "<dr" in by_kind["char"] and "get>" in by_kind["char"]
    assert all(0 <= f.index < 64 for f in features)


def test_lexical_search_returns_documents_bm25_ranks_first(store):
    """BM25 alone puts the pricing section first for a Spot question; scores fall."""
    hits = store.lexical_search_with_score("Fargate Spot interrupted warning", 3)
    assert hits[0][0].metadata["section"] == "Pricing"
    assert hits[0][0].metadata["source"] == "fargate.md"
    assert [s for _, s in hits] == sorted((s for _, s in hits), reverse=True)
    assert store.lexical_search_with_score("sourdough bread", 3) == []


def test_fusing_the_two_rankings_by_hand_gives_the_hybrid_order(store):
    """RRF of the dense and BM25 rankings reproduces hybrid_search_with_score's order."""
    dense = store.similarity_search_with_score(QUESTION, FUSION_DEPTH)
    lexical = store.lexical_search_with_score(QUESTION, FUSION_DEPTH)
    fused = rrf([[d.id for d, _ in dense], [d.id for d, _ in lexical]], FUSION_WEIGHTS)
    by_hand = sorted(fused, key=lambda i: -fused[i])[:3]
    assert by_hand == [d.id for d, _, _ in store.hybrid_search_with_score(QUESTION, 3)]


def test_scored_sentences_explain_the_answer_the_answerer_gives(store):
    """The picked lines are the answer's sentences; the best one scores highest, parts add up."""
    answerer = ExtractiveAnswerer()
    weight = term_weights([store.lexical()])
    hits = relevant_hits(QUESTION, RagChain(answerer).retrieve([store], QUESTION), weight=weight)
    scored = answerer.score_sentences(QUESTION, hits, weight)
    assert [s.total for s in scored] == sorted((s.total for s in scored), reverse=True)
    best = scored[0]
    w = answerer.weights
    parts = w[0] * best.overlap + w[1] * best.similarity + w[2] * best.retrieval + w[3] * best.fit
    assert best.total == pytest.approx(parts)
    assert "two-minute warning" in best.sentence and best.fit > 0  # "how long" wants a figure
    picked = answerer.pick(scored)
    assert picked[0][2] == "best score"
    answer = answerer.answer(QUESTION, hits, weight)
    assert answer.text == " ".join(f"{s} [1]" for s, _, _ in picked)


def test_a_sentence_without_the_question_terms_is_not_scored(store):
    """Sentences sharing no term with the question never become candidates."""
    answerer = ExtractiveAnswerer()
    hits = store.similarity_search_with_score("circuit breaker rollback", 4)
    scored = answerer.score_sentences("circuit breaker rollback", hits)
    assert scored and all("Fargate" not in s.sentence for s in scored)
    assert all(s.overlap > 0 for s in scored)
