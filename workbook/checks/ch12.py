"""Chapter 12's exercises: diagnose the mystery fault, fix it for real, triage any of them."""

from __future__ import annotations

from typing import Any

from emulator.engine import parse_image, pull_not_found
from emulator.logs import CREATE_DENIED
from emulator.targets import DESCRIPTIONS
from emulator.task_inputs import ASM_PREFIX, DENIED, UNREACHABLE
from workbook.drills import CANDIDATES, FAULTS, Drill, Evidence, Lab
from workbook.exercises import Exercise

FIX_LIMIT_S = 60.0  # real seconds the fix check waits for a healthy service

# ---- how to tell two causes apart (the typical confusions, said once) ------------------------

_INIT = (
    "both stop the task before it runs with ResourceInitializationError; read the end of the "
    "stopped reason: "
)
TELL_APART = {
    frozenset({"logs-create-group", "secret-unreadable"}): _INIT
    + "an AccessDeniedException names the action the execution role lacks, "
    "logs:CreateLogGroup (the awslogs driver) or secretsmanager:GetSecretValue (the secret)",
    frozenset({"secret-key-missing", "secret-unreadable"}): _INIT
    + "AccessDeniedException is the execution role's policy; 'did not contain json key' means "
    "the role read the secret and the JSON lacks a key the task definition names",
    frozenset({"logs-create-group", "secret-key-missing"}): _INIT
    + "'failed to validate logger args' is the awslogs driver, 'unable to pull secrets' is "
    "the secret",
    frozenset({"private-subnet", "secret-unreadable"}): _INIT
    + "'unable to retrieve ecr registry auth ... i/o timeout' means the call never got an "
    "answer (no route out), while AccessDeniedException is an answer: IAM said no",
    frozenset({"private-subnet", "secret-key-missing"}): _INIT
    + "'unable to retrieve ecr registry auth ... i/o timeout' means nothing answered at all",
    frozenset({"private-subnet", "image-tag-missing"}): (
        "both are about the image; CannotPullContainerError '... not found' is ECR answering "
        "that it has no such tag, while '... i/o timeout' means ECR was never reached"
    ),
    frozenset({"task-sg-closed", "health-path-wrong"}): (
        "both leave targets unhealthy; the reason code tells them apart: Target.Timeout is no "
        "answer at all (a security group dropping the packets), Target.ResponseCodeMismatch "
        "is the app answering with the wrong status (the path)"
    ),
    frozenset({"task-sg-closed", "app-loopback"}): (
        "both leave targets unhealthy; Target.Timeout is packets dropped silently (a security "
        "group), Target.FailedHealthChecks with a refused connection is nothing listening on "
        "the task's address (the app bound to 127.0.0.1)"
    ),
    frozenset({"health-path-wrong", "app-loopback"}): (
        "Target.ResponseCodeMismatch means the app answered (with a 404), so it is reachable; "
        "Target.FailedHealthChecks means the ALB's connection was refused"
    ),
    frozenset({"curl-health-check", "app-loopback"}): (
        "two health checks: the task's healthStatus is the container's own check (run inside "
        "the task), the target's state is the ALB's; see which one says unhealthy"
    ),
    frozenset({"curl-health-check", "health-path-wrong"}): (
        "'Task failed container health checks' is the task definition's healthCheck, not the "
        "target group's: the ALB never got a say"
    ),
    frozenset({"curl-health-check", "task-sg-closed"}): (
        "'Task failed container health checks' is the check inside the task; a security group "
        "only shows in the ALB's target health"
    ),
}


