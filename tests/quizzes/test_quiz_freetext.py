"""Free text is graded offline against the rubric, robustly and without rewarding tricks."""

import pytest

from quizzes.freetext import checklist, find, grade_free_text, looks_like_keywords
from quizzes.keywords import pasted_rubric
from quizzes.relations import RELATIONS, swaps
from quizzes.schema import FreeTextItem
from quizzes.textnorm import clauses, tokens, typo_of
from quizzes.verdict import UNSURE_BELOW
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
    # a list naming the right things explains none of them: partial at best, never good
    listed = "failed tasks, 50%, desired count, minimum 3, previous deployment, rollback enabled"
    g = grade_free_text(item, listed)
    assert g.verdict == "partial" and g.score < 0.7 and "list of keywords" in g.feedback


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


def make_item(points, claims, contradicts=None):
    """Build a free-text item: points [(text, phrasings)], claims [(text, phrasings)]."""
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
                "wrong_claims": [
                    {"text": t, "phrasings": ph, "contradicts": contradicts} for t, ph in claims
                ],
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


# --- negation: anywhere in the clause, before or after the phrase, across comma lists ---

CURL = make_item(
    [
        ("the slim image has no curl", ["no curl", "not in slim"]),
        ("install curl or use urllib", ["install curl", "urllib"]),
    ],
    [("slim images include curl", ["slim includes curl", "curl is available"])],
)


@pytest.mark.parametrize(
    "answer",
    [
        "Installing curl doesn't help here.",  # negation after the phrase
        "There is no need to install curl.",
        "Switching to urllib wouldn't change anything.",
        "You never have to use urllib for that.",
        "Curl not being in the slim image isn't an issue.",  # the phrase's own 'not', negated
    ],
)
def test_a_negated_point_is_not_credited(answer):
    assert grade_free_text(CURL, answer).covered == []


def test_the_issue_answer_that_denies_both_points_is_wrong():
    g = grade_free_text(
        CURL,
        "Curl not being in the slim image isn't an issue, and switching to urllib wouldn't "
        "change anything.",
    )
    assert g.verdict == "wrong" and g.covered == []


def test_negation_reaches_across_a_comma_list():
    item = make_item([("counts failed tasks", ["failed tasks"])], [])
    listed = "It doesn't look at health checks, restarts, or failed tasks."
    assert grade_free_text(item, listed).covered == []
    summed_up = "Health checks, restarts, failed tasks, none of these count."
    assert grade_free_text(item, summed_up).covered == []


def test_no_before_a_list_negates_each_item():
    item = make_item(
        [("no patching", ["no patching"]), ("no planning", ["no capacity planning"])], []
    )
    g = grade_free_text(
        item, "With Fargate there are no AMIs, patching, capacity planning or bin-packing for us."
    )
    assert g.covered == ["p0", "p1"]


def test_negation_does_not_cross_into_the_next_clause_or_a_contrast():
    item = make_item(
        [("install curl", ["install curl"]), ("counts failed tasks", ["failed tasks"])], []
    )
    assert grade_free_text(item, "The check isn't working, so install curl.").covered == ["p0"]
    assert grade_free_text(item, "It counts failed tasks, not single probes.").covered == ["p1"]
    assert grade_free_text(item, "Without curl in the image, you install curl.").covered == ["p0"]
    assert grade_free_text(item, "Install curl instead.").covered == ["p0"]


def test_a_negation_in_an_if_clause_stops_at_its_comma():
    item = make_item([("old task keeps serving", ["old task keeps serving"])], [])
    g = grade_free_text(item, "If the new task never turns healthy, the old task keeps serving.")
    assert g.covered == ["p0"]
    # a short list item still shares the condition's negation
    item = make_item([("python check", ["python"])], [])
    assert (
        grade_free_text(item, "If the image has no curl, wget or python, it fails.").covered == []
    )


def test_examples_after_a_negated_relative_clause_are_not_denied():
    item = make_item([("environment for settings", ["port", "log_level"])], [])
    g = grade_free_text(
        item, "The environment block is for values that are not sensitive, like PORT or LOG_LEVEL."
    )
    assert g.covered == ["p0"]


