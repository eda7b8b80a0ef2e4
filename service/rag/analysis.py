"""Turn text into normalized terms: tokenize, stem lightly, map synonyms, drop stopwords.

`stem` is shared: the quiz grader (quizzes.textnorm) stems with it too. The stopwords and
synonyms are retrieval's own. Here negations and quantity words ("not", "no", "without",
"only", "all", "before") are stopwords, because they say nothing about which note answers a
question, and synonyms map phrases to the topic a note covers. The grader has to keep those
words to tell a negated or bounded claim from its opposite, and maps numbers and units
instead; with this module's stopwords its agreement with hand labels drops from 0.875 to
0.848 (bench/quiz_grading.py), so the two lists stay apart.
"""

from __future__ import annotations

import re
from functools import lru_cache

from service.rag.synonyms import RELATED, SEPARABLE, SYNONYMS

_TOKEN = re.compile(r"[a-z0-9]+")


def wordset(text: str) -> frozenset[str]:
    """Return the whitespace-separated words of text as a frozenset."""
    return frozenset(text.split())


# Function words that carry no topic. Question words are here too: "how do I ..." and
# "what is ..." say nothing about which note answers.
STOPWORDS = wordset(
    """a about above after again against all also am an and any are as at be because been
    before being below between both but by can cannot could did do does doing done down during
    each either else etc every few for from further had has have having he her here hers him
    his how i if in into is it its itself just let lets me might more most much must my myself
    need needs no nor not now of off on once one only or other our ours out over own per please
    really same shall she should so some such than that the their theirs them then there these
    they this those through thus to too under until up upon us use used uses using very via was
    we were what whats when where whether which while who whom why will with within without
    would yes yet you your yours s t d ll m re ve"""
)

# Words that ask for something rather than name a topic ("explain", "write me ..."). They
# count for retrieval but not as evidence that a question is on the notes' topic.
REQUEST_WORDS = wordset(
    """ask answer best better call come compare describe differ difference different example
    explain give go good happen know like list make mean new show tell thing think versus vs
    want way work write"""
)

_DOUBLE_KEEP = "lszaeiou"


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """Strip common English suffixes so word forms of one root meet ("scaling" -> "scal")."""
    # A deliberately small rule set (Porter-like, without its measure logic): char n-grams in
    # the embedder absorb what these rules miss. Digits and short words are left alone.
    if len(word) <= 3 or not word.isalpha():
        return word
    for suffix, repl in (
        ("ational", "ate"),
        ("ization", "ize"),
        ("ations", "ate"),
        ("ation", "ate"),
        ("sses", "ss"),
        ("ies", "y"),
        ("ied", "y"),
        ("ness", ""),
        ("ing", ""),
        ("ed", ""),
        ("ly", ""),
        ("s", ""),
    ):
        if not word.endswith(suffix):
            continue
        base = word[: len(word) - len(suffix)] + repl
        if (suffix == "s" and word.endswith(("ss", "us", "is"))) or len(base) < 3:
            break
        word = base
        # "stopped" -> "stopp" -> "stop"; "install" keeps its double l.
        if suffix in ("ing", "ed") and word[-1] == word[-2] and word[-1] not in _DOUBLE_KEEP:
            word = word[:-1]
        break
    if len(word) > 4 and word.endswith("e"):
        word = word[:-1]
    return word


def _phrase_key(phrase: str) -> tuple[str, ...]:
    return tuple(stem(w) for w in _TOKEN.findall(phrase.lower()))