def _seen(evidence: Evidence) -> str:
    """Return the evidence's telling lines, for feedback."""
    told = []
    reasons = [r for r in evidence.reasons().splitlines() if "Scaling activity" not in r]
    if reasons:
        told.append(f"tasks stopped with '{reasons[0][:150]}'")
    if codes := sorted(c for c in evidence.target_reasons() if c):
        told.append(f"unhealthy targets say {', '.join(codes)}")
    if health := sorted({t["healthStatus"] for t in evidence.running}):
        told.append(f"running tasks' healthStatus: {', '.join(health)}")
    if "exit 0" not in evidence.job:
        told.append(f"the deploy job printed '{' / '.join(evidence.job.splitlines())[:240]}'")
    return "; ".join(told) or "nothing has failed yet"


def _why_not(said: str, actual: str, evidence: Evidence) -> str:
    """Explain why `said` does not fit the evidence, naming the distinction that matters."""
    pair = TELL_APART.get(frozenset({said, actual}))
    if pair:
        return f"not {said}: {pair}. Here: {_seen(evidence)}"
    return (
        f"not {said}: it would show as {FAULTS[said].symptom}, and the evidence shows "
        f"{_seen(evidence)}"
    )


def _unknown(answer: object) -> str:
    return (
        f"{answer!r} is not one of the candidate causes; answer with an id from "
        f"drills.CANDIDATES: {', '.join(CANDIDATES)}"
    )


# ---- 12-1: the diagnosis ------------------------------------------------------------------


def check_diagnosis(answer: object, drill: Drill, evidence: Evidence) -> list[str]:
    """Check the learner's diagnosis of the injected fault against the evidence."""
    if answer not in CANDIDATES:
        return [_unknown(answer)]
    if answer == drill.fault.id:
        return []
    return [_why_not(str(answer), drill.fault.id, evidence)]


# ---- 12-2: the fix ----------------------------------------------------------------------------


def check_fix(answer: object, lab: Lab, drill: Drill) -> list[str]:
    """Prove the fix: the cause is gone, the service is stable and healthy, /health answers 200."""
    still = drill.fault.still_broken(lab)
    if still:
        return [f"the cause is still there: {still}"]
    try:
        lab.wait_healthy(FIX_LIMIT_S)
    except TimeoutError as exc:
        return [f"the cause is gone but {exc}"]
    status = lab.get("/health")
    if status != 200:
        return [f"GET {lab.url}/health through the ALB answered {status or 'nothing'}, not 200"]
    return []


# ---- 12-3: triage for any fault ----------------------------------------------------------------

ROLE = "arn:aws:iam::123456789012:role/ecsTaskExecutionRole"
TASK = "0f3c2e1d9a8b4c7d"
SECRET = "arn:aws:secretsmanager:us-east-1:123456789012:secret:llmops_prod-rHWxTA"
GROUP = "arn:aws:logs:us-east-1:123456789012:log-group:/ecs/llmopstdlive"
IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/llmops:9f8e7d6"
TG = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/llmops-tg/0cecc57002e78149"
SESSION = "arn:aws:sts::123456789012:assumed-role/ecsTaskExecutionRole/" + TASK
ELB_FAILED = f"Task failed ELB health checks in (target-group {TG})"
ROLLED = "Scaling activity initiated by (deployment ecs-svc/1854424104708652127)"
OK_JOB = "deploy job: register revision 7, update-service: exit 0"


def _stopped(*reasons: str) -> list[dict]:
    return [{"stoppedReason": r, "healthStatus": "UNKNOWN"} for r in reasons]


def _unhealthy(code: str) -> dict:
    """Return the service event and the target row the ALB's verdict `code` leaves."""
    why = DESCRIPTIONS[code].format(codes="404")
    event = f"(service llmops-service-2) (task {TASK}) (port 8080) is unhealthy in "
    event += f"(target-group {TG}) due to (reason {why})"
    return {"events": [event], "targets": [{"State": "unhealthy", "Reason": code}]}


