"""Chapter 01's exercises: typical wrong answers get named, blanks wait, solutions pass."""

import re
from pathlib import Path

import pytest

from service.rag.analysis import STOPWORDS, tokens
from service.rag.chain import RagChain
from service.rag.embeddings import HashingEmbeddings
from service.rag.ingest import load_directory, split_documents
from service.rag.vectorstore import FaissStore
from workbook import exercises
from workbook.checks import ch01
from workbook.solutions import ch01 as solved

NOTES = Path(__file__).resolve().parents[2] / "notes"
MEASURED = {800: {"recall": 0.9, "chars": 1700.0}, 3000: {"recall": 0.95, "chars": 2300.0}}


def _check(exercise_id, answer, **context):
    """Evaluate one answer of chapter 01 with the given context."""
    return exercises.evaluate(exercises.exercises_of("01")[exercise_id], answer, context)


def _messages(outcome):
    return "\n".join(outcome.messages)


@pytest.fixture(scope="module")
def library():
    """The notes library as the chapter indexes it, and the chain /chat answers with."""
    store = FaissStore.empty(HashingEmbeddings())
    store.add_documents(split_documents(load_directory(NOTES)))
    return {"chain": RagChain(), "stores": [store]}


@pytest.mark.parametrize("exercise_id", list(exercises.exercises_of("01")))
def test_every_blank_check_says_not_done_yet_without_raising(exercise_id):
    """The chapter as shipped stays green: each blank prints 'not done yet'."""
    outcome = _check(exercise_id, ...)
    assert outcome.status == "not done"
    assert f"{exercise_id} not done yet" in str(outcome)


# ---- 01-1: words() ------------------------------------------------------------------------------


def _split(text):
    return set(text.lower().split()) - STOPWORDS


def _case_kept(text):
    return set(re.findall(r"[A-Za-z0-9]+", text)) - STOPWORDS


def _stopwords_kept(text):
    return set(tokens(text))


def _as_list(text):
    return [w for w in tokens(text) if w not in STOPWORDS]


def _letters_only(text):
    return set(re.findall(r"[a-z]+", text.lower())) - STOPWORDS


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        (_split, "'port?' differ from 'port'"),
        (_case_kept, "'PORT' and 'port' must be one word"),
        (_stopwords_kept, "keeps the stopwords ['which']"),
        (_as_list, "return a set, so each word counts once"),
        (_letters_only, "drops ['8080']: digits are words too"),
    ],
    ids=["str-split", "case", "stopwords", "list", "no-digits"],
)
def test_words_check_names_the_typical_mistake(words, expected):
    """Each typical wrong words() gets its own diagnosis."""
    outcome = _check("01-1", words)
    assert outcome.status == "to fix"
    assert expected in _messages(outcome)


def test_words_solution_passes_and_a_function_returning_none_is_not_done():
    """The stored solution passes; a body left as `pass` is 'not done yet', an error is named."""
    assert _check("01-1", solved.bag_of_words()).passed
    assert _check("01-1", lambda text: None).status == "not done"
    assert "raised ZeroDivisionError" in _messages(_check("01-1", lambda text: 1 / 0))


# ---- 01-2: refusals -----------------------------------------------------------------------------


def test_refusal_solution_passes(library):
    """The stored predictions match what the chain does on the notes."""
    assert _check("01-2", solved.refusals(), **library).passed


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("Can I run my containers on Azure?", "it names Azure, which no indexed text uses"),
        ("How do I bake sourdough bread?", "no retrieved chunk shares enough of its topic terms"),
        ("How much memory does a spider need?", "is answered: "),
    ],
    ids=["unknown-name", "relevance", "answered"],
)
def test_a_wrong_prediction_is_told_which_gate_decided(library, question, expected):
    """Flipping one prediction names that question and the step that decides it."""
    answer = {**solved.refusals(), question: not solved.refusals()[question]}
    text = _messages(_check("01-2", answer, **library))
    assert text.startswith(repr(question)) and expected in text


def test_refusal_answers_of_the_wrong_shape_are_named(library):
    """A missing question, a non-bool prediction and a list are each refused with the reason."""
    partial = dict(list(solved.refusals().items())[:2])
    assert "missing" in _messages(_check("01-2", partial, **library))
    yes = {**solved.refusals(), ch01.QUESTIONS[0]: "yes"}
    assert "predict True (refused) or False" in _messages(_check("01-2", yes, **library))
    assert "a dict {question: True if refused}" in _messages(_check("01-2", [True], **library))


# ---- 01-3: chunk size ---------------------------------------------------------------------------


def test_chunk_size_check_uses_the_measured_figures():
    """The best size comes from the figures given; the wrong pick is told both recalls."""
    assert _check("01-3", {"best_recall": 3000, "cost": "b"}, measured=MEASURED).passed
    text = _messages(_check("01-3", {"best_recall": 800, "cost": "b"}, measured=MEASURED))
    assert "chunk_size 800 has section recall@3 0.900; 3000 has 0.950" in text
    flipped = {800: {**MEASURED[800], "recall": 0.99}, 3000: MEASURED[3000]}
    assert _check("01-3", {"best_recall": 800, "cost": "b"}, measured=flipped).passed


@pytest.mark.parametrize(
    ("cost", "expected"),
    [("a", "fixed dim (4096)"), ("c", "cuts at `##` headings first"), ("z", "cost is one of")],
)
def test_a_wrong_cost_of_big_chunks_is_explained(cost, expected):
    """Each wrong option says why it is wrong and what big chunks cost, with the figures."""
    text = _messages(_check("01-3", {"best_recall": 3000, "cost": cost}, measured=MEASURED))
    assert expected in text
    if cost != "z":
        assert "2300 characters at 3000 against 1700 at 800" in text


def test_a_chunk_answer_of_the_wrong_shape_is_named():
    """A bare number is refused with the expected shape."""
    assert '{"best_recall": a chunk size' in _messages(_check("01-3", 3000, measured=MEASURED))
