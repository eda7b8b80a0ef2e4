"""Find rubric phrasings in an answer's clauses (close words, typos, negation); credit points."""

from dataclasses import dataclass
from functools import lru_cache

from quizzes.textnorm import (
    BAR,
    FORWARD_NEGATIONS,
    MASK,
    content,
    governing,
    is_negation,
    prose_ratio,
    segments,
    tokens,
    typo_of,
)

THRESHOLD = 0.75  # share of a phrasing's content words that must appear close together
MIN_PROSE = 0.1  # function-word share below which a long clause is a keyword list
CLOSE_NEGATION = 3  # words before a phrase where its own negation may sit ("no need for")
NUMBER_REACH = 3  # a wrong claim's figure must sit this close to its other words
_JOINED = frozenset({"and", "or", "but"})  # ...with no joiner between them
# A claim that says which of two comes first or wins, or gives a figure, needs its words in its
# order (stems).
_DIRECTED = frozenset({"overrid", "win", "precedenc", "befor", "after", "than", "first"})
CLAIM_THRESHOLD = 0.8  # wrong claims need stronger evidence than points
MAX_POINTS_PER_CLAUSE = 4
WORDS_PER_POINT = 6  # a clause earns one point, plus one per 6 words, at most 4
RUN_ON = 40  # words without any punctuation: not a sentence


@dataclass(frozen=True)
class Match:
    """Where a phrasing matched: clause index, overlap, and whether the answer negated it."""

    clause: int
    overlap: float
    negated: bool
    lo: int = 0
    hi: int = 0
    close: bool = False  # a negation sits in the phrase or just before it ("no curl")


def asserts(m: Match, negative: bool) -> bool:
    """Return True if the answer states the phrasing (negative: "no curl") as the rubric does."""
    # A negative phrasing needs its own negation next to its words, not any in the clause:
    # "installing curl doesn't help" does not say the image has "no curl".
    return m.negated and m.close if negative else not m.negated


@lru_cache(maxsize=8192)
def phrase(text: str) -> tuple[tuple[str, ...], bool]:
    """Return a phrasing's content words and whether it is negative ("no curl")."""
    toks = tokens(text)
    return tuple(content(toks)), sum(is_negation(toks, i) for i in range(len(toks))) % 2 == 1


def _is_prose(clause: list[str]) -> bool:
    # Short clauses pass; a long run of content words without function words, or a 40-word
    # run without a single comma, is a keyword dump and earns nothing.
    words = [t for t in clause if t != BAR]
    if len(words) > RUN_ON and BAR not in clause:
        return False
    return len(words) < 6 or prose_ratio(words) >= MIN_PROSE


@lru_cache(maxsize=65536)
def _same(want: str, tok: str) -> bool:
    # Rubric authors may write a prefix ("deregist", "traceab"): match longer words too;
    # and a misspelt word ("sensitve") still means the word.
    if tok == want:
        return True
    if len(want) >= 5 and not want[0].isdigit() and tok.startswith(want):
        return True
    return typo_of(want, tok)


@lru_cache(maxsize=65536)
def _where(want: str, clause: tuple[str, ...]) -> tuple[int, ...]:
    """Return the positions of the clause's words that mean `want`."""
    return tuple(i for i, t in enumerate(clause) if _same(want, t))


def _in_order(want: tuple[str, ...], where: dict, start: int, stop: int) -> bool:
    """Return True if the phrasing's words found in start..stop can be read in its order."""
    at = -1
    for w in want:
        inside = [i for i in where[w] if start <= i < stop]
        if inside:
            later = [i for i in inside if i > at]
            if not later:
                return False
            at = later[0]
    return True


def _numbers_bound(clause: tuple[str, ...], hits: list[int]) -> bool:
    """Return True if a claim's figures are its own: next to its other words, in one part."""
    # "30 s by default, up to 120" and "30 s by default and 120 at most" give 120 to no default
    return BAR not in clause[hits[0] : hits[-1]] and all(
        any(
            h != n
            and abs(h - n) <= NUMBER_REACH
            and not _JOINED & set(clause[min(h, n) + 1 : max(h, n)])
            for h in hits
        )
        for n in hits
        if clause[n][0].isdigit()
    )