def test_a_positive_statement_with_a_negative_phrasing_is_credited():
    assert grade_free_text(CURL, "The slim image doesn't ship curl at all.").covered == ["p0"]
    assert grade_free_text(CURL, "Curl is not in the slim image, so install curl.").covered == [
        "p0",
        "p1",
    ]


def test_a_wrong_claim_denied_after_the_phrase_is_not_penalised():
    g = grade_free_text(CURL, "That slim includes curl isn't true; the check fails every time.")
    assert g.wrong_claims == [] and g.rejected_claims == ["slim images include curl"]
    g = grade_free_text(CURL, "Curl is available in slim images.")
    assert g.wrong_claims == ["slim images include curl"]


# --- typos ---


def test_a_typo_within_a_small_edit_distance_still_matches():
    item = make_item([("plain values are non-sensitive", ["non-sensitive values"])], [])
    assert grade_free_text(item, "Use it for non-sensitve values.").covered == ["p0"]
    long_item = make_item([("registration", ["deregistration delay"])], [])
    assert grade_free_text(long_item, "The deregistraton delay is 300 s.").covered == ["p0"]


@pytest.mark.parametrize(
    ("want", "typed", "ok"),
    [
        ("sensitiv", "sensitv", True),  # one edit, 8 letters
        ("deregistrat", "deregstrat", True),  # longer words allow two edits
        ("deregistrat", "dregstrt", False),  # three is too many
        ("secret", "secrte", False),  # a swap is two edits for a 6-letter word
        ("port", "pork", False),  # short words match exactly
        ("patch", "path", False),  # a real word is not a misspelling of another
        ("deregister", "register", False),  # a prefix changes the meaning
        ("scal", "stal", False),  # stems: "scale" and "stale" are short
        ("50", "60", False),
    ],
)
def test_typo_rules(want, typed, ok):
    assert typo_of(want, typed) is ok


# --- keyword lists vs short prose ---


@pytest.mark.parametrize(
    "answer",
    [
        "The execution role is missing logs:CreateLogGroup, add that permission.",
        "Install curl, or use urllib, and set a start period.",
        "Install curl. Use urllib. Set startPeriod.",
        "It counts failed tasks and rolls back.",
    ],
)
def test_short_prose_is_not_a_keyword_list(answer):
    assert not looks_like_keywords(answer)


@pytest.mark.parametrize(
    "answer",
    [
        "failed tasks, 50% of desired count, minimum of 3, rollback to the previous deployment",
        "Sure, here is what I know about it: circuit breaker, failed tasks, 50%, desired count, "
        "minimum 3, rollback.",
        "Good question, I think it is about this. Circuit breaker, failed tasks, half the desired "
        "count, minimum 3, rollback.",
        "No cache. CPU only. Buildx.",
    ],
)
def test_a_keyword_list_even_after_filler_is_still_one(answer):
    assert looks_like_keywords(answer)


def test_a_short_correct_answer_earns_its_points():
    item = make_item(
        [("missing CreateLogGroup", ["createloggroup"]), ("add it", ["add logs:createloggroup"])],
        [],
    )
    g = grade_free_text(
        item, "The execution role is missing logs:CreateLogGroup, add that permission."
    )
    assert g.verdict == "good" and g.covered == ["p0", "p1"]


def test_rubric_phrasings_pasted_back_are_a_keyword_list_said_in_a_sentence_they_are_not():
    item = make_item(
        [
            ("the execution role pulls the image", ["execution role pulls"]),
            ("it needs CreateLogGroup", ["logs:createloggroup"]),
            ("set a retention", ["retention policy"]),
        ],
        [],
    )
    for glue in (" ", " and ", ", "):
        pasted = glue.join(["execution role pulls", "logs:createloggroup", "retention policy"])
        assert pasted_rubric(item, pasted) and pasted_rubric(item, "Sure, I know: " + pasted)
        g = grade_free_text(item, pasted)
        assert g.verdict != "good" and "list of keywords" in g.feedback
    said = (
        "The execution role pulls the image, it needs logs:CreateLogGroup to create the group, "
        "and I would set a retention policy on it."
    )
    assert not pasted_rubric(item, said) and grade_free_text(item, said).verdict == "good"


