"""A hung LLM provider never blocks an interview: after QUIZ_GRADER_TIMEOUT_S it grades offline."""

import threading

import pytest
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from pydantic import PrivateAttr, ValidationError

from quizzes.config import QuizSettings
from quizzes.errors import QuizError
from quizzes.freetext import grade_free_text
from quizzes.llmgrade import LLMGrader, fallback_note, graded_by

ANSWER = "It counts failed tasks, half the desired count with a floor of three, then rolls back."


class Hanging(GenericFakeChatModel):
    """A chat model that never answers until the test releases it (no network)."""

    _release: threading.Event = PrivateAttr(default_factory=threading.Event)
    _called: threading.Event = PrivateAttr(default_factory=threading.Event)

    def _generate(self, messages, stop=None, run_manager=None, **kwargs):
        self._called.set()
        self._release.wait(30)
        raise RuntimeError("released by the test")


@pytest.fixture
def hanging():
    model = Hanging(messages=iter([]))
    yield model
    model._release.set()  # let the abandoned call end


def test_a_hung_call_falls_back_to_the_offline_grade_naming_the_timeout(bank, hanging):
    item = bank.get("ecs-service-006")
    g = LLMGrader(hanging, timeout_s=0.2)(item, ANSWER)
    assert hanging._called.is_set()  # the model was asked, and never answered
    note = fallback_note(g)
    assert note is not None and "0.2 s timeout (QUIZ_GRADER_TIMEOUT_S)" in note
    assert graded_by(g) == "offline (the LLM grader failed)"
    offline = grade_free_text(item, ANSWER)
    assert (g.verdict, g.score, g.covered) == (offline.verdict, offline.score, offline.covered)


def test_a_timeout_must_be_positive():
    with pytest.raises(QuizError, match="timeout must be > 0 s, got 0"):
        LLMGrader(object(), timeout_s=0)


def test_quiz_grader_timeout_setting_is_read_and_checked(monkeypatch):
    monkeypatch.setenv("QUIZ_GRADER_TIMEOUT_S", "7.5")
    assert QuizSettings(_env_file=None).grader_timeout_s == 7.5
    monkeypatch.setenv("QUIZ_GRADER_TIMEOUT_S", "-1")
    with pytest.raises(ValidationError, match="QUIZ_GRADER_TIMEOUT_S"):
        QuizSettings(_env_file=None)
