"""Every guide section is taught by a chapter; chapter metadata points at real sections and items."""

import ast
import json

import pytest

from workbook import coverage

CHAPTERS = coverage.chapter_files()


def _quiz_ids(source: str) -> list[str] | None:
    """Return the literal assigned to QUIZ in a cell (shell and magic lines ignored)."""
    code = "\n".join(
        line for line in source.splitlines() if not line.lstrip().startswith(("!", "%"))
    )
    for node in ast.walk(ast.parse(code)):
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "QUIZ" for t in node.targets
        ):
            return ast.literal_eval(node.value)
    return None


@pytest.fixture(scope="module")
def bank():
    return coverage.load_bank()


@pytest.fixture(scope="module")
def rows(bank):
    return coverage.coverage_rows(bank=bank)


def test_every_guide_section_maps_to_a_chapter(rows):
    """Each section of quizzes/sections.yaml is claimed by some chapter's guide_sections."""
    assert coverage.unclaimed(rows) == [], "guide sections taught by no chapter"


def test_a_section_no_chapter_claims_is_reported(bank, tmp_path):
    """With one chapter claiming the first section, every other section is reported."""
    first, *others = (s.id for s in bank.sections)
    meta = {"chapter": "01", "title": "t", "guide_sections": [first], "quiz_items": []}
    (tmp_path / "01_only.ipynb").write_text(json.dumps({"metadata": {"workbook": meta}}))
    assert coverage.unclaimed(coverage.coverage_rows(tmp_path, bank=bank)) == others


@pytest.mark.parametrize("path", CHAPTERS, ids=[p.stem for p in CHAPTERS])
def test_chapter_metadata_points_at_real_sections_and_items(path, bank):
    """guide_sections exist in sections.yaml; 3-5 quiz_items exist in the bank."""
    meta = coverage.read_metadata(path)
    sections = {s.id for s in bank.sections}
    assert meta["guide_sections"], f"{path.name} claims no guide section"
    assert set(meta["guide_sections"]) <= sections, set(meta["guide_sections"]) - sections
    assert 3 <= len(meta["quiz_items"]) <= 5, meta["quiz_items"]
    assert all(i in bank.items for i in meta["quiz_items"]), meta["quiz_items"]


@pytest.mark.parametrize("path", CHAPTERS, ids=[p.stem for p in CHAPTERS])
def test_chapter_follows_the_conventions(path):
    """Parameters cell with BACKEND="moto", summary, exercises, and the metadata's quiz shown."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    meta = nb["metadata"]["workbook"]
    cells = ["".join(c["source"]) for c in nb["cells"]]
    tagged = [s for c, s in zip(nb["cells"], cells, strict=True)
              if "parameters" in c["metadata"].get("tags", [])]  # fmt: skip
    assert len(tagged) == 1 and 'BACKEND = "moto"' in tagged[0]
    text = "\n".join(cells)
    assert "## Summary" in text and "## Exercises" in text
    quiz_cells = [s for s in cells if "quiz_widget(" in s and "QUIZ" in s]
    assert quiz_cells, "no quiz cell (QUIZ = [...]; quiz_widget(item_ids=QUIZ))"
    shown = _quiz_ids(quiz_cells[-1])
    assert shown == meta["quiz_items"], "the quiz cell must show the metadata's quiz_items"
    assert any("# NBVAL_CHECK_OUTPUT" in s.splitlines()[0] for s in cells if s)
    defs = [s for s in cells if s.startswith("def ") or "\ndef " in s]
    assert not defs or "From scratch" in text or "from scratch" in text


def test_markdown_table_and_markers(rows, tmp_path):
    """The table lists every section; a README is updated only between its markers."""
    table = coverage.markdown_table(rows)
    assert table.count("\n") == len(rows) + 2
    readme = tmp_path / "README.md"
    readme.write_text(f"intro\n{coverage.MARKER_START}\nold\n{coverage.MARKER_END}\noutro\n")
    coverage.write(readme, rows)
    text = readme.read_text()
    assert text.startswith("intro\n") and text.endswith("outro\n") and "old" not in text
    assert "`architecture/overview`" in text


def test_replace_refuses_text_without_markers():
    """A README without the markers is an error, not a silent append."""
    with pytest.raises(coverage.CoverageError, match="coverage:start"):
        coverage.replace_between_markers("no markers here", "| a |")


def test_metadata_errors_name_the_file(tmp_path):
    """A chapter without metadata.workbook, or with a wrong chapter number, is refused."""
    bad = tmp_path / "09_broken.ipynb"
    bad.write_text(json.dumps({"metadata": {}, "cells": []}))
    with pytest.raises(coverage.CoverageError, match=r"09_broken\.ipynb: no metadata\.workbook"):
        coverage.read_metadata(bad)
    meta = {"chapter": "08", "title": "t", "guide_sections": [], "quiz_items": []}
    bad.write_text(json.dumps({"metadata": {"workbook": meta}, "cells": []}))
    with pytest.raises(coverage.CoverageError, match="file name says '09'"):
        coverage.read_metadata(bad)


def test_readme_coverage_map_is_current():
    """The README's map is what the notebooks and the bank say today (regenerate if not)."""
    readme = coverage.ROOT / "README.md"
    text = readme.read_text()
    table = coverage.markdown_table(coverage.coverage_rows())
    assert coverage.replace_between_markers(text, table) == text, (
        "README coverage map is stale: run `.venv/bin/workbook notebooks coverage --out README.md`"
    )