# --- a wrong claim that contradicts a point ---


def test_a_wrong_claim_that_contradicts_a_point_makes_the_verdict_wrong():
    points = [
        ("counts failed tasks", ["failed tasks"]),
        ("rolls back", ["last completed deployment"]),
    ]
    claims = [("after 3 health checks", ["3 failed health checks"])]
    answer = (
        "It counts failed tasks and goes back to the last completed deployment. "
        "It rolls back after three failed health checks."
    )
    plain = grade_free_text(make_item(points, claims), answer)
    assert plain.verdict == "partial" and plain.contradicted == []
    g = grade_free_text(make_item(points, claims, contradicts="p0"), answer)
    assert g.verdict == "wrong" and g.contradicted == ["p0"]
    assert "They contradict: counts failed tasks" in g.feedback


# --- swapped roles for the pairs interviews confuse ---

SWAPS = {
    "execution role vs task role": (
        "The execution role pulls the image; the task role is what your code uses.",
        "The task role pulls the image; the execution role is what your code uses.",
    ),
    "ALB security group vs task security group": (
        "The ALB security group allows 443 from anywhere; the task security group allows port "
        "8080 only from the ALB.",
        "The task security group allows 443 from anywhere; the ALB security group allows port "
        "8080 only from the ALB.",
    ),
    "minimumHealthyPercent vs maximumPercent": (
        "minimumHealthyPercent keeps it from going below the desired count; maximumPercent "
        "allows an extra task.",
        "maximumPercent keeps it from going below the desired count; minimumHealthyPercent "
        "allows an extra task.",
    ),
    "scale-out vs scale-in alarm": (
        "Scale out needs 3 datapoints above the target; scale in needs 15 datapoints.",
        "Scale in needs 3 datapoints above the target; scale out needs 15 datapoints.",
    ),
    "container health check vs ALB target health (liveness vs readiness)": (
        "The container health check runs curl on localhost; the ALB health check decides "
        "whether to route traffic.",
        "The ALB health check runs curl on localhost; the container health check decides "
        "whether to route traffic.",
    ),
    "environment vs secrets": (
        "The environment block holds plain text values; the secrets block holds the API key by "
        "its ARN.",
        "The secrets block holds plain text values; the environment block holds the API key by "
        "its ARN.",
    ),
    "exec form vs shell form": (
        "Exec form is where uvicorn receives the SIGTERM; shell form swallows the signal.",
        "Shell form is where uvicorn receives the SIGTERM; exec form swallows the signal.",
    ),
    "awslogs blocking vs non-blocking mode": (
        "Blocking mode can stall the app; non-blocking mode buffers lines and may drop them.",
        "Non-blocking mode can stall the app; blocking mode buffers lines and may drop them.",
    ),
    "trust policy vs permission policy": (
        "The trust policy names the trusted principal; the permission policy lists which "
        "actions it may call.",
        "The permission policy names the trusted principal; the trust policy lists which "
        "actions it may call.",
    ),
    "ALB 502 vs 504": (
        "A 502 means the target sent a malformed response; a 504 means the target timed out.",
        "A 502 means the target timed out; a 504 means the target sent a malformed response.",
    ),
    "ALB 503 vs 504": (
        "A 503 means there are no registered targets; a 504 means the target timed out.",
        "A 503 means the target timed out; a 504 means there are no registered targets.",
    ),
    "ALB 502 vs 503": (
        "A 502 means the app sent a malformed response; a 503 means there are no healthy targets.",
        "A 502 means there are no healthy targets; a 503 means the app sent a malformed response.",
    ),
    "FARGATE vs FARGATE_SPOT": (
        "On-demand Fargate is guaranteed capacity; FARGATE_SPOT is cheaper and may be interrupted.",
        "FARGATE_SPOT is guaranteed capacity; on-demand Fargate is cheaper and may be interrupted.",
    ),
    "security groups vs network ACLs": (
        "Security groups are stateful; network ACLs are stateless.",
        "Security groups are stateless; network ACLs are stateful.",
    ),
    "target tracking vs step scaling": (
        "Target tracking works like a thermostat; step scaling makes you define the steps.",
        "Step scaling works like a thermostat; target tracking makes you define the steps.",
    ),
}


