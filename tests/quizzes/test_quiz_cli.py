"""Drive the quiz CLI as a user would: typed answers on stdin, and once through tmux."""

import os
import re
import shlex
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from quizzes import session as session_module
from quizzes.cli import app
from quizzes.config import get_settings
from quizzes.progress import ProgressStore
from quizzes.schema import FreeTextItem

runner = CliRunner()
GOOD_ESSAY = (
    "The low alarm needs fifteen one-minute datapoints below target, so about 15 "
    "minutes, and then the scale-in cooldown of 300 seconds applies."
)


def flat(output: str) -> str:
    """Return CLI output on one line, without the error panel's borders."""
    return " ".join(output.replace("│", " ").split())


def test_drill_reads_answers_and_records_progress(quiz_env):
    result = runner.invoke(
        app,
        ["drill", "--topic", "autoscaling", "--count", "2", "--seed", "0"],
        input=f"2\n{GOOD_ESSAY}\n",
    )
    assert result.exit_code == 0, result.output
    assert result.output.count("GOOD") == 2 and "overall score: 1.00" in result.output
    with ProgressStore(quiz_env) as s:
        assert {r["item_id"] for r in s.reviews()} == {"autoscaling-001", "autoscaling-002"}


def test_drill_reprompts_on_bad_input_and_quits_on_q(quiz_env):
    result = runner.invoke(
        app,
        ["drill", "--topic", "autoscaling", "--count", "2", "--seed", "0"],
        input="seven\n9\n2\nq\n",
    )
    assert result.exit_code == 0, result.output
    assert "could not read 'seven'" in result.output and "between 1 and 3" in result.output
    assert "answered" in result.output and "overall score: 1.00 over 1 answers" in result.output


def test_drill_by_chapter_with_empty_essay(quiz_env):
    result = runner.invoke(
        app, ["drill", "--chapter", "09", "--count", "2", "--seed", "0"], input="1\n\n"
    )
    assert result.exit_code == 0, result.output
    assert "WRONG" in result.output and "No answer given." in result.output


def test_mock_interview_reports_per_topic(quiz_env):
    essay = (
        "Users hit an Application Load Balancer; the image comes from ECR and secrets "
        "from Secrets Manager."
    )
    result = runner.invoke(
        app,
        ["mock", "--minutes", "10", "--seed", "1", "--level", "junior"],
        input=f"{essay}\n\nIt keeps the desired count of Fargate tasks running.\n\nq\n",
    )
    assert result.exit_code == 0, result.output
    assert "Mock interview (junior): 2 questions (2 spoken), 10 minutes" in result.output
    assert "Mock interview report" in result.output and "architecture" in result.output
    assert "time box 3:00 · 10:00 left of 10 min" in result.output
    assert "[2] follow-up to architecture-001" in result.output  # the service point was missed
    assert "transcript: " in result.output


def test_stats_after_a_drill(quiz_env):
    runner.invoke(
        app, ["drill", "--topic", "autoscaling", "--count", "1", "--seed", "0"], input="1\n"
    )
    result = runner.invoke(app, ["stats"])
    assert result.exit_code == 0, result.output
    assert "autoscaling" in result.output and "weakest topics: autoscaling" in result.output
    assert "review next:" in result.output and "recall now" in result.output
    assert "right after any review, even a poor one" in result.output  # what recall means
    assert "autoscaling-001: next due" in result.output


def test_unknown_topic_lists_the_valid_topics(quiz_env):
    result = runner.invoke(app, ["drill", "--topic", "ecs-services"])
    assert result.exit_code == 2
    out = flat(result.output)
    assert "unknown topic 'ecs-services'" in out
    assert "valid topics: architecture, autoscaling, ecs-service" in out
    bad = runner.invoke(app, ["export", "--format", "anki", "--out", "x.apkg", "--topic", "nope"])
    assert bad.exit_code == 2 and "valid topics" in flat(bad.output)


def test_unknown_chapter_lists_the_chapters_with_items(quiz_env):
    result = runner.invoke(app, ["drill", "--chapter", "15"])
    assert result.exit_code == 2
    assert "chapters with items: 00, 08, 09" in flat(result.output)


def test_a_wrong_choice_shows_the_right_answer_by_number_and_text(quiz_env):
    result = runner.invoke(
        app, ["drill", "--topic", "autoscaling", "--count", "1", "--seed", "0"], input="1\n"
    )
    assert result.exit_code == 0, result.output
    assert "WRONG" in result.output and "Right answer: 2. 300 s" in result.output
    assert "next due" in result.output  # and when it comes back
    with ProgressStore(quiz_env) as s:
        (review,) = s.reviews()
    assert review["item_id"] == "autoscaling-001"


def test_choices_are_shuffled_when_an_item_repeats(quiz_env):
    drill = ["drill", "--topic", "autoscaling", "--count", "2", "--seed", "0"]
    first = runner.invoke(app, drill, input=f"2\n{GOOD_ESSAY}\n")
    assert "  1. 60 s" in first.output and "  2. 300 s" in first.output  # authored order
    again = runner.invoke(app, drill, input=f"{GOOD_ESSAY}\n\nq\n")  # the essay comes first now
    assert again.exit_code == 0, again.output
    shown = re.findall(r"  (\d)\. (60 s|300 s|900 s)", again.output)
    assert sorted(c for _, c in shown) == ["300 s", "60 s", "900 s"]
    assert ("2", "300 s") not in shown  # the right answer moved


