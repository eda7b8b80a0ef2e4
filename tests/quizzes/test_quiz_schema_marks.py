"""Wrong claims name the rubric point they contradict; interview-question marks are complete."""

import pytest

from quizzes.errors import BankError, DuplicateIdError, UnknownReferenceError
from quizzes.loader import load_bank

ITEM = """
  - id: {id}
    type: free_text
    chapter: "03"
    difficulty: 1
    guide_section: architecture/overview
    question: "Which role pulls the image?"
    model_answer: "The execution role pulls the image from ECR."
    rubric:
      points:
        - id: exec-role
          text: "the execution role pulls the image"
          phrasings: ["execution role"]
      wrong_claims:
        - text: "the task role pulls the image"
          phrasings: ["task role pulls"]
          contradicts: {contradicts}
    explanation: "The agent uses the execution role."
{extra}"""


def topic(*items: str) -> str:
    return "topic: iam\nitems:\n" + "".join(items)


def item(n: int, *, contradicts: str = "exec-role", extra: str = "") -> str:
    return ITEM.format(id=f"iam-{n:03d}", contradicts=contradicts, extra=extra).lstrip("\n")


def mark(q: int) -> str:
    return f"    interview_question: {q}\n"


def load(root):
    return load_bank(root / "bank", root / "sections.yaml")


def test_contradicts_naming_a_point_loads(bank_copy, write_topic):
    write_topic("iam", topic(item(1)))
    claim = load(bank_copy).get("iam-001").rubric.wrong_claims[0]
    assert claim.contradicts == "exec-role"


def test_contradicts_naming_an_unknown_point_is_refused(bank_copy, write_topic):
    path = write_topic("iam", topic(item(1, contradicts="task-role")))
    with pytest.raises(BankError) as err:
        load(bank_copy)
    e = err.value
    assert "'task-role'" in e.message and "exec-role" in e.message
    assert e.path == str(path) and "iam-001" in e.message and e.field.startswith("rubric")


def test_fixture_bank_without_marks_loads(bank):
    assert bank.interview() == {}


@pytest.mark.parametrize("q", [0, 10])
def test_interview_question_out_of_range_is_refused(bank_copy, write_topic, q):
    write_topic("iam", topic(item(1, extra=mark(q))))
    with pytest.raises(BankError) as err:
        load(bank_copy)
    assert err.value.field == "interview_question" and "iam-001" in err.value.message


def test_question_marked_twice_names_both_items(bank_copy, write_topic):
    write_topic("iam", topic(item(1, extra=mark(4)), item(2, extra=mark(4))))
    with pytest.raises(DuplicateIdError) as err:
        load(bank_copy)
    msg = err.value.message
    assert "Q4" in msg and "iam-001" in msg and "iam-002" in msg and err.value.line == 21


def test_partly_marked_bank_names_the_missing_questions(bank_copy, write_topic):
    write_topic("iam", topic(item(1, extra=mark(1)), item(2, extra=mark(3))))
    with pytest.raises(UnknownReferenceError) as err:
        load(bank_copy)
    assert "Q2, Q4, Q5, Q6, Q7, Q8, Q9" in err.value.message


def test_fully_marked_bank_maps_questions_to_items(bank_copy, write_topic):
    write_topic("iam", topic(*(item(q, extra=mark(q)) for q in range(1, 10))))
    assert {q: it.id for q, it in load(bank_copy).interview().items()} == {
        q: f"iam-{q:03d}" for q in range(1, 10)
    }
