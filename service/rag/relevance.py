"""Decide which retrieved chunks are relevant enough to answer from."""

from __future__ import annotations

from service.rag.analysis import terms, topic_terms
from service.rag.answers import Hit, Weight

# A chunk counts as relevant when its similarity reaches MIN_SCORE and it shares enough
# topic terms with the question: at least MIN_SHARED of them, or MIN_SHARED_FRACTION of a
# short question's terms ("What is Fargate?" has one). The lexical check is what refuses
# off-topic questions: hashed char n-grams give unrelated text a small similarity, and one
# common word ("level", "point") is shared by chance. Set with bench/retrieval.py: every
# eval question passes, off-topic questions do not.
MIN_SCORE = 0.08
MIN_SHARED = 2
MIN_SHARED_FRACTION = 0.6
# With term weights (the indexed text's IDF, service/rag/lexical.py), shared terms count by
# weight instead: a text holding this share of the question's weight is relevant however
# few terms that is ("CannotPullContainerError" alone outweighs "usually lies behind"),
# and two common words shared by chance are not. Set on bench/tuning, never bench/heldout.
MIN_WEIGHTED_SHARE = 0.45
# A chat model reads meaning, so it judges relevance itself (it is told to say it does not
# know); word evidence only spares it questions that no retrieved chunk shares a real part
# of. A chunk goes to the model when it holds this share of the question's term weight. On
# the tuning sets (bench/tuning, bench/tuning2; never bench/heldout) every answerable and
# near-miss question's best chunk holds at least 0.14, and 15 of the 114 off-topic
# questions' best chunks hold less than 0.1: those are refused without a call.
MODEL_MIN_SHARE = 0.1


def weighted_share(wanted: set[str], text: str, weight: Weight) -> float:
    """Return the share of the wanted terms' total weight that text holds (0 to 1)."""
    total = sum(weight(t) for t in wanted)
    if not total:
        return 0.0
    return sum(weight(t) for t in wanted & set(terms(text))) / total


def shares_enough(wanted: set[str], text: str, weight: Weight | None = None) -> bool:
    """Tell whether text holds enough of the wanted terms (by weight, when weights are given)."""
    if not wanted:
        return False
    shared = len(wanted & set(terms(text)))
    if shared >= MIN_SHARED or shared / len(wanted) >= MIN_SHARED_FRACTION:
        return True
    return weight is not None and weighted_share(wanted, text, weight) >= MIN_WEIGHTED_SHARE


def is_relevant(
    wanted: set[str],
    text: str,
    score: float,
    min_score: float = MIN_SCORE,
    weight: Weight | None = None,
) -> bool:
    """Tell whether a chunk with this similarity shares enough of the wanted terms."""
    return score >= min_score and shares_enough(wanted, text, weight)


def relevant_hits(
    question: str, hits: list[Hit], min_score: float = MIN_SCORE, weight: Weight | None = None
) -> list[Hit]:
    """Keep the hits that are relevant enough to answer the question from."""
    wanted = topic_terms(question)
    return [(d, s) for d, s in hits if is_relevant(wanted, d.page_content, s, min_score, weight)]


def worth_asking(question: str, hits: list[Hit], weight: Weight | None = None) -> list[Hit]:
    """Keep the hits worth a chat model's reading: those holding MODEL_MIN_SHARE of the question."""
    wanted = topic_terms(question)
    if not wanted:
        return []
    if weight is None:
        return [(d, s) for d, s in hits if wanted & set(terms(d.page_content))]
    return [
        (d, s) for d, s in hits if weighted_share(wanted, d.page_content, weight) >= MODEL_MIN_SHARE
    ]