def samples() -> dict[str, Evidence]:
    """Return the evidence each fault leaves, with the agent's and the ALB's own wording."""
    denied = DENIED.format(session=SESSION, action="{action}", arn="{arn}")
    return {
        "logs-create-group": Evidence(
            stopped=_stopped(
                CREATE_DENIED.format(denied=denied.format(action="logs:CreateLogGroup", arn=GROUP))
            ),
            job=OK_JOB,
        ),
        "image-tag-missing": Evidence(
            stopped=_stopped(str(pull_not_found(parse_image(IMAGE))), ROLLED), job=OK_JOB
        ),
        "secret-key-missing": Evidence(
            stopped=_stopped(
                f"{ASM_PREFIX}retrieved secret from Secrets Manager did not contain json key "
                "LANGCHAIN_API_KEY"
            ),
            job=OK_JOB,
        ),
        "secret-unreadable": Evidence(
            stopped=_stopped(
                f"{ASM_PREFIX}failed to fetch secret {SECRET} from secrets manager: "
                + denied.format(action="secretsmanager:GetSecretValue", arn=SECRET)
            ),
            job=OK_JOB,
        ),
        "task-sg-closed": Evidence(
            stopped=_stopped(ELB_FAILED),
            **_unhealthy("Target.Timeout"),
            job="deploy job: infrastructure tidy-up applied: exit 0",
        ),
        "health-path-wrong": Evidence(
            stopped=_stopped(ELB_FAILED),
            **_unhealthy("Target.ResponseCodeMismatch"),
            job="deploy job: infrastructure tidy-up applied: exit 0",
        ),
        "app-loopback": Evidence(
            stopped=_stopped(ELB_FAILED, ROLLED),
            running=[{"healthStatus": "HEALTHY"}],
            **_unhealthy("Target.FailedHealthChecks"),
            job=OK_JOB,
        ),
        "curl-health-check": Evidence(
            stopped=_stopped("Task failed container health checks"),
            running=[{"healthStatus": "UNHEALTHY"}],
            targets=[{"State": "healthy"}],
            job=OK_JOB,
        ),
        "fargate-size": Evidence(
            targets=[{"State": "healthy"}],
            job=(
                "deploy job: size the task down to 256 CPU units: exit 255\nAn error occurred "
                "(ClientException) when calling the RegisterTaskDefinition operation: No "
                "Fargate configuration exists for given values: 256 CPU, 8192 memory. See the "
                "Amazon ECS documentation for the valid values."
            ),
        ),
        "private-subnet": Evidence(
            stopped=_stopped(UNREACHABLE.format(region="us-east-1")),
            job=OK_JOB,
        ),
    }


def check_triage(answer: Any) -> list[str]:
    """Run the learner's triage on every fault's evidence; name each one it gets wrong."""
    if not callable(answer):
        return [f"the answer is a function triage(evidence) -> cause id, got {answer!r}"]
    problems = []
    for actual, evidence in samples().items():
        try:
            said = answer(evidence)
        except Exception as exc:  # the learner's code: its error is the feedback
            problems.append(f"for {_seen(evidence)}: triage raised {type(exc).__name__}: {exc}")
            continue
        if said == actual:
            continue
        if said not in CANDIDATES:
            problems.append(f"for {_seen(evidence)}: triage returned {_unknown(said)}")
        else:
            problems.append(
                f"for {_seen(evidence)}: triage says {_why_not(said, actual, evidence)}"
            )
    return problems


EXERCISES = [
    Exercise(
        "12-1",
        "Diagnose the mystery fault: set `diagnosis` to the id of the candidate cause the "
        "evidence points to (drills.CANDIDATES).",
        check_diagnosis,
    ),
    Exercise(
        "12-2",
        "Complete fix(lab, diagnosis): make the AWS calls that remove the cause. The check "
        "proves it: the cause gone, the service stable with healthy targets, /health 200 "
        "through the ALB's URL.",
        check_fix,
        args=("lab", "diagnosis"),
    ),
    Exercise(
        "12-3",
        "Complete triage(evidence): return the cause's id for the evidence any of the ten "
        "faults leaves. It is checked on each fault's own stopped reasons, target health and "
        "job output.",
        check_triage,
    ),
]
