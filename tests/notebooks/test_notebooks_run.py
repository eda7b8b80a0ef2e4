"""Execute every chapter with papermill (BACKEND=moto), then check outputs with nbval --nbval-lax."""

import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from workbook import notebooks

CHAPTERS = notebooks.select()


@pytest.mark.notebooks
@pytest.mark.parametrize("path", CHAPTERS, ids=[p.stem for p in CHAPTERS])
def test_chapter_runs_and_checked_outputs_are_stable(path, kernel, exported_account):
    """A chapter runs with solutions injected, then as shipped; checked outputs repeat exactly."""
    # 1. papermill with SOLUTIONS=True: every exercise's check must pass on its solution.
    result = notebooks.run_chapter(
        path, kernel=kernel, shared_emulator=True, parameters={"SOLUTIONS": True}
    )
    assert result.ok, f"{path.name} failed: {result.error}"
    exported_account.reset()  # the second execution starts from an empty account too
    shipped = as_shipped(result.output)
    # 2. nbval re-executes the executed copy, less the injected parameters (so as shipped:
    # blanks say "not done yet" without failing), in a fresh kernel, and compares only the
    # cells that start with `# NBVAL_CHECK_OUTPUT` (--nbval-lax); every other cell must run.
    # Only nbval is loaded: the other installed plugins (hypothesis, schemathesis, langsmith,
    # ...) cost about 6 s of imports per process and check nothing here.
    check = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "nbval.plugin", "--nbval-lax", str(shipped),
         "--nbval-kernel-name", kernel, "-p", "no:cacheprovider", "-q",
         "--rootdir", str(result.output.parent), "-o", "addopts="],
        capture_output=True, text=True, timeout=600, cwd=str(path.parent),
        env={**os.environ, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"},
    )  # fmt: skip
    assert check.returncode == 0, check.stdout[-4000:] + check.stderr[-2000:]


def test_select_refuses_an_unknown_chapter():
    """A chapter filter that matches nothing names the chapters that exist."""
    with pytest.raises(notebooks.NotebookRunError, match="chapters present"):
        notebooks.select(["99"])


def test_select_filters_by_number_and_name():
    """'03' and 'iam' both pick chapter 03."""
    assert [p.name[:2] for p in notebooks.select(["03"])] == ["03"]
    assert [p.name[:2] for p in notebooks.select(["iam"])] == ["03"]


def as_shipped(executed: Path) -> Path:
    """Write `executed` without papermill's injected-parameters cell; return the copy."""
    nb = nbformat.read(executed, as_version=4)
    nb.cells = [c for c in nb.cells if "injected-parameters" not in c.metadata.get("tags", [])]
    copy = executed.with_name(executed.stem + ".shipped.ipynb")
    nbformat.write(nb, copy)
    return copy
