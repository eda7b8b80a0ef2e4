"""Chapter 14's exercises: a rewritten answer, a STAR story, the request path, what to revise."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from quizzes import stats
from quizzes.freetext import grade_free_text, looks_like_keywords
from quizzes.loader import Bank
from quizzes.progress import ProgressStore
from quizzes.schema import FreeTextItem, Rubric, RubricPoint
from quizzes.verdict import Grade
from workbook.exercises import Exercise

# ---- 14-1: answer the weak question again, graded by the offline rubric grader ---------------

REWRITE_ITEM = "autoscaling-002"  # the scripted interview's weak answer


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9']+", text.lower())


def check_rewrite(answer: object, bank: Bank) -> list[str]:
    """Grade the rewritten answer offline; name each rubric point missed and each wrong claim."""
    item = bank.items[REWRITE_ITEM]
    if not isinstance(answer, str):
        return ["the answer is a string: what you would say out loud, in sentences"]
    if not _words(answer):
        return ["the answer is empty: say what is wrong with the guide's figures"]
    if _words(answer) == _words(item.model_answer):
        return ["that is the bank's model answer word for word: say it in your own words"]
    if looks_like_keywords(answer):
        return [
            "this reads like a list of keywords, and the grader (like an interviewer) gives a "
            "list no credit: answer in sentences"
        ]
    g = grade_free_text(item, answer)
    total = sum(p.weight for p in item.rubric.points)
    points = {p.id: p for p in item.rubric.points}
    problems = [
        f"missed (weight {points[m].weight:g} of {total:g}): {points[m].text}" for m in g.missed
    ]
    claims = {c.text: c for c in item.rubric.wrong_claims}
    for text in g.wrong_claims:  # the rubric's claims, and roles swapped between two actors
        against = getattr(claims.get(text), "contradicts", None)
        right = f"; the fact is: {points[against].text}" if against else ""
        problems.append(f"wrong claim, it costs more than a missed point: {text}{right}")
    if problems:
        head = f"graded {g.verdict} at {g.score:.2f}: a full answer covers all {len(points)} points"
        problems.insert(0, head + " and repeats none of the guide's mistakes")
    return problems


# ---- 14-2: a failure story in STAR shape --------------------------------------------------------

STAR_ITEM = "troubleshooting-002"  # "Tell me about a time you solved a production issue (STAR)"
STAR = ("situation", "task", "action", "result")
MIN_WORDS = 8  # fewer words are a headline, not a part of the story
# The rubric has no point for the task; this one is checked by the same grader.
TASK_POINT = RubricPoint(
    id="task",
    text="what you had to achieve, and under which constraint",
    weight=1,
    phrasings=[
        "my job was",
        "i was responsible",
        "i was on call",
        "the goal was",
        "restore the service",
        "restore a healthy rollout",
        "get the service healthy",
    ],
)
# Which rubric points each part must carry (the task's point is TASK_POINT).
PART_POINTS = {
    "situation": ("situation",),
    "task": ("task",),
    "action": ("action-evidence", "fix"),
    "result": ("result",),
}
HINTS = {
    "situation": "say when it happened and what broke, e.g. 'after a release the new tasks stopped'",
    "task": "say what you had to achieve, e.g. 'my job was to restore the service quickly'",
    "action-evidence": "say which evidence you read first, e.g. 'I read the stopped reason'",
    "fix": "say what you changed and how it went live, e.g. 'I fixed the key and forced a new "
    "deployment'",
    "result": "give a measurable outcome and a prevention, e.g. 'no errors for users' and "
    "'I added a check'",
}
BREAKER_FACT = (
    "the deployment circuit breaker counts failed tasks (a task that never reaches RUNNING or "
    "fails its health checks counts once; the threshold is half the desired count, at least 3 "
    "and at most 200), never health-check probes"
)


def _task_item(item: FreeTextItem) -> FreeTextItem:
    """Return the STAR item graded against the task point alone."""
    return item.model_copy(update={"rubric": Rubric(points=[TASK_POINT])})


def _part_grades(item: FreeTextItem, story: dict[str, str]) -> dict[str, Grade]:
    task = _task_item(item)
    return {p: grade_free_text(task if p == "task" else item, story[p]) for p in STAR}


def check_star(answer: object, bank: Bank) -> list[str]:
    """Check a STAR story part by part: each part carries its own points, in prose, told as 'I'."""
    parts = ", ".join(repr(p) for p in STAR)
    if not isinstance(answer, dict) or not all(isinstance(v, str) for v in answer.values()):
        return [f"the answer is a dict of four strings, keys {parts}"]
    if list(answer) != list(STAR):
        return [f"the story has four parts, in this order: {parts}; got {list(answer)}"]
    problems = []
    for part, text in answer.items():
        n = len(_words(text))
        if n < MIN_WORDS:
            problems.append(
                f"{part}: {n} word(s) is a headline; tell this part in a sentence or two"
            )
        elif looks_like_keywords(text):
            problems.append(f"{part}: reads like a list of keywords; tell it in sentences")
    if problems:
        return problems
    item = bank.items[STAR_ITEM]
    names = {p.id: p.text for p in [*item.rubric.points, TASK_POINT]}
    graded = _part_grades(item, answer)
    for part, wanted in PART_POINTS.items():
        for point in wanted:
            if point in graded[part].covered:
                continue
            elsewhere = [p for p in STAR if p != part and point in graded[p].covered]
            moved = f"; you told it under '{elsewhere[0]}': move it here" if elsewhere else ""
            problems.append(
                f"{part}: the interviewer hears no {names[point]!r}{moved} ({HINTS[point]})"
            )
    action = set(_words(answer["action"]))
    if "we" in action and "i" not in action:
        problems.append(
            "action: says 'we' but never 'I': the interviewer asks what you did yourself"
        )
    whole = grade_free_text(item, " ".join(answer.values()))
    breaker = {c.text for c in item.rubric.wrong_claims}  # the bank's one: 3 failed checks
    for claim in whole.wrong_claims:
        fact = BREAKER_FACT if claim in breaker else "an interviewer would correct it"
        problems.append(f"the story claims {claim!r}, a wrong fact: {fact}")
    return problems


# ---- 14-3: the architecture walk-through, one request hop by hop ---------------------------------

# The path of a user's request, in order, and what happens at each hop.
PATH = {
    "client": "the browser resolves the ALB's DNS name and sends the request to one of its "
    "public addresses",
    "alb": "the internet-facing ALB's listener on port 80 takes the request (its security group "
    "admits 80 from anywhere)",
    "target-group": "the listener forwards to the target group llmops-tg, which picks a "
    "registered target that passes its health checks",
    "task-eni": "the ALB connects to the task's private IP, the task's own network interface "
    "(awsvpc), whose security group admits 8080 only from the ALB's group",
    "container-port": "the interface hands the connection to containerPort 8080, where uvicorn "
    "listens on 0.0.0.0 and FastAPI answers",
}
# Names an interviewer hears in a walk-through that no request passes through.
NOT_ON_PATH = {
    "ecs-service": "the ECS service registers and deregisters the tasks' IPs in the target "
    "group and replaces failed tasks; no request passes through it",
    "nat-gateway": "a NAT gateway carries connections the tasks open (to ECR, the LLM API) out "
    "of private subnets; an inbound request never crosses it",
    "execution-role": "ECS uses the execution role when a task starts (pull the image, read "
    "the secret, create the log stream), never per request",
}
HOPS = tuple(sorted([*PATH, *NOT_ON_PATH]))  # what the learner chooses from


def _in_order(positions: list[int]) -> set[int]:
    """Return the indices of a longest increasing run of positions (the hops in place)."""
    best: list[list[int]] = []
    for i, pos in enumerate(positions):
        prior = [run for run in best if positions[run[-1]] < pos]
        best.append([*max(prior, key=len, default=[]), i])
    return set(max(best, key=len, default=[]))


def check_path(answer: object) -> list[str]:
    """Check a request's path: every hop once, none that is not on it, each in its place."""
    if not isinstance(answer, list | tuple) or not all(isinstance(h, str) for h in answer):
        return ["the answer is a list of hop names, first to last, e.g. ['client', ...]"]
    unknown = [h for h in answer if h not in HOPS]
    if unknown:
        return [f"unknown hop(s) {unknown}: choose from {list(HOPS)}"]
    problems = [f"'{h}' appears twice" for h in sorted(set(answer)) if answer.count(h) > 1]
    problems += [f"'{h}' is not on the path: {NOT_ON_PATH[h]}" for h in answer if h in NOT_ON_PATH]
    problems += [f"'{h}' is missing: {why}" for h, why in PATH.items() if h not in answer]
    if problems:
        return problems
    path = list(PATH)
    placed = _in_order([path.index(h) for h in answer])
    for i, hop in enumerate(answer):
        if i in placed:
            continue
        at = path.index(hop)
        after = f"after '{path[at - 1]}'" if at else "first"
        before = f" and before '{path[at + 1]}'" if at + 1 < len(path) else ""
        problems.append(f"'{hop}' is out of place: it comes {after}{before}: {PATH[hop]}")
    return problems