def _pair_item(rel):
    one, other = rel.actors
    return make_item(
        [(f"{one.name} ({', '.join(one.does)})", list(one.does)),
         (f"{other.name} ({', '.join(other.does)})", list(other.does))],
        [],
    )  # fmt: skip


def test_every_confused_pair_has_a_swap_sentence():
    assert set(SWAPS) == {r.topic for r in RELATIONS}


@pytest.mark.parametrize("rel", RELATIONS, ids=lambda r: r.topic)
def test_swapped_roles_are_a_wrong_claim_and_a_wrong_verdict(rel):
    item = _pair_item(rel)
    right, swapped = SWAPS[rel.topic]
    good = grade_free_text(item, right)
    assert good.wrong_claims == [] and good.verdict == "good", good.feedback
    bad = grade_free_text(item, swapped)
    assert bad.verdict == "wrong" and bad.covered == []
    assert len(bad.wrong_claims) == 2 and all("swapped roles" in c for c in bad.wrong_claims)
    assert set(bad.contradicted) == {"p0", "p1"}


def test_a_denied_swap_is_rightly_rejected():
    item = _pair_item(RELATIONS[0])
    g = grade_free_text(item, "The task role doesn't pull the image; the execution role does.")
    assert g.wrong_claims == [] and g.rejected_claims and "swapped roles" in g.rejected_claims[0]


def _relation(topic):
    return next(r for r in RELATIONS if r.topic == topic)


@pytest.mark.parametrize(
    ("topic", "answer"),
    [
        ("awslogs blocking vs non-blocking mode", "Blocking mode never stalls the app at all."),
        (
            "security groups vs network ACLs",
            "Security groups are not stateful, you add return rules.",
        ),
    ],
)
def test_denying_an_actor_its_own_action_is_wrong(topic, answer):
    g = grade_free_text(_pair_item(_relation(topic)), answer)
    assert g.verdict == "wrong" and any(c.startswith("denied: '") for c in g.wrong_claims)


def test_an_action_of_its_own_with_a_negation_word_is_not_denied():
    # "no healthy targets" is the 503's own action, not a denial of it
    item = _pair_item(_relation("ALB 502 vs 503"))
    g = grade_free_text(item, "A 503 means there are no healthy targets behind the listener.")
    assert g.wrong_claims == []


def test_a_failure_story_about_a_role_is_not_a_denial():
    item = _pair_item(RELATIONS[0])
    g = grade_free_text(item, "The execution role couldn't pull the image, so I fixed its policy.")
    assert not any(c.startswith("denied:") for c in g.wrong_claims)


def test_names_inside_a_longer_name_are_not_mentions():
    # "blocking" inside "non-blocking", "fargate" inside "fargate spot"
    for topic, answer in [
        (
            "awslogs blocking vs non-blocking mode",
            "Non-blocking mode buffers lines and drops them.",
        ),
        ("FARGATE vs FARGATE_SPOT", "FARGATE_SPOT is cheaper but can be interrupted."),
    ]:
        g = grade_free_text(_pair_item(_relation(topic)), answer)
        assert g.wrong_claims == [], (topic, g.wrong_claims)


@pytest.mark.parametrize(
    "answer",
    [
        "Fargate is cheaper than running EC2 hosts once you count the patching.",
        "Target tracking creates its own alarms, and you leave them alone.",
        "A 502 can come from an app keep-alive shorter than the ALB idle timeout.",
        "In blocking mode the buffer fills and stdout writes stall.",
        "Exec form has no shell in between, so nothing has to forward the signal.",
        "A permission policy is attached to a principal such as a role.",
    ],
)
def test_right_statements_near_a_confused_pair_are_not_swaps(answer):
    g = grade_free_text(make_item([("anything", ["anything"])], []), answer)
    assert g.wrong_claims == [], g.wrong_claims


