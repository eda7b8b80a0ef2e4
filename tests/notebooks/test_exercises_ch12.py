"""Chapter 12's exercises: typical wrong answers get named, blanks wait, solutions pass.

The diagnosis and triage checks run on each fault's recorded evidence; the fix check runs on
a real lab (the local data plane, process mode, compressed clock) for every fault, with the
stored solutions diagnosing from the live evidence and fixing through AWS calls.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest

from deploy.aws.backend import Backend
from deploy.aws.names import DEFAULT_NAMES as names
from tests.emulator.conftest import CLOCK
from workbook import drills, exercises
from workbook.checks import ch12
from workbook.solutions import ch12 as solved

SAMPLES = ch12.samples()


def _check(exercise_id, answer, **context):
    """Evaluate one answer of chapter 12 with the given context."""
    return exercises.evaluate(exercises.exercises_of("12")[exercise_id], answer, context)


def _messages(outcome) -> str:
    return "\n".join(outcome.messages)


def _drill(fault_id: str) -> drills.Drill:
    return drills.Drill(drills.FAULTS[fault_id], SAMPLES[fault_id].job, datetime.now(UTC))


@pytest.mark.parametrize("exercise_id", list(exercises.exercises_of("12")))
def test_every_blank_check_says_not_done_yet_without_raising(exercise_id):
    """The chapter as shipped stays green: each blank prints 'not done yet'."""
    outcome = _check(exercise_id, ..., lab=None, diagnosis=..., drill=None, evidence=None)
    assert outcome.status == "not done"
    assert f"{exercise_id} not done yet" in str(outcome)


def test_shipped_blanks_are_blanks():
    """The notebook's blank shapes (a function with ..., a fix whose body is ...) wait."""

    def triage(evidence):
        reasons = evidence.reasons()
        if "CannotPullContainerError" in reasons:
            return "image-tag-missing"
        if ...:
            return ...
        return ...

    def fix(lab, diagnosis):
        lab.ctx.client(...).update_service(...)

    assert exercises.is_blank(triage) and exercises.is_blank(fix)
    assert not exercises.is_blank(solved.triage_function())


# ---- 12-1: the diagnosis -----------------------------------------------------------------------


@pytest.mark.parametrize("fault_id", list(drills.FAULTS))
def test_the_solution_diagnoses_every_faults_evidence(fault_id):
    """The stored diagnosis reads each fault's recorded evidence right."""
    answer = solved.diagnose(SAMPLES[fault_id])
    assert _check("12-1", answer, drill=_drill(fault_id), evidence=SAMPLES[fault_id]).passed


@pytest.mark.parametrize(
    ("actual", "said", "named"),
    [
        ("secret-unreadable", "logs-create-group", "names the action the execution role lacks"),
        ("secret-key-missing", "secret-unreadable", "'did not contain json key' means"),
        ("private-subnet", "image-tag-missing", "'... i/o timeout' means ECR was never reached"),
        ("task-sg-closed", "health-path-wrong", "Target.Timeout is no answer at all"),
        ("app-loopback", "task-sg-closed", "a refused connection is nothing listening"),
        ("curl-health-check", "app-loopback", "the task's healthStatus is the container's own"),
        ("health-path-wrong", "curl-health-check", "not the target group's"),
    ],
)
def test_a_look_alike_diagnosis_is_told_what_sets_them_apart(actual, said, named):
    """The typical confusions: same family of symptom, one detail that decides."""
    outcome = _check("12-1", said, drill=_drill(actual), evidence=SAMPLES[actual])
    assert outcome.status == "to fix"
    assert named in _messages(outcome)
    assert actual not in _messages(outcome).split(":")[0]  # the feedback does not name it


def test_an_unrelated_diagnosis_is_told_what_it_would_look_like():
    """Calling a refused registration a security group: what that would show, what shows."""
    text = _messages(_check("12-1", "task-sg-closed", drill=_drill("fargate-size"),
                            evidence=SAMPLES["fargate-size"]))  # fmt: skip
    assert "would show as targets unhealthy (Target.Timeout)" in text
    assert "the deploy job printed" in text and "exit 255" in text


def test_an_answer_outside_the_candidates_lists_them():
    """A free-text cause is not graded: the ids to choose from are listed."""
    text = _messages(_check("12-1", "networking", drill=_drill("private-subnet"),
                            evidence=SAMPLES["private-subnet"]))  # fmt: skip
    assert "'networking' is not one of the candidate causes" in text
    assert "private-subnet" in text and "fargate-size" in text


# ---- 12-3: triage ------------------------------------------------------------------------------


def test_the_triage_solution_sorts_every_fault():
    """The stored triage names each of the ten faults from its own evidence."""
    assert _check("12-3", solved.triage_function()).passed