# ---- 14-4: read a learner's spaced-repetition data and choose what to revise ---------------------

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # "now" for the made-up learner's data
# (item, days before NOW, score): a learner's reviews, oldest first.
HISTORY = (
    ("networking-004", 45, 0.8),
    ("networking-006", 44, 0.9),
    ("networking-001", 40, 1.0),
    ("ecs-service-001", 20, 0.4),
    ("ecs-service-001", 6, 1.0),
    ("ecs-service-004", 6, 1.0),
    ("autoscaling-002", 9, 0.0),
    ("autoscaling-002", 2, 0.25),
    ("autoscaling-007", 2, 0.0),
    ("autoscaling-003", 2, 1.0),
    ("iam-001", 1, 0.6),
    ("iam-004", 1, 0.75),
)
REVISE_KEYS = ("revise_first", "ask_first")


def _grade(item_id: str, score: float) -> Grade:
    verdict = "good" if score >= 0.7 else "partial" if score >= 0.3 else "wrong"
    return Grade(item_id=item_id, verdict=verdict, score=score)


def learner_store(bank: Bank) -> ProgressStore:
    """Return an in-memory progress store holding HISTORY (never the learner's own file)."""
    store = ProgressStore(":memory:")
    for item_id, days, score in HISTORY:
        topic = bank.items[item_id].topic
        store.record(item_id, topic, _grade(item_id, score), now=NOW - timedelta(days=days))
    return store