def _build_phrases() -> dict[tuple[str, ...], tuple[tuple[str, ...], tuple[str, ...]]]:
    """Map each stemmed phrase to (the terms it becomes, related concept terms)."""
    table: dict[tuple[str, ...], tuple[tuple[str, ...], tuple[str, ...]]] = {}
    for canonical, phrases in SYNONYMS.items():
        target = (stem(canonical),)
        for phrase in (canonical, *phrases):
            if key := _phrase_key(phrase):
                table[key] = (target, ())
    for phrase, concepts in RELATED.items():
        key = _phrase_key(phrase)
        # A related phrase that is not also a synonym keeps its own words.
        words = zip(_TOKEN.findall(phrase.lower()), key, strict=True)
        own = tuple(table.get((s,), ((s,), ()))[0][0] for w, s in words if w not in STOPWORDS)
        target, extra = table.get(key, (own, ()))
        table[key] = (target, (*extra, *(stem(c) for c in concepts)))
    return table


_PHRASES = _build_phrases()
_MAX_PHRASE = max(len(k) for k in _PHRASES)
# verb stem -> [(particle, canonical term)]; the particle may follow within _MAX_GAP words.
_SEPARABLE: dict[str, list[tuple[str, str]]] = {}
for _canonical, (_verb, _particle) in SEPARABLE.items():
    _SEPARABLE.setdefault(stem(_verb), []).append((_particle, stem(_canonical)))
_MAX_GAP = 3


def _separated(words: list[str], stems: list[str], i: int) -> tuple[str, int] | None:
    """Return (canonical term, particle index) when words[i] opens a split phrasal verb."""
    for particle, canonical in _SEPARABLE.get(stems[i], ()):
        for j in range(i + 2, min(i + 2 + _MAX_GAP, len(words))):
            if words[j] == particle:
                return canonical, j
    return None


# Every word of the synonym table: a name it holds ("K8s", "Virginia") is domain vocabulary.
_DOMAIN_WORDS = frozenset(
    w
    for phrase in (*SYNONYMS, *(p for ps in SYNONYMS.values() for p in ps), *RELATED)
    for w in _TOKEN.findall(phrase.lower())
)


def domain_phrase(words: list[str] | tuple[str, ...]) -> bool:
    """Tell whether lower-case words are a synonym-table phrase (one word: in any phrase)."""
    if len(words) == 1:
        return words[0] in _DOMAIN_WORDS
    return tuple(stem(w) for w in words) in _PHRASES


def tokens(text: str) -> list[str]:
    """Split text into lowercase alphanumeric tokens."""
    return _TOKEN.findall(text.lower())


def _singular(word: str) -> str:
    """Return a number's singular ("502s" -> "502"); other words unchanged."""
    return word[:-1] if word.endswith("s") and word[:-1].isdigit() else word


@lru_cache(maxsize=8192)
def analyze(text: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Return (terms in order, related concept terms) of a text."""
    words = tokens(text)
    stems = [stem(_singular(w)) for w in words]
    out: list[str] = []
    related: list[str] = []
    skip: set[int] = set()  # particles of split phrasal verbs, already counted
    i = 0
    while i < len(words):
        if i in skip:
            i += 1
            continue
        # Longest known phrase starting here wins ("network load balancer" before
        # "load balancer"); phrases may contain stopwords ("how much", "go back to ...").
        for n in range(min(_MAX_PHRASE, len(words) - i), 0, -1):
            entry = _PHRASES.get(tuple(stems[i : i + n]))
            if entry is not None and (n > 1 or words[i] not in STOPWORDS):
                out.extend(entry[0])
                related.extend(entry[1])
                i += n
                break
        else:
            split = _separated(words, stems, i)
            if split is not None:
                out.append(split[0])
                skip.add(split[1])
            elif words[i] not in STOPWORDS:
                out.append(stems[i])
            i += 1
    return tuple(out), tuple(related)


def terms(text: str) -> list[str]:
    """Return the content terms of a text: stemmed, synonyms mapped, concepts added."""
    main, related = analyze(text)
    return [*main, *related]


def topic_terms(text: str) -> set[str]:
    """Return the content terms that name a topic (request words like "explain" removed)."""
    return set(terms(text)) - _REQUEST_STEMS


_REQUEST_STEMS = frozenset(stem(w) for w in REQUEST_WORDS)
