"""Correct misspelt question words against the indexed text's own vocabulary."""

from __future__ import annotations

import functools
import itertools
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from functools import lru_cache

from service.rag.analysis import STOPWORDS, domain_phrase, tokens

# Shorter words are left alone: an English word one edit from a known one is too likely
# ("water" and "waiter", "light" and "flight").
MIN_LENGTH = 6
# From this length on, a substituted letter is corrected too ("inferance"); shorter words are
# corrected only for a dropped or an extra letter, or "boiling" would become "billing".
SUBSTITUTION_LENGTH = 8
_WORD = re.compile(r"[A-Za-z]+")
# A word that starts with a capital and holds no digit: "Azure", "SageMaker" (not "IPv4").
_NAME = re.compile(r"(?<![\w-])[A-Z][A-Za-z]{2,}(?![\w-])")
# An acronym: two to five capitals, maybe a digit, maybe a plural s ("SQS", "GKE", "ALBs").
_ACRONYM = re.compile(r"(?<![\w.-])[A-Z][A-Z0-9]{1,4}s?(?![\w-])")
# A title-case or camel-case word ("Cloud", "DynamoDB"), the links of a multi-word name.
_TITLE = re.compile(r"[A-Z][A-Za-z0-9]*[a-z][A-Za-z0-9]*")
_PUNCTUATION = ",.;:?!()\"'"
_SENTENCE_END = re.compile(r"(?:^|[?!]|[A-Za-z0-9]{2,}\.)$")
# "AWS Secrets Manager" is the notes' "Secrets Manager": the vendor is not part of the name.
_VENDOR = frozenset({"aws", "amazon"})


def _variants(word: str) -> set[str]:
    """Return the word and every string one deletion away from it."""
    return {word} | {word[:i] + word[i + 1 :] for i in range(len(word))}


class Speller:
    """Map an unknown word to the most frequent known word within about one edit.

    Symmetric deletion (Garbe's SymSpell): a known word and a typo meet when deleting one
    character from each gives the same string, which covers one insertion, deletion or
    substitution, and an adjacent swap; no edit distance is computed per known word.
    """

    def __init__(self, words: Iterable[str]) -> None:
        words = list(words)
        self.counts: Counter[str] = Counter(w for w in words if w.isalpha())
        self._words = frozenset(words)  # with the alphanumeric ones ("s3", "ipv4")
        # Adjacent word pairs, to tell a known multi-word name ("Secrets Manager") from a
        # new one made of known words ("Google Cloud Run").
        self.pairs: set[tuple[str, str]] = set(itertools.pairwise(words))
        self._by_variant: dict[str, list[str]] = {}
        # A scan of the vocabulary, once per name and speller (a speller lives with its index).
        self.inside_word = functools.lru_cache(maxsize=1024)(self._inside_word)
        for word in self.counts:
            if len(word) >= MIN_LENGTH:
                for variant in _variants(word):
                    self._by_variant.setdefault(variant, []).append(word)

    def known(self, word: str) -> bool:
        """Tell whether the word occurs in the indexed text."""
        return word in self._words

    def _inside_word(self, word: str) -> bool:
        """Tell whether a (lower-case) word is part of a longer indexed word."""
        return any(word in known for known in self._words if len(known) > len(word))

    def known_phrase(self, words: Sequence[str]) -> bool:
        """Tell whether every adjacent pair of the (lower-case) words occurs in the text."""
        return all(pair in self.pairs for pair in itertools.pairwise(words))

    def correct_word(self, word: str) -> str | None:
        """Return the known word a misspelt word most likely means (None: no guess)."""
        low = word.lower()
        if len(low) < MIN_LENGTH or low in self.counts or low in STOPWORDS:
            return None
        # A dropped letter ("fargte"), an extra one ("sesssion"), then a changed one.
        found = set(self._by_variant.get(low, ())) | {v for v in _variants(low) if v in self.counts}
        if not found and len(low) >= SUBSTITUTION_LENGTH:
            found = {w for v in _variants(low) for w in self._by_variant.get(v, ())}
        if not found:
            return None
        return max(sorted(found), key=lambda w: (self.counts[w], -abs(len(w) - len(low))))


