"""Split Markdown into heading sections and unwrap hard-wrapped prose."""

# langchain-text-splitters' MarkdownHeaderTextSplitter is not used for the headings: it joins
# the lines of a section and drops blank lines, so paragraphs of hard-wrapped notes run
# together and chunks start mid-sentence. This keeps paragraphs; the recursive character
# splitter from langchain-text-splitters then cuts sections into chunks (see ingest.py).

from __future__ import annotations

import re
from dataclasses import dataclass

_HEADING = re.compile(r"^(#{1,3})\s+(.+?)\s*#*\s*$")
_FENCE = re.compile(r"^\s*(```|~~~)")
# A line that starts its own block: list item, table row, quote, heading, indented code.
_BLOCK_START = re.compile(r"^\s*(?:[-*+]\s|\d+[.)]\s|\||>|#|```|~~~)|^ {4}")


@dataclass
class Section:
    """One run of Markdown text under a heading path (h1, h2, h3)."""

    headings: list[str]
    text: str

    @property
    def title(self) -> str | None:
        """Return the `#` heading, if any."""
        return self.headings[0] if self.headings else None


def sections(markdown: str) -> list[Section]:
    """Split Markdown at `#`, `##` and `###` headings outside code fences."""
    path: list[str] = []
    levels: list[int] = []
    out: list[Section] = []
    lines: list[str] = []
    in_fence = False

    def _flush() -> None:
        text = "\n".join(lines).strip()
        if text:
            out.append(Section(headings=list(path), text=text))
        lines.clear()

    for line in markdown.splitlines():
        if _FENCE.match(line):
            in_fence = not in_fence
        match = None if in_fence else _HEADING.match(line)
        if match is None:
            lines.append(line)
            continue
        _flush()
        level, title = len(match.group(1)), match.group(2).strip()
        while levels and levels[-1] >= level:
            levels.pop()
            path.pop()
        levels.append(level)
        path.append(title)
    _flush()
    return out


def unwrap(text: str) -> str:
    """Join hard-wrapped prose lines into one line per paragraph or list item."""
    # Code fences and tables keep their lines; a prose line continues the previous one
    # unless a blank line or a block start (list item, table row...) separates them.
    out: list[str] = []
    in_fence = False
    joinable = False
    for raw in text.splitlines():
        line = raw.rstrip()
        if _FENCE.match(line):
            in_fence = not in_fence
            out.append(line)
            joinable = False
            continue
        if in_fence:
            out.append(line)
            continue
        if not line.strip():
            out.append("")
            joinable = False
            continue
        if joinable and not _BLOCK_START.match(line):
            out[-1] = f"{out[-1]} {line.strip()}"
        else:
            out.append(line)
        # A table row never absorbs the next line; prose and list items do.
        joinable = not line.lstrip().startswith("|")
    return "\n".join(out)