def test_a_permission_added_to_the_wrong_role_is_a_swap():
    item = _pair_item(RELATIONS[0])
    g = grade_free_text(item, "Grant logs:CreateLogGroup to the task role.")
    assert g.verdict == "wrong" and "swapped roles" in g.wrong_claims[0]


# --- a key point the answer denies ---

_KEY = [
    ("store the history outside the task (DynamoDB)", ["dynamodb", "external store"]),
    ("stickiness is only a stopgap", ["stickiness"]),
]


@pytest.mark.parametrize(
    "answer",
    [
        "Stickiness keeps a user on one task, and DynamoDB isn't needed here.",
        "Turn on stickiness; there's no need for an external store or anything.",
    ],
)
def test_a_denied_key_point_is_wrong(answer):
    g = grade_free_text(make_item(_KEY[:1] * 1 + _KEY[1:], []), answer)
    assert g.verdict == "wrong" and g.contradicted == ["p0"], g.feedback


def test_a_stated_key_point_with_a_negation_elsewhere_is_not_denied():
    item = make_item(_KEY, [])
    g = grade_free_text(
        item, "If stickiness isn't enough, keep the history in DynamoDB so any task can serve it."
    )
    assert g.wrong_claims == [] and "p0" in g.covered


def test_a_point_about_something_missing_is_not_denied_by_saying_it_is_missing():
    item = make_item([("the role lacks CreateLogGroup", ["createloggroup"])], [])
    g = grade_free_text(item, "The managed policy doesn't include CreateLogGroup.")
    assert g.wrong_claims == []


def test_the_issue_swapped_roles_answer_is_wrong(bank):
    item = make_item(
        [("execution role: pull image, send logs", ["pull the image", "write logs"]),
         ("task role: the app's own calls", ["your code", "boto3"])],
        [],
    )  # fmt: skip
    g = grade_free_text(
        item,
        "The task role pulls the image and writes logs; the execution role is what your code uses.",
    )
    assert g.verdict == "wrong" and g.covered == [] and g.score == 0.0


# --- confidence and "unsure" ---


def test_clear_verdicts_are_confident(item):
    for answer in (GOOD, "", "I would use Kubernetes because it is popular and I like YAML."):
        g = grade_free_text(item, answer)
        assert not g.unsure and g.confidence >= UNSURE_BELOW


def test_a_long_answer_that_matched_little_is_unsure(item):
    paraphrase = (
        "The breaker watches whole replacements of the new revision that die or never come up, "
        "rather than single probes. Its limit grows with the size of the service, and for a "
        "one-replica service three attempts in a row have to die, each one downloading the "
        "image and waiting through several probe intervals, before it reverts to what was "
        "running before."
    )
    g = grade_free_text(item, paraphrase)
    assert g.verdict != "good" and g.unsure and g.confidence < UNSURE_BELOW
    assert g.shown_verdict == "unsure" and g.needs_self_rating
    assert "rate your answer against the checklist" in g.feedback


def test_a_verdict_on_a_boundary_is_unsure():
    item = make_item([(f"point {i}", [f"alpha{i}word"]) for i in range(12)], [])
    g = grade_free_text(item, "It is alpha0word, alpha1word and alpha2word, I think.")
    assert g.verdict == "partial" and g.score == 0.25 and g.unsure


def test_right_points_beside_a_contradiction_are_confidently_wrong():
    # calibrated on the tuning sets: such verdicts agree with the labels more often than most,
    # so asking the learner to rate them spent the unsure budget where it helped least
    points = [
        ("counts failed tasks", ["failed tasks"]),
        ("rolls back", ["last completed deployment"]),
    ]
    claims = [("after 3 health checks", ["3 failed health checks"])]
    g = grade_free_text(
        make_item(points, claims, contradicts="p0"),
        "It counts failed tasks and goes back to the last completed deployment, after three "
        "failed health checks.",
    )
    assert g.verdict == "wrong" and not g.unsure


