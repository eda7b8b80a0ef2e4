"""Free text is graded offline against the rubric, robustly and without rewarding tricks."""

import pytest

from quizzes.freetext import find, grade_free_text, looks_like_keywords
from quizzes.textnorm import clauses, tokens
from service.rag.analysis import stem, terms

GOOD = (
    "It counts failed tasks, not single health-check probes. The threshold is half the "
    "desired count with a floor of three and a ceiling of 200, and once it trips ECS rolls "
    "back to the last completed deployment."
)


@pytest.fixture
def item(bank):
    return bank.get("ecs-service-006")


def test_complete_answer_is_good(item):
    g = grade_free_text(item, GOOD)
    assert g.verdict == "good" and g.score == 1.0 and g.missed == []
    assert "Revisit" not in g.feedback


def test_empty_answer_is_wrong(item):
    for answer in ["", "   ", "...", "um"]:
        g = grade_free_text(item, answer)
        assert g.verdict == "wrong" and g.score == 0.0


def test_off_topic_answer_is_wrong(item):
    g = grade_free_text(item, "I would use Kubernetes because it is popular and I like YAML.")
    assert g.verdict == "wrong" and g.covered == []
    assert "Model answer" in g.feedback and "Revisit chapter 08 (ecs-deploy)" in g.feedback


def test_keyword_stuffing_is_not_rewarded(item):
    stuffed = (
        "circuit breaker failed tasks half desired count minimum 3 maximum 200 rollback "
        "last completed deployment tasks never reach running"
    )
    assert looks_like_keywords(stuffed)
    g = grade_free_text(item, stuffed)
    assert g.verdict == "wrong" and "list of keywords" in g.feedback
    listed = "failed tasks, 50%, desired count, minimum 3, previous deployment, rollback enabled"
    assert grade_free_text(item, listed).verdict == "wrong"


def test_denied_wrong_claim_is_not_penalised(item):
    g = grade_free_text(item, "It does NOT roll back after 3 health checks; " + GOOD)
    assert g.wrong_claims == [] and g.verdict == "good"
    g = grade_free_text(item, "It doesn't roll back after three failed health checks. " + GOOD)
    assert g.wrong_claims == [] and g.verdict == "good"
    assert g.rejected_claims == ["it rolls back after 3 failed health checks"]
    assert "Rightly rejected" in g.feedback


def test_claim_attributed_to_the_guide_is_not_penalised(item):
    g = grade_free_text(
        item,
        "The guide says it rolls back after 3 failed health checks, which "
        "is wrong. It counts failed tasks, at least 3 of them.",
    )
    assert g.wrong_claims == [] and g.verdict in {"good", "partial"} and g.score > 0.5


def test_confident_wrong_answer_is_wrong(item):
    g = grade_free_text(item, "It rolls back after three failed health checks, within a minute.")
    assert g.verdict == "wrong" and g.wrong_claims == ["it rolls back after 3 failed health checks"]
    assert "Wrong claims" in g.feedback


def test_wrong_claim_caps_a_strong_answer_at_partial(item):
    g = grade_free_text(
        item, GOOD + " In practice health checks fail 3 times and then it rolls back."
    )
    assert g.verdict == "partial" and g.wrong_claims


def test_partial_answer_lists_missed_points(item):
    g = grade_free_text(item, "The breaker counts tasks that fail to start and roll back.")
    assert g.verdict == "partial" and g.covered == ["counts-tasks"]
    assert "half the desired count" in g.feedback


def test_negated_point_is_not_credited(item):
    g = grade_free_text(item, "It does not count failed tasks at all; it only watches the CPU.")
    assert "counts-tasks" not in g.covered


def test_number_words_and_stems_normalise():
    assert tokens("three failed health-checks") == tokens("3 fail health checks")
    assert "50" in tokens("half") and "percent" in tokens("50%")
    assert tokens("twenty five") == ["25"] and tokens("two hundred") == ["200"]
    assert tokens("it doesn't") == ["it", "does", "not"]
    assert tokens("15 min") == ["15", "minute"] and tokens("min 3") == ["min", "3"]


def test_word_tables_apply_to_every_form_of_a_word():
    for word in ("price", "prices", "priced", "billing", "charges", "fee"):
        assert tokens(word) == ["cost"], word
    assert tokens("ceiling") == tokens("maximum") == ["max"]
    assert tokens("10 seconds") == tokens("10 s") == ["10", "second"]


def test_grader_and_retrieval_stem_alike_but_only_the_grader_keeps_negations():
    words = ["deployments", "scaling", "stopped", "configuration"]
    assert tokens(" ".join(words)) == [stem(w) for w in words]
    assert "not" in tokens("not cached") and "not" not in terms("not cached")


def test_phrase_words_must_be_close_together():
    far = clauses(
        "The failed login was logged and many other things happened in the meantime "
        "while several unrelated tasks ran."
    )
    assert find("failed tasks", far) is None
    assert find("failed tasks", clauses("Two failed tasks.")) is not None


def test_numbers_in_a_phrasing_must_match(bank):
    item = bank.get("autoscaling-002")
    assert grade_free_text(item, "It needs 5 datapoints below target.").covered == []
    g = grade_free_text(
        item,
        "The low alarm needs fifteen one-minute datapoints, so about 15 "
        "minutes, and then the cooldown of 300 seconds applies.",
    )
    assert g.verdict == "good"
    bad = grade_free_text(item, "It scales in after 5 minutes when the alarm resolves.")
    assert bad.verdict == "wrong" and bad.wrong_claims


def make_item(points, claims):
    from quizzes.schema import FreeTextItem

    return FreeTextItem.model_validate(
        {
            "id": "iam-900",
            "type": "free_text",
            "chapter": "03",
            "difficulty": 1,
            "guide_section": "x",
            "question": "q",
            "explanation": "e",
            "model_answer": "m",
            "rubric": {
                "points": [
                    {"id": f"p{i}", "text": t, "phrasings": ph} for i, (t, ph) in enumerate(points)
                ],
                "wrong_claims": [{"text": t, "phrasings": ph} for t, ph in claims],
            },
        }
    )


def test_words_of_a_wrong_claim_do_not_also_earn_a_point():
    item = make_item(
        [("it rolls back", ["rolls back"])],
        [("rolls back after 3 failed health checks", ["rolls back after 3 failed health checks"])],
    )
    g = grade_free_text(item, "It rolls back after three failed health checks.")
    assert g.wrong_claims and g.covered == [] and g.verdict == "wrong"


def test_compound_nouns_are_not_split():
    item = make_item([("the task role is for the app", ["task role"])], [])
    assert grade_free_text(item, "The task role is what the app code uses.").covered == ["p0"]
    assert grade_free_text(item, "On the task's behalf the role pulls images.").covered == []


def test_negation_stops_at_a_comma():
    item = make_item([("counts failed tasks", ["failed tasks"])], [])
    assert grade_free_text(item, "No, it counts the failed tasks of the deployment.").covered
    assert not grade_free_text(item, "It never counts failed tasks of the deployment.").covered


def test_prefix_phrasings_match_longer_words():
    item = make_item([("the target is deregistered", ["deregist"])], [])
    assert grade_free_text(item, "The old target is deregistered first.").covered == ["p0"]