def test_export_both_formats(quiz_env, tmp_path):
    r1 = runner.invoke(app, ["export", "--format", "anki", "--out", str(tmp_path / "d.apkg")])
    r2 = runner.invoke(
        app,
        ["export", "--format", "jupyterquiz", "--chapter", "08", "--out", str(tmp_path / "q.json")],
    )
    assert r1.exit_code == r2.exit_code == 0, r1.output + r2.output
    assert (tmp_path / "d.apkg").stat().st_size > 0 and (tmp_path / "q.json").exists()
    bad = runner.invoke(app, ["export", "--format", "pdf", "--out", str(tmp_path / "x")])
    assert bad.exit_code != 0


def test_check_reports_coverage(quiz_env):
    result = runner.invoke(app, ["check"])
    assert result.exit_code == 0 and "9 items OK" in result.output
    assert "env-secrets/rotation" in result.output


def test_broken_bank_is_a_clear_error(quiz_env, monkeypatch, bank_copy, write_topic):
    write_topic("iam", "topic: iam\nitems:\n  - id: iam-001\n    type: single\n")
    monkeypatch.setenv("QUIZ_BANK_DIR", str(bank_copy / "bank"))
    get_settings.cache_clear()
    result = runner.invoke(app, ["drill"])
    assert result.exit_code == 1 and "iam.yaml:3" in result.output


def test_corrupt_db_is_reported(quiz_env):
    quiz_env.parent.mkdir(parents=True, exist_ok=True)
    quiz_env.write_bytes(b"garbage" * 50)
    result = runner.invoke(app, ["stats"])
    assert result.exit_code == 1 and "corrupt" in result.output
    assert list(quiz_env.parent.glob("progress.sqlite.corrupt-*"))


@pytest.mark.needs("tmux")
def test_drill_in_a_real_terminal_via_tmux(quiz_env, tmp_path):
    session = f"quiztest{os.getpid()}"
    log = tmp_path / "screen.txt"
    cmd = (
        f"{shlex.quote(sys.executable)} -c 'from quizzes.cli import app; app()' "
        "drill --topic autoscaling --count 2 --seed 0; echo EXIT=$?; sleep 30"
    )
    env = {**os.environ}
    repo = Path(__file__).resolve().parents[2]
    subprocess.run(
        ["tmux", "new-session", "-d", "-s", session, "-x", "120", "-y", "50", "-c", str(repo), cmd],
        check=True,
        env=env,
    )
    try:

        def screen() -> str:
            out = subprocess.run(
                ["tmux", "capture-pane", "-p", "-t", session, "-S", "-200"],
                capture_output=True,
                text=True,
            ).stdout
            log.write_text(out)
            return out

        def wait_for(text: str, n: int = 1) -> str:
            for _ in range(200):
                out = screen()
                if out.count(text) >= n:
                    return out
                time.sleep(0.1)
            raise AssertionError(f"never saw {text!r}:\n{screen()}")

        wait_for("answer (q to quit)")
        subprocess.run(["tmux", "send-keys", "-t", session, "2", "Enter"], check=True)
        wait_for("answer (q to quit)", 2)
        subprocess.run(["tmux", "send-keys", "-t", session, "-l", GOOD_ESSAY], check=True)
        subprocess.run(["tmux", "send-keys", "-t", session, "Enter"], check=True)
        wait_for("...:")  # a spoken answer may go on: a blank line ends it
        subprocess.run(["tmux", "send-keys", "-t", session, "Enter"], check=True)
        out = wait_for("EXIT=")
        assert "EXIT=0" in out and out.count("GOOD") == 2
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)


def test_an_unsure_grade_asks_the_learner_to_rate_themselves(quiz_env, monkeypatch):
    real = session_module.grade

    def doubtful(item, answer, **kw):
        g = real(item, answer, **kw)
        return g.model_copy(update={"unsure": isinstance(item, FreeTextItem)})

    monkeypatch.setattr(session_module, "grade", doubtful)
    result = runner.invoke(
        app,
        ["drill", "--topic", "autoscaling", "--count", "2", "--seed", "0"],
        input="2\nsoon\n\nmaybe\nh\n",
    )
    assert result.exit_code == 0, result.output
    assert "UNSURE" in result.output and "rate yourself: again, hard or good" in result.output
    assert "  - the scale-in alarm needs 15 datapoints of one minute" in result.output
    assert "type a, h or g" in result.output  # "maybe" is not a rating
    assert "PARTIAL score 0.30" in result.output and "self-rated hard" in result.output
    with ProgressStore(quiz_env) as s:
        graders = [r["grader"] for r in s.reviews()]
    assert graders == ["offline", "self"]  # the choice was sure; the essay was self-rated


def test_brackets_in_the_bank_are_shown_as_written(quiz_env, monkeypatch, bank_copy, write_topic):
    write_topic(
        "iam",
        """
        topic: iam
        items:
          - id: iam-001
            type: single
            chapter: "03"
            difficulty: 1
            guide_section: architecture/overview
            question: "Which key is [bold]required[/bold]?"
            choices: ["[red]Action", "Effect"]
            answer: 1
            explanation: "Effect is [default] Allow or Deny."
        """,
    )
    monkeypatch.setenv("QUIZ_BANK_DIR", str(bank_copy / "bank"))
    get_settings.cache_clear()
    result = runner.invoke(app, ["drill", "--topic", "iam"], input="1\n")
    assert result.exit_code == 0, result.output
    assert "Which key is [bold]required[/bold]?" in result.output
    assert "1. [red]Action" in result.output and "Effect is [default] Allow" in result.output
