"""Execute every chapter twice in one kernel (BACKEND=moto): with solutions, then as shipped."""

import shutil

import nbformat
import pytest

from tests.notebooks.twice import checked_differences, doubled, halves, printed
from workbook import exercises, notebooks

CHAPTERS = notebooks.select()
# The data-plane chapters join the kernel's own emulator when it has one (JupyterLab, `make
# lab`) and start a private one beside a shared emulator. Chapter 09 runs the learner's way, on
# its own emulator (a second Run All once failed only there); 07, 08 and 12 take the other path.
OWN_EMULATOR = {"09"}


@pytest.mark.notebooks
@pytest.mark.parametrize("path", CHAPTERS, ids=[p.stem for p in CHAPTERS])
def test_chapter_runs_and_checked_outputs_are_stable(path, tmp_path, kernel, exported_account):
    """Run All twice in one kernel: solutions injected, then as shipped; checked outputs repeat.

    The first pass (papermill, SOLUTIONS=True) must pass every exercise's check. The second
    pass is the same cells again in the same kernel, as a learner's second Run All: its
    parameters cell puts SOLUTIONS back to False, so every exercise says "not done yet"
    without failing, every other cell must cope with what the first pass left behind, and each
    `# NBVAL_CHECK_OUTPUT` cell must print what it printed the first time.
    """
    # Written under the repository, as a chapter sits, so its paths to ../notes resolve.
    where = notebooks.ROOT / "build" / "twice" / path.stem
    try:
        result = notebooks.run_chapter(
            doubled(path, where), tmp_path / "out", kernel=kernel,
            shared_emulator=path.name[:2] not in OWN_EMULATOR, parameters={"SOLUTIONS": True},
        )  # fmt: skip
    finally:
        shutil.rmtree(where, ignore_errors=True)
    assert result.ok, f"{path.name} failed: {result.error}"
    first, second = halves(result.output)
    ids = _exercise_ids(path.name[:2])
    before, after = printed(first), printed(second)
    missing = [i for i in ids if f"✓ {i} passed" not in before]
    assert not missing, f"{path.name}: with solutions, no pass printed for {missing}"
    not_done = [i for i in ids if f"{i} not done yet" not in after]
    assert not not_done, f"{path.name}: as shipped, no 'not done yet' for {not_done}"
    if "compare.against_reference" in path.read_text(encoding="utf-8"):
        assert "0 changes" in before, (
            f"{path.name}: the learner's resources differ from the reference"
        )
    problems = checked_differences(first, second)
    assert not problems, f"{path.name}: checked outputs changed on Run All again:\n" + "\n".join(
        problems
    )


def _exercise_ids(chapter: str) -> list[str]:
    """Return the chapter's checked exercises (none for a chapter without a checks module)."""
    try:
        return list(exercises.exercises_of(chapter))
    except exercises.ExerciseError:
        return []


def test_select_refuses_an_unknown_chapter():
    """A chapter filter that matches nothing names the chapters that exist."""
    with pytest.raises(notebooks.NotebookRunError, match="chapters present"):
        notebooks.select(["99"])


def test_select_filters_by_number_and_name():
    """'03' and 'iam' both pick chapter 03."""
    assert [p.name[:2] for p in notebooks.select(["03"])] == ["03"]
    assert [p.name[:2] for p in notebooks.select(["iam"])] == ["03"]


def test_a_failing_chapter_is_reported_with_its_first_error_and_its_output_kept(tmp_path, kernel):
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": kernel, "language": "python", "display_name": kernel}
    params = nbformat.v4.new_code_cell("BACKEND = 'moto'\nSOLUTIONS = False")
    params.metadata["tags"] = ["parameters"]
    nb.cells = [
        params,
        nbformat.v4.new_code_cell("print('before')"),
        nbformat.v4.new_code_cell("raise ValueError('the third cell fails')"),
        nbformat.v4.new_code_cell("print('never')"),
    ]
    path = tmp_path / "99_broken.ipynb"
    nbformat.write(nb, path)
    result = notebooks.run_chapter(path, tmp_path / "out", kernel=kernel)
    assert (result.status, result.error) == ("failed", "ValueError: the third cell fails")
    ran = printed(nbformat.read(result.output, as_version=4).cells)
    assert "before" in ran and "never" not in ran  # written once, at the failure
