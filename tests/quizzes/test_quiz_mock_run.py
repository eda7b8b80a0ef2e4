"""A mock interview as it runs: time boxes and overtime, follow-ups on missed points, the report."""

from datetime import UTC, datetime, timedelta

import pytest

from quizzes import followup, transcript
from quizzes import session as session_module
from quizzes.config import PACKAGE_DIR
from quizzes.loader import load_bank
from quizzes.session import mock
from quizzes.verdict import Grade
from tests.quizzes.test_quiz_mock_plan import DATA, covering, word, write_mock_bank

NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


class FakeClock:
    """A clock that moves only when the test says so."""

    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def mock_bank(tmp_path):
    return load_bank(write_mock_bank(tmp_path), DATA / "sections.yaml")


@pytest.fixture
def clock():
    return FakeClock()


def start(mock_bank, store, clock, minutes=20, **kw):
    """Start a mock whose first question is architecture-001 (answered badly before, now due)."""
    weak = Grade(item_id="architecture-001", verdict="wrong", score=0.0)
    store.record("architecture-001", "architecture", weak, now=NOW - timedelta(days=1))
    return mock(mock_bank, store, minutes=minutes, seed=0, clock=clock, now=NOW, **kw)


def test_an_answer_inside_its_box_keeps_its_score(mock_bank, store, clock):
    s = start(mock_bank, store, clock)
    q = s.next_question()
    assert q.item.id == "architecture-001" and q.box == 180
    clock.t += 120
    a = s.submit(q, covering("architecture", 1, 0, 1))
    assert a.seconds == 120 and a.overtime == 0 and a.penalty == 0
    assert a.score == a.grade.score == 1.0


def test_overtime_is_flagged_and_costs_points(mock_bank, store, clock):
    s = start(mock_bank, store, clock, minutes=1)  # the case: 65 s in a 1-minute mock
    q = s.next_question()
    assert q.box == 60  # the 3-minute box is clipped to the interview
    clock.t += 65
    a = s.submit(q, covering("architecture", 1, 0, 1))
    assert a.overtime == 5 and 0.1 <= a.penalty < 0.2
    assert a.grade.score == 1.0 and a.score < 0.9
    assert s.report()["architecture"] == {"answered": 1, "score": a.score, "overtime": 1}
    assert s.next_question() is None and s.expired()
    text = transcript.markdown(s, now=NOW)
    assert "OVERTIME 0:05" in text and "score 1.00 -> " in text and "1 over time" in text


def test_overtime_penalty_is_capped_at_half(mock_bank, store, clock):
    s = start(mock_bank, store, clock)
    q = s.next_question()
    clock.t += 10 * 180
    a = s.submit(q, covering("architecture", 1, 0, 1))
    assert a.penalty == 0.5 and a.score == 0.5


def test_a_missed_point_named_by_a_listed_follow_up_asks_that_item(mock_bank, store, clock):
    s = start(mock_bank, store, clock)
    q = s.next_question()
    s.submit(q, covering("architecture", 1, 1))  # misses the heavy point
    fu = s.next_question()
    assert fu.item.id == "alb-001" and fu.parent == "architecture-001" and not fu.probe
    assert fu.point.id == "heavy" and fu.box == 120
    s.submit(fu, covering("alb", 1, 0, 1))
    assert store.card("alb-001") is not None  # a bank follow-up is recorded like any item


def test_a_missed_point_without_a_listed_item_gets_a_probe(mock_bank, store, clock):
    s = start(mock_bank, store, clock)
    q = s.next_question()
    s.submit(q, covering("architecture", 1, 0))  # misses the light point only
    fu = s.next_question()
    light = word("architecture", 1, 1)
    assert fu.probe and fu.parent == "architecture-001"
    assert fu.item.question.startswith(f"You didn't say use the {light}.")
    assert [c.text for c in fu.item.rubric.wrong_claims] == [
        f"avoid the {word('architecture', 1, 0)}"
    ]
    a = s.submit(fu, f"Because the {light} keeps it working, you need the {light}.")
    assert a.grade.covered == ["light"] and a.grade.verdict == "good"
    assert [r["item_id"] for r in store.reviews()] == ["architecture-001"] * 2  # probe not stored
    nxt = s.next_question()
    assert nxt.parent is None and nxt.item.id != "architecture-001"  # no follow-up of a follow-up


def test_no_follow_up_when_nothing_was_missed(mock_bank, store, clock):
    s = start(mock_bank, store, clock)
    s.submit(s.next_question(), covering("architecture", 1, 0, 1))
    assert s.next_question().parent is None


def test_no_follow_up_when_its_box_no_longer_fits(mock_bank, store, clock):
    s = start(mock_bank, store, clock, minutes=4)
    q = s.next_question()
    clock.t += 150  # 90 s left: less than the 2-minute follow-up box
    s.submit(q, covering("architecture", 1, 0))
    assert s.next_question() is None


