"""`--grader llm` grades spoken answers with LLM_PROVIDER's chat model (fakes here), or refuses."""

import itertools
import json
import sys

import pytest
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage
from typer.testing import CliRunner

from quizzes.cli import app
from quizzes.freetext import grade_free_text
from quizzes.llmgrade import LLMGrader
from quizzes.progress import ProgressStore
from quizzes.widget import mock_widget, quiz_widget

runner = CliRunner()
DRILL = ["drill", "--topic", "autoscaling", "--count", "2", "--seed", "0"]
# autoscaling-002's two points in other words: the offline grader's phrasings miss them.
PARAPHRASE = "A quarter of an hour of quiet readings first, then a five-minute pause."
GOOD_ESSAY = (
    "The low alarm needs fifteen one-minute datapoints below target, so about 15 "
    "minutes, and then the scale-in cooldown of 300 seconds applies."
)


def flat(output: str) -> str:
    """Return CLI output on one line, without rich's wrapping."""
    return " ".join(output.replace("│", " ").split())


def replies(*texts: str) -> GenericFakeChatModel:
    """LangChain's fake chat model answering with these texts, the last one repeated."""
    return GenericFakeChatModel(
        messages=itertools.chain(
            (AIMessage(content=t) for t in texts[:-1]), itertools.repeat(AIMessage(texts[-1]))
        )
    )


class TimingOut(GenericFakeChatModel):
    """A chat model whose every call times out, as a provider does mid-interview."""

    def _generate(self, messages, stop=None, run_manager=None, **kwargs):
        raise TimeoutError("the provider did not answer within 60 s")


def verdict(**fields) -> str:
    """A model reply holding a grading verdict as JSON inside prose."""
    return "Grading:\n```json\n" + json.dumps(fields) + "\n```"


