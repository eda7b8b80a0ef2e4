"""Chapter 14's exercises check themselves: interview mistakes are named, solutions pass."""

import pytest

from quizzes.config import get_settings
from quizzes.freetext import grade_free_text
from quizzes.loader import load_bank
from workbook import exercises
from workbook.checks import ch14
from workbook.solutions import ch14 as solved

WEAK = (  # the scripted interview's answer to autoscaling-002 (the chapter's ANSWERS)
    "Auto scaling saved 53 percent that morning, because the extra tasks only ran for part of "
    "it, and the scale-in came five minutes after the load dropped."
)


@pytest.fixture(scope="module")
def bank():
    """Return the question bank the chapter loads."""
    return load_bank(get_settings().bank_dir, get_settings().sections_path)


def _check(exercise_id, answer, bank):
    """Evaluate one answer of chapter 14 with the chapter's context."""
    exercise = exercises.exercises_of("14")[exercise_id]
    return exercises.evaluate(exercise, answer, {"bank": bank})


def _text(outcome) -> str:
    return "\n".join(outcome.messages)


@pytest.mark.parametrize("exercise_id", list(exercises.exercises_of("14")))
def test_every_blank_check_says_not_done_yet_without_raising(exercise_id, bank):
    """The chapter as shipped stays green: each blank prints 'not done yet'."""
    outcome = _check(exercise_id, ..., bank)
    assert outcome.status == "not done"
    assert f"{exercise_id} not done yet" in str(outcome)


@pytest.mark.parametrize("exercise_id", list(solved.SOLUTIONS))
def test_every_solution_passes(exercise_id, bank):
    """Each stored solution passes its check."""
    assert _check(exercise_id, solved.SOLUTIONS[exercise_id](), bank).passed


def test_solutions_pass_through_the_chapter_api_twice(bank, capsys):
    """With solutions injected each check passes, a second run too, and the summary counts 4."""
    work = exercises.chapter("14", solutions=True, bank=bank)
    for _ in range(2):
        for exercise_id in work.exercises:
            work.check(exercise_id, ...)
    assert "4 passed" in work.summary()
    assert capsys.readouterr().out.count("passed") == 8


# ---- 14-1: the weak answer, rewritten ------------------------------------------------------------


def test_rewrite_solution_scores_full_with_the_package_grader(bank):
    """The stored answer covers every rubric point with no wrong claim (offline grader)."""
    g = grade_free_text(bank.items[ch14.REWRITE_ITEM], solved.rewrite())
    assert (g.verdict, g.score, g.missed, g.wrong_claims) == ("good", 1.0, [], [])


def test_the_weak_answer_gets_its_missed_points_and_wrong_claim(bank):
    """The chapter's weak answer: every point missed, and the repeated 53 % named."""
    text = _text(_check("14-1", WEAK, bank))
    assert text.startswith("graded wrong at 0.00")
    assert "missed (weight 2 of 6): always-3 for 2 hours = 6 task-hours" in text
    assert "earliest scale-in ~15 min after the drop, not 5" in text
    assert "wrong claim, it costs more than a missed point: the saving is 53%" in text
    assert "the fact is: saving is about 27.8%, not 53%" in text


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (
            "Running 3 tasks for the 2 hours is 6 task-hours, so the saving is about 27.8%, "
            "not 53%. Against always-1 it costs 2.17 times as much.",
            "missed (weight 1 of 6): earliest scale-in ~15 min after the drop",
        ),
        (
            "Running 3 tasks for the 2 hours is 6 task-hours, so the saving is 53%. Against "
            "always-1 it costs 2.17 times as much, and scale-in comes about 15 minutes later.",
            "wrong claim, it costs more than a missed point: the saving is 53%",
        ),
        ("6 task-hours, 27.8%, 2.17x, 15 minutes", "reads like a list of keywords"),
        (None, "the answer is a string"),
        ("   ", "the answer is empty"),
    ],
    ids=["good-but-no-fifteen", "still-53", "keywords", "not-text", "empty"],
)
def test_rewrite_check_names_the_gap(answer, expected, bank):
    """A 'good' answer still missing a point, a kept wrong claim, a keyword list: each named."""
    outcome = _check("14-1", answer, bank)
    assert outcome.status == "to fix"
    assert expected in _text(outcome), outcome.messages


def test_pasting_the_model_answer_is_refused(bank):
    """The bank's model answer, pasted, is not the learner's own answer."""
    outcome = _check("14-1", bank.items[ch14.REWRITE_ITEM].model_answer, bank)
    assert "word for word" in _text(outcome)


# ---- 14-2: the STAR story ------------------------------------------------------------------------


