"""`workbook quiz mock` as a learner sits it: multi-line answers, $EDITOR, the clock, the report."""

import io
import re
import stat
import sys
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from quizzes import cli, terminal
from quizzes.answer_input import editor_template, read_answer, strip_comments
from quizzes.config import get_settings
from quizzes.progress import ProgressStore
from quizzes.verdict import Grade
from tests.quizzes.test_quiz_mock_plan import covering, word, write_mock_bank

runner = CliRunner()


class FakeClock:
    """A clock that moves only when the test says so."""

    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def mock_env(quiz_env, monkeypatch, tmp_path):
    """The CLI on the generated mock bank, a temp progress DB and a fake clock.

    The progress DB already holds a poor answer to architecture-001, so the mock opens with it.
    """
    monkeypatch.setenv("QUIZ_BANK_DIR", str(write_mock_bank(tmp_path)))
    get_settings.cache_clear()
    with ProgressStore(quiz_env) as s:
        weak = Grade(item_id="architecture-001", verdict="wrong", score=0.0)
        s.record("architecture-001", "architecture", weak)
    clock = FakeClock()
    monkeypatch.setattr(cli, "clock", clock)
    return clock


def seconds_per_answer(monkeypatch, clock: FakeClock, *seconds: float) -> None:
    """Make the n-th answer take seconds[n] on the fake clock (0 once they run out)."""
    times = iter(seconds)

    def timed(read):
        def wrapper(*args, **kwargs):
            text = read(*args, **kwargs)
            clock.t += next(times, 0)
            return text

        return wrapper

    monkeypatch.setattr(terminal, "read_answer", timed(terminal.read_answer))
    monkeypatch.setattr(terminal, "edit_answer", timed(terminal.edit_answer))


def saved_transcript(output: str) -> str:
    path = re.search(r"transcript: (\S+\.md)", output).group(1)
    return Path(path).read_text()


def mock(*args: str, input: str):
    return runner.invoke(cli.app, ["mock", "--seed", "0", "--level", "junior", *args], input=input)


def test_a_blank_line_ends_a_multi_line_answer(mock_env):
    first, second = covering("architecture", 1, 0), covering("architecture", 1, 1)
    result = mock("--minutes", "10", input=f"{first}\n{second}\n\nq\n")
    assert result.exit_code == 0, result.output
    assert "GOOD score 1.00" in result.output  # both lines were graded as one answer
    text = saved_transcript(result.output)
    assert f"> {first}\n> {second}\n" in text
    assert "follow-up to architecture-001" not in result.output  # nothing missed, no probe


def test_ctrl_d_ends_the_answer_and_then_the_interview(mock_env):
    first, second = covering("architecture", 1, 0), covering("architecture", 1, 1)
    result = mock("--minutes", "10", input=f"{first}\n{second}")  # EOF, no blank line
    assert result.exit_code == 0, result.output
    assert "GOOD score 1.00" in result.output and "Mock interview report" in result.output
    assert "overall score: 1.00 over 1 answers" in result.output


def test_time_boxes_are_shown_as_the_answer_is_typed(mock_env, monkeypatch):
    seconds_per_answer(monkeypatch, mock_env, 50)
    result = mock("--minutes", "10", input="The first line.\n")
    assert "time box 3:00 · 10:00 left of 10 min" in result.output
    assert "[0:00/3:00] answer (q to quit): " in result.output


def test_overtime_is_reported_and_costs_points(mock_env, monkeypatch):
    seconds_per_answer(monkeypatch, mock_env, 65)  # the 65 s in a 1-minute mock
    answer = covering("architecture", 1, 0, 1)
    result = mock("--minutes", "1", input=f"{answer}\n\n")
    assert result.exit_code == 0, result.output
    assert "OVERTIME 0:05" in result.output and "score 1.00 -> 0.87" in result.output
    assert "GOOD score 0.87" in result.output and "Time is up." in result.output
    assert re.search(r"architecture\s*│ 1\s*│ 0\.87\s*│ 1", result.output)  # topic row
    text = saved_transcript(result.output)
    assert "1 over time" in text and "OVERTIME 0:05" in text


def test_a_missed_point_brings_a_follow_up(mock_env):
    light = word("architecture", 1, 1)
    result = mock(
        "--minutes",
        "10",
        input=f"{covering('architecture', 1, 0)}\n\nThe {light} keeps it working.\n\nq\n",
    )
    assert result.exit_code == 0, result.output
    assert "[2] follow-up to architecture-001" in result.output
    assert f"You didn't say use the {light}." in result.output
    assert "PARTIAL score 0.67" in result.output and "GOOD score 1.00" in result.output


