"""Serve the notes library read-only: which notes there are, their HTML, links to a section."""

# One slug function names a heading's anchor on the rendered page and in a citation's link,
# so a citation always lands on a heading that exists.

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache, lru_cache
from itertools import pairwise
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

if TYPE_CHECKING:
    from markdown_it import MarkdownIt

NOTES_ROUTE = "/notes"
NOTE_SUFFIX = ".md"
_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")  # [text](url) and ![alt](src): the text counts
_PUNCTUATION = re.compile(r"[^\w\- ]")  # GitHub keeps letters, digits, "_", "-" and spaces


def slug(heading: str) -> str:
    """Return a heading's GitHub-style anchor: lower case, no punctuation, spaces as '-'."""
    text = _PUNCTUATION.sub("", _LINK.sub(r"\1", heading.strip()).lower())
    return text.replace(" ", "-") or "section"


class Slugger:
    """Give each heading of one page its slug, made unique with -1, -2... as GitHub does."""

    def __init__(self) -> None:
        self.used: set[str] = set()

    def __call__(self, heading: str) -> str:
        """Return the heading's anchor, not yet used on this page."""
        base = candidate = slug(heading)
        n = 0
        while candidate in self.used:
            n += 1
            candidate = f"{base}-{n}"
        self.used.add(candidate)
        return candidate


@lru_cache(maxsize=4096)  # every answer links its citations: the same few notes and sections
def note_url(source: str, section: str | None) -> str | None:
    """Return the page of a library note, at its section (None for a file not served)."""
    if Path(source).suffix.lower() != NOTE_SUFFIX:
        return None
    url = f"{NOTES_ROUTE}/{quote(source)}"
    return f"{url}#{quote(slug(section))}" if section else url


def note_names(library_dir: Path) -> list[str]:
    """Return the library's Markdown notes, named as the index cites them (relative paths)."""
    if not library_dir.is_dir():
        return []
    return sorted(
        p.relative_to(library_dir).as_posix()
        for p in library_dir.rglob("*")
        if p.is_file() and p.suffix.lower() == NOTE_SUFFIX
    )


@dataclass(frozen=True)
class NotePage:
    """A note rendered to HTML: its title (first `#` heading), body and heading anchors."""

    title: str | None
    html: str
    anchors: tuple[str, ...]


@cache
def _parser() -> MarkdownIt:
    # markdown-it loads on the first note view, off the service's start-up path.
    from markdown_it import MarkdownIt

    # html=False: raw HTML in a note is shown as text, never run in the page.
    return MarkdownIt("commonmark", {"html": False}).enable(["table", "strikethrough"])


def render(markdown: str) -> NotePage:
    """Render Markdown to HTML with an `id` on every heading."""
    parser = _parser()
    tokens = parser.parse(markdown)
    slugger = Slugger()
    title, anchors = None, []
    for opening, inline in pairwise(tokens):
        if opening.type in ("th_open", "td_open") and "style" in opening.attrs:
            # A column's alignment, as a class: the page's CSP refuses inline styles.
            align = str(opening.attrs.pop("style")).removeprefix("text-align:")
            opening.attrSet("class", f"align-{align}")
        if opening.type != "heading_open":
            continue
        anchors.append(slugger(inline.content))
        opening.attrSet("id", anchors[-1])
        if title is None and opening.tag == "h1":
            title = "".join(child.content for child in inline.children or ())
    return NotePage(title, parser.renderer.render(tokens, parser.options, {}), tuple(anchors))


def _decode(data: bytes) -> str:
    # As the indexer reads a text file: UTF-8, else Latin-1.
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("latin-1")


@lru_cache(maxsize=128)
def _rendered(path: Path, stamp: tuple[int, int]) -> NotePage:
    return render(_decode(path.read_bytes()))


def note_page(library_dir: Path, name: str) -> NotePage | None:
    """Return a library note rendered, or None if `name` is not one of its notes."""
    if name not in note_names(library_dir):  # a fixed list: no path outside it is ever read
        return None
    path = library_dir / name
    try:
        stat = path.stat()
        return _rendered(path, (stat.st_mtime_ns, stat.st_size))
    except FileNotFoundError:  # removed since it was listed
        return None