def _story(**parts) -> dict:
    return {**solved.star(), **parts}


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (
            _story(action="We looked around and we restarted things until it worked again."),
            "action: says 'we' but never 'I'",
        ),
        (
            _story(
                action="We looked around and we restarted things until it worked again.",
            ),
            "action: the interviewer hears no 'action driven by evidence (stopped reason, logs)'",
        ),
        (
            _story(
                situation="After a release the new tasks stopped, so I read the stopped reason "
                "and compared the valueFrom ARN with the secret.",
                action="Then I fixed the key and forced a new deployment of the service.",
            ),
            "you told it under 'situation': move it here",
        ),
        (
            _story(task="It was a Friday evening and the office was quiet and empty already."),
            "task: the interviewer hears no 'what you had to achieve",
        ),
        (
            _story(result="It was fine again after a while, and everybody went home happy."),
            "result: the interviewer hears no 'measurable result + prevention'",
        ),
        (
            _story(
                result=solved.star()["result"] + " The circuit breaker rolled back after 3 "
                "failed health checks."
            ),
            "a wrong fact: the deployment circuit breaker counts failed tasks",
        ),
        (
            _story(action=solved.star()["action"] + " The task role pulls the image from ECR."),
            "'pull the image' is what the execution role does, not the task role",
        ),
        (_story(task="Fix it."), "task: 2 word(s) is a headline"),
        (
            {k: solved.star()[k] for k in ("situation", "action", "task", "result")},
            "in this order: 'situation', 'task', 'action', 'result'",
        ),
        ("Situation, task, action, result.", "a dict of four strings"),
    ],
    ids=[
        "we",
        "no-evidence",
        "misplaced",
        "no-task",
        "vague-result",
        "breaker",
        "swapped-roles",
        "headline",
        "order",
        "string",
    ],
)
def test_star_check_names_the_part_to_fix(answer, expected, bank):
    """A 'we' story, a misplaced action, a missing task or result, a wrong fact: each named."""
    outcome = _check("14-2", answer, bank)
    assert outcome.status == "to fix"
    assert expected in _text(outcome), outcome.messages


# ---- 14-3: the request path ----------------------------------------------------------------------


def _swapped(a: str, b: str) -> list[str]:
    path = solved.path()
    i, j = path.index(a), path.index(b)
    path[i], path[j] = path[j], path[i]
    return path


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (
            _swapped("task-eni", "container-port"),
            "'task-eni' is out of place: it comes after 'target-group' and before 'container-port'",
        ),
        (
            ["container-port", *solved.path()[:-1]],
            "'container-port' is out of place: it comes after 'task-eni':",
        ),
        (_swapped("alb", "target-group"), "'alb' is out of place"),
        (
            [*solved.path()[:2], "ecs-service", *solved.path()[2:]],
            "'ecs-service' is not on the path: the ECS service registers",
        ),
        (
            [*solved.path()[:3], "nat-gateway", *solved.path()[3:]],
            "an inbound request never crosses it",
        ),
        ([h for h in solved.path() if h != "target-group"], "'target-group' is missing"),
        ([*solved.path(), "alb"], "'alb' appears twice"),
        ([*solved.path(), "route53"], "unknown hop(s) ['route53']"),
        ("client -> alb", "a list of hop names"),
    ],
    ids=[
        "eni-after-port",
        "port-first",
        "alb-after-tg",
        "service",
        "nat",
        "missing",
        "twice",
        "unknown",
        "string",
    ],
)
def test_path_check_names_the_misplaced_hop(answer, expected, bank):
    """A hop out of place is named with where it belongs; a hop off the path says why."""
    outcome = _check("14-3", answer, bank)
    assert outcome.status == "to fix"
    assert expected in _text(outcome), outcome.messages


def test_only_the_misplaced_hop_is_named():
    """Moving one hop names that hop alone, not every hop whose index shifted."""
    problems = ch14.check_path(["container-port", *solved.path()[:-1]])
    assert len(problems) == 1 and problems[0].startswith("'container-port'")


# ---- 14-4: what to revise from spaced-repetition data --------------------------------------------


def test_the_learner_data_is_deterministic_and_the_answer_comes_from_the_package(bank):
    """The made-up history gives the same stats each time; the solution is stats' own answer."""
    from quizzes import stats

    runs = []
    for _ in range(2):
        store = ch14.learner_store(bank)
        rows = stats.topic_stats(bank, store, now=ch14.NOW)
        runs.append(
            (
                rows,
                stats.weakest(rows, n=1),
                [i.id for i in stats.next_to_review(bank, store, now=ch14.NOW, n=3)],
            )
        )
        store.close()
    assert runs[0] == runs[1]
    assert runs[0][1] == [solved.revise()["revise_first"]]
    assert runs[0][2][0] == solved.revise()["ask_first"]


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ({"revise_first": "networking"}, "because time passed since its reviews, not because"),
        ({"revise_first": "costs"}, "'costs' was never attempted: its mastery is 0 only"),
        ({"revise_first": "iam"}, "another attempted topic scored lower"),
        ({"revise_first": "kubernetes"}, "'kubernetes' is not a topic"),
        ({"ask_first": "autoscaling-002"}, "a drill asks the most overdue item first"),
        ({"ask_first": "autoscaling-003"}, "'autoscaling-003' is not due until 2026-03-08"),
        ({"ask_first": "costs-005"}, "before any unseen one"),
        ({"ask_first": "nope-001"}, "is not an item of the bank"),
    ],
    ids=[
        "faded",
        "unseen",
        "stronger",
        "unknown-topic",
        "not-most-overdue",
        "not-due",
        "unseen-item",
        "unknown-item",
    ],
)
def test_revise_check_names_the_misreading(answer, expected, bank):
    """Recall mistaken for weakness, an unseen topic, a not-yet-due item: each explained."""
    outcome = _check("14-4", {**solved.revise(), **answer}, bank)
    assert outcome.status == "to fix"
    assert len(outcome.messages) == 1
    assert expected in outcome.messages[0], outcome.messages


def test_revise_answer_of_the_wrong_shape_is_named(bank):
    """A bare topic name is refused with the keys expected."""
    assert "keys ['revise_first', 'ask_first']" in _text(_check("14-4", "autoscaling", bank))
