"""Normalise English answers for rubric matching: numbers, contractions, stems, clauses.

The suffix stemmer is the retrieval analyzer's (`service.rag.analysis.stem`), so a word form
means the same in both. The rest differs on purpose. Retrieval drops negations and quantity
words ("not", "no", "without", "only", "all", "more", "before", "under") as stopwords because
they say nothing about which note answers; the grader keeps them, since "not at check #3",
"under 120 s" or "before the old task stops" is what a rubric point or a wrong claim turns on.
Numbers, contractions, negation scope and the grader's word tables (min/max, cost, time
units) have no counterpart in retrieval, whose synonyms map phrases to topics instead. With
retrieval's stopword list, agreement with the hand labels of bench/quiz_grading.py drops from
0.875 to 0.848 and 44 of 49 model answers pass instead of 49.
"""

import re
import unicodedata

from service.rag.analysis import stem as suffix_stem


def _words(text: str) -> list[str]:
    return text.split()


def _table(text: str) -> dict[str, str]:
    # "a=b c=d" -> {"a": "b", "c": "d"}: word tables kept compact
    return dict(pair.split("=") for pair in text.split())


_UNITS = {
    w: n
    for n, w in enumerate(
        _words("""
    zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen
    fifteen sixteen seventeen eighteen nineteen
""")
    )
} | {"once": 1, "twice": 2, "single": 1, "double": 2}
_TENS = {
    w: 10 * n
    for n, w in enumerate(_words("twenty thirty forty fifty sixty seventy eighty ninety"), 2)
}
_CONTRACTIONS = [
    (r"\bcan't\b", "can not"),
    (r"\bwon't\b", "will not"),
    (r"\bshan't\b", "shall not"),
    (r"n't\b", " not"),
    (r"'re\b", " are"),
    (r"'ll\b", " will"),
    (r"'ve\b", " have"),
    (r"'d\b", " would"),
    (r"'s\b", ""),
    (r"'m\b", " am"),
]
STOPWORDS = frozenset(
    _words("""
    a about actually also am an and are as at basically be been being by can could did do
    does for from get gets got had has have having he her here him how i if in into is it
    its just may me might must my of on onto or our per quite really shall she should so
    such than that the their them there these they this those to us very via was we were
    what when where which who whom whose why will with would you your
""")
)
NEGATIONS = frozenset(
    _words("cannot instead neither never no nobody none nor not nothing nowhere rather without")
)
_NOT_NEGATING_NEXT = frozenset({"only", "just", "merely", "simply"})
# keyed by stem: "price" stems to "pric", "ceiling" to "ceil" (tests check each key is one)
_SYNONYMS = _table("""
    minimum=min floor=min least=min lowest=min maximum=max ceil=max cap=max most=max
    pct=percent revert=rollback failur=fail unhealthi=unhealthy pric=cost pay=cost paid=cost
    fee=cost bill=cost charg=cost sec=second hr=hour hrs=hour minut=minute restart=relaunch
""")
_IRREGULAR = _table("""
    using=use ran=run running=run kept=keep lost=lose stopped=stop went=go gone=go did=do
    done=do
""")
_AFTER_NUMBER = _table("""
    s=second sec=second secs=second min=minute mins=minute m=minute h=hour hr=hour hrs=hour
    x=times gb=gb gib=gb mb=mb
""")
_CLAUSE_SPLIT = re.compile(r"[.!?](?=\s|$)|:\s|[;\n\u2022]|\s-\s|\bbut\b|\bwhereas\b|\bhowever\b")
_TOKEN = re.compile(r"\d+(?:\.\d+)?|[a-z]+|[,:()]")
BAR = "|"  # a comma/colon/bracket: ends the scope of a negation
MASK = "#"  # a word already used as evidence elsewhere


def stem(word: str) -> str:
    """Reduce a word to its stem, the same way for answers and rubric phrasings."""
    if word in _IRREGULAR:
        return _IRREGULAR[word]
    base = suffix_stem(word)
    return _SYNONYMS.get(base, base)


def _prep(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).lower().replace("\u2019", "'")
    for pat, rep in _CONTRACTIONS:
        text = re.sub(pat, rep, text)
    text = re.sub(r"(?<=\d),(?=\d{3}\b)", "", text)  # 10,000 -> 10000
    text = text.replace("%", " percent ").replace("$", " ")
    text = re.sub(r"(?<=[a-z])-(?=[a-z])", " ", text)  # health-check -> health check
    text = re.sub(r"\broll(s|ed|ing)? back\b", "rollback", text)
    text = re.sub(r"\bper cent\b", "percent", text)
    return text


