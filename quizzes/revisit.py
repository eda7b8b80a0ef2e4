"""Where to revisit an item: its chapter notebook and the note section that best covers it."""

import math
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from quizzes.followup import item_text
from quizzes.schema import Item
from service.rag.analysis import topic_terms
from workbook.coverage import ROOT, chapter_files

NOTES_DIR = ROOT / "notes"
_HEADING = re.compile(r"^## +(.+?)\s*$", re.M)
HEADING_WEIGHT = 2.0  # a term in the section's heading counts this many times


@dataclass(frozen=True)
class NoteSection:
    """A section of notes/<topic>.md (heading empty when the file has no better match)."""

    path: str  # relative to the repository, e.g. notes/ecs-service.md
    heading: str = ""

    @property
    def anchor(self) -> str:
        """Return the section's GitHub-style anchor ('' for the whole file)."""
        slug = re.sub(r"[^\w\- ]", "", self.heading.lower())
        return slug.replace(" ", "-")

    @property
    def link(self) -> str:
        """Return path#anchor (or just the path)."""
        return f"{self.path}#{self.anchor}" if self.heading else self.path


@lru_cache(maxsize=64)
def _sections(path: Path) -> tuple[tuple[str, frozenset[str], frozenset[str]], ...]:
    """Return (heading, heading terms, all terms) for each '## ' section of a note."""
    text = path.read_text(encoding="utf-8")
    marks = list(_HEADING.finditer(text))
    out = []
    for i, m in enumerate(marks):
        end = marks[i + 1].start() if i + 1 < len(marks) else len(text)
        head = frozenset(topic_terms(m.group(1)))
        out.append((m.group(1), head, head | frozenset(topic_terms(text[m.end() : end]))))
    return tuple(out)


def note_section(item: Item, notes_dir: Path = NOTES_DIR) -> NoteSection | None:
    """Return the section of notes/<topic>.md that shares the most telling terms with the item."""
    path = notes_dir / f"{item.topic}.md"
    if not path.exists():
        return None
    rel = f"{notes_dir.name}/{path.name}"
    sections = _sections(path)
    if not sections:
        return NoteSection(rel)
    want = topic_terms(item_text(item))
    # A term found in few sections tells more than one found in all of them (idf).
    df = {t: sum(t in terms for _, _, terms in sections) for t in want}
    idf = {t: math.log((1 + len(sections)) / (1 + n)) for t, n in df.items() if n}

    def score(section: tuple[str, frozenset[str], frozenset[str]]) -> float:
        _, head, terms = section
        return sum(w * (HEADING_WEIGHT if t in head else 1.0) for t, w in idf.items() if t in terms)

    best = max(sections, key=score)
    return NoteSection(rel, best[0]) if score(best) > 0 else NoteSection(rel)


@lru_cache(maxsize=32)
def chapter_notebook(chapter: str) -> str:
    """Return the chapter's notebook path (e.g. notebooks/08_ecs_deploy.ipynb)."""
    for path in chapter_files():
        if path.name.startswith(f"{chapter}_"):
            return f"{path.parent.name}/{path.name}"
    return f"chapter {chapter}"
