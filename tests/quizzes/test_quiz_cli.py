"""Drive the quiz CLI as a user would: typed answers on stdin, and once through tmux."""

import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from quizzes.cli import app
from quizzes.progress import ProgressStore

runner = CliRunner()
GOOD_ESSAY = (
    "The low alarm needs fifteen one-minute datapoints below target, so about 15 "
    "minutes, and then the scale-in cooldown of 300 seconds applies."
)


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
    essays = [
        "Users hit an Application Load Balancer that forwards to Fargate tasks run by "
        "an ECS service; the image comes from ECR and secrets from Secrets Manager.",
        "It rolls back after three failed health checks.",
    ]
    result = runner.invoke(
        app, ["mock", "--minutes", "10", "--seed", "1"], input="\n".join(essays) + "\nq\n"
    )
    assert result.exit_code == 0, result.output
    assert "Mock interview report" in result.output
    assert "architecture" in result.output and "ecs-service" in result.output
    assert "min" in result.output and "left" in result.output
    assert "follow-up to architecture-001" in result.output


def test_stats_after_a_drill(quiz_env):
    runner.invoke(
        app, ["drill", "--topic", "autoscaling", "--count", "1", "--seed", "0"], input="1\n"
    )
    result = runner.invoke(app, ["stats"])
    assert result.exit_code == 0, result.output
    assert "autoscaling" in result.output and "weakest topics: autoscaling" in result.output
    assert "review next:" in result.output


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
    from quizzes.config import get_settings

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
        out = wait_for("EXIT=")
        assert "EXIT=0" in out and out.count("GOOD") == 2
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)