def test_editor_answers_come_from_the_editor(mock_env, monkeypatch, tmp_path):
    script = tmp_path / "fake-editor"
    answer = covering("architecture", 1, 0, 1)
    script.write_text(
        f"#!{sys.executable}\nimport sys\n"
        f"text = open(sys.argv[1]).read()\n"
        f"assert 'How does the architecture part work' in text  # the question is shown\n"
        f"open(sys.argv[1], 'w').write({answer!r} + '\\n' + text)\n"
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    monkeypatch.delenv("VISUAL", raising=False)
    monkeypatch.setenv("EDITOR", str(script))
    result = mock("--minutes", "5", "--editor", input="")
    assert result.exit_code == 0, result.output
    assert "GOOD score 1.00" in result.output
    assert f"> {answer}\n\n" in saved_transcript(result.output)  # the comments are dropped


def test_editor_without_editor_set_is_a_clear_error(mock_env, monkeypatch):
    monkeypatch.delenv("VISUAL", raising=False)
    monkeypatch.delenv("EDITOR", raising=False)
    result = mock("--editor", input="")
    assert result.exit_code == 1 and "--editor needs $EDITOR" in result.output


def test_the_report_is_saved_where_asked(mock_env, tmp_path):
    out = tmp_path / "reports"
    result = mock("--minutes", "10", "--transcript-dir", str(out), input="I do not know.\n\nq\n")
    assert result.exit_code == 0, result.output
    (saved,) = out.glob("mock-*.md")
    assert f"transcript: {saved}" in result.output
    text = saved.read_text()
    assert text.startswith("# Mock interview — ") and "Level: junior; 10 min planned" in text
    assert "## Scores by topic" in text and "- [ ] use the" in text
    assert "- chapter `notebooks/00_start_here.ipynb`: architecture-001" in text
    assert "## Next due reviews" in text
    assert "revisit: notebooks/00_start_here.ipynb" in result.output


def test_the_default_transcript_goes_beside_the_progress_db(mock_env, quiz_env):
    result = mock("--minutes", "5", input="q\n")
    assert result.exit_code == 0, result.output
    assert list((quiz_env.parent / "mocks").glob("mock-*.md"))


def test_unknown_level_is_a_usage_error(mock_env):
    result = runner.invoke(cli.app, ["mock", "--level", "expert"])
    assert result.exit_code == 2 and "expert" in result.output


def test_the_readme_states_the_mock_defaults():
    mock_cmd = typer.main.get_command(cli.app).commands["mock"]
    defaults = {p.name: p.default for p in mock_cmd.params}
    assert defaults["minutes"] == 30 and defaults["level"] == "senior"
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    assert "workbook quiz mock                          # 30 minutes, senior level" in readme


@pytest.mark.parametrize(
    ("typed", "multiline", "expected"),
    [
        ("one\ntwo\n\nthree\n", True, "one\ntwo"),  # a blank line ends it
        ("one\ntwo", True, "one\ntwo"),  # Ctrl-D after a line
        ("one\ntwo without newline", True, "one\ntwo without newline"),  # Ctrl-D mid-line
        ("\nlater\n", True, ""),  # an empty answer
        ("q\n", True, None),  # quit
        ("", True, None),  # Ctrl-D before anything: quit
        ("2\nmore\n", False, "2"),  # choices take one line
    ],
)
def test_read_answer_ends_at_a_blank_line_or_eof(typed, multiline, expected):
    shown: list[str] = []
    got = read_answer(io.StringIO(typed), shown.append, lambda n: f"<{n}>", multiline=multiline)
    assert got == expected
    assert shown[0] == "<0>"


def test_editor_template_keeps_the_question_out_of_the_answer():
    text = editor_template("What is it?\nTwo lines.")
    assert strip_comments("My answer.\n" + text) == "My answer."
    assert strip_comments(text) == ""


def test_a_failing_editor_is_a_clear_error(mock_env, monkeypatch):
    monkeypatch.delenv("VISUAL", raising=False)
    monkeypatch.setenv("EDITOR", "false")
    result = mock("--minutes", "5", "--editor", input="")
    assert result.exit_code == 1 and "editor 'false' failed" in result.output
