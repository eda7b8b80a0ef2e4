"""Say which of two easily confused things does what, and catch answers that swap them.

Interview answers often name both roles, both security groups or both alarms and give each
the other's job ("the task role pulls the image; the execution role is what your code uses").
Matching words alone credits such an answer. quizzes/pairs.py says, for each confused pair,
which actor does which action; `swaps` finds an action attributed to the other actor of its pair
and, for pairs where that is never right, an actor denied its own action ("blocking mode
never stalls the app").
"""

from collections.abc import Iterable
from dataclasses import dataclass

from quizzes.pairs import RELATIONS, Actor, Relation
from quizzes.textnorm import BAR, NEGATIONS, STOPWORDS, governing, words_of

MAX_GAP = 8  # words between an actor and its action ("the task role [...] pulls the image")
# Words before a mention that make it an object, not the one acting ("than the task role").
_OBJECT_MARKERS = frozenset({"from", "than", "to", "unlike", "not", "instead", "rather", "of"})
_OBJECT_MARKERS |= frozenset({"vs", "versus", "with", "into", "on", "for"})
_JOINERS = frozenset({"and", "or", "nor"})
_DETERMINERS = frozenset({"the", "a", "an", "its", "their", "our", "my", "your", "that", "this"})
# Words before a mention AFTER the action that make it the doer: "pulled by the execution
# role", "the API key goes in the environment block", "the app writes with the task role".
_AGENT_MARKERS = frozenset({"by", "in", "into", "under", "to", "on", "with"})
_CONTRAST = frozenset({"not", "unlike", "instead", "rather"})  # "A, not B, does X": B is aside
# Words that give an action its sense by where they sit ("no targets", "8080 from", "slower
# than"): kept, and the action's words then read in its order.
_ORDERED = NEGATIONS | frozenset({"from", "than"})


@dataclass(frozen=True)
class Swap:
    """An action an answer gives to the wrong actor of a pair (or denies of it, if negated)."""

    relation: Relation
    actor: Actor  # who the answer says does it
    owner: Actor  # who really does it
    action: str
    clause: int
    lo: int
    hi: int
    negated: bool
    denied: bool = False  # the answer denies the owner its own action

    @property
    def text(self) -> str:
        """Say what was swapped (or denied), for feedback."""
        if self.denied:
            return f"denied: '{self.action}' is what {self.owner.name} does"
        return (
            f"swapped roles: '{self.action}' is what {self.owner.name} does, not {self.actor.name}"
        )


def _same(want: str, tok: str) -> bool:
    return tok == want or (len(want) >= 5 and not want[0].isdigit() and tok.startswith(want))


def mentions(clause: list[str], names: Iterable[str]) -> list[tuple[int, int]]:
    """Return the (start, end) of every place the clause names the actor (longest first)."""
    found: list[tuple[int, int]] = []
    present = set(clause)
    for name in sorted(names, key=lambda n: -len(words_of(n))):
        seq = words_of(name)
        if not seq or seq[0] not in present:
            continue
        for i in range(len(clause) - len(seq) + 1):
            if tuple(clause[i : i + len(seq)]) == seq and not any(
                s < i + len(seq) and i < e for s, e in found
            ):
                found.append((i, i + len(seq)))
    return sorted(found)


def _occurrences(clause: list[str], action: str) -> list[list[int]]:
    """Return the hit positions of each place the action's words occur close together."""
    want = [t for t in words_of(action) if t not in STOPWORDS or t in _ORDERED]
    if not want:
        return []
    # "no targets" is not "the target ... no", nor "8080 from" "from the ALB ... 8080"
    ordered = bool(_ORDERED & set(want))
    window = 2 * len(want) + 1
    out: list[list[int]] = []
    for start in range(len(clause)):
        hits: list[int] = []
        for w in want:
            first = hits[-1] + 1 if ordered and hits else start
            at = next(
                (i for i in range(first, min(len(clause), start + window)) if _same(w, clause[i])),
                None,
            )
            if at is None:
                break
            hits.append(at)
        else:
            hits = sorted(set(hits))
            if hits[0] == start and hits not in out:
                out.append(hits)
    return out


def _marker(clause: list[str], start: int) -> str:
    """Return the word before a mention, skipping determiners ('' at the clause start)."""
    i = start - 1
    while i >= 0 and clause[i] in _DETERMINERS:
        i -= 1
    return clause[i] if i >= 0 else ""


