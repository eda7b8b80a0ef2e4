"""What a container build sends: the .dockerignore matched as the builder does, the COPY sources."""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _clean(line: str) -> tuple[bool, str] | None:
    """Return (negated, pattern) as the builder reads one line, or None for a comment or blank."""
    if line.startswith("#"):
        return None
    pattern = line.strip()
    if not pattern:
        return None
    negated = pattern.startswith("!")
    if negated:
        pattern = pattern[1:].strip()
    pattern = posixpath.normpath(pattern).lstrip("/") if pattern else pattern
    return negated, pattern


@cache
def pattern_regex(pattern: str) -> re.Pattern:
    """Compile a .dockerignore pattern as the builder does (anchored at the context's root)."""
    out, i = "^", 0
    while i < len(pattern):
        c = pattern[i]
        if pattern.startswith("**", i):
            i += 2
            if pattern[i : i + 1] == "/":
                i += 1
            out += ".*" if i >= len(pattern) else "(.*/)?"
            continue
        out += "[^/]*" if c == "*" else "[^/]" if c == "?" else re.escape(c)
        i += 1
    return re.compile(out + "$")


def patterns(lines: list[str]) -> list[tuple[int, str, bool, str]]:
    """Return (line number, line, negated, pattern) for each pattern line."""
    found = []
    for number, line in enumerate(lines, 1):
        cleaned = _clean(line)
        if cleaned is not None:
            found.append((number, line, *cleaned))
    return found


def _parents(path: str) -> Iterator[str]:
    parts = path.split("/")[:-1]
    for n in range(1, len(parts) + 1):
        yield "/".join(parts[:n])


def decide(path: str, rules: list[tuple[int, str, bool, str]]) -> tuple[bool, str | None]:
    """Return (left out?, the line that decided it) for a context path, as the builder matches."""
    left_out, by = False, None
    for number, line, negated, pattern in rules:
        if negated != left_out:
            continue  # a pattern can only flip the current decision
        regex = pattern_regex(pattern)
        if regex.match(path) or any(regex.match(p) for p in _parents(path)):
            left_out, by = not negated, f"line {number} {line.strip()!r}"
    return left_out, by


def copied_sources(dockerfile: str | None = None, root: Path = ROOT) -> list[tuple[str, list[str]]]:
    """Return each context COPY of the Dockerfile (default: the repository's) with its files."""
    text = dockerfile if dockerfile is not None else (root / "Dockerfile").read_text()
    found = []
    for line in text.splitlines():
        words = line.split()
        if not words or words[0] != "COPY" or any(w.startswith("--from") for w in words):
            continue
        for source in [w for w in words[1:-1] if not w.startswith("--")]:
            found.append((line.strip(), _files(source, root)))
    return found


def _files(source: str, root: Path = ROOT) -> list[str]:
    """Return the files under a context path, bytecode left aside."""
    where = root / source
    if where.is_file():
        return [source]
    return sorted(
        p.relative_to(root).as_posix()
        for p in where.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"
    )