def find(
    phrasing: str,
    answer_clauses: list[list[str]],
    threshold: float = THRESHOLD,
    skip: frozenset[int] = frozenset(),
    strict: bool = False,
    *,
    listed: bool = False,
):
    """Return the best Match of a phrasing in the answer's clauses (minus `skip`), or None.

    strict (for wrong claims): phrasings of up to 4 words must match in full.
    listed: the answer is a keyword list; read its clauses even though they are not prose.
    """
    short, threshold = (4, max(threshold, CLAIM_THRESHOLD)) if strict else (2, threshold)
    want, _ = phrase(phrasing)
    if not want:
        return None
    need = set(want)
    numbers = {t for t in need if t[0].isdigit()}
    window = max(6, 2 * len(need) + 2)
    best: Match | None = None
    for ci, clause in enumerate(answer_clauses):
        if ci in skip or not (listed or _is_prose(clause)):
            continue
        # where each wanted word occurs in the clause
        key = tuple(clause)
        where = {w: _where(w, key) for w in need}
        if sum(bool(v) for v in where.values()) / len(need) < threshold:
            continue
        for start in range(max(1, len(clause))):  # to the end: the tightest may sit there
            stop = start + window
            got = {w for w, at in where.items() if any(start <= i < stop for i in at)}
            overlap = len(got) / len(need)
            ok = overlap >= (1.0 if len(need) <= short else threshold) and numbers <= got
            if not ok or (best and best.overlap > overlap):
                continue
            hits = sorted({i for w in got for i in where[w] if start <= i < stop})
            if strict and numbers and not _numbers_bound(key, hits):
                continue  # "30 s by default, up to 120" does not say "120 by default"
            # "the block wins over the file" does not say "the file wins", nor "8 GB is 0.04"
            # "0.04 per GB"; and across a comma a claim reads in its own order: "rolling is
            # gradual, blue/green switches at once" does not say "blue/green is gradual"
            ordered = _DIRECTED & need or numbers or BAR in key[hits[0] : hits[-1]]
            if strict and ordered and not _in_order(want, where, start, stop):
                continue
            # of equal matches the tightest: "if the new task never starts, the old task keeps
            # serving" is not "the old task keeps serving" reaching back past "never"
            if best and best.overlap == overlap and best.hi - best.lo <= hits[-1] - hits[0]:
                continue
            cues = governing(clause, hits)
            # a forward cue ("no", "without") is the phrase's own over a list too: "no AMIs,
            # patching or capacity planning"
            close = any(
                hits[0] - CLOSE_NEGATION <= j <= hits[-1]
                or (clause[j] in FORWARD_NEGATIONS and BAR in clause[j : hits[0]])
                for j in cues
            )
            best = Match(ci, overlap, len(cues) % 2 == 1, hits[0], hits[-1], close)
    return best


def matched(
    phrasings,
    answer_clauses,
    threshold,
    skip=frozenset(),
    per_clause=False,
    strict=False,
    listed=False,
    lacking=False,
):
    """Return (asserting matches, denied?) for phrasings, comparing polarity with each.

    per_clause: look for the best match in every clause, not only the best overall.
    lacking: the point says a thing is missing, so its bare term denied states it too.
    """
    asserted, denied = [], False
    every = range(len(answer_clauses))
    skips = [frozenset(every) - {ci} for ci in every] if per_clause else [skip]
    for p in phrasings:
        for sk in skips:
            m = find(p, answer_clauses, threshold, sk, strict, listed=listed)
            if m is None:
                continue
            if asserts(m, phrase(p)[1]) or (lacking and not phrase(p)[1]):
                asserted.append(m)
            else:
                denied = True
    return asserted, denied


def mask(answer_clauses: list[list[str]], spans: list[Match]) -> list[list[str]]:
    """Blank out the words a wrong claim used, so they cannot also earn a point."""
    out = [list(c) for c in answer_clauses]
    for m in spans:
        for i in range(m.lo, m.hi + 1):
            out[m.clause][i] = MASK
    return out


def _capacity(clause: list[str]) -> int:
    # A sentence carries one or two ideas; a long run-on listing every point is stuffing.
    words = sum(t != BAR for t in clause)
    return min(MAX_POINTS_PER_CLAUSE, 1 + words // WORDS_PER_POINT)


def assign(
    points, answer_clauses: list[list[str]], threshold: float, listed: bool = False
) -> list[str]:
    """Credit points, heaviest first, each to a clause that states it and has room left.

    listed: a keyword list, whose every item may name one point.
    """
    room = [len(segments(c)) if listed else _capacity(c) for c in answer_clauses]
    covered = []
    for p in sorted(points, key=lambda p: -p.weight):
        where = sorted(
            {
                m.clause
                for m in matched(
                    [p.text, *p.phrasings],
                    answer_clauses,
                    threshold,
                    per_clause=True,
                    listed=listed,
                    lacking=_lacking(p.text),
                )[0]
            }
        )
        free = [ci for ci in where if room[ci] > 0]
        if free:
            room[free[0]] -= 1
            covered.append(p.id)
    return [p.id for p in points if p.id in covered]


def _lacking(text: str) -> bool:
    """Return True if a point is that something is missing ("role lacks CreateLogGroup")."""
    return "lack" in tokens(text)  # not "missing": "PassRole is the usual missing permission"