def test_a_partial_answer_longer_than_it_matched_is_unsure():
    item = make_item([(f"point {i}", [f"gamma{i}term"]) for i in range(4)], [])
    short = grade_free_text(item, "It is gamma0term and gamma1term.")
    assert short.verdict == "partial" and not short.unsure
    longer = (
        "It is gamma0term and gamma1term, and besides that the service keeps its tasks spread "
        "over zones, drains them before stopping, and the pipeline checks each image first."
    )
    g = grade_free_text(item, longer)
    assert g.verdict == "partial" and g.unsure and "rate your answer" in g.feedback


def test_a_keyword_list_graded_partial_is_unsure():
    item = make_item([(f"point {i}", [f"delta{i}term"]) for i in range(4)], [])
    g = grade_free_text(item, "delta0term, delta1term, delta2term, other, things.")
    assert g.verdict == "partial" and g.unsure  # names only: the learner rates it
    g = grade_free_text(item, "delta0term, other, things, more, stuff.")
    assert g.verdict == "wrong" and g.unsure  # names a quarter: still the interviewer's call
    g = grade_free_text(item, "other, things, more, stuff, words.")
    assert g.verdict == "wrong" and not g.unsure  # names nothing of the rubric


def test_right_points_beside_a_swap_are_confidently_wrong():
    # the grader's own reading of roles is specific evidence, unlike a rubric claim's words
    item = make_item(
        [("execution role pulls the image", ["pull the image"]),
         ("task role for the app", ["your code"]),
         ("two roles", ["two roles"])],
        [],
    )  # fmt: skip
    g = grade_free_text(
        item, "There are two roles. The task role pulls the image; your code uses the other one."
    )
    assert g.verdict == "wrong" and not g.unsure


def test_coverage_just_under_the_partial_line_is_unsure():
    item = make_item([(f"point {i}", [f"alpha{i}word"]) for i in range(9)], [])
    # long enough not to count as a thin answer of a few words (those are partial)
    answer = (
        "It is alpha0word and alpha1word, I think, though the rest escapes me after a long week."
    )
    g = grade_free_text(item, answer)
    assert g.verdict == "wrong" and g.unsure
    assert grade_free_text(item, "It is alpha0word and alpha1word, I think.").verdict == "partial"


def test_checklist_marks_what_the_grader_saw(item):
    g = grade_free_text(item, "The breaker counts tasks that fail to start and roll back.")
    marks = checklist(item, g)
    assert [text for text, _ in marks] == [p.text for p in item.rubric.points]
    assert [seen for _, seen in marks] == [True, False, False]
    assert all(seen is None for _, seen in checklist(item))


# --- the partial line, keyword lists by what they name, reported claims ---


def test_one_point_of_four_is_partial_not_wrong():
    item = make_item([(f"point {i}", [f"beta{i}term"]) for i in range(4)], [])
    g = grade_free_text(item, "Mostly it comes down to beta2term, as far as I know.")
    assert g.covered == ["p2"] and g.verdict == "partial"


def test_a_keyword_list_is_graded_by_the_points_it_names():
    item = make_item(
        [("lifecycle policy", ["lifecycle policy"]), ("keep ten images", ["last 10 images"]),
         ("rollback window", ["rollback window"]), ("storage price", ["0.10 per gb"])],
        [],
    )  # fmt: skip
    named = "Lifecycle policy, last 10 images, rollback window, immutable tags."
    g = grade_free_text(item, named)
    assert g.verdict == "partial" and g.covered == ["p0", "p1", "p2"] and g.score < 0.7
    thin = "ECR, images, tags, lifecycle policy, scanning, repositories."
    assert grade_free_text(item, thin).verdict == "wrong"  # one point of four: nothing said
    # more items than anyone would say out loud is a dump of terms, whatever it names
    dump = named + " Tags, pushes, pulls, layers, digests, scans, regions."
    assert grade_free_text(item, dump).verdict == "wrong"


def test_a_denial_still_reaches_across_a_keyword_list():
    item = make_item([("uses a lifecycle policy", ["lifecycle policy"])], [])
    g = grade_free_text(item, "Not lifecycle policy, replication, scanning, or tagging.")
    assert g.covered == []


