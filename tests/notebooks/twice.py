"""Run All twice in one kernel: a chapter followed by its own cells, and what to compare."""

from __future__ import annotations

import copy
from pathlib import Path

import nbformat

MARK = "# NBVAL_CHECK_OUTPUT"
AGAIN = "-again"


def doubled(path: Path, out_dir: Path) -> Path:
    """Write the chapter followed by its own cells again; the second parameters cell is untagged.

    papermill injects its parameters after the first `parameters` cell only, so the second
    pass runs as shipped (SOLUTIONS back to False) in the kernel the first pass left behind.
    """
    nb = nbformat.read(path, as_version=4)
    again = copy.deepcopy(nb.cells)
    for cell in again:
        cell.id = f"{cell.id}{AGAIN}"
        cell.metadata.pop("tags", None)
    nb.cells += again
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / path.name
    nbformat.write(nb, target)
    return target


def halves(executed: Path) -> tuple[list, list]:
    """Return the executed copy's first pass (with papermill's cell) and its second pass."""
    cells = nbformat.read(executed, as_version=4).cells
    split = next(i for i, c in enumerate(cells) if c.get("id", "").endswith(AGAIN))
    return cells[:split], cells[split:]


def printed(cells: list) -> str:
    """Return everything the cells printed (streams and plain-text results)."""
    return "".join(_text(o) for c in cells for o in c.get("outputs", []))


def checked_differences(first: list, second: list) -> list[str]:
    """Name each `# NBVAL_CHECK_OUTPUT` cell whose output differs between the two passes."""
    later = {c.id.removesuffix(AGAIN): c for c in second}
    problems = []
    for cell in first:
        if cell.cell_type != "code" or not cell.source.startswith(MARK):
            continue
        have, want = _outputs(later[cell.id]), _outputs(cell)
        if have != want:
            head = next((ln for ln in cell.source.splitlines()[1:] if ln.strip()), "")
            problems.append(
                f"cell {cell.id} ({head[:60]!r}): first pass printed\n{want[:1500]}\n"
                f"second pass printed\n{have[:1500]}"
            )
    return problems


def _outputs(cell) -> str:
    """Return a cell's outputs as the text nbval --nbval-lax compares."""
    return "".join(_text(o) for o in cell.get("outputs", []))


def _text(output) -> str:
    """Return one output's text: a stream, a result's text/plain, or an error's name."""
    kind = output.get("output_type")
    if kind == "stream":
        return output.get("text", "")
    if kind in ("execute_result", "display_data"):
        return output.get("data", {}).get("text/plain", "") + "\n"
    if kind == "error":
        return f"{output.get('ename')}: {output.get('evalue')}\n"
    return ""
