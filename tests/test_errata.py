"""Every errata number the repository cites is an item of docs/errata.md."""

import json
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from quizzes.schema import ERRATA

ROOT = Path(__file__).resolve().parents[1]
ERRATA_DOC = ROOT / "docs" / "errata.md"
SCANNED_SUFFIXES = {".py", ".md", ".yaml", ".yml", ".ipynb", ".json"}
SKIPPED_DIRS = {".venv", "build"}
OLD_LOCATION = "reference/" + "errata.md"  # split so this file does not cite it itself

HEADING = re.compile(r"^## (\d+)\. \S", re.MULTILINE)
SECTION = re.compile(r"^## (.+?)\s*$", re.MULTILINE)
# "errata 12", "erratum 3", "errata 5, 6 and 7", "errata items 1 and 3",
# "docs/errata.md items 4 and 5", 'docs/errata.md "Verified correct", items 6, 7 and 22'
CITATION = re.compile(
    r'\berrat(?:a|um)(?:\.md)?(?:\s+"[^"\n]*",?)?\s+(?:items?\s+)?'
    r"(\d+(?:(?:\s*,\s*and\s+|\s*,\s*|\s+and\s+)\d+)*)",
    re.IGNORECASE,
)
# 'errata "verified correct"': an unnumbered section, named by its heading
NAMED = re.compile(r'\berrata(?:\.md)?\s+"([^"\n]+)"', re.IGNORECASE)
# the quiz bank's structured field: `erratum: 4`
FIELD = re.compile(r"^\s*-?\s*erratum:\s*(\d+)\s*(?:#.*)?$", re.MULTILINE)


def defined_numbers(doc: str) -> set[int]:
    """Return the item numbers the errata document defines (its `## N. Title` headings)."""
    return {int(n) for n in HEADING.findall(doc)}


def section_names(doc: str) -> set[str]:
    """Return the lowercased headings of the errata document's sections."""
    return {name.lower() for name in SECTION.findall(doc)}


def cited_numbers(text: str) -> Iterator[tuple[int, int]]:
    """Yield (line, number) for each errata number cited in prose or in an `erratum:` field."""
    for pattern in (CITATION, FIELD):
        for match in pattern.finditer(text):
            line = text.count("\n", 0, match.start()) + 1
            for number in re.findall(r"\d+", match.group(1)):
                yield line, int(number)


def scanned_texts(path: Path) -> Iterator[tuple[str, str]]:
    """Yield (where, text) for a file: a notebook per cell (a citation may wrap), else whole."""
    text = path.read_text(encoding="utf-8")
    if path.suffix != ".ipynb":
        yield "", text
        return
    for index, cell in enumerate(json.loads(text).get("cells", [])):
        source = cell.get("source", "")
        yield f" cell {index}", "".join(source) if isinstance(source, list) else source


def undefined_citations(where: str, text: str, defined: set[int]) -> list[str]:
    """Return `where:line: errata N` for each cited number not in `defined`."""
    return [
        f"{where}:{line}: errata {number}"
        for line, number in cited_numbers(text)
        if number not in defined
    ]


def unknown_sections(where: str, text: str, names: set[str]) -> list[str]:
    """Return `where:line: errata "Name"` for each cited section name not in `names`."""
    return [
        f'{where}:{text.count(chr(10), 0, m.start()) + 1}: errata "{m.group(1)}"'
        for m in NAMED.finditer(text)
        if m.group(1).lower() not in names
    ]


def repository_files() -> list[Path]:
    """Return the tracked and new (not ignored) text files to check, without the errata's own."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    files = []
    for name in sorted(set(listed)):
        path = ROOT / name
        if path.suffix not in SCANNED_SUFFIXES or SKIPPED_DIRS & set(Path(name).parts):
            continue
        if path in (ERRATA_DOC, Path(__file__).resolve()) or not path.is_file():
            continue
        files.append(path)
    return files


@pytest.fixture(scope="module")
def defined() -> set[int]:
    """The numbers docs/errata.md defines."""
    return defined_numbers(ERRATA_DOC.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def files() -> list[Path]:
    """The repository's text files, without docs/errata.md and this file's examples."""
    return repository_files()


def test_the_errata_are_numbered_one_to_n_without_gaps(defined):
    assert defined == set(range(1, max(defined) + 1))
    assert len(defined) >= 25


def test_each_item_states_the_fact_and_its_sources():
    doc = ERRATA_DOC.read_text(encoding="utf-8")
    items = re.split(r"^## ", doc, flags=re.MULTILINE)[1:]
    numbered = [item for item in items if re.match(r"\d+\. ", item)]
    missing = [
        item.split("\n", 1)[0]
        for item in numbered
        if not all(part in item for part in ("**Guide**", "**Fact.**", "**Sources.**"))
        or "https://" not in item
    ]
    assert missing == []


def test_every_cited_number_and_section_is_defined(defined, files):
    names = section_names(ERRATA_DOC.read_text(encoding="utf-8"))
    problems = []
    for path in files:
        for where, text in scanned_texts(path):
            place = f"{path.relative_to(ROOT)}{where}"
            problems += undefined_citations(place, text, defined)
            problems += unknown_sections(place, text, names)
    assert problems == [], "citations of errata that docs/errata.md does not define"


def test_no_file_points_at_the_old_errata_location(files):
    stale = [
        f"{path.relative_to(ROOT)}:{line}"
        for path in files
        for line, text in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if OLD_LOCATION in text
    ]
    assert stale == [], "cite docs/errata.md (or just 'errata N') instead"


def test_the_quiz_bank_accepts_only_defined_errata(defined):
    assert set(ERRATA) <= defined


def test_the_scanner_reports_an_undefined_number():
    text = "Drain time (errata 2).\nSee errata 5, 6 and 99\nerratum: 7\n  erratum: 40\n"
    assert undefined_citations("x.md", text, {2, 5, 6, 7}) == [
        "x.md:2: errata 99",
        "x.md:4: errata 40",
    ]


def test_the_scanner_reads_the_document_forms_and_named_sections():
    text = (
        'see docs/errata.md items 4 and 31\nprices (docs/errata.md "Verified correct", items 6, 32)'
    )
    assert undefined_citations("x.py", text, {4, 6}) == ["x.py:1: errata 31", "x.py:2: errata 32"]
    text = 'max 120 (errata "verified correct")\nsee errata "Checked facts"'
    names = section_names("## 1. One\n## Verified correct\n")
    assert unknown_sections("x.py", text, names) == ['x.py:2: errata "Checked facts"']


def test_the_scanner_reads_citations_that_wrap_in_a_notebook_cell(tmp_path):
    notebook = tmp_path / "n.ipynb"
    cell = {"cell_type": "markdown", "source": ["every task pulls (errata\n", "14)."]}
    notebook.write_text(json.dumps({"cells": [cell]}), encoding="utf-8")
    [(where, text)] = scanned_texts(notebook)
    assert undefined_citations(f"n.ipynb{where}", text, set()) == ["n.ipynb cell 0:1: errata 14"]


def test_the_errata_document_parses_headings_only():
    doc = "## 1. One\ntext errata 2\n## Verified correct\n## 3. Three\n"
    assert defined_numbers(doc) == {1, 3}
