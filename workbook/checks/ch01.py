"""Chapter 01's exercises: a word-overlap retriever, which questions are refused, chunk size."""

from __future__ import annotations

from collections.abc import Sequence

from service.rag.analysis import STOPWORDS, topic_terms
from service.rag.chain import RagChain
from service.rag.lexical import term_weights
from service.rag.relevance import relevant_hits, weighted_share
from service.rag.spelling import unknown_names
from service.rag.vectorstore import FaissStore
from workbook.exercises import Exercise, NotDone

# ---- 01-1: the words a word-overlap retriever compares ------------------------------------------

# (text, the words expected): each probe exposes one typical mistake.
PROBES = (
    ("port port", {"port"}),
    ("which port?", {"port"}),
    ("Which PORT?", {"port"}),
    ("what is the port", {"port"}),
    ("The service listens on port 8080.", {"service", "listens", "port", "8080"}),
    (
        "Which path does the target group probe for health?",
        {"path", "target", "group", "probe", "health"},
    ),
)


def _diagnose(text: str, got: set, want: set) -> str:
    """Name the typical mistake behind words(text) giving `got` instead of `want`."""
    extra, missing = got - want, want - got
    if any(not str(w).isalnum() for w in extra):
        return (
            f"words({text!r}) holds {sorted(extra)}: punctuation stuck to a word makes 'port?' "
            "differ from 'port'; take runs of letters and digits (analysis.tokens), not "
            "str.split()"
        )
    if any(str(w) != str(w).lower() for w in extra):
        return (
            f"words({text!r}) holds {sorted(extra)}: 'PORT' and 'port' must be one word; "
            "lowercase the text (analysis.tokens does)"
        )
    if any(w in STOPWORDS for w in extra):
        return (
            f"words({text!r}) keeps the stopwords {sorted(extra & STOPWORDS)}: every English "
            "text shares them, so long chunks would win whatever their topic; remove "
            "analysis.STOPWORDS"
        )
    if any(str(w).isdigit() for w in missing):
        return (
            f"words({text!r}) drops {sorted(missing)}: digits are words too, and a port or an "
            "error code is often what a question is about"
        )
    return f"words({text!r}) gives {sorted(got, key=str)}, expected {sorted(want)}"


def check_words(answer: object) -> list[str]:
    """Probe the learner's words(text) with texts that expose the typical mistakes."""
    if not callable(answer):
        return [f"the answer is a function words(text) -> set of words, got {answer!r}"]
    for text, want in PROBES:
        try:
            got = answer(text)
        except Exception as exc:  # the learner's code: its error is the feedback
            return [f"words({text!r}) raised {type(exc).__name__}: {exc}"]
        if got is None:
            raise NotDone("words returns None: return the set of the text's words")
        if not isinstance(got, set | frozenset):
            return [
                f"words({text!r}) returns {type(got).__name__} {got!r}: return a set, so each "
                "word counts once and a chunk that repeats a word does not outrank one that "
                "answers"
            ]
        if got != want:
            return [_diagnose(text, got, want)]
    return []


# ---- 01-2: which questions are refused ---------------------------------------------------------

QUESTIONS = (
    "Which port does the container listen on?",
    "What is the capital of Peru?",
    "How do I bake sourdough bread?",
    "Can I run my containers on Azure?",
    "How much memory does a spider need?",
)


def decide(chain: RagChain, stores: Sequence[FaissStore], question: str) -> tuple[bool, str]:
    """Return (refused?, why) for a question, step by step as RagChain.ask decides it."""
    standalone = chain.spelled(stores, chain.answerer.condense(question, []))
    names = unknown_names(standalone, [s.speller() for s in stores if len(s)])
    if names:
        why = (
            f"it names {', '.join(names)}, which no indexed text uses: the chain refuses before "
            "it retrieves anything (spelling.unknown_names)"
        )
        return _agree(chain, stores, question, True, why)
    weight = term_weights([s.lexical() for s in stores if len(s)])
    hits = chain.retrieve(stores, standalone)
    relevant = relevant_hits(standalone, hits, weight=weight)
    if not relevant:
        wanted = topic_terms(standalone)
        best = max((weighted_share(wanted, d.page_content, weight) for d, _ in hits), default=0)
        why = (
            f"no retrieved chunk shares enough of its topic terms (the best holds {best:.0%} of "
            "their weight): the relevance filter drops every hit"
        )
        return _agree(chain, stores, question, True, why)
    scored = chain.answerer.score_sentences(standalone, relevant, weight)
    if not any(s.supports for s in scored):
        why = "chunks match, but no single sentence holds enough of its terms"
        return _agree(chain, stores, question, True, why)
    doc = relevant[0][0]
    why = (
        f"{doc.metadata.get('source')} / {doc.metadata.get('section')} shares enough of its "
        f"weighted terms; the answer quotes: {scored[0].sentence[:90]!r}"
    )
    return _agree(chain, stores, question, False, why)


