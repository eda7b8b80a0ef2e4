"""Normalise English answers for rubric matching: numbers, contractions, stems, clauses.

Also what the grader needs to read an answer rather than spot words in it: the scope of a
negation (a clause's parts, comma lists, clause words such as "so" or "because"), whether a
clause says something or lists keywords, and whether a word is a misspelling of another.

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
from functools import lru_cache
from pathlib import Path

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
# A predicate negation denies its whole scope, before or after it ("X isn't an issue",
# "it never counts X"); a forward one only what follows it ("no curl", "without a public IP",
# "instead of X").
PREDICATE_NEGATIONS = frozenset(_words("cannot never nobody none not nothing nowhere"))
FORWARD_NEGATIONS = frozenset(_words("instead neither no nor rather without"))
NEGATIONS = PREDICATE_NEGATIONS | FORWARD_NEGATIONS
_NOT_NEGATING_NEXT = frozenset({"only", "just", "merely", "simply"})
# Words that open a new clause inside a sentence: a negation does not reach past them
# (stemmed as `tokens` stems them: "because" -> "becaus").
_BOUNDARIES = frozenset(
    _words("""
    so becaus sinc which whil although though unless otherwis therefor henc thus then if
    when wherea where who whose that until say said mean
""")
)
_AUXILIARIES = frozenset(
    _words("""
    am is are was were be been being do does did has have had can could will would shall
    should must may might
""")
)
_SUBJECTS = frozenset(_words("it they we i you he she this there"))
_JOINERS = frozenset({"and", "or", "nor"})
_SUMMARIES = frozenset({"none", "nothing", "neither"})
LIST_ITEM_WORDS = 3  # a comma-separated part this short (content words) continues a list
SUBORDINATE_ITEM_WORDS = 2  # ...or this short after a subordinate clause ("if X, Y or Z")
# Openers of a subordinate clause, and of examples (stemmed as `tokens` stems them).
_SUBORDINATORS = frozenset(_words("if when unless sinc becaus although though whil until"))
_EXAMPLES = frozenset(_words("like such includ eg"))
_RELATIVES = frozenset(_words("that which who"))  # openers of a relative clause
MANY_PARTS = 5  # this many parts of a few words each is a list, verbs or not
# Verbs an answer gives as instructions ("add that permission"): a part opening with one is
# a sentence, not a list item (stemmed below, as `tokens` stems them).
_IMPERATIVE_WORDS = _words("""
    add allow attach check create delete enable force give grant increase install keep lower
    move open pin put raise read redeploy reduce register remove replace restart restrict
    rotate run scope set store switch turn update use wait
""")
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
_HERE = Path(__file__).resolve().parent  # quizzes/: the bank is in bank/, the notes in ../notes
BAR = "|"  # a comma/colon/bracket: ends the scope of a negation
MASK = "#"  # a word already used as evidence elsewhere


def stem(word: str) -> str:
    """Reduce a word to its stem, the same way for answers and rubric phrasings."""
    if word in _IRREGULAR:
        return _IRREGULAR[word]
    base = suffix_stem(word)
    return _SYNONYMS.get(base, base)


_IMPERATIVES = frozenset(stem(w) for w in _IMPERATIVE_WORDS)


def _prep(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).lower().replace("\u2019", "'")
    for pat, rep in _CONTRACTIONS:
        text = re.sub(pat, rep, text)
    text = re.sub(r"(?<=\d),(?=\d{3}\b)", "", text)  # 10,000 -> 10000
    text = re.sub(r"(?<![\d.])0\.0\.0\.0/0\b|::/0", " anywhere ", text)  # any IPv4/IPv6 source
    text = text.replace("%", " percent ").replace("$", " ")
    text = re.sub(r"(?<=[a-z])-(?=[a-z])", " ", text)  # health-check -> health check
    text = re.sub(r"(?<=[a-z]):(?=[a-z*])", " ", text)  # logs:CreateLogGroup: one name
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


@lru_cache(maxsize=8192)
def words_of(text: str) -> tuple[str, ...]:
    """Return a text's tokens without the clause bars (cached: rubric and pair phrases repeat)."""
    return tuple(t for t in tokens(text) if t != BAR)


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


