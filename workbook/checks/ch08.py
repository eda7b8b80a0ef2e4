"""Chapter 08's exercises: zero-downtime rollout, a Fargate size, the breaker threshold, the service."""

from __future__ import annotations

from collections.abc import Callable

from botocore.exceptions import ClientError

from deploy.aws.names import StackNames
from deploy.models import rollout
from deploy.resources import ecs_spec, taskdef
from service.aws import AwsContext
from workbook import compare
from workbook.exercises import Exercise, NotDone

# 08-2's need: half a vCPU and 3 GiB of memory.
NEED_CPU, NEED_MEMORY = 512, 3 * 1024
# 08-3 is checked at these desired counts: the floor, the middle, an odd count, the ceiling.
THRESHOLD_COUNTS = (1, 4, 6, 7, 10, 399, 1000)


def check_deployment(answer: object, names: StackNames) -> list[str]:
    """Check a deploymentConfiguration for a one-task service that must never go down."""
    if not isinstance(answer, dict):
        return [f"the answer is a dict like the API's deploymentConfiguration, got {answer!r}"]
    want = ecs_spec.DEPLOYMENT_CONFIGURATION
    if {k: answer.get(k) for k in want} == want:
        return []
    return compare.deployment_findings(answer, want, names.service, names)


def _size(answer: object) -> tuple[int, int] | None:
    if not isinstance(answer, tuple | list) or len(answer) != 2:
        return None
    try:
        return int(answer[0]), int(answer[1])
    except (TypeError, ValueError):
        return None


def check_size(answer: object) -> list[str]:
    """Check (cpu units, memory MiB): a pair Fargate accepts, the smallest that fits the need."""
    size = _size(answer)
    if size is None:
        return [f"the answer is a pair (cpu units, memory MiB), e.g. (256, 512); got {answer!r}"]
    cpu, memory = size
    try:
        taskdef.validate_size(cpu, memory)
    except taskdef.TaskDefinitionError as exc:
        return [f"Fargate refuses this pair at registration: {exc}"]
    if cpu < NEED_CPU:
        return [
            f"{cpu} units is {cpu / 1024:g} vCPU: less than the half vCPU (512 units) the "
            "app needs, so it is throttled under load"
        ]
    if memory < NEED_MEMORY:
        return [
            f"{memory} MiB is less than the 3 GiB (3072 MiB) the app needs: the kernel kills "
            "the container when it goes over (exit code 137, OutOfMemoryError)"
        ]
    if (cpu, memory) != (NEED_CPU, NEED_MEMORY):
        return [
            f"({cpu}, {memory}) works, but Fargate bills per vCPU-hour and per GB-hour: the "
            "smallest pair that fits is cheaper (which cpu allows 3 GiB?)"
        ]
    return []


def check_threshold(answer: object) -> list[str]:
    """Check a function desired_count -> failed tasks that trip the circuit breaker."""
    if not callable(answer):
        return ["the answer is a function: threshold(desired_count) -> failed tasks"]
    problems = []
    for desired in THRESHOLD_COUNTS:
        want = rollout.circuit_breaker_threshold(desired)
        try:
            got = answer(desired)
        except Exception as exc:  # the learner's code: its error is the feedback
            return [f"threshold({desired}) raised {type(exc).__name__}: {exc}"]
        if got == want:
            continue
        half = desired / 2
        if desired <= 5 and got != 3:
            problems.append(
                f"threshold({desired}) is {got}: AWS documents a floor of 3 failed tasks, so "
                f"even a {desired}-task service needs 3 before the breaker acts (errata 1)"
            )
        elif desired >= 400 and got != 200:
            problems.append(
                f"threshold({desired}) is {got}: AWS documents a ceiling of 200 failed tasks"
            )
        elif half != int(half) and got == int(half):
            problems.append(
                f"threshold({desired}) is {got}: half of {desired} is {half:g}; AWS does not "
                "say how a fraction is rounded, and the model assumes it rounds up (label it "
                "the model's assumption)"
            )
        else:
            problems.append(
                f"threshold({desired}) is {got}, the model has {want}: the documented rule is "
                "50 % of the desired count, at least 3 and at most 200 failed tasks"
            )
    return problems


def check_service(answer: object, ctx: AwsContext, names: StackNames) -> list[str]:
    """Compare the service the learner's function made with the package's reference."""
    found = compare.against_reference(ctx, names, {"ecs": [names.service]})
    if found.missing:
        raise NotDone(f"{names.service} does not exist after your function ran: did it call AWS?")
    return [f"{f.field}: {f.message}" for f in found.findings]


def reset_service(ctx: AwsContext, names: StackNames) -> None:
    """Delete the service an earlier attempt made, if any (so a re-run starts clean)."""
    try:
        ctx.client("ecs").delete_service(cluster=names.cluster, service=names.service, force=True)
    except ClientError as exc:
        if exc.response["Error"]["Code"] not in (
            "ServiceNotFoundException",
            "ClusterNotFoundException",
            "ServiceNotActiveException",
        ):
            raise


Threshold = Callable[[int], int]

EXERCISES = [
    Exercise(
        "08-1",
        "Fill in the deploymentConfiguration of a one-task service that must never go down "
        "during a deploy, and that returns by itself to the last good revision when the new "
        "tasks keep failing.",
        check_deployment,
    ),
    Exercise(
        "08-2",
        "A smaller service needs half a vCPU and 3 GiB of memory. Give the cheapest "
        "(cpu units, memory MiB) pair Fargate accepts for it.",
        check_size,
    ),
    Exercise(
        "08-3",
        "Write threshold(desired_count): how many failed tasks make the circuit breaker fail a "
        "deployment, per AWS's documented rule (and the model's rounding assumption).",
        check_threshold,
    ),
    Exercise(
        "08-4",
        "Complete create_service: the Fargate service behind the ALB, in both subnets, with the "
        "task security group, a public IP, the rollout from 08-1 and the grace period. (Each "
        "run deletes the service an earlier attempt made, then calls your function.)",
        check_service,
        args=("client", "task_definition_arn", "network", "alb", "deployment"),
        reset=reset_service,
    ),
]