def _why_topic(topic: str, weakest: str, rows: dict[str, stats.TopicStats]) -> str:
    row, low = rows[topic], rows[weakest]
    if not row.attempted:
        return (
            f"'{topic}' was never attempted: its mastery is 0 only because unseen items count "
            "as 0, which says nothing about what you know; revise where answers were poor first "
            "(a mock interview ranks an unseen topic as 0.5, between weak and strong)"
        )
    faded = row.recall is not None and low.recall is not None and row.recall < low.recall
    if faded or row.due > low.due:
        return (
            f"'{topic}' has the most to review (recall now {row.recall:.2f}, {row.due} due) "
            f"because time passed since its reviews, not because you answered badly: its last "
            f"scores average {row.accuracy:.2f}; a short drill brings recall back. Revise "
            f"'{weakest}', whose last scores average {low.accuracy:.2f}"
        )
    return (
        f"'{topic}' last scored {row.accuracy:.2f} on average; another attempted topic scored "
        f"lower: revise where your answers were worst"
    )


def _why_item(item_id: str, first: str, store: ProgressStore, bank: Bank) -> str:
    if item_id not in bank.items:
        return f"'{item_id}' is not an item of the bank"
    state, top = store.card(item_id), store.card(first)
    if state is None:
        return (
            f"'{item_id}' was never answered: a drill asks every overdue item before any unseen one"
        )
    if state.due > NOW:
        return f"'{item_id}' is not due until {state.due:%Y-%m-%d %H:%M}: nothing to review yet"
    return (
        f"'{item_id}' is due since {state.due:%Y-%m-%d %H:%M}, but '{first}' has waited longer "
        f"(due since {top.due:%Y-%m-%d %H:%M}): a drill asks the most overdue item first"
    )


def check_revise(answer: object, bank: Bank) -> list[str]:
    """Check the topic to revise first (worst answers) and the item a drill asks first (overdue)."""
    if not isinstance(answer, dict) or set(answer) != set(REVISE_KEYS):
        return [f"the answer is a dict with keys {list(REVISE_KEYS)}"]
    store = learner_store(bank)
    rows = {s.topic: s for s in stats.topic_stats(bank, store, now=NOW)}
    weakest = stats.weakest(list(rows.values()), n=1)[0]
    first = stats.next_to_review(bank, store, now=NOW, n=1)[0].id
    problems = []
    topic = answer["revise_first"]
    if topic not in rows:
        problems.append(f"revise_first: {topic!r} is not a topic; choose from {sorted(rows)}")
    elif topic != weakest:
        problems.append(f"revise_first: {_why_topic(topic, weakest, rows)}")
    item_id = answer["ask_first"]
    if item_id != first:
        problems.append(f"ask_first: {_why_item(str(item_id), first, store, bank)}")
    store.close()
    return problems


EXERCISES = [
    Exercise(
        "14-1",
        f"Answer {REWRITE_ITEM} again so the offline grader hears every rubric point and no "
        "wrong claim.",
        check_rewrite,
    ),
    Exercise(
        "14-2",
        f"Tell {STAR_ITEM}'s failure story in STAR shape: situation, task, action, result.",
        check_star,
    ),
    Exercise(
        "14-3",
        "Walk one user request through the architecture: order the hops it passes, and leave "
        "out what it never passes.",
        check_path,
    ),
    Exercise(
        "14-4",
        "From a learner's spaced-repetition data: which topic to revise first, and which item "
        "a drill asks first?",
        check_revise,
    ),
]