def _agree(
    chain: RagChain, stores: Sequence[FaissStore], question: str, refused: bool, why: str
) -> tuple[bool, str]:
    """Return (refused, why) after making sure the chain itself decides the same way."""
    grounded = chain.ask(stores, question).grounded
    if grounded == refused:
        raise AssertionError(f"decide() disagrees with RagChain.ask on {question!r}: {why}")
    return refused, why


def check_refusals(answer: object, chain: RagChain, stores: Sequence[FaissStore]) -> list[str]:
    """Compare the learner's predictions {question: refused?} with what the chain does."""
    if not isinstance(answer, dict):
        return [f"the answer is a dict {{question: True if refused}}, got {answer!r}"]
    missing = [q for q in QUESTIONS if q not in answer]
    if missing:
        return [f"give a prediction for every question; missing: {missing}"]
    problems = []
    for question in QUESTIONS:
        guess = answer[question]
        if not isinstance(guess, bool):
            problems.append(f"{question!r}: predict True (refused) or False, got {guess!r}")
            continue
        refused, why = decide(chain, stores, question)
        if guess != refused:
            said = "refused" if refused else "answered"
            problems.append(f"{question!r} is {said}: {why}")
    return problems


# ---- 01-3: the chunk-size trade-off -----------------------------------------------------------

COST_OPTIONS = {
    "a": "bigger chunks make longer vectors, so each search is slower",
    "b": "each hit carries more text: more words to read (or to send to an LLM) that are not "
    "the answer, and a citation points at a whole section",
    "c": "bigger chunks cross section headings, so one chunk mixes topics",
}
COST_WHY = {
    "a": "every vector has the embedder's fixed dim (4096) whatever the chunk's length, and a "
    "store of bigger chunks holds fewer of them",
    "c": "the splitter cuts at `##` headings first (ingest._markdown_sections), so no chunk "
    "crosses a section, however big chunk_size is",
}


def check_chunk_size(answer: object, measured: dict[int, dict[str, float]]) -> list[str]:
    """Check the best-recall size against the measured figures and the named cost of big chunks."""
    if not isinstance(answer, dict) or set(answer) != {"best_recall", "cost"}:
        return ['the answer is {"best_recall": a chunk size, "cost": "a", "b" or "c"}']
    problems = []
    best = max(measured, key=lambda size: (measured[size]["recall"], -size))
    if answer["best_recall"] not in measured:
        problems.append(f"best_recall is one of {sorted(measured)}, got {answer['best_recall']!r}")
    elif answer["best_recall"] != best:
        got = measured[answer["best_recall"]]
        problems.append(
            f"chunk_size {answer['best_recall']} has section recall@3 {got['recall']:.3f}; "
            f"{best} has {measured[best]['recall']:.3f}. The notes' sections are short, so a "
            "big chunk holds a whole section and its heading: a question about any part of it "
            "finds it, where smaller chunks split a section into pieces that each share fewer of "
            "the question's words"
        )
    cost = answer["cost"]
    if cost not in COST_OPTIONS:
        problems.append(f"cost is one of {sorted(COST_OPTIONS)}, got {cost!r}")
    elif cost in COST_WHY:
        small, big = min(measured), max(measured)
        problems.append(
            f"({cost}) is not so: {COST_WHY[cost]}. What big chunks do cost: the top-3 hits "
            f"carry {measured[big]['chars']:.0f} characters at {big} against "
            f"{measured[small]['chars']:.0f} at {small}"
        )
    return problems


WORDS_PROMPT = (
    "Complete words(text): the set of a text's distinct words, where a word is a lowercase "
    "run of letters and digits (analysis.tokens) that is not in analysis.STOPWORDS. No "
    "stemming. A chunk's word-overlap score is then len(words(question) & words(chunk))."
)


EXERCISES = [
    Exercise("01-1", WORDS_PROMPT, check_words),
    Exercise(
        "01-2",
        "Predict, for each question in QUESTIONS, whether the service refuses it (True) or "
        "answers it (False) from the notes library.",
        check_refusals,
    ),
    Exercise(
        "01-3",
        "Of the chunk sizes measured, which gives the best section recall@3 on the eval set, "
        "and which option names what big chunks cost?",
        check_chunk_size,
    ),
]
