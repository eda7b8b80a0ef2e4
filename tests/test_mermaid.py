"""Every mermaid diagram in the chapters and notes parses with mermaid's own parser.

JupyterLab and the HTML reports show a parse error instead of a diagram that mermaid rejects.
tools/mermaid/check.mjs runs the mermaid release JupyterLab 4.6 renders with (pinned by
tools/mermaid/package-lock.json; `make install` runs `npm ci` there) in one node process.
"""

import json
import re
import subprocess
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
CHECKER = ROOT / "tools" / "mermaid" / "check.mjs"
DOCUMENTS = ("README.md", "*.md", "notebooks/*.md", "notes/*.md", "docs/*.md", "notebooks/*.ipynb")
_OPEN = re.compile(r"^\s*(?P<fence>`{3,}|~{3,})\s*mermaid\s*$")


def fenced_mermaid(text: str) -> list[tuple[int, str]]:
    """Return (line number of the opening fence, diagram text) for each mermaid block."""
    blocks, lines = [], text.splitlines()
    i = 0
    while i < len(lines):
        opened = _OPEN.match(lines[i])
        i += 1
        if not opened:
            continue
        start, fence, body = i, opened["fence"], []
        while i < len(lines) and not lines[i].strip().startswith(fence):
            body.append(lines[i])
            i += 1
        i += 1  # the closing fence (or the end of an unclosed block)
        blocks.append((start, "\n".join(body) + "\n"))
    return blocks


def mermaid_blocks(path: Path) -> list[dict[str, str]]:
    """Return {where, source} for each mermaid block of a markdown file or a chapter's cells."""
    name = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
    if path.suffix != ".ipynb":
        return [
            {"where": f"{name}, line {line}", "source": source}
            for line, source in fenced_mermaid(path.read_text())
        ]
    cells = nbformat.read(path, as_version=4).cells
    return [
        {"where": f"{name}, cell {n} (id {cell.get('id')}), line {line}", "source": source}
        for n, cell in enumerate(cells)
        if cell.cell_type == "markdown"
        for line, source in fenced_mermaid(cell.source)
    ]


def all_blocks() -> list[dict[str, str]]:
    """Return every mermaid block of the chapters and notes."""
    paths = sorted({p for pattern in DOCUMENTS for p in ROOT.glob(pattern)})
    return [block for path in paths for block in mermaid_blocks(path)]


def parse_failures(blocks: list[dict[str, str]]) -> list[dict[str, str]]:
    """Return {where, error} for each block mermaid's parser rejects (one node process)."""
    if not (CHECKER.parent / "node_modules" / "mermaid").is_dir():
        pytest.fail(
            f"mermaid is not installed in {CHECKER.parent}: run `make system-deps` (npm ci)"
        )
    run = subprocess.run(
        ["node", str(CHECKER)],
        input=json.dumps(blocks),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if run.returncode != 0:
        raise RuntimeError(f"check.mjs exited {run.returncode}: {run.stderr.strip()}")
    return json.loads(run.stdout)


def _report(failures: list[dict[str, str]]) -> str:
    return "\n\n".join(f"{f['where']}:\n{f['error']}" for f in failures)


CHAPTER_08_BEFORE = """sequenceDiagram
  participant New as new task
  participant ALB
  New->>ALB: register; first check passes -> healthy
  ALB->>New: health check
"""


def test_mermaid_blocks_are_found_with_their_line_in_markdown_and_in_cells(tmp_path):
    note = tmp_path / "note.md"
    note.write_text("# t\n\n```mermaid\nflowchart LR\n  A --> B\n```\n\n```python\nx\n```\n")
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("```mermaid\nnot markdown\n```"),
        nbformat.v4.new_markdown_cell("text\n~~~ mermaid\nsequenceDiagram\n  A->>B: hi\n~~~"),
    ]
    nb.cells[1]["id"] = "c-1"
    chapter = tmp_path / "ch.ipynb"
    nbformat.write(nb, chapter)
    assert mermaid_blocks(note) == [
        {"where": f"{note}, line 3", "source": "flowchart LR\n  A --> B\n"}
    ]
    assert mermaid_blocks(chapter) == [
        {"where": f"{chapter}, cell 1 (id c-1), line 2", "source": "sequenceDiagram\n  A->>B: hi\n"}
    ]


def test_the_chapters_have_diagrams_to_check():
    wheres = [block["where"] for block in all_blocks()]
    assert any(w.startswith("notebooks/08_ecs_deploy.ipynb") for w in wheres), wheres
    assert len(wheres) >= 10, wheres


@pytest.mark.needs("node")
def test_every_mermaid_diagram_parses_with_mermaids_own_parser():
    failures = parse_failures(all_blocks())
    assert not failures, "mermaid cannot parse these diagrams:\n\n" + _report(failures)


@pytest.mark.needs("node")
def test_the_checker_rejects_a_semicolon_in_a_message_and_says_where():
    blocks = [
        {"where": "ch08 as it was", "source": CHAPTER_08_BEFORE},
        {"where": "fixed", "source": CHAPTER_08_BEFORE.replace("register;", "register,")},
        {"where": "no such type", "source": "flowchat LR\n  A --> B\n"},
    ]
    failures = parse_failures(blocks)
    assert [f["where"] for f in failures] == ["ch08 as it was", "no such type"]
    assert failures[0]["error"].startswith("Parse error on line 4:")
    assert "No diagram type detected" in failures[1]["error"]


@pytest.mark.needs("node")
def test_the_checker_refuses_input_that_is_not_a_list_of_blocks():
    with pytest.raises(RuntimeError, match=r"stdin must be a JSON list of \{\"where\""):
        parse_failures([{"where": "no source"}])
