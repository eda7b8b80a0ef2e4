"""Chapter 13's exercises: the teardown order, the secret's recovery window, leftovers that bill."""

from __future__ import annotations

from datetime import UTC, datetime

from botocore.exceptions import ClientError

from deploy import stack
from deploy.aws.names import StackNames
from deploy.models import prices
from service.aws import AwsContext
from workbook.exercises import Exercise, NotDone

# ---- 13-1: the order of the teardown ---------------------------------------------------------------

# The teardown's steps, each one cell of by-hand calls in the chapter.
STEPS = (
    "scaling",  # alarms, scheduled actions, scaling policies, the scalable target
    "service",  # desired count 0, delete, wait until INACTIVE
    "task-definitions",  # deregister every revision, then delete them
    "cluster",
    "load-balancer",  # its listeners go with it
    "target-group",
    "task-security-group",
    "alb-security-group",
    "bucket",  # every object version first
    "table",
    "log-group",
    "repository",  # with its images (force)
    "iam",  # roles (policies detached first), the CI policy, the OIDC provider
    "budget",
    "secret",  # exercise 13-2
)
# (first, then, why): AWS refuses the second while the first exists, or the second breaks it.
BEFORE = (
    (
        "scaling",
        "service",
        "while the scalable target is registered Application Auto Scaling still sets the "
        "desired count: a scale-out or the weekday 08:00 UTC schedule (MinCapacity 2) can start "
        "tasks again after your 0, and once the service is gone the target, its policies and "
        "the alarms are orphans nobody looks at (the alarms are billed)",
    ),
    (
        "service",
        "cluster",
        "AWS refuses to delete a cluster that still has a service or running tasks "
        "(ClusterContainsServicesException, ClusterContainsTasksException)",
    ),
    (
        "load-balancer",
        "target-group",
        "a target group that a listener forwards to cannot be deleted (ResourceInUse); deleting "
        "the load balancer deletes its listeners",
    ),
    (
        "service",
        "task-security-group",
        "the tasks' network interfaces use the group until the tasks have stopped: "
        "DependencyViolation",
    ),
    (
        "load-balancer",
        "alb-security-group",
        "the load balancer's network interfaces use the group: DependencyViolation",
    ),
    (
        "task-security-group",
        "alb-security-group",
        "the task group's inbound rule names the ALB group as its source: DependencyViolation "
        "until that rule (or the task group) is gone",
    ),
    (
        "service",
        "repository",
        "a task ECS starts meanwhile (a replacement, a scale-out) cannot pull its image: "
        "CannotPullContainerError",
    ),
    (
        "service",
        "secret",
        "a task ECS starts meanwhile cannot read its secrets: ResourceInitializationError",
    ),
    (
        "service",
        "iam",
        "a task still running or starting loses the rights it runs with (image pull, logs, its "
        "bucket and table) halfway",
    ),
    (
        "service",
        "log-group",
        "stopping tasks still write their last lines there, and with awslogs-create-group a "
        "starting task makes the group again",
    ),
)
# What stays behind when a step is left out.
LEFT_BEHIND = {
    "scaling": "the scalable target, its policies, the schedules and the alarms (billed) stay",
    "service": "the service stays, and with it the tasks and their bill",
    "task-definitions": "every revision stays registered (free, but it keeps the image URI and "
    "the secret's ARN on record)",
    "cluster": "the cluster stays (free when empty, but listed)",
    "load-balancer": "the ALB stays, billed every hour with its public addresses",
    "target-group": "the target group stays",
    "task-security-group": "the task security group stays",
    "alb-security-group": "the ALB security group stays, open to the internet on 80",
    "bucket": "the users' documents stay, billed per GB-month",
    "table": "the chat history stays, billed per GB-month",
    "log-group": "the logs stay, billed per GB-month until the retention expires",
    "repository": "the images stay, billed per GB-month",
    "iam": "the roles stay, and GitHub's main branch can still assume the CI role",
    "budget": "the budget stays (free, and it still e-mails you)",
    "secret": "the secret stays, $0.40 a month, with the API keys in it",
}
# stack.ORDER's modules, reversed by stack.teardown, as the steps above.
MODULE_STEPS = {
    "budget": ("budget",),
    "autoscaling": ("scaling",),
    "ecs": ("service", "task-definitions", "cluster"),
    "state": ("bucket", "table"),
    "alb": ("load-balancer", "target-group"),
    "network": ("task-security-group", "alb-security-group"),
    "logs": ("log-group",),
    "ecr": ("repository",),
    "iam": ("iam",),
    "secrets": ("secret",),
}


def package_order() -> list[str]:
    """Return the steps in the order the package's teardown deletes them (stack.ORDER reversed)."""
    return [step for module in reversed(stack.ORDER) for step in MODULE_STEPS[module]]


def check_order(answer: object) -> list[str]:
    """Check a teardown order: every step once, each after what must go before it."""
    if not isinstance(answer, list | tuple) or not all(isinstance(s, str) for s in answer):
        return ["the answer is a list of step names, first to last, e.g. ['scaling', ...]"]
    unknown = [s for s in answer if s not in STEPS]
    if unknown:
        return [f"unknown step(s) {unknown}: choose from {list(STEPS)}"]
    problems = [f"'{s}' appears twice" for s in sorted(set(answer)) if answer.count(s) > 1]
    problems += [f"'{s}' is missing: {LEFT_BEHIND[s]}" for s in STEPS if s not in answer]
    at = {s: answer.index(s) for s in answer}
    for first, then, why in BEFORE:
        if first in at and then in at and at[then] < at[first]:
            problems.append(f"'{then}' comes before '{first}': {why}")
    return problems