def correct(text: str, spellers: Sequence[Speller]) -> str:
    """Return text with words no speller knows replaced by the likeliest known spelling."""

    def fix(match: re.Match[str]) -> str:
        word = match.group(0)
        if any(s.known(word.lower()) for s in spellers):
            return word
        guesses = [(s.counts[g], g) for s in spellers if (g := s.correct_word(word))]
        return max(guesses)[1] if guesses else word

    return _WORD.sub(fix, text)


def _sentence_start(before: str) -> bool:
    """Tell whether a word after this text opens a sentence (capitalised anyway)."""
    # "ECS. Describe" opens one; "N. Virginia" and "e.g. Azure" do not.
    return _SENTENCE_END.search(before.rstrip(" \t\n\"'([")) is not None


def _known(words: Sequence[str], spellers: Sequence[Speller]) -> bool:
    """Tell whether a (lower-case) word or phrase is in an indexed text or the synonym table."""
    if domain_phrase(words):
        return True
    if len(words) == 1:
        return any(s.known(words[0]) for s in spellers)
    return any(s.known_phrase(words) for s in spellers)


def _part_of_known(name: str, spellers: Sequence[Speller]) -> bool:
    """Tell whether a camel-case name is part of an indexed word ("ReadWrite" in a policy's)."""
    camel = len(name) >= 5 and any(c.isupper() for c in name[1:]) and not name.isupper()
    return camel and any(s.inside_word(name.lower()) for s in spellers)


def _acronyms(text: str) -> list[tuple[str, tuple[str, ...]]]:
    """Return the acronyms of text ("SQS", "ALBs"), each with its lower-case spellings."""
    out = []
    for match in _ACRONYM.finditer(text):
        word = match.group(0)
        low = word.lower()
        if low not in _VENDOR:  # the notes' own cloud, named or not
            out.append((word, (low, low.removesuffix("s"))))
    return out


def _multiword_names(text: str) -> list[tuple[str, tuple[str, ...]]]:
    """Return the runs of two or more title-case words ("Google Cloud Run"), with their words."""
    out: list[tuple[str, tuple[str, ...]]] = []
    run: list[str] = []

    def flush() -> None:
        words = tuple(t for w in run for t in tokens(w) if t not in _VENDOR)
        if len(run) >= 2 and len(words) >= 2:
            out.append((" ".join(run), words))
        run.clear()

    last = ""
    for match in re.finditer(r"\S+", text):
        token = match.group(0)
        word = token.strip(_PUNCTUATION)
        # An acronym may open a name ("API Gateway"), not extend one ("Dockerfile CMD"); after
        # a number it is a unit ("8 GB Fargate").
        opens = not run and _ACRONYM.fullmatch(word) is not None and not last[:1].isdigit()
        # A sentence's first word is capitalised anyway ("Explain Fargate Spot").
        capitalised = word.istitle() and _sentence_start(text[: match.start()])
        last = word
        if (opens or _TITLE.fullmatch(word)) and word.lower() not in STOPWORDS and not capitalised:
            run.append(word)
            if token.endswith(tuple(_PUNCTUATION)):
                flush()  # "Run, ..." : punctuation ends a name
        else:
            flush()
    flush()
    return out


@lru_cache(maxsize=4096)
def _name_candidates(text: str) -> tuple[tuple[str, tuple[str, ...], bool], ...]:
    """Return (name, its lower-case words, whether they are alternatives) found in text."""
    found: list[tuple[str, tuple[str, ...], bool]] = []
    for match in _NAME.finditer(text):
        word = match.group(0)
        if not (_sentence_start(text[: match.start()]) or word.isupper()):
            found.append((word, (word.lower(),), True))
    found += [(a, spellings, True) for a, spellings in _acronyms(text)]
    found += [(n, words, False) for n, words in _multiword_names(text)]
    return tuple(found)


def unknown_names(text: str, spellers: Sequence[Speller]) -> list[str]:
    """Return the names no indexed text uses: capitalised words, acronyms, multi-word names."""
    # A name the documents never mention is the surest sign of a question they cannot
    # answer: another cloud's product, a person, a place. A name counts as known when the
    # documents use it or the synonym table maps it ("K8s", "N. Virginia"). A sentence's
    # first word is capitalised anyway: it is no name unless it is an acronym or opens a
    # multi-word one.
    names: list[str] = []
    for name, words, alternatives in _name_candidates(text):
        if alternatives:
            known = any(_known([w], spellers) for w in words) or _part_of_known(name, spellers)
        else:
            known = _known(words, spellers)
        if not known and name not in names:
            names.append(name)
    return names
