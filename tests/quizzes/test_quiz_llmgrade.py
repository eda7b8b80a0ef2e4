"""The optional LLM grader returns the same Grade, kept to the rubric (fake chat models only)."""

import json

import pytest
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage
from pydantic import PrivateAttr

from quizzes.errors import GradingError
from quizzes.freetext import grade_free_text
from quizzes.llmgrade import Judgement, build_messages, grade_with_llm
from quizzes.verdict import UNSURE_BELOW, Grade


class RecordingChat(GenericFakeChatModel):
    """LangChain's fake chat model, remembering what it was sent (no tool calling)."""

    _sent: list = PrivateAttr(default_factory=list)

    def _generate(self, messages, stop=None, run_manager=None, **kwargs):
        self._sent.append(messages)
        return super()._generate(messages, stop=stop, run_manager=run_manager, **kwargs)


class ToolChat(RecordingChat):
    """A fake model with tool calling: `with_structured_output` goes through LangChain's own."""

    def bind_tools(self, tools, **kwargs):
        return self


def json_reply(**fields) -> RecordingChat:
    """A model without structured output that replies with JSON inside prose and a fence."""
    text = "Here is my grading:\n```json\n" + json.dumps(fields) + "\n```"
    return RecordingChat(messages=iter([AIMessage(content=text)]))


def tool_reply(**fields) -> ToolChat:
    """A tool-calling model whose reply is a Judgement tool call."""
    call = {"name": "Judgement", "args": fields, "id": "call-1"}
    return ToolChat(messages=iter([AIMessage(content="", tool_calls=[call])]))


@pytest.fixture
def item(bank):
    return bank.get("ecs-service-006")


@pytest.mark.parametrize("make", [json_reply, tool_reply], ids=["json", "tool-call"])
def test_llm_verdict_is_a_grade_recomputed_by_the_shared_rule(item, make):
    model = make(
        covered=["counts-tasks", "threshold", "made-up-point"],
        confidence=0.9,
        feedback="Clear and correct.",
    )
    g = grade_with_llm(item, "A paraphrase the offline grader cannot see.", model)
    assert isinstance(g, Grade) and g.item_id == item.id and g.grader == "llm"
    assert g.covered == ["counts-tasks", "threshold"] and g.missed == ["rollback"]
    assert g.score == 0.8 and g.verdict == "good"  # from the shared rule, not the model
    assert g.confidence == 0.9 and not g.unsure and g.shown_verdict == "good"
    assert "Clear and correct." in g.feedback
    human = model._sent[0][1].content
    assert "Candidate answer: A paraphrase" in human and "counts-tasks" in human


def test_llm_low_confidence_makes_the_grade_unsure(item):
    model = json_reply(covered=["counts-tasks", "threshold"], confidence=0.3)
    g = grade_with_llm(item, "Something in between.", model)
    assert g.verdict == "good" and g.unsure and g.confidence == 0.3
    assert g.needs_self_rating and g.shown_verdict == "unsure"
    assert "rate your answer against the checklist" in g.feedback


def test_llm_score_on_a_verdict_line_is_unsure_even_when_the_model_is_sure(item):
    twelve = item.model_copy(
        update={
            "rubric": item.rubric.model_copy(
                update={
                    "points": [
                        item.rubric.points[0].model_copy(update={"id": f"p{i}", "weight": 1.0})
                        for i in range(12)
                    ]
                }
            )
        }
    )
    sure = json_reply(covered=["p0", "p1", "p2"], confidence=1.0)
    g = grade_with_llm(twelve, "Three of the twelve points.", sure)
    assert g.verdict == "partial" and g.score == 0.25 and g.unsure
    clear = json_reply(covered=[f"p{i}" for i in range(6)], confidence=1.0)
    g = grade_with_llm(twelve, "Half of the points.", clear)
    assert g.verdict == "partial" and not g.unsure and g.confidence >= UNSURE_BELOW


def test_llm_wrong_claim_that_contradicts_a_point_is_wrong(item):
    claim = item.rubric.wrong_claims[0]
    with_contradiction = item.model_copy(
        update={
            "rubric": item.rubric.model_copy(
                update={"wrong_claims": [claim.model_copy(update={"contradicts": "counts-tasks"})]}
            )
        }
    )
    model = tool_reply(
        covered=["counts-tasks", "threshold", "rollback"], wrong_claims=[claim.text], confidence=1
    )
    g = grade_with_llm(with_contradiction, "It rolls back after three health checks.", model)
    assert g.verdict == "wrong" and g.wrong_claims == [claim.text]
    assert g.contradicted == ["counts-tasks"]


def test_llm_denied_claim_is_kept_apart_from_made_ones(item):
    text = item.rubric.wrong_claims[0].text
    model = json_reply(covered=["counts-tasks"], rejected_claims=[text, "invented"], confidence=1)
    g = grade_with_llm(item, "It does not roll back after three health checks.", model)
    assert g.wrong_claims == [] and g.rejected_claims == [text]


def test_empty_answer_never_reaches_the_model(item):
    model = json_reply(covered=["rollback"], confidence=1.0)
    g = grade_with_llm(item, "  ", model)
    assert g.verdict == "wrong" and model._sent == []
    assert g == grade_free_text(item, "")


def test_provider_failure_is_a_grading_error(item):
    class Failing(RecordingChat):
        def _generate(self, *args, **kwargs):
            raise RuntimeError("rate limited")

    with pytest.raises(GradingError, match=r"LLM grading failed.*rate limited"):
        grade_with_llm(item, "text", Failing(messages=iter([])))


@pytest.mark.parametrize(
    ("reply", "message"),
    [
        ("I think it is mostly right.", "no JSON object"),
        ('{"covered": ["x"], "confidence": 7}', "not a grading verdict"),
        ('{"covered": "counts-tasks"}', "not a grading verdict"),
    ],
)
def test_a_reply_that_is_not_a_verdict_is_a_grading_error(item, reply, message):
    model = RecordingChat(messages=iter([AIMessage(content=reply)]))
    with pytest.raises(GradingError, match=message):
        grade_with_llm(item, "text", model)


def test_a_tool_call_with_bad_fields_is_a_grading_error(item):
    with pytest.raises(GradingError, match="LLM grading failed"):
        grade_with_llm(item, "text", tool_reply(covered=["counts-tasks"], confidence="sure"))


def test_prompt_carries_the_rubric_and_the_rules(item):
    system, human = build_messages(item, "x")
    assert "counts-tasks" in human[1] and "3 failed health checks" in human[1]
    assert "negates" in system[1] and "wrong actor" in system[1]
    assert set(Judgement.model_fields) == {
        "covered",
        "wrong_claims",
        "rejected_claims",
        "confidence",
        "feedback",
    }