# ---- 13-2: delete the secret with the shortest recovery window (moto) ---------------------------

SHORTEST_WINDOW, DEFAULT_WINDOW = 7, 30  # days (Secrets Manager's DeleteSecret)


def check_secret_deletion(answer: object, ctx: AwsContext, names: StackNames) -> list[str]:
    """Check that the learner's function scheduled the secret's deletion a week ahead."""
    try:
        found = ctx.client("secretsmanager").describe_secret(SecretId=names.secret)
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ResourceNotFoundException":
            raise
        return [
            "the secret is gone at once (ForceDeleteWithoutRecovery): nothing can bring it back "
            "if a task or a colleague still needed it; fine for a lab, but the exercise asks "
            f"for the shortest window, {SHORTEST_WINDOW} days, to change your mind"
        ]
    deleted = found.get("DeletedDate")
    if deleted is None:
        raise NotDone(f"{names.secret} is not scheduled for deletion: call delete_secret")
    days = round((deleted - datetime.now(UTC)).total_seconds() / 86400)
    if days >= DEFAULT_WINDOW - 1:
        return [
            f"a {days}-day window, AWS's default when RecoveryWindowInDays is left out: the "
            f"name {names.secret} stays taken for a month, so re-creating the stack fails "
            f"until then (or until restore_secret); pass RecoveryWindowInDays={SHORTEST_WINDOW}"
        ]
    if days != SHORTEST_WINDOW:
        return [
            f"a {days}-day window: AWS accepts {SHORTEST_WINDOW} to {DEFAULT_WINDOW} days, and "
            f"the exercise asks for the shortest, {SHORTEST_WINDOW}"
        ]
    return []


def reset_secret(ctx: AwsContext, names: StackNames) -> None:
    """Bring the secret back (restore it, or create it) so each attempt deletes a live one."""
    stack.apply(ctx, names, target="secrets")


# ---- 13-3: which leftovers of the guide's clean-up still bill ------------------------------------

# Each kind the inventory can report after the guide's clean-up, and what it costs to keep.
LEFTOVER_KINDS = {
    "cloudwatch alarm": (
        True,
        f"alarms bill per alarm and month, whatever their state (${prices.PRICES.alarm_month:.2f} for a "
        "standard-resolution one): the guide never deletes the scaling policies' alarms or "
        "the step alarm",
    ),
    "s3 bucket": (
        True,
        f"S3 bills every GB-month the bucket stores (${prices.PRICES.s3_gb_month}/GB), the old "
        "versions versioning keeps included: the users' documents are still there",
    ),
    "dynamodb table": (
        True,
        f"on demand, the table costs nothing idle, but its stored items bill per GB-month "
        f"(${prices.PRICES.dynamodb_gb_month}/GB beyond the free 25 GB): the chat history is still there",
    ),
    "efs file-system": (
        True,
        f"EFS bills the GB-months it stores (${prices.PRICES.efs_gb_month}/GB Standard), with "
        "or without a task mounting it (if you added it in chapter 11)",
    ),
    "ec2 security-group": (False, "security groups are free"),
    "ecs task-definition": (
        False,
        "revisions are free; an ACTIVE one left behind still shows the image URI and the "
        "secret's ARN, and a service could be started from it",
    ),
    "iam role": (
        False,
        "IAM is free; a leftover CI role is a security question, not a cost one (GitHub's "
        "main branch can still assume it)",
    ),
    "iam policy": (False, "IAM policies are free"),
    "iam oidc-provider": (False, "the provider is free (and other repositories may use it)"),
    "application-autoscaling scalable-target": (
        False,
        "Application Auto Scaling is free; what bills are the alarms its policies made",
    ),
    "application-autoscaling scaling-policy": (
        False,
        "scaling policies are free; their CloudWatch alarms are not",
    ),
    "application-autoscaling scheduled-action": (False, "scheduled actions are free"),
    "budgets budget": (False, "a budget without actions is free"),
}


def billed_kinds() -> set[str]:
    """Return the leftover kinds that keep billing (the right answer to 13-3)."""
    return {kind for kind, (billed, _) in LEFTOVER_KINDS.items() if billed}


def check_billed(answer: object) -> list[str]:
    """Check which leftovers keep costing money; each wrong one explained."""
    if not isinstance(answer, set | frozenset | list | tuple) or not all(
        isinstance(k, str) for k in answer
    ):
        return ["the answer is a set of kinds as the inventory prints them, e.g. {'s3 bucket'}"]
    unknown = sorted(set(answer) - set(LEFTOVER_KINDS))
    if unknown:
        return [f"{unknown} are not leftover kinds; choose from {sorted(LEFTOVER_KINDS)}"]
    problems = [
        f"{kind} is missing: {LEFTOVER_KINDS[kind][1]}"
        for kind in sorted(billed_kinds() - set(answer))
    ]
    problems += [
        f"{kind} costs nothing: {LEFTOVER_KINDS[kind][1]}"
        for kind in sorted(set(answer) - billed_kinds())
    ]
    return problems


EXERCISES = [
    Exercise(
        "13-1",
        "Order the teardown's STEPS so that nothing is deleted while something still needs it.",
        check_order,
    ),
    Exercise(
        "13-2",
        "Complete delete_secret: schedule the secret's deletion with the shortest recovery "
        "window AWS allows. (Each run first restores the secret an earlier attempt deleted.)",
        check_secret_deletion,
        args=("client", "secret_id"),
        reset=reset_secret,
    ),
    Exercise(
        "13-3",
        "Which kinds the guide's clean-up leaves behind keep costing money?",
        check_billed,
    ),
]
