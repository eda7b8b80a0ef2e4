"""Issue 14's grader rules: an action or a claim is read in the order that gives it its sense."""

from quizzes.freetext import grade_free_text
from quizzes.relations import swaps
from quizzes.schema import FreeTextItem
from quizzes.textnorm import clauses
from tests.quizzes.test_quiz_freetext import make_item


def _item(points, claims=()) -> FreeTextItem:
    """Build a free-text item: points [(id p0.., text, phrasings)], claims contradicting p0."""
    return make_item([(t, ph) for _, t, ph in points], list(claims), contradicts="p0")


def _topics(answer: str) -> list[str]:
    return [sw.text for sw in swaps(clauses(answer))]


# --- an action's negation or direction word sits where it gives the action its sense ---


def test_a_negated_action_needs_its_negation_before_its_words():
    # "no targets" is the 503's: a target named earlier and a "no" later do not make it
    assert _topics("A 503 has no registered targets behind it.") == []
    answer = (
        "A 502 is a garbled reply from the target, 503 means no target is registered, "
        "and a 504 is a reply that came too late."
    )
    assert _topics(answer) == []
    # ...while the 502 given the 503's action is still a swap
    assert _topics("A 502 means no targets are registered.")


def test_a_directed_action_needs_its_direction_word_after_it():
    # "8080 from" is the task group's rule; the ALB's group reaching 8080 is not that rule
    assert _topics("Only the ALB security group can reach 8080 on the tasks.") == []
    assert _topics("The ALB security group allows 8080 only from the task group.")


def test_a_right_answer_naming_the_other_code_first_stays_good():
    item = _item(
        [
            ("p0", "a 503 means no registered targets", ["no target is registered", "503"]),
            ("p1", "a 502 is a garbled reply", ["garbled reply", "502"]),
        ]
    )
    answer = "A 502 is a garbled reply from the target, 503 means no target is registered."
    g = grade_free_text(item, answer)
    assert g.wrong_claims == [] and g.verdict == "good", g.feedback


# --- a wrong claim's words across a comma read in the claim's order ---

_CLAIM = [("canary moves all traffic in one step", ["canary is instant"])]
_POINTS = [("p0", "rolling replaces tasks gradually", ["rolling is gradual"])]


def test_a_claim_read_backwards_across_a_comma_is_not_made():
    answer = (
        "Rolling replaces tasks one by one and is instant per task, canary sends a slice first."
    )
    g = grade_free_text(_item(_POINTS, _CLAIM), answer)
    assert g.wrong_claims == [], g.wrong_claims


def test_a_claim_in_its_order_is_made_across_a_comma_or_not():
    for answer in [
        "Canary is instant, all of it moves in one step.",
        "Canary, sadly, is instant.",
    ]:
        g = grade_free_text(_item(_POINTS, _CLAIM), answer)
        assert g.wrong_claims == ["canary moves all traffic in one step"], answer


# --- a keyword list cannot answer a question that asks to explain ---


def _asked(question: str) -> FreeTextItem:
    item = _item(
        [
            ("p0", "read the target health reason", ["target health"]),
            ("p1", "check the health check path", ["health check path"]),
            ("p2", "task group allows the port from the ALB group", ["security group rule"]),
            ("p3", "the listener forwards to the target group", ["listener rule"]),
        ]
    )
    return item.model_copy(update={"question": question})


_LIST = "target health, health check path, security group rule, listener rule"


def test_a_keyword_list_to_an_explain_question_is_confidently_wrong():
    for question in [
        "Explain how a request reaches the task.",
        "Compare the listener and the target group.",
        "What happens when a target fails its checks?",
    ]:
        g = grade_free_text(_asked(question), _LIST)
        assert g.verdict == "wrong" and not g.unsure, (question, g.verdict, g.confidence)


def test_the_same_list_to_a_what_to_check_question_stays_partial():
    g = grade_free_text(_asked("Users get 503s. What do you check?"), _LIST)
    assert g.verdict == "partial"
    # ...and the same points said in sentences answer the explain question
    said = (
        "I read the target health reason first, then check the health check path. The task "
        "security group rule must allow the port from the ALB, and the listener rule must "
        "forward to the right target group."
    )
    assert (
        grade_free_text(_asked("Explain how a request reaches the task."), said).verdict == "good"
    )


# --- a point earned in a few words is a thin answer, not a wrong one ---

_SIX = _item(
    [
        ("p0", "drain the old task before stopping it", ["drain the old task"]),
        ("p1", "the new task starts first", ["new task starts first"]),
        ("p2", "health checks gate the switch", ["health checks gate"]),
        ("p3", "SIGTERM then SIGKILL", ["sigterm then sigkill"]),
        ("p4", "the circuit breaker rolls back", ["circuit breaker"]),
        ("p5", "two tasks are billed briefly", ["billed briefly"]),
    ],
    [("the breaker counts probes", ["breaker counts probes"])],
)


def test_one_point_in_a_few_words_is_partial():
    g = grade_free_text(_SIX, "You drain the old task first, I believe.")
    assert g.covered == ["p0"] and g.verdict == "partial", g.feedback


def test_one_point_in_a_long_answer_or_beside_a_wrong_claim_stays_wrong():
    long = (
        "You drain the old task first. Then the scheduler picks a random host in another "
        "region, copies the whole disk image over the public internet and reboots every "
        "container in the cluster at the same moment, which is how ECS keeps costs flat."
    )
    g = grade_free_text(_SIX, long)
    assert g.covered == ["p0"] and g.verdict == "wrong", g.feedback
    g = grade_free_text(_SIX, "Drain the old task; the breaker counts probes.")
    assert g.wrong_claims and g.verdict == "wrong", g.feedback
