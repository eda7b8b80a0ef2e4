"""Relevance boundaries: exactly MIN_SHARED shared terms and a score of MIN_SCORE still count."""

import math

from langchain_core.documents import Document

from service.rag.analysis import topic_terms
from service.rag.relevance import (
    MIN_SCORE,
    MIN_SHARED,
    MIN_SHARED_FRACTION,
    MODEL_MIN_SHARE,
    is_relevant,
    relevant_hits,
    shares_enough,
    worth_asking,
)

# Words the analyzer keeps as they are (no stem, synonym or related concept), so a text
# holding n of them shares exactly n terms with a question made of all of them.
WORDS = ["quokka", "marmot", "ibex", "tapir", "okapi", "lemur", "gecko", "heron", "bison", "walrus"]
QUESTION = " ".join(WORDS) + "?"
WANTED = topic_terms(QUESTION)
JUST_BELOW_MIN_SCORE = math.nextafter(MIN_SCORE, 0.0)


def sharing(n: int) -> str:
    """Return a chunk text that shares exactly n of the question's terms."""
    return " ".join(["Unrelated filler prose about", *WORDS[:n], "and nothing else."])


def test_the_fixture_question_counts_one_term_per_word():
    assert set(WORDS) == WANTED
    # One term fewer than MIN_SHARED is far below the short-question fraction, so the
    # boundary tests below are decided by the MIN_SHARED count alone.
    assert (MIN_SHARED - 1) / len(WANTED) < MIN_SHARED_FRACTION


def test_exactly_min_shared_terms_are_enough():
    assert shares_enough(WANTED, sharing(MIN_SHARED))


def test_one_term_fewer_than_min_shared_is_not_enough():
    assert not shares_enough(WANTED, sharing(MIN_SHARED - 1))


def test_no_wanted_terms_never_share_enough():
    assert not shares_enough(set(), sharing(len(WORDS)))


def test_a_one_term_question_is_answered_by_a_chunk_holding_that_term():
    # "What is Fargate?" has a single topic term: the fraction rule lets it through.
    wanted = topic_terms("What is Fargate?")
    assert len(wanted) == 1 < MIN_SHARED
    assert shares_enough(wanted, "Fargate runs each task on its own micro-VM.")


def test_one_chance_word_of_a_two_term_question_is_not_enough():
    # 1 of 2 terms (0.5) is below MIN_SHARED_FRACTION and below MIN_SHARED.
    wanted = {"quokka", "marmot"}
    assert not shares_enough(wanted, sharing(1))


def test_a_score_of_exactly_min_score_is_relevant():
    assert is_relevant(WANTED, sharing(MIN_SHARED), MIN_SCORE)


def test_a_score_just_below_min_score_is_not_relevant():
    assert not is_relevant(WANTED, sharing(len(WORDS)), JUST_BELOW_MIN_SCORE)


def test_a_high_score_does_not_make_up_for_too_few_shared_terms():
    assert not is_relevant(WANTED, sharing(MIN_SHARED - 1), 0.99)


def test_relevant_hits_keeps_only_the_hits_on_both_sides_of_the_boundaries():
    on_edge = (Document(page_content=sharing(MIN_SHARED)), MIN_SCORE)
    too_few = (Document(page_content=sharing(MIN_SHARED - 1)), 0.9)
    too_far = (Document(page_content=sharing(len(WORDS))), JUST_BELOW_MIN_SCORE)
    strong = (Document(page_content=sharing(len(WORDS))), 0.5)
    hits = [on_edge, too_few, too_far, strong]
    assert relevant_hits(QUESTION, hits) == [on_edge, strong]


def test_with_weights_one_rare_term_carrying_most_of_the_weight_is_enough():
    # "quokka" is rare in the indexed text, the other words common: sharing only it is
    # below MIN_SHARED, yet it holds most of the question's weight.
    def weight(term: str) -> float:
        return 10.0 if term == "quokka" else 0.5

    wanted = topic_terms("quokka marmot ibex?")
    assert not shares_enough(wanted, "A quokka only.")
    assert shares_enough(wanted, "A quokka only.", weight)


def test_with_weights_a_common_term_alone_is_still_not_enough():
    def weight(term: str) -> float:
        return 10.0 if term == "quokka" else 0.5

    wanted = topic_terms("quokka marmot ibex?")
    assert not shares_enough(wanted, "A marmot only.", weight)


def test_a_chat_model_reads_hits_holding_model_min_share_of_the_weight_and_no_less():
    # Ten equally weighted words: a chunk sharing one holds 0.1 of the weight, and a chunk
    # sharing none of them is not worth a call, however similar its vector.
    def weight(term: str) -> float:
        return 1.0

    one, none = Document(page_content=sharing(1)), Document(page_content=sharing(0))
    assert 1 / len(WANTED) == MODEL_MIN_SHARE
    assert worth_asking(QUESTION, [(one, 0.01), (none, 0.9)], weight) == [(one, 0.01)]
    assert not shares_enough(WANTED, one.page_content, weight)  # word matching would refuse

    def rare_elsewhere(term: str) -> float:
        return 1.0 if term == WORDS[0] else 1.2  # the shared word now holds under 0.1

    assert worth_asking(QUESTION, [(one, 0.5)], rare_elsewhere) == []
