"""Correct misspelt question words against the indexed text's own vocabulary."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence

from service.rag.analysis import STOPWORDS

# Shorter words are left alone: an English word one edit from a known one is too likely
# ("water" and "waiter", "light" and "flight").
MIN_LENGTH = 6
# From this length on, a substituted letter is corrected too ("inferance"); shorter words are
# corrected only for a dropped or an extra letter, or "boiling" would become "billing".
SUBSTITUTION_LENGTH = 8
_WORD = re.compile(r"[A-Za-z]+")
# A word that starts with a capital and holds no digit: "Azure", "SageMaker" (not "IPv4").
_NAME = re.compile(r"(?<![\w-])[A-Z][A-Za-z]{2,}(?![\w-])")


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
        self.counts: Counter[str] = Counter(w for w in words if w.isalpha())
        self._by_variant: dict[str, list[str]] = {}
        for word in self.counts:
            if len(word) >= MIN_LENGTH:
                for variant in _variants(word):
                    self._by_variant.setdefault(variant, []).append(word)

    def known(self, word: str) -> bool:
        """Tell whether the word occurs in the indexed text."""
        return word in self.counts

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


def unknown_names(text: str, spellers: Sequence[Speller]) -> list[str]:
    """Return the capitalised words after the first that no indexed text uses ("Azure")."""
    # A name the documents never mention is the surest sign of a question they cannot
    # answer: another cloud's product, a person, a place. All-caps acronyms are left out
    # (a question may spell one the notes write out), and so is the first word, which is
    # capitalised anyway.
    names = []
    for match in _NAME.finditer(text):
        word = match.group(0)
        if (
            match.start()
            and not word.isupper()
            and not any(s.known(word.lower()) for s in spellers)
        ):
            names.append(word)
    return names