def _coordinated(clause: list[str], start: int, named) -> bool:
    """Return True for "A and B do X": the mention at start follows another and a joiner."""
    i = start - 1
    while i >= 0 and clause[i] in _DETERMINERS:
        i -= 1
    # a joiner just before, and another mention ending just before the joiner
    return i >= 0 and clause[i] in _JOINERS and any(i - 2 <= e <= i for _, _, e in named)


def _doer(clause, hits, named) -> tuple[int, int, int] | None:
    """Return (actor index, start, end) of the mention that does the action, if it is clear."""
    lo, hi = hits[0], hits[-1]
    # mentions set aside by a contrast ("the task role, not the execution role, pulls") neither
    # act nor block
    aside = [m for m in named if _marker(clause, m[1]) in _CONTRAST]
    named = [m for m in named if m not in aside]
    before = [m for m in named if m[2] <= lo]
    if before:
        key, s, e = before[-1]
        # a comma ends the actor's reach, unless it only brackets a contrast
        bracket = any(e <= m[1] and m[2] <= lo for m in aside)
        if (
            _marker(clause, s) not in _OBJECT_MARKERS
            and not _coordinated(clause, s, named)
            and lo - e <= MAX_GAP
            and (BAR not in clause[e:lo] or bracket)
        ):
            return key, s, e
    after = [m for m in named if m[1] > hi]
    if after:
        key, s, e = after[0]
        # "base 1 on FARGATE, the rest on Spot": a comma ends the action's reach too
        if _marker(clause, s) in _AGENT_MARKERS and s - hi <= MAX_GAP and BAR not in clause[hi:s]:
            return key, s, e
    return None


def _actions(clause: list[str], rel: Relation, named) -> list[tuple[int, str, list[int]]]:
    """Return (owner index, action, hit positions) of every action of the pair in the clause."""
    inside = [(s, e) for _, s, e in named]
    acts = [
        (k, action, hits)
        for k, actor in enumerate(rel.actors)
        for action in actor.does
        for hits in _occurrences(clause, action)
        if not any(s <= h < e for s, e in inside for h in hits)  # not a word of a name
    ]
    # a shorter action inside a longer one of the other actor ("sensitive" inside
    # "non-sensitive") is not evidence of its own
    return [
        a
        for a in acts
        if not any(b[0] != a[0] and set(a[2]) < set(range(b[2][0], b[2][-1] + 1)) for b in acts)
    ]


def _named(clause: list[str], rel: Relation) -> list[tuple[int, int, int]]:
    """Return (actor index, start, end) of each mention, minus those inside a longer one."""
    found = [
        (k, s, e) for k, actor in enumerate(rel.actors) for s, e in mentions(clause, actor.names)
    ]
    # "blocking" inside "non-blocking", "fargate" inside "fargate spot": the longer name wins
    inner = [m for m in found if any(o != m and o[1] <= m[1] and m[2] <= o[2] for o in found)]
    return sorted((m for m in found if m not in inner), key=lambda m: m[1])


def swaps(answer_clauses: list[list[str]], skip: frozenset[int] = frozenset()) -> list[Swap]:
    """Return every action the answer attributes to the wrong actor of a confused pair."""
    out: list[Swap] = []
    for ci, clause in enumerate(answer_clauses):
        if ci in skip:
            continue
        for rel in RELATIONS:
            named = _named(clause, rel)
            if not named:
                continue
            acts = _actions(clause, rel, named)
            out += [sw for act in acts if (sw := _swap(rel, ci, clause, named, acts, act))]
    return out


def _swap(rel: Relation, ci: int, clause: list[str], named, acts, act) -> Swap | None:
    """Return the Swap one action makes: a wrong doer, or (rel.denials) its owner denied it."""
    owner, action, hits = act
    doer = _doer(clause, hits, named)
    if doer is None:
        return None
    key, s, e = doer
    negated = _denied(clause, hits)
    own = key == owner
    if own and not (rel.denials and negated):
        return None
    # the actor's own action in between makes it unclear: "the task role is what boto3 uses
    # to fetch secrets"
    if not own and any(k == key and set(h) & set(range(e, hits[0])) for k, _, h in acts):
        return None
    lo, hi = min(s, hits[0]), max(e - 1, hits[-1])
    actor, boss = rel.actors[key], rel.actors[owner]
    if own:
        return Swap(rel, actor, boss, action, ci, lo, hi, False, denied=True)
    return Swap(rel, actor, boss, action, ci, lo, hi, negated)


def _denied(clause: list[str], hits: list[int]) -> bool:
    """Return True if a negation outside the action's own words ("never drop") denies it."""
    return sum(j not in hits for j in governing(clause, hits)) % 2 == 1
