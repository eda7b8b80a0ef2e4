"""The mock interview's plan: mostly spoken questions, weakest topics first, sized to the clock."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from quizzes.errors import QuizError
from quizzes.loader import Bank, load_bank
from quizzes.plan import MIN_FREE_TEXT_SHARE, mock_plan
from quizzes.schema import FreeTextItem
from quizzes.verdict import Grade

DATA = Path(__file__).parent / "data"
NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
# topic -> (chapter, guide section); the words make each rubric point easy to hit or miss
TOPICS = {
    "architecture": ("00", "architecture/overview"),
    "iam": ("03", "architecture/overview"),
    "ecs-service": ("08", "resources/ecs-service"),
    "alb": ("07", "resources/ecs-service"),
    "autoscaling": ("09", "autoscaling/policies"),
    "costs": ("13", "study/key-metrics"),
}
WORDS = [
    "lantern",
    "orchard",
    "harbor",
    "quartz",
    "violin",
    "glacier",
    "meadow",
    "compass",
    "saddle",
    "ember",
    "falcon",
    "prism",
    "tundra",
    "canyon",
    "walnut",
    "beacon",
    "cobalt",
    "lagoon",
    "thimble",
    "juniper",
    "pebble",
    "marigold",
    "anchor",
    "velvet",
    "sparrow",
    "cedar",
    "island",
    "riddle",
    "mosaic",
    "tulip",
    "comet",
    "raven",
    "summit",
    "willow",
    "garnet",
    "fjord",
]
# (topic, k) -> Qn: eight spoken items of difficulty 2-3 and one of difficulty 1
INTERVIEW = {
    ("architecture", 2): 1,
    ("iam", 2): 2,
    ("ecs-service", 2): 3,
    ("alb", 2): 4,
    ("autoscaling", 2): 5,
    ("costs", 2): 6,
    ("architecture", 3): 7,
    ("iam", 3): 8,
    ("ecs-service", 1): 9,
}


def word(topic: str, k: int, point: int) -> str:
    """Return the word that rubric point `point` (0 heavy, 1 light) of <topic>-00k listens for."""
    return WORDS[(list(TOPICS).index(topic) * 3 + k - 1) * 2 + point]


def covering(topic: str, k: int, *points: int) -> str:
    """Return a spoken answer to <topic>-00k that states the given rubric points."""
    return " ".join(f"You should use the {word(topic, k, p)} here." for p in points)


def _spoken(topic: str, k: int) -> dict:
    chapter, section = TOPICS[topic]
    heavy, light = word(topic, k, 0), word(topic, k, 1)
    item = {
        "id": f"{topic}-00{k}",
        "type": "free_text",
        "chapter": chapter,
        "difficulty": k,
        "guide_section": section,
        "question": f"How does the {topic} part work, case {k}?",
        "model_answer": f"Use the {heavy}, and use the {light} as well.",
        "rubric": {
            "points": [
                {"id": "heavy", "text": f"use the {heavy}", "weight": 2, "phrasings": [heavy]},
                {"id": "light", "text": f"use the {light}", "weight": 1, "phrasings": [light]},
            ]
        },
        "explanation": f"The {topic} case {k}.",
    }
    if (topic, k) in INTERVIEW:
        item["interview_question"] = INTERVIEW[(topic, k)]
    return item


def _single(topic: str, n: int, difficulty: int) -> dict:
    chapter, section = TOPICS[topic]
    return {
        "id": f"{topic}-0{n}",
        "type": "single",
        "chapter": chapter,
        "difficulty": difficulty,
        "guide_section": section,
        "question": f"Quick check {n} on {topic}?",
        "choices": ["first", "second", "third"],
        "answer": 1,
        "explanation": "The second one.",
    }


def write_mock_bank(root: Path) -> Path:
    """Write a bank of 6 topics (3 spoken items, 2 quick checks each); return its directory."""
    bank_dir = root / "mockbank"
    bank_dir.mkdir(parents=True, exist_ok=True)
    for topic in TOPICS:
        items = [_spoken(topic, k) for k in (1, 2, 3)]
        items += [_single(topic, 10, 1), _single(topic, 11, 3)]
        if topic == "architecture":  # alb-001 asks about the heavy point of architecture-001
            items[0]["follow_ups"] = ["iam-010", "alb-001"]
            heavy = word(topic, 1, 0)
            items[0]["rubric"]["wrong_claims"] = [
                {
                    "text": f"avoid the {heavy}",
                    "phrasings": [f"avoid the {heavy}"],
                    "contradicts": "heavy",
                }
            ]
        if topic == "alb":
            items[0]["question"] = f"Where does the {word('architecture', 1, 0)} fit in?"
        data = {"topic": topic, "items": items}
        (bank_dir / f"{topic}.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    return bank_dir


@pytest.fixture
def mock_bank(tmp_path) -> Bank:
    return load_bank(write_mock_bank(tmp_path), DATA / "sections.yaml")


def share_spoken(plan) -> float:
    return sum(isinstance(it, FreeTextItem) for it in plan) / len(plan)


def test_five_minutes_is_one_spoken_question_with_room_for_a_follow_up(mock_bank):
    plan = mock_plan(mock_bank, minutes=5, seed=0)
    assert len(plan) == 1 and isinstance(plan[0], FreeTextItem)


@pytest.mark.parametrize("minutes", [5, 10, 15, 20, 30, 45, 60])
def test_plans_are_mostly_spoken_and_fit_the_clock(mock_bank, minutes):
    plan = mock_plan(mock_bank, minutes=minutes, seed=1)
    assert share_spoken(plan) >= MIN_FREE_TEXT_SHARE
    planned = sum(180 if isinstance(it, FreeTextItem) else 60 for it in plan)
    assert planned <= max(minutes * 60 * 0.75, 180)  # a quarter is kept for follow-ups
    assert len({it.id for it in plan}) == len(plan)


def test_thirty_minutes_mixes_in_a_quick_check(mock_bank):
    plan = mock_plan(mock_bank, minutes=30, seed=1)
    assert sum(isinstance(it, FreeTextItem) for it in plan) == 7
    assert len(plan) == 8 and share_spoken(plan) >= 0.85


def test_a_one_minute_mock_still_asks_one_spoken_question(mock_bank):
    plan = mock_plan(mock_bank, minutes=1, seed=0)
    assert len(plan) == 1 and isinstance(plan[0], FreeTextItem)


def test_architecture_opens_when_there_is_room_then_weakest_topics(mock_bank, store):
    for k in (1, 2, 3):  # costs answered badly, alb well
        store.record(
            f"costs-00{k}", "costs", Grade(item_id="x", verdict="wrong", score=0.1), now=NOW
        )
        store.record(f"alb-00{k}", "alb", Grade(item_id="x", verdict="good", score=1.0), now=NOW)
    plan = mock_plan(mock_bank, store, minutes=20, seed=0, now=NOW + timedelta(minutes=1))
    topics = [it.topic for it in plan]
    assert topics[0] == "architecture" and topics[1] == "costs"
    assert "alb" not in topics  # strong topics wait while unseen ones are asked
    short = mock_plan(mock_bank, store, minutes=5, seed=0, now=NOW + timedelta(minutes=1))
    assert short[0].topic == "costs"  # no time for an opener: straight to the weakest topic


def test_due_and_weak_items_come_first_within_a_topic(mock_bank, store):
    store.record("costs-003", "costs", Grade(item_id="x", verdict="wrong", score=0.0), now=NOW)
    store.record("costs-001", "costs", Grade(item_id="x", verdict="partial", score=0.5), now=NOW)
    later = store.card("costs-003").due + timedelta(seconds=1)  # costs-003 is now due
    plan = mock_plan(mock_bank, store, minutes=5, level=None, seed=0, now=later)
    assert [it.id for it in plan] == ["costs-003"]


def test_junior_level_asks_difficulty_one_and_two(mock_bank):
    plan = mock_plan(mock_bank, minutes=60, level="junior", seed=2)
    assert plan and all(it.difficulty <= 2 for it in plan)


def test_senior_level_asks_two_and_three_plus_the_interview_questions(mock_bank):
    plan = mock_plan(mock_bank, minutes=60, level="senior", seed=2)
    ids = [it.id for it in plan]
    assert all(it.difficulty >= 2 or it.interview_question for it in plan)
    assert "ecs-service-001" in ids  # Q9 is difficulty 1 but an interview question
    spoken = [it for it in plan if isinstance(it, FreeTextItem)]
    firsts = {}
    for it in spoken:
        firsts.setdefault(it.topic, it)
    assert all(it.interview_question for it in firsts.values())  # Q1-Q9 lead each topic


def test_unknown_level_and_bad_minutes_are_refused(mock_bank):
    with pytest.raises(QuizError, match="unknown level 'expert'; choose one of junior, senior"):
        mock_plan(mock_bank, level="expert")
    with pytest.raises(QuizError, match="minutes must be positive"):
        mock_plan(mock_bank, minutes=0)


def test_a_bank_without_spoken_questions_cannot_make_a_mock(bank):
    only_choices = Bank(items={k: v for k, v in bank.items.items() if v.type == "single"})
    with pytest.raises(QuizError, match="no free-text questions"):
        mock_plan(only_choices, minutes=10)
