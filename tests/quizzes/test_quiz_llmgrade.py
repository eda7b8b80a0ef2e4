"""The optional LLM grader returns the same Grade, kept to the rubric (fake chat model only)."""

import pytest

from quizzes.errors import GradingError
from quizzes.freetext import grade_free_text
from quizzes.llmgrade import build_messages, grade_with_llm
from quizzes.verdict import Grade


class FakeChat:
    """A stand-in chat model: records the schema and messages, returns a canned reply."""

    def __init__(self, reply):
        self.reply, self.schema, self.messages = reply, None, None

    def with_structured_output(self, schema):
        self.schema = schema
        return self

    def invoke(self, messages):
        self.messages = messages
        if isinstance(self.reply, Exception):
            raise self.reply
        return self.reply


def test_llm_verdict_is_the_same_model_and_recomputed(bank):
    item = bank.get("ecs-service-006")
    reply = Grade(
        item_id="whatever",
        verdict="good",
        score=1.0,
        covered=["counts-tasks", "threshold", "made-up-point"],
        wrong_claims=[],
        feedback="Clear and correct.",
    )
    fake = FakeChat(reply)
    g = grade_with_llm(item, "A paraphrase the offline grader cannot see.", fake)
    assert fake.schema is Grade and isinstance(g, Grade)
    assert g.item_id == item.id and g.grader == "llm"
    assert g.covered == ["counts-tasks", "threshold"] and g.missed == ["rollback"]
    assert g.score == 0.8 and g.verdict == "good"  # from the shared rule, not the model's 1.0
    assert "Clear and correct." in g.feedback
    assert "Candidate answer: A paraphrase" in fake.messages[1][1]


def test_llm_wrong_claim_is_penalised(bank):
    item = bank.get("ecs-service-006")
    reply = {
        "item_id": item.id,
        "verdict": "good",
        "score": 1.0,
        "covered": ["rollback"],
        "wrong_claims": [item.rubric.wrong_claims[0].text],
    }
    g = grade_with_llm(item, "It rolls back after three health checks.", FakeChat(reply))
    assert g.verdict == "wrong" and g.wrong_claims


def test_empty_answer_never_reaches_the_model(bank):
    item = bank.get("ecs-service-006")
    fake = FakeChat(Grade(item_id=item.id, verdict="good", score=1.0, covered=["rollback"]))
    g = grade_with_llm(item, "  ", fake)
    assert g.verdict == "wrong" and fake.messages is None
    assert g == grade_free_text(item, "")


def test_provider_failure_is_a_grading_error(bank):
    item = bank.get("ecs-service-006")
    with pytest.raises(GradingError, match="LLM grading failed"):
        grade_with_llm(item, "text", FakeChat(RuntimeError("rate limited")))
    with pytest.raises(GradingError, match="not a Grade"):
        grade_with_llm(item, "text", FakeChat("a string"))


def test_prompt_carries_the_rubric(bank):
    item = bank.get("ecs-service-006")
    human = build_messages(item, "x")[1][1]
    assert "counts-tasks" in human and "3 failed health checks" in human