def test_a_follow_up_already_planned_is_not_asked_twice(mock_bank, store, clock):
    s = start(mock_bank, store, clock, minutes=60)
    planned = [it.id for it in s.items]
    s.submit(s.next_question(), covering("architecture", 1, 1))
    asked = []
    while (q := s.next_question()) is not None:
        if not q.probe:
            asked.append(q.item.id)
        s.submit(q, "I am not sure.")
    assert "alb-001" in planned and asked[0] == "alb-001"  # asked as the follow-up ...
    assert len(asked) == len(set(asked))  # ... and not again when the plan reaches it


def test_the_report_puts_answers_beside_model_answers(mock_bank, store, clock, tmp_path):
    s = start(mock_bank, store, clock)
    q = s.next_question()
    clock.t += 100
    s.submit(q, covering("architecture", 1, 1))
    s.submit(s.next_question(), "I would check the load balancer.")  # the alb-001 follow-up
    q = s.next_question()
    s.submit(q, covering(q.item.topic, q.item.difficulty, 0, 1))
    text = transcript.markdown(s, upcoming=store.cards(), now=NOW)
    heavy, light = word("architecture", 1, 0), word("architecture", 1, 1)
    assert "| topic | answered | score | over time |" in text
    assert "### 1. architecture-001 (architecture, chapter 00) — PARTIAL" in text
    assert "### 2. follow-up to architecture-001: alb-001" in text
    assert f"- [ ] use the {heavy}" in text and f"- [x] use the {light}" in text
    assert f"> Use the {heavy}, and use the {light} as well." in text  # the model answer
    assert f"> You should use the {light} here." in text  # the learner's answer
    assert "*Time: answered in 1:40 of a 3:00 box.*" in text
    assert "- chapter `notebooks/00_start_here.ipynb`: architecture-001" in text
    assert "- note `notes/architecture.md#" in text and "notes/alb.md#" in text
    assert "## Next due reviews" in text and "- architecture-001: next due" in text
    path = transcript.save(text, tmp_path / "mocks", now=NOW)
    again = transcript.save(text, tmp_path / "mocks", now=NOW)
    assert path.name == "mock-20261126T090000Z.md" and again != path
    assert path.read_text() == text


def test_choice_answers_show_numbers_and_text_in_the_report(mock_bank, store, clock):
    s = mock(mock_bank, store, minutes=30, seed=1, clock=clock, now=NOW)
    while (q := s.next_question()) is not None and q.item.type != "single":
        s.submit(q, covering(q.item.topic, q.item.difficulty, 0, 1))
    assert q is not None
    a = s.submit(q, "1")
    text = transcript.markdown(s, now=NOW)
    assert "> 1. first" in text and "> Right answer: 2. second" in text
    assert a.answer == 0 and store.reviews(q.item.id)  # recorded under the authored index


def test_every_point_of_the_real_bank_can_be_followed_up():
    bank = load_bank(PACKAGE_DIR / "bank", PACKAGE_DIR / "sections.yaml")
    for item in bank.free_text():
        nothing = Grade(item_id=item.id, verdict="wrong", score=0.0, missed=[])
        assert followup.choose(item, nothing, bank, set()) is None
        for point in item.rubric.points:
            missed = Grade(item_id=item.id, verdict="partial", score=0.5, missed=[point.id])
            fu = followup.choose(item, missed, bank, set())
            assert fu.point == point and (fu.probe or fu.item.id in item.follow_ups)


@pytest.fixture
def unsure(monkeypatch):
    """Make the grader unsure of every free-text answer (as it is of a borderline one)."""
    real = session_module.grade

    def doubtful(item, answer, **kw):
        g = real(item, answer, **kw)
        return g.model_copy(update={"unsure": True, "confidence": 0.3}) if g.missed else g

    monkeypatch.setattr(session_module, "grade", doubtful)


def test_an_unsure_grade_waits_for_the_learners_rating(mock_bank, store, clock, unsure):
    s = start(mock_bank, store, clock)
    q = s.next_question()
    a = s.submit(q, covering("architecture", 1, 0))
    assert a.grade.needs_self_rating and a.grade.shown_verdict == "unsure"
    assert len(store.reviews("architecture-001")) == 1  # not stored yet (1: the set-up answer)
    s.rate(a, "hard")
    (_, review) = store.reviews("architecture-001")
    assert review["grader"] == "self" and review["verdict"] == "partial"
    assert a.grade.machine.verdict == "partial" and a.grade.self_rating == "hard"
    text = transcript.markdown(s, now=NOW)
    assert "*Self-rated hard: the grader was unsure (partial 0.67).*" in text


def test_a_self_rated_good_answer_gets_no_follow_up(mock_bank, store, clock, unsure):
    s = start(mock_bank, store, clock)
    a = s.submit(s.next_question(), covering("architecture", 1, 0))
    s.rate(a, "good")
    assert s.next_question().parent is None
    b = s.submit(q := s.next_question(), "I am not sure at all.")
    s.rate(b, "again")
    assert s.next_question().parent == q.item.id  # a gap the learner admits is probed
