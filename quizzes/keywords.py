"""Tell an answer said in sentences from a keyword list or the rubric's phrasings pasted back."""

import re

from quizzes.schema import FreeTextItem
from quizzes.textnorm import (
    BAR,
    MANY_PARTS,
    clauses,
    content,
    list_like,
    prose_ratio,
    sentences,
    tokens,
    verbal,
    words_of,
)

LISTY_SHARE = 0.75  # share of an answer's words in list-like clauses that makes it a list
# Rubric phrasings back to back, with nothing but "and"/"or" (or commas) between them: pasted,
# not said. Three make a run; a short answer may well say two phrasings in a row.
MIN_PASTED = 3
_GLUE = frozenset({"and", "or"})
# Hedges before a paste frame nothing: "I think X Y Z" is still the paste.
_HEDGES = frozenset(tokens("i think guess believe know mean well sure basically ok yes yeah um"))
FILLER_WORDS = 2  # content words of a part that names no phrasing and may be filler ("Sure,")
# A question that asks to explain, compare or tell what happens wants how things relate: a
# list of their names does not answer it (a question asking what to check, add or pay for
# may be answered, in part, by the right names).
_EXPLAIN = re.compile(
    r"\b(explain|compare|differ|differs|difference|as opposed to|what happens)\b", re.I
)


def looks_like_keywords(answer: str) -> bool:
    """Return True when the answer is a keyword list rather than sentences."""
    raw = clauses(answer)
    cl = [[t for t in c if t != BAR] for c in raw]
    words = sum(len(c) for c in cl)
    if words < 4:
        return False
    prose = [c for c in cl if (len(c) >= 4 and prose_ratio(c) >= 0.15) or verbal(c)]
    # "No cache. CPU only. Buildx.": three or more fragments of a few words each, unless they
    # are a few short instructions ("Install curl. Use urllib. Set startPeriod.")
    short = len(cl) >= 3 and words / len(cl) < 4
    fragments = short and (len(cl) >= MANY_PARTS or not all(verbal(c) for c in cl))
    # by content words: a line of filler ("Sure, here's what I know:") hides no list
    said = sum(len(content(c)) for c in cl) or 1
    listy = sum(len(content(c)) for c, r in zip(cl, raw, strict=True) if list_like(r)) / said
    return not prose or fragments or listy >= LISTY_SHARE


def _pieces(words: list[str], phrasings: set[tuple[str, ...]]) -> list[tuple[int, int]]:
    """Return the (start, end) spans of the most words that phrasings, used whole, tile."""
    n = len(words)
    best = [0] * (n + 1)  # best[i]: words of words[i:] that phrasings can cover
    take: list[int] = [0] * (n + 1)  # length of the phrasing taken at i (0: skip the word)
    for i in range(n - 1, -1, -1):
        best[i] = best[i + 1]
        for p in phrasings:
            k = len(p)
            if tuple(words[i : i + k]) == p and k + best[i + k] > best[i]:
                best[i], take[i] = k + best[i + k], k
    spans, i = [], 0
    while i < n:
        if take[i]:
            spans.append((i, i + take[i]))
        i += take[i] or 1
    return spans


def _parts(answer: str) -> tuple[list[str], list[int]]:
    """Return the answer's words and, for each, its part (a sentence or one of its comma parts)."""
    words: list[str] = []
    part: list[int] = []
    n = 0
    for sentence in sentences(answer):
        for t in tokens(sentence):
            if t == BAR:
                n += 1
            else:
                words.append(t)
                part.append(n)
        n += 1
    return words, part


def _runs(words: list[str], spans: list[tuple[int, int]]) -> list[list[tuple[int, int]]]:
    """Group the pieces into runs: pieces with nothing but "and"/"or" between them."""
    runs: list[list[tuple[int, int]]] = []
    for lo, hi in spans:
        if runs and all(t in _GLUE for t in words[runs[-1][-1][1] : lo]):
            runs[-1].append((lo, hi))
        else:
            runs.append([(lo, hi)])
    return runs


def pasted_rubric(item: FreeTextItem, answer: str) -> bool:
    """Return True if most of the answer is rubric phrasings glued by spaces, commas or "and"."""
    phrasings = {words_of(t) for p in item.rubric.points for t in (p.text, *p.phrasings)} - {()}
    words, part = _parts(answer or "")
    spans = _pieces(words, phrasings)
    inside = {i for lo, hi in spans for i in range(lo, hi)}
    pasted = 0
    for run in _runs(words, spans):
        parts = {part[lo] for lo, _ in run} | {part[hi - 1] for _, hi in run}
        # "It is X, Y and Z": the run is what a clause of its own names, not a paste
        rest = [
            w
            for i, w in enumerate(words)
            if part[i] in parts and i not in inside and w not in _GLUE | _HEDGES
        ]
        if len(run) >= MIN_PASTED and not verbal(rest):
            pasted += sum(len(content(words[lo:hi])) for lo, hi in run)
    # a line of filler ("Sure, here's what I know:") is parts of a word or two that name no
    # phrasing: it does not make the paste an answer
    held = {part[i] for i in inside}
    said = 0
    for n in set(part):
        own = content([w for w, q in zip(words, part, strict=True) if q == n])
        if n in held or len(own) > FILLER_WORDS:
            said += len(own)
    return pasted > 0 and pasted >= LISTY_SHARE * said


def asks_to_explain(question: str) -> bool:
    """Return True if a question asks how things work or differ, which names alone cannot say."""
    return bool(_EXPLAIN.search(question))