def test_a_triage_that_stops_at_resource_initialization_error_is_named():
    """Every ResourceInitializationError called a secret problem: the others are named."""

    def triage(evidence):
        reasons = evidence.reasons()
        if "ResourceInitializationError" in reasons:
            return "secret-unreadable"
        return solved.triage_function()(evidence)

    text = _messages(_check("12-3", triage))
    assert "logs:CreateLogGroup (the awslogs driver)" in text
    assert "'did not contain json key' means the role read the secret" in text
    assert "means the call never got an answer (no route out)" in text


def test_a_triage_that_only_reads_stopped_reasons_misses_the_job_and_the_targets():
    """No stopped reason: the refused registration and the unhealthy targets are named."""

    def triage(evidence):
        return "curl-health-check" if "health checks" in evidence.reasons() else "unknown"

    text = _messages(_check("12-3", triage))
    assert "triage returned 'unknown' is not one of the candidate causes" in text
    assert "'Task failed container health checks' is the task definition's healthCheck" in text


def test_a_triage_that_raises_is_reported_per_evidence():
    """A learner's error (evidence has no .targets_health) is shown, not raised."""
    text = _messages(_check("12-3", lambda evidence: evidence.targets_health))
    assert "triage raised AttributeError" in text


# ---- 12-2: the fix, on a real lab ----------------------------------------------------------------


@dataclass
class StubLab:
    """The lab as check_fix sees it: health problems and an ALB answer, set by the test."""

    status: int = 200
    problems: list[str] = field(default_factory=list)
    url: str = "http://127.0.0.1:1"

    def wait_healthy(self, limit: float) -> None:
        if self.problems:
            raise TimeoutError(f"the service is not healthy after {limit:g} s: {self.problems}")

    def get(self, path: str = "/health") -> int:
        return self.status


def _stub_drill(still: str | None) -> drills.Drill:
    fault = drills.Fault("x", "", "", lambda lab: "", lambda lab: None, lambda e: True,
                         lambda lab: still)  # fmt: skip
    return drills.Drill(fault, "", datetime.now(UTC))


def test_a_fix_that_leaves_the_cause_is_told_what_is_still_wrong():
    """The cause is judged first: a healthy-looking rollback is not a fix."""
    still = "the service runs revision 3: the circuit breaker rolled it back"
    outcome = _check("12-2", lambda lab, diagnosis: None, lab=StubLab(), diagnosis="x",
                     drill=_stub_drill(still))  # fmt: skip
    assert _messages(outcome) == f"the cause is still there: {still}"


def test_a_fix_the_service_does_not_recover_from_is_named():
    """The cause is gone, but the service never settles, or the ALB does not answer 200."""
    stuck = StubLab(problems=["targets: ['unhealthy']"])
    outcome = _check("12-2", lambda lab, diagnosis: None, lab=stuck, diagnosis="x",
                     drill=_stub_drill(None))  # fmt: skip
    assert "the cause is gone but the service is not healthy" in _messages(outcome)
    silent = StubLab(status=503)
    outcome = _check("12-2", lambda lab, diagnosis: None, lab=silent, diagnosis="x",
                     drill=_stub_drill(None))  # fmt: skip
    assert "through the ALB answered 503, not 200" in _messages(outcome)


@pytest.fixture(scope="module")
def lab(moto_backend: Backend) -> Iterator[drills.Lab]:
    """The applied stack on a process-mode data plane (compressed clock), healthy."""
    moto_backend.reset()
    started = drills.start_lab(moto_backend.ctx, names, "c0de123", CLOCK)
    yield started
    started.stop()


@pytest.mark.xdist_group("faults")
@pytest.mark.parametrize("fault_id", list(drills.FAULTS))
def test_each_faults_symptom_shows_and_the_solutions_diagnose_and_fix_it(lab, fault_id):
    """On the real plane: the fault shows its own symptom, the stored diagnosis names it from
    that live evidence, and the stored fix passes 12-2 (cause gone, service healthy, ALB 200).

    Each fault's own fix (the chapter's reset): tests/emulator/test_faults.py, and below.
    """
    drills.reset(lab)
    drill = lab.inject(drills.FAULTS[fault_id])
    evidence = lab.wait_for(drill)
    # no other fault's signature is what the learner sees, and only this cause is there
    others = [f.id for f in drills.FAULTS.values() if f.id != fault_id and f.shows(evidence)]
    assert not others, f"{fault_id} also looks like {others}: {evidence}"
    assert list(lab.broken()) == [fault_id]
    diagnosis = solved.diagnose(evidence)
    assert diagnosis == fault_id
    outcome = _check("12-2", solved.fix, lab=lab, diagnosis=diagnosis, drill=drill)
    assert outcome.passed, outcome
    assert not lab.broken()


@pytest.mark.xdist_group("faults")
def test_the_chapters_reset_undoes_a_fault_on_the_plane_and_waits_for_a_healthy_service(lab):
    """A symptom showing (tasks stopping), the reset's own fix, then a healthy service."""
    drills.reset(lab)
    lab.wait_for(lab.inject(drills.FAULTS["secret-unreadable"]))
    assert drills.reset(lab) == ["secret-unreadable"]
    assert not lab.broken() and not lab.problems()
    assert lab.get("/health") == 200
