"""`python -m bench.quiz_grading --grader llm` grades the labelled sets with a chat model (fakes)."""

import itertools
import json

import pytest
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage

from bench import quiz_grading
from bench.quiz_grading import TUNING, evaluate

ARGV = ["--labels", str(TUNING), "--no-heldout"]


class Failing(GenericFakeChatModel):
    """A chat model whose every call fails, as an unreachable provider does."""

    def _generate(self, messages, stop=None, run_manager=None, **kwargs):
        raise ConnectionError("connection refused")


def covering_nothing() -> GenericFakeChatModel:
    """A chat model that finds no rubric point in any answer, sure of it."""
    reply = AIMessage(content=json.dumps({"covered": [], "confidence": 0.95, "feedback": "-"}))
    return GenericFakeChatModel(messages=itertools.repeat(reply))


@pytest.fixture
def chat(quiz_env, monkeypatch):
    """LLM_PROVIDER=ollama, with init_chat_model returning the fake model a test sets."""
    for name in ("LLM_MODEL", "QUIZ_GRADER", "ENV"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LLM_PROVIDER", "ollama")
    made: dict = {"model": None}
    monkeypatch.setattr("langchain.chat_models.init_chat_model", lambda *a, **k: made["model"])
    return made


def test_the_models_verdicts_are_scored_and_the_default_results_file_is_its_own(
    chat, tmp_path, monkeypatch, capsys
):
    chat["model"] = covering_nothing()
    monkeypatch.setattr(quiz_grading, "RESULTS_LLM", tmp_path / "llm.json")
    before = quiz_grading.RESULTS.read_bytes()
    assert quiz_grading.main([*ARGV, "--grader", "llm"]) == 0
    report = json.loads((tmp_path / "llm.json").read_text())
    assert quiz_grading.RESULTS.read_bytes() == before  # the offline figures stay
    assert report["grader"] == "llm (ollama, llama3.2)"
    tuning = report["tuning"]
    confusion = tuning["confusion (rows=label, cols=grader)"]
    # Nothing covered: every answer is graded wrong, so agreement is the share labelled wrong.
    assert sum(row["good"] + row["partial"] for row in confusion.values()) == 0
    assert tuning["agreement"] == round(sum(confusion["wrong"].values()) / tuning["answers"], 3)
    assert tuning["graded_offline_after_a_failed_llm_call"] == 0
    assert report["model_answers_good"] == f"0/{report['model_answers_good'].split('/')[1]}"
    assert "rubric_stuffing_marked_good" not in report  # each paste would be a call
    assert "grader: llm (ollama, llama3.2)" in capsys.readouterr().out


def test_answers_graded_offline_after_failed_calls_are_counted_not_passed_off(chat, tmp_path):
    chat["model"] = Failing(messages=iter(()))
    out = tmp_path / "llm.json"
    assert quiz_grading.main([*ARGV, "--grader", "llm", "--quick", "--out", str(out)]) == 0
    llm = json.loads(out.read_text())["tuning"]
    offline = evaluate(labels=[TUNING], heldout=None, quick=True)["tuning"]
    assert llm["graded_offline_after_a_failed_llm_call"] == llm["answers"] == offline["answers"]
    assert llm["agreement"] == offline["agreement"]  # the offline grader's verdicts, said so


def test_an_llm_grader_without_a_provider_is_refused_by_name(quiz_env, monkeypatch, capsys):
    monkeypatch.setenv("LLM_PROVIDER", "offline")
    assert quiz_grading.main([*ARGV, "--grader", "llm"]) == 2
    assert "the llm grader needs a chat model: set LLM_PROVIDER" in capsys.readouterr().err