def verbal(words: list[str]) -> bool:
    """Return True if the words make a clause (a verb, a subject, or an instruction)."""
    # An instruction has two words or more ("add that permission", "or use urllib"); a lone
    # "restarts" in a list is a noun.
    said = [t for t in words if t not in _JOINERS and t != "then"]
    return (len(said) >= 2 and said[0] in _IMPERATIVES) or any(
        t in _AUXILIARIES or t in _SUBJECTS or t in PREDICATE_NEGATIONS for t in words
    )


def list_like(clause: list[str]) -> bool:
    """Return True for a clause that lists keywords instead of saying something."""
    words = [t for t in clause if t != BAR]
    segs = segments(clause)
    bare = sum(not verbal(seg) for seg in segs)
    # function words other than and/or: "x and y and z" is a list, not a sentence
    real = sum((t in STOPWORDS or t in NEGATIONS) and t not in ("and", "or") for t in words)
    ands = sum(t in ("and", "or") for t in words)
    return (
        (len(words) >= 6 and real / len(words) < 0.1)
        or (ands >= 3 and ands > real)  # "x and y and z and w"
        # three or more comma parts of a few words each, most of them not sentences
        or (len(segs) >= 3 and len(words) / len(segs) < 4 and bare >= len(segs) / 2)
        or (len(segs) >= MANY_PARTS and len(words) / len(segs) < 4)  # sentences or not
        or (len(words) > 40 and len(segs) == 1)
    )


def prose_ratio(toks: list[str]) -> float:
    """Return the share of function words: ~0.3-0.5 in prose, ~0 in a keyword list."""
    words = [t for t in toks if t != BAR]
    if not words:
        return 0.0
    return sum(t in STOPWORDS or t in NEGATIONS for t in words) / len(words)


def _content_word(t: str) -> bool:
    return t not in STOPWORDS and t not in NEGATIONS and t not in (BAR, MASK)


def _verb_like(words: list[str]) -> bool:
    return any(t in _AUXILIARIES or t in PREDICATE_NEGATIONS for t in words)


def _own_clause(before: list[str], rest: list[str]) -> bool:
    """Return True if the words after 'and'/'or' form a clause of their own ('and it is')."""
    if not rest:
        return False
    if rest[0] in _SUBJECTS or rest[0] in PREDICATE_NEGATIONS:
        return True
    # "X is rebuilt and the push isn't small": both sides have a verb; "the secret and the
    # ALB cases are similar" does not split.
    return _verb_like(rest[:4]) and _verb_like(before)


def units(clause: list[str]) -> list[tuple[int, int, str]]:
    """Split a clause into (start, end, opener) units at commas, clause words and 'and it'."""
    # opener: "start" (the clause's first unit), "bar" (after a comma, colon or bracket),
    # "boundary" (at 'so', 'because', 'which', ...) or "and" (at 'and'/'or' before a clause).
    out: list[tuple[int, int, str]] = []
    start, opener = 0, "start"
    bars = [i for i, t in enumerate(clause) if t == BAR] + [len(clause)]
    for i, t in enumerate(clause):
        cut = None
        if t == BAR:
            cut = "bar"
        elif t in _BOUNDARIES and i > start:
            cut = "boundary"
        elif t in _JOINERS and i > start:
            end = next(b for b in bars if b > i)
            if _own_clause(clause[start:i], clause[i + 1 : end]):
                cut = "and"
        if cut is None:
            continue
        if i > start:
            out.append((start, i, opener))
        start, opener = (i + 1, cut) if t == BAR else (i, cut)
        if t == BAR and start < len(clause) and clause[start] in _BOUNDARIES:
            opener = "boundary"  # ", so nothing happens": a clause, not a list item
    if start < len(clause):
        out.append((start, len(clause), opener))
    return out


def _list_item(words: list[str]) -> bool:
    """Return True for a short comma part that continues a list ('probes', 'or bin-packing')."""
    if not words:
        return False
    if words[0] in _SUMMARIES:
        return True  # "X, Y, none of these count": the list's verb
    if verbal(words):
        return False  # a clause of its own: "it is", "install it", "and X is not"
    pieces: list[list[str]] = [[]]
    for t in words:
        if t in _JOINERS:
            pieces.append([])
        elif _content_word(t):
            pieces[-1].append(t)
    return all(len(p) <= LIST_ITEM_WORDS for p in pieces)


