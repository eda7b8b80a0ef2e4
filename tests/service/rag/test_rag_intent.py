"""Figure questions prefer sentences that hold the figure in the unit asked for."""

import pytest

from service.rag.intent import fit, intent_of


@pytest.mark.parametrize(
    ("question", "figure", "unit"),
    [
        ("How long does the ALB wait before marking a target unhealthy?", True, "time"),
        ("What does one task cost per month?", True, "money"),
        ("What percentage of tasks must stay healthy?", True, "percent"),
        ("How big can the image be?", True, "size"),
        ("How many failed tasks trip the circuit breaker?", True, "any"),
        ("What is the default deregistration delay?", True, "time"),
        ("What is the default port?", True, "port"),
        ("Port to open for EFS mounts?", True, "port"),  # terse: the figure's noun first
        ("Default timeout?", True, "time"),
        ("Without cooldowns set, what waiting time does it fall back to?", True, "time"),
        ("Portability of images across clouds?", False, "any"),
        ("NAT gateway hourly charge?", True, "money"),  # terse, no question word
        ("ECR login password lifetime?", True, "time"),
        ("What discount can Spot give against on-demand?", True, "percent"),
        ("Which memory sizes may a half-vCPU task use?", True, "size"),
        ("Price aside, why would the task never be placed?", False, "any"),  # a reason
        ("Which key-value store should hold the history?", False, "any"),
        ("Why use Fargate instead of EC2?", False, "any"),
        ("What is a target group?", False, "any"),
    ],
)
def test_intent_of_tells_figure_questions_and_their_unit(question, figure, unit):
    intent = intent_of(question)
    assert (intent.figure, intent.unit) == (figure, unit)


def test_fit_prefers_the_asked_unit_then_any_number():
    asked = intent_of("How long is the cooldown?")
    assert fit(asked, "The default cooldown is 300 seconds.") == 1.0
    assert fit(asked, "It applies to 2 policies.") == 0.25  # a number, not a time
    assert fit(intent_of("How many tasks fail?"), "It applies to 2 policies.") == 0.5
    assert fit(asked, "A cooldown is a waiting period.") == 0.0
    assert fit(asked, "It needs 15 consecutive 1-minute datapoints.") == 1.0  # hyphenated unit
    assert fit(intent_of("What is a cooldown?"), "It lasts 300 seconds.") == 0.0


def test_a_port_question_prefers_the_sentence_with_a_port_number():
    asked = intent_of("Which port does the mount target need?")
    assert fit(asked, "Allow NFS (TCP 2049) from the task group.") == 1.0
    assert fit(asked, "Create 2 mount targets.") == 0.25