@pytest.fixture
def provider_env(quiz_env, monkeypatch):
    """The service's provider settings as a learner sets them: Ollama, its default model."""
    for name in ("LLM_MODEL", "GROQ_API_KEY", "GOOGLE_API_KEY", "QUIZ_GRADER", "ENV"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LLM_PROVIDER", "ollama")
    return quiz_env


@pytest.fixture
def chat(provider_env, monkeypatch):
    """Make init_chat_model (which providers.py calls) return the fake model a test sets."""
    made: dict = {"model": None, "calls": []}

    def fake_init(*args, **kwargs):
        made["calls"].append((args, kwargs))
        return made["model"]

    monkeypatch.setattr("langchain.chat_models.init_chat_model", fake_init)
    return made


def test_drill_grades_a_paraphrase_with_the_llm_grader(chat, provider_env, bank):
    chat["model"] = replies(verdict(covered=["fifteen", "cooldown"], confidence=0.9))
    assert grade_free_text(bank.get("autoscaling-002"), PARAPHRASE).verdict != "good"
    result = runner.invoke(app, [*DRILL, "--grader", "llm"], input=f"2\n{PARAPHRASE}\n\n")
    assert result.exit_code == 0, result.output
    out = flat(result.output)
    assert out.count("GOOD") == 2 and "graded by llm" in out
    [(args, kwargs)] = chat["calls"]  # built once, through the service's provider factory
    assert args == ("llama3.2",) and kwargs["model_provider"] == "ollama"
    with ProgressStore(provider_env) as s:
        graders = {r["item_id"]: r["grader"] for r in s.reviews()}
    assert graders == {"autoscaling-001": "offline", "autoscaling-002": "llm"}


@pytest.mark.parametrize(
    ("model", "reason"),
    [
        (replies("I would rather not grade this."), "holds no JSON object"),
        (TimingOut(messages=iter([])), "did not answer within 60 s"),
    ],
    ids=["bad-json", "timeout"],
)
def test_a_failing_model_falls_back_to_the_offline_grader_and_says_so(
    chat, provider_env, model, reason
):
    chat["model"] = model
    result = runner.invoke(app, [*DRILL, "--grader", "llm"], input=f"2\n{GOOD_ESSAY}\n\n")
    assert result.exit_code == 0, result.output
    out = flat(result.output)
    assert "The LLM grader failed (" in out and reason in out
    assert "this answer was graded offline instead" in out
    assert "graded by offline (the LLM grader failed)" in out
    assert out.count("GOOD") == 2 and "overall score: 1.00" in out  # nothing lost
    with ProgressStore(provider_env) as s:
        assert [r["grader"] for r in s.reviews("autoscaling-002")] == ["offline"]


def test_quiz_grader_setting_picks_the_llm_for_a_mock_and_the_transcript_says_so(
    chat, monkeypatch, tmp_path
):
    monkeypatch.setenv("QUIZ_GRADER", "LLM")
    monkeypatch.setenv("LLM_MODEL", "llama3.2:1b")
    chat["model"] = replies(
        verdict(covered=[], confidence=0.9), "not a verdict"
    )  # the first answer graded by the model, the second falls back
    result = runner.invoke(
        app,
        ["mock", "--minutes", "10", "--seed", "1", "--level", "junior"],
        input="Users reach the tasks through a load balancer.\n\nIt keeps tasks running.\n\nq\n",
        env={"COLUMNS": "200"},
    )
    assert result.exit_code == 0, result.output
    out = flat(result.output)
    assert "Spoken answers are graded by: llm (ollama, llama3.2:1b)." in out
    assert "The LLM grader failed (" in out  # a mock hides feedback, not the fallback
    text = next((tmp_path / "share" / "mocks").glob("mock-*.md")).read_text()
    assert "Spoken answers graded by: llm (ollama, llama3.2:1b)." in text
    assert "*Graded by llm.*" in text
    assert "*Graded by offline (the LLM grader failed).*" in text


@pytest.mark.parametrize("command", ["drill", "mock"])
def test_an_unknown_grader_is_refused_by_name(quiz_env, command):
    result = runner.invoke(app, [command, "--grader", "gpt"], env={"COLUMNS": "200"})
    assert result.exit_code == 2
    assert "'gpt' is not one of 'offline', 'llm'" in flat(result.output)


def test_an_unknown_quiz_grader_setting_is_refused_by_name(quiz_env, monkeypatch):
    monkeypatch.setenv("QUIZ_GRADER", "gpt")
    result = runner.invoke(app, DRILL, input="2\n")
    assert result.exit_code == 1
    assert "bad quiz setting: QUIZ_GRADER: Input should be 'offline' or 'llm'" in flat(
        result.output
    )


@pytest.fixture
def forget_imported_chat_classes():
    """Make init_chat_model import the integration again (it caches each provider's class)."""
    from langchain.chat_models import base

    base._get_chat_model_creator.cache_clear()
    yield
    base._get_chat_model_creator.cache_clear()


def test_a_missing_provider_package_is_named_before_any_question(
    provider_env, monkeypatch, forget_imported_chat_classes
):
    monkeypatch.setitem(sys.modules, "langchain_ollama", None)  # as if the extra were absent
    result = runner.invoke(app, [*DRILL, "--grader", "llm"], input="2\n")
    assert result.exit_code == 1
    out = flat(result.output)
    assert (
        "LLM_PROVIDER=ollama needs the langchain_ollama package: "
        "pip install 'ecs-workbook[ollama]'" in out
    )
    assert "autoscaling-001" not in out  # no question asked
    with ProgressStore(provider_env) as s:
        assert s.reviews() == []


@pytest.mark.parametrize(
    ("provider", "needs"),
    [("groq", "needs GROQ_API_KEY set"), ("offline", "set LLM_PROVIDER to groq, google")],
)
def test_the_llm_grader_names_the_setting_it_needs(chat, monkeypatch, provider, needs):
    monkeypatch.setenv("LLM_PROVIDER", provider)
    result = runner.invoke(app, [*DRILL, "--grader", "llm"], input="2\n")
    assert result.exit_code == 1 and needs in flat(result.output)
    assert chat["calls"] == []  # refused before any client is built


def test_offline_is_the_default_and_builds_no_model(chat):
    result = runner.invoke(app, DRILL, input=f"2\n{GOOD_ESSAY}\n\n")
    assert result.exit_code == 0, result.output
    assert chat["calls"] == [] and "graded by" not in result.output


def test_the_widget_takes_the_same_grader(bank, store):
    grader = LLMGrader(replies(verdict(covered=["fifteen", "cooldown"], confidence=0.9)))
    box = quiz_widget(item_ids=["autoscaling-002"], bank=bank, store=store, grader=grader)
    [card] = box.cards
    card.input.value = PARAPHRASE
    card.check.click()
    assert "GOOD" in card.feedback.value and "graded by the LLM grader" in card.feedback.value
    assert [r["grader"] for r in store.reviews()] == ["llm"]


def test_the_mock_widget_takes_the_same_grader(bank, store, tmp_path):
    grader = LLMGrader(replies("not a verdict"))  # every call fails: graded offline, said so
    widget = mock_widget(
        minutes=10, level="junior", seed=1, bank=bank, store=store, save_dir=tmp_path,
        grader=grader,
    )  # fmt: skip
    assert widget.session.grader is grader
    widget.input.value = GOOD_ESSAY
    widget.send.click()
    assert "The LLM grader failed (" in widget.feedback.value