def _numbers(words: list[str]) -> list[str]:
    """Turn number words into digits ('twenty five' -> 25, 'half' -> 50 percent)."""
    out: list[str] = []
    i = 0
    while i < len(words):
        w = words[i]
        if w in _TENS or w in _UNITS:
            value = _TENS.get(w, _UNITS.get(w, 0))
            if w in _TENS and i + 1 < len(words) and words[i + 1] in _UNITS:
                value += _UNITS[words[i + 1]]
                i += 1
            if i + 1 < len(words) and words[i + 1] == "hundred":
                value *= 100
                i += 1
            out.append(str(value))
        elif w == "hundred":
            out.append("100")
        elif w in ("half", "halve"):
            out += ["50", "percent"]
        elif re.fullmatch(r"\d+\.\d+", w):
            f = float(w)
            if w in ("0.5", "0.50"):
                out += ["50", "percent"]
            else:
                out.append(str(int(f)) if f.is_integer() else str(f))
        else:
            out.append(w)
        i += 1
    return out


_COMPOUND_WORDS = [
    ("task", "role"),
    ("execution", "role"),
    ("health", "check"),
    ("target", "group"),
    ("security", "group"),
    ("log", "group"),
    ("log", "stream"),
    ("desired", "count"),
    ("task", "definition"),
    ("circuit", "breaker"),
    ("load", "balancer"),
    ("public", "ip"),
    ("secrets", "manager"),
    ("parameter", "store"),
    ("service", "role"),
]
_COMPOUNDS: dict[tuple[str, str], str] = {}


def _compounds() -> dict[tuple[str, str], str]:
    if not _COMPOUNDS:
        for a, b in _COMPOUND_WORDS:
            _COMPOUNDS[(stem(a), stem(b))] = f"{stem(a)}_{stem(b)}"
        _COMPOUNDS[("healthcheck", "")] = "health_check"
    return _COMPOUNDS


def _join(toks: list[str]) -> list[str]:
    """Join compound nouns ('task role' -> 'task_role') so 'task ... role' is not 'task role'."""
    table, out, i = _compounds(), [], 0
    while i < len(toks):
        pair = (toks[i], toks[i + 1]) if i + 1 < len(toks) else None
        if pair in table:
            out.append(table[pair])
            i += 2
            continue
        out.append("health_check" if toks[i] == "healthcheck" else toks[i])
        i += 1
    return out


def tokens(text: str) -> list[str]:
    """Return normalised, stemmed tokens (stopwords kept; callers filter)."""
    words = _numbers(_TOKEN.findall(_prep(text)))
    out: list[str] = []
    for w in words:
        if w in ",:()":
            out.append(BAR)
        elif out and out[-1].replace(".", "").isdigit() and w in _AFTER_NUMBER:
            out.append(_AFTER_NUMBER[w])
        else:
            out.append(stem(w) if w not in STOPWORDS and w not in NEGATIONS else w)
    return _join(out)


def clauses(text: str) -> list[list[str]]:
    """Split text into clauses (sentences, and halves around 'but'/'whereas'), tokenised."""
    prepared = _prep(text)
    return [t for part in _CLAUSE_SPLIT.split(prepared) if part and (t := tokens(part))]


def sentences(text: str) -> list[str]:
    """Split text into sentences (for the attribution check)."""
    return [s for s in re.split(r"[.!?](?=\s|$)|\n", text) if s.strip()]


def content(toks: list[str]) -> list[str]:
    """Drop stopwords, negation cues and punctuation marks."""
    return [t for t in toks if t not in STOPWORDS and t not in NEGATIONS and t not in (BAR, MASK)]


def is_negation(toks: list[str], i: int) -> bool:
    """Return True if toks[i] negates what follows ('not only' does not)."""
    if toks[i] not in NEGATIONS:
        return False
    nxt = toks[i + 1] if i + 1 < len(toks) else ""
    return nxt not in _NOT_NEGATING_NEXT


def segments(clause: list[str]) -> list[list[str]]:
    """Split a clause's tokens at commas/colons/brackets."""
    out: list[list[str]] = [[]]
    for t in clause:
        if t == BAR:
            out.append([])
        else:
            out[-1].append(t)
    return [seg for seg in out if seg]


def list_like(clause: list[str]) -> bool:
    """Return True for a clause that lists keywords instead of saying something."""
    words = [t for t in clause if t != BAR]
    segs = segments(clause)
    # function words other than and/or: "x and y and z" is a list, not a sentence
    real = sum((t in STOPWORDS or t in NEGATIONS) and t not in ("and", "or") for t in words)
    ands = sum(t in ("and", "or") for t in words)
    return (
        (len(words) >= 6 and real / len(words) < 0.1)
        or (ands >= 3 and ands > real)  # "x and y and z and w"
        or (len(segs) >= 3 and len(words) / len(segs) < 4)
        or (len(words) > 40 and len(segs) == 1)
    )


def prose_ratio(toks: list[str]) -> float:
    """Return the share of function words: ~0.3-0.5 in prose, ~0 in a keyword list."""
    words = [t for t in toks if t != BAR]
    if not words:
        return 0.0
    return sum(t in STOPWORDS or t in NEGATIONS for t in words) / len(words)
