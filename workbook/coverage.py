"""Map the guide's sections to the chapters that teach them and the quiz items that test them."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK_DIR = ROOT / "notebooks"
CHAPTER_FILE = re.compile(r"^(\d\d)_[a-z0-9_]+\.ipynb$")
METADATA_KEYS = ("chapter", "title", "guide_sections", "quiz_items")
MARKER_START = "<!-- coverage:start -->"
MARKER_END = "<!-- coverage:end -->"


class CoverageError(ValueError):
    """A chapter's metadata is missing or malformed, or a README lacks the coverage markers."""


@dataclass(frozen=True)
class Row:
    """One guide section: the chapters that claim it and the quiz items that test it."""

    section: str
    title: str
    chapters: tuple[str, ...]
    items: tuple[str, ...]


def chapter_files(notebook_dir: Path = NOTEBOOK_DIR) -> list[Path]:
    """Return the chapter notebooks (NN_slug.ipynb), in chapter order."""
    return sorted(p for p in notebook_dir.glob("*.ipynb") if CHAPTER_FILE.match(p.name))


def chapter_names(notebook_dir: Path = NOTEBOOK_DIR) -> dict[str, str]:
    """Return each chapter's number ("08") mapped to its name from the file ("ecs-deploy")."""
    return {p.name[:2]: p.stem[3:].replace("_", "-") for p in chapter_files(notebook_dir)}


def read_metadata(path: Path) -> dict:
    """Return a chapter's `metadata.workbook`, refusing a missing or incomplete block."""
    meta = json.loads(path.read_text(encoding="utf-8")).get("metadata", {}).get("workbook")
    if not isinstance(meta, dict):
        raise CoverageError(f"{path.name}: no metadata.workbook block")
    missing = [k for k in METADATA_KEYS if k not in meta]
    if missing:
        raise CoverageError(f"{path.name}: metadata.workbook lacks {', '.join(missing)}")
    if meta["chapter"] != path.name[:2]:
        raise CoverageError(
            f"{path.name}: metadata.workbook.chapter is {meta['chapter']!r}, "
            f"the file name says {path.name[:2]!r}"
        )
    return meta


def chapter_metadata(notebook_dir: Path = NOTEBOOK_DIR) -> dict[str, dict]:
    """Return every present chapter's metadata, keyed by the two-digit chapter string."""
    return {(meta := read_metadata(p))["chapter"]: meta for p in chapter_files(notebook_dir)}


def load_bank():
    """Return the question bank (items and sections) from the quiz settings."""
    # imported here: quizzes.schema takes its chapter list from this module (a cycle otherwise)
    from quizzes.config import get_settings
    from quizzes.loader import load_bank as load

    s = get_settings()
    return load(s.bank_dir, s.sections_path)


def coverage_rows(notebook_dir: Path = NOTEBOOK_DIR, bank=None) -> list[Row]:
    """Return one row per section of quizzes/sections.yaml, in guide order."""
    bank = bank or load_bank()
    chapters = chapter_metadata(notebook_dir)
    rows = []
    for section in bank.sections:
        claimed = tuple(n for n, m in sorted(chapters.items()) if section.id in m["guide_sections"])
        items = tuple(i.id for i in bank.items.values() if i.guide_section == section.id)
        rows.append(Row(section.id, section.title, claimed, items))
    return rows


def unclaimed(rows: list[Row]) -> list[str]:
    """Return the ids of sections no present chapter claims."""
    return [r.section for r in rows if not r.chapters]


def markdown_table(rows: list[Row], max_items: int = 4) -> str:
    """Return the rows as a markdown table (section, title, chapters, quiz items)."""
    lines = ["| guide section | title | chapters | quiz items |", "|---|---|---|---|"]
    for r in rows:
        shown = ", ".join(f"`{i}`" for i in r.items[:max_items])
        more = f" +{len(r.items) - max_items}" if len(r.items) > max_items else ""
        chapters = ", ".join(r.chapters) or "—"
        title = r.title.replace("|", "\\|")
        lines.append(f"| `{r.section}` | {title} | {chapters} | {shown or '—'}{more} |")
    return "\n".join(lines) + "\n"


def replace_between_markers(text: str, table: str) -> str:
    """Return `text` with the table put between the coverage markers (which must exist)."""
    start, end = text.find(MARKER_START), text.find(MARKER_END)
    if start < 0 or end < start:
        raise CoverageError(f"no {MARKER_START} ... {MARKER_END} block to replace")
    return text[: start + len(MARKER_START)] + "\n" + table + text[end:]


def write(path: Path, rows: list[Row] | None = None) -> Path:
    """Write the coverage table to `path` (a README with markers is updated in place)."""
    table = markdown_table(rows if rows is not None else coverage_rows())
    if path.exists() and MARKER_START in path.read_text(encoding="utf-8"):
        path.write_text(replace_between_markers(path.read_text(encoding="utf-8"), table))
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(table, encoding="utf-8")
    return path