def _continues(clause: list[str], out, start: int, end: int) -> bool:
    """Return True if the comma part at start..end continues the scope before it."""
    words = clause[start:end]
    if not out or not _list_item(words) or words[0] in _EXAMPLES:
        return False  # "settings that aren't sensitive, like PORT": examples, not denied
    # after "if X isn't ready," only a short list item continues: "if it has no curl, wget or
    # python"; "if new tasks never get healthy, the old one keeps serving" is the main clause
    head = next(clause[s] for s, _, _, sc in out if sc == out[-1][3])
    if head in _RELATIVES:
        # "things that aren't sensitive, PORT, LOG_LEVEL": the items name the things, the
        # relative clause's denial is not theirs; "that has no curl, or wget" still shares it
        return words[0] in _JOINERS
    short = words[0] in _JOINERS or sum(map(_content_word, words)) <= SUBORDINATE_ITEM_WORDS
    return head not in _SUBORDINATORS or short


def scopes(clause: list[str]) -> list[tuple[int, int, str, int]]:
    """Return the clause's units as (start, end, opener, scope): list items share a scope."""
    out: list[tuple[int, int, str, int]] = []
    scope = -1
    for start, end, opener in units(clause):
        if not (opener == "bar" and _continues(clause, out, start, end)):
            scope += 1
        out.append((start, end, opener, scope))
    return out


def governing(clause: list[str], hits: list[int]) -> list[int]:
    """Return the positions of the negation cues that govern the words at `hits`."""
    # A predicate cue ("not", "never", "nothing") governs its scope, before or after it,
    # across a comma list; at the head of a comma part ("X, not Y") it governs only that part.
    # A forward cue ("no", "without", "instead") governs what follows it in its scope. A cue
    # alone in its part ("No, it counts tasks") is an interjection and governs nothing.
    if not hits:
        return []
    lo, hi = min(hits), max(hits)
    parts = scopes(clause)
    cues: list[int] = []
    for start, end, opener, scope in parts:
        if not any(_content_word(t) for t in clause[start:end]):
            continue  # an interjection: "No," "Not really,"
        reach = [(s, e) for s, e, _, sc in parts if sc == scope]
        for j in range(start, end):
            if not is_negation(clause, j):
                continue
            head = j == start or (j == start + 1 and clause[start] in _JOINERS)
            contrast = head and opener in ("bar", "and") and clause[j] in ("not", "never")
            no_longer = clause[j] == "no" and clause[j + 1 : j + 2] == ["longer"]
            if lo < j < hi:
                covered = True
            elif contrast or (head and opener == "start" and clause[j] in FORWARD_NEGATIONS):
                # "X, not Y" and "Without NAT, tasks need ...": only the part the cue opens
                covered = any(j < h < end for h in hits)
            elif clause[j] in FORWARD_NEGATIONS and not no_longer:
                covered = any(j < h < e for s, e in reach for h in hits if s >= start)
            else:
                covered = any(s <= h < e for s, e in reach for h in hits)
            if covered:
                cues.append(j)
    return cues


def edit_distance(a: str, b: str, limit: int) -> int:
    """Return the Levenshtein distance of a and b, or limit + 1 once it exceeds limit."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        if min(cur) > limit:
            return limit + 1
        prev = cur
    return prev[-1]


@lru_cache(maxsize=1)
def known_words() -> frozenset[str]:
    """Return the stems of every word the bank and the notes use (spelt right, by assumption)."""
    sources = [
        *sorted((_HERE / "bank").glob("*.yaml")),
        *sorted((_HERE.parent / "notes").glob("*.md")),
    ]
    words: set[str] = set()
    for path in sources:
        words |= set(_TOKEN.findall(_prep(path.read_text(encoding="utf-8"))))
    return frozenset(stem(w) for w in words if w.isalpha())


def typo_of(want: str, tok: str) -> bool:
    """Return True if tok is a misspelling of the (stemmed) word want ("sensitve")."""
    # One edit for words of 5 to 8 letters, two for longer ones; shorter words, numbers and
    # compounds must match exactly. Never a word the bank or notes use ("path" is not
    # "patch"), a different first letter, or the word with a prefix or ending ("deregister").
    n = len(want)
    if n < 5 or not (want.isalpha() and tok.isalpha()) or want[0] != tok[0]:
        return False
    if tok.endswith(want) or want.endswith(tok) or want.startswith(tok) or tok.startswith(want):
        return False
    limit = 1 if n <= 8 else 2
    if edit_distance(want, tok, limit) > limit:
        return False
    return tok not in STOPWORDS and tok not in NEGATIONS and tok not in known_words()
