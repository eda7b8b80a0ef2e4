"""Rewrite a follow-up question into a standalone one, using the earlier turns."""

from __future__ import annotations

import re

from service.rag.analysis import REQUEST_WORDS, STOPWORDS, stem, tokens, topic_terms, wordset
from service.rag.answers import History
from service.rag.errors import RagError

ROLES = ("user", "assistant")

# Pronouns that point back at something said before ("what is its threshold?").
_ANAPHORA = wordset("it its itself they them their theirs")
# Demonstratives: pointers back only in a short question ("what does that cost?"); in a
# longer one they usually introduce a clause ("the port that the ALB probes").
_DEMONSTRATIVES = wordset("this that these those same")
# Verbs too generic to carry a topic into the follow-up ("how does Fargate *run* ...").
_GENERIC = wordset("run runs running work works set get gets make makes need needs happen")
# Question fillers that name no subject ("how *many* failures trigger it?").
_FILLER = frozenset(stem(w) for w in wordset("many much long often kind sort type"))
_WORD = re.compile(r"[A-Za-z0-9]+")
# How many words of the earlier question a follow-up takes over: enough to name the topic,
# few enough that the follow-up's own words ("cost") still lead retrieval.
MAX_CARRIED = 4
_FOLLOW_UP_START = re.compile(r"^\s*(and|also|what about|how about|what if|then|so)\b", re.I)
# A question names its own subject when this many topic terms come before its first pronoun
# ("how does the ALB know a task is healthy before it ..."); fewer ("how many failures
# trigger it?") leave the pronoun pointing back.
OWN_SUBJECT_TERMS = 3

CONDENSE_SYSTEM = (
    "Rewrite the user's last question so that it can be understood without the "
    "conversation: replace pronouns and vague references with what they refer to. "
    "Do not answer it. Return only the rewritten question."
)


def check_history(history: History) -> None:
    """Raise RagError if history is not a list of (role, text) with a known role."""
    for n, turn in enumerate(history):
        if not (isinstance(turn, tuple | list) and len(turn) == 2):
            raise RagError(f"history[{n}] must be a (role, text) pair")
        if turn[0] not in ROLES:
            raise RagError(f"history[{n}] has role {turn[0]!r}; expected one of {ROLES}")


def is_follow_up(question: str) -> bool:
    """Tell whether a question leans on earlier turns rather than naming its own subject."""
    # Fires on: an opener ("and ...", "what about ..."), no content words of its own
    # ("Why?", "How so?"), a pronoun with no subject named before it ("how much does it
    # cost?"), or a demonstrative in a question with at most one content word ("is that
    # the default?"). A question that names its subject ("What do lifecycle policies
    # expire?") is standalone however short it is: rewriting it would drag the previous
    # topic into its retrieval.
    if _FOLLOW_UP_START.match(question) or not topic_terms(question):
        return True
    words = _WORD.findall(question)
    lowered = [w.lower() for w in words]
    for n, word in enumerate(lowered):
        if word in _ANAPHORA:
            return len(topic_terms(" ".join(words[:n])) - _FILLER) < OWN_SUBJECT_TERMS
    return bool(set(lowered) & _DEMONSTRATIVES) and len(topic_terms(question)) < 2


def key_words(question: str, limit: int = MAX_CARRIED) -> list[str]:
    """Return up to `limit` topic words of a question as written, names first."""
    skip = STOPWORDS | REQUEST_WORDS | _ANAPHORA | _DEMONSTRATIVES | _GENERIC
    names: list[str] = []
    others: list[str] = []
    seen: set[str] = set()
    for n, word in enumerate(_WORD.findall(question)):
        low = word.lower()
        if low in skip or low in seen:
            continue
        seen.add(low)
        # An acronym, or a capitalized word that does not open the question, is usually a
        # name ("ALB", "Fargate"), and names are what "it" and "its" point back to.
        is_name = (word.isupper() and len(word) > 1) or (n > 0 and word[0].isupper())
        (names if is_name else others).append(word)
    return (names + others)[:limit]


def rewrite_offline(question: str, history: History) -> str:
    """Merge the previous user question's key words into a short or anaphoric follow-up."""
    check_history(history)
    context = ""
    for role, text in history:
        if role == "user":
            # Resolve each earlier question against the one before it, so a chain of
            # follow-ups keeps the topic of the last standalone question.
            context = _merge(text, context) if context and is_follow_up(text) else text
    if not context or not is_follow_up(question):
        return question
    return _merge(question, context)


def _merge(question: str, context: str) -> str:
    extra = [w for w in key_words(context) if w.lower() not in tokens(question)]
    return f"{question.strip()} ({' '.join(extra)})" if extra else question