def test_wrong_deep_in_a_sentence_does_not_hide_a_swap():
    # "wrong" describes the image name here, not someone else's claim the learner rejects
    item = make_item([("execution role pulls the image", ["pull the image"])], [])
    own = "The task role is what pulls the image from ECR, unless the image name is wrong."
    assert grade_free_text(item, own).verdict == "wrong"
    reported = "Saying the task role pulls the image from ECR is wrong."
    assert grade_free_text(item, reported).wrong_claims == []
    rejected = "That claim is wrong: the task role pulls the image."
    assert grade_free_text(item, rejected).wrong_claims == []


def test_a_token_claim_is_not_a_reported_claim():
    item = make_item([("trust policy checks the repo", ["trust policy"])], [])
    g = grade_free_text(item, "The token's sub claim is checked by the permission policy.")
    assert any("trust policy" in c for c in g.wrong_claims) and g.verdict == "wrong"


# --- more ways to say each role's action ---


@pytest.mark.parametrize(
    "answer",
    [
        "At start-up the task role reads the key from Secrets Manager and injects it.",
        "The service writes its chat turns to DynamoDB with the execution role.",
        "For the EFS volume, the execution role needs the EFS client permissions.",
        "Step scaling takes a target value and manages the alarms for you.",
        "Target tracking is where you set up your own alarm and the step sizes.",
        "The permission policy is where you restrict which repo and branch may deploy.",
    ],
)
def test_more_phrasings_of_a_role_swap_are_caught(answer):
    assert swaps(clauses(answer)), answer


def test_an_action_does_not_reach_a_name_past_a_comma():
    # "literal value" belongs to the environment block; the secrets block after the comma is
    # the next item's home, not the doer of the first
    answer = "LOG_LEVEL is a literal value, the API key goes into the secrets block."
    assert swaps(clauses(answer)) == []


def test_a_claims_figure_must_be_its_own():
    item = make_item(
        [("keeps copies", ["copies"])], [("keeps 5 copies by default", ["5 by default"])]
    )
    assert grade_free_text(item, "It keeps 5 copies by default.").wrong_claims
    # the default is another figure: 5 belongs to the next part, or is too far to be the default
    assert grade_free_text(item, "It keeps 2 copies by default, 5 at most.").wrong_claims == []
    assert grade_free_text(item, "By default it keeps 2 copies and up to 5.").wrong_claims == []
    assert grade_free_text(item, "It keeps 2 copies by default and 5 at most.").wrong_claims == []
    rate = make_item([("prices", ["price"])], [("memory at the CPU rate", ["0.04 per gb"])])
    assert grade_free_text(rate, "The price is 0.04 per GB of memory.").wrong_claims
    assert grade_free_text(rate, "The price of 8 GB is 0.04 plus 0.3.").wrong_claims == []


def test_a_claim_of_which_one_wins_keeps_its_order():
    item = make_item([("flag first", ["flag"])], [("the cache wins", ["cache takes precedence"])])
    assert grade_free_text(item, "The cache takes precedence over the flag.").wrong_claims
    assert grade_free_text(item, "The flag takes precedence over the cache.").wrong_claims == []


def test_items_after_a_relative_clause_are_not_its_denial():
    item = make_item([("plain settings such as the log level", ["log level"])], [])
    answer = "Plain entries hold the values that aren't secret, the log level, the port and flags."
    assert grade_free_text(item, answer).covered == ["p0"]
    # a list the negation itself heads is still denied, item by item
    assert grade_free_text(item, "It never sets the port, the log level or flags.").covered == []


def test_a_point_that_something_lacks_is_stated_by_denying_it():
    item = make_item([("the role lacks s3:GetObject", ["s3:getobject"])], [])
    g = grade_free_text(item, "The execution role doesn't have s3:GetObject on the env file.")
    assert g.covered == ["p0"]
    other = make_item([("the role has s3:GetObject", ["s3:getobject"])], [])
    assert grade_free_text(other, "The role doesn't have s3:GetObject.").covered == []
