"""The shipped bank (quizzes/bank, quizzes/sections.yaml) loads and grades sensibly."""

import pytest

from quizzes.config import PACKAGE_DIR
from quizzes.coverage import coverage
from quizzes.freetext import grade_free_text
from quizzes.loader import load_bank

BANK, SECTIONS = PACKAGE_DIR / "bank", PACKAGE_DIR / "sections.yaml"
pytestmark = pytest.mark.skipif(
    not (BANK.is_dir() and SECTIONS.exists()), reason="the real question bank is not written yet"
)


@pytest.fixture(scope="module")
def real_bank():
    return load_bank(BANK, SECTIONS)


def test_real_bank_loads_with_computed_numbers(real_bank):
    numeric = real_bank.select(types=("numeric",))
    assert len(real_bank) > 0 and all(it.answer is not None for it in numeric)


def test_every_section_and_erratum_has_an_item(real_bank):
    cov = coverage(real_bank)
    assert cov.missing_sections == [] and cov.missing_errata == []


def test_model_answers_pass_their_own_rubric(real_bank):
    failing = {it.id: grade_free_text(it, it.model_answer).verdict for it in real_bank.free_text()}
    assert {k: v for k, v in failing.items() if v != "good"} == {}


def test_empty_and_stuffed_answers_never_pass(real_bank):
    for it in real_bank.free_text():
        assert grade_free_text(it, "").verdict == "wrong"
        dump = ". ".join(ph for p in it.rubric.points for ph in p.phrasings)
        assert grade_free_text(it, dump).verdict == "wrong", it.id
        listing = ", ".join(ph for p in it.rubric.points for ph in p.phrasings)
        assert grade_free_text(it, listing).verdict != "good", it.id


# Each glue, each choice of phrasings and each opening once (the bench grades all 10 forms).
PASTES = [
    (" ", "every", ""),
    (", ", "first", "Sure, here's what I know: "),
    (" and ", "every", "Sure, "),
]


@pytest.mark.parametrize(("glue", "which", "filler"), PASTES, ids=["spaces", "commas", "and"])
def test_rubric_phrasings_pasted_as_an_answer_are_never_good(real_bank, glue, which, filler):
    passed = []
    for it in real_bank.free_text():
        phrasings = [
            ph for p in it.rubric.points for ph in p.phrasings[: None if which == "every" else 1]
        ]
        if grade_free_text(it, filler + glue.join(phrasings)).verdict == "good":
            passed.append(it.id)
    assert passed == []


def test_every_interview_question_has_one_full_model_answer(real_bank):
    marked = real_bank.interview()
    assert sorted(marked) == list(range(1, 10))
    for q, it in marked.items():
        words = len(it.model_answer.split())
        assert 150 <= words <= 300, f"Q{q} ({it.id}): model answer has {words} words"
        assert 2 <= len(it.follow_ups) <= 3, f"Q{q} ({it.id}): {len(it.follow_ups)} follow-ups"
        assert all(ref in real_bank.items for ref in it.follow_ups), it.id


@pytest.mark.parametrize(
    ("item_id", "answer"),
    [
        (
            "logs-002",
            "IAM is fine, the managed policy already has CreateLogGroup; check the region.",
        ),
        (
            "ecs-cluster-018",
            "Fargate caches the image after the first pull, so CUDA costs nothing.",
        ),
        ("docker-020", "Exec or shell, the CMD form doesn't matter; SIGTERM reaches uvicorn."),
        (
            "ecs-service-003",
            "It makes ECS ignore failed checks at start, and 60 seconds is plenty.",
        ),
        ("troubleshooting-020", "Check the target health, then disable the circuit breaker."),
        ("costs-002", "About $75: $55 compute, $16 ALB, and public IPs are free."),
        ("ecs-cluster-021", "LATEST is 1.4.0, and running tasks are upgraded automatically."),
    ],
)
def test_common_misconceptions_make_the_answer_wrong(real_bank, item_id, answer):
    g = grade_free_text(real_bank.get(item_id), answer)
    assert g.wrong_claims and g.verdict == "wrong", g.covered
