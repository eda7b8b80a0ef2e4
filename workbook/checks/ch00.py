"""Chapter 00's exercises: which backend an environment picks, who does what, what the account holds."""

from __future__ import annotations

from deploy.aws.names import StackNames
from deploy.aws.settings import DeploySettings
from service.aws import AwsContext
from workbook.exercises import Exercise

# ---- 00-1: which backend an environment picks ---------------------------------------------------

NEW = "new"  # a moto server started in this process, on a free 127.0.0.1 port
ENVIRONMENTS = {
    "a": {},
    "b": {"AWS_ENDPOINT_URL": "http://127.0.0.1:5000"},
    "c": {"WORKBOOK_BACKEND": "localstack"},
    "d": {
        "WORKBOOK_BACKEND": "aws",
        "AWS_PROFILE": "dev",
        "AWS_ENDPOINT_URL": "http://127.0.0.1:5000",
    },
}


class _Only(DeploySettings):
    """DeploySettings read from the values given, not from this process's environment or .env."""

    @classmethod
    def settings_customise_sources(cls, settings_cls, init_settings, **_others):
        return (init_settings,)


def pick(env: dict[str, str]) -> tuple[str, str | None]:
    """Return (backend, where boto3's calls go) for an environment, as the chapter set-up reads it."""
    settings = _Only(**env)
    if settings.backend == "moto":
        return "moto", settings.moto_endpoint() or NEW
    if settings.backend == "localstack":
        return "localstack", settings.localstack_endpoint
    return "aws", None  # boto3's own endpoints; start_backend sets no override


def _why_backend(env: dict, got: str, want: str) -> str:
    if "WORKBOOK_BACKEND" not in env:
        return (
            f"picks {want}, not {got}: only WORKBOOK_BACKEND chooses the backend, and unset it "
            "means moto. AWS_ENDPOINT_URL only says where an already running moto server answers"
        )
    return f"picks {want}, not {got}: WORKBOOK_BACKEND={env['WORKBOOK_BACKEND']} says so"


def _why_where(env: dict, kind: str, got: object, want: object) -> str:
    if kind == "aws":
        return (
            f"boto3's calls go to AWS's own endpoints (None), not {got!r}: the aws backend's "
            "context has no endpoint and switches off botocore's AWS_ENDPOINT_URL lookup "
            "(service/aws.py), so a left-over emulator URL cannot redirect calls meant for your "
            "real account. The AWS CLI in that shell still reads AWS_ENDPOINT_URL: unset it"
        )
    if want == NEW:
        return (
            f"calls go to {NEW!r} (a moto server started in this process on a free port), not "
            f"{got!r}: nothing names a running server to reuse"
        )
    if kind == "moto":
        return (
            f"calls go to {want!r}, not {got!r}: moto reuses the server AWS_ENDPOINT_URL names "
            "when one answers there, so a stack outlives one kernel (`workbook stack emulator`)"
        )
    return f"calls go to {want!r}, not {got!r}: LOCALSTACK_ENDPOINT's default"


def check_backends(answer: object) -> list[str]:
    """Compare the learner's (backend, where) for each environment with what set-up picks."""
    if not isinstance(answer, dict) or set(answer) != set(ENVIRONMENTS):
        return [f"the answer is a dict with keys {sorted(ENVIRONMENTS)}: each a (backend, where)"]
    problems = []
    for key, env in ENVIRONMENTS.items():
        guess = answer[key]
        if not (isinstance(guess, tuple | list) and len(guess) == 2):
            problems.append(f"{key}: give a pair (backend, where), got {guess!r}")
            continue
        kind, where = pick(env)
        if guess[0] != kind:
            problems.append(f"{key}: {_why_backend(env, guess[0], kind)}")
        elif guess[1] != where:
            problems.append(f"{key}: {_why_where(env, kind, guess[1], where)}")
    return problems


# ---- 00-2: who does what in the architecture ----------------------------------------------------

COMPONENTS = {
    "a": "the execution role (ecsTaskExecutionRole)",
    "b": "the task role (llmops-task-role)",
    "c": "the ALB's security group",
    "d": "anywhere (0.0.0.0/0)",
    "e": "the CI role GitHub Actions assumes",
}
ROLES = {
    "secret": "Who reads the secret llmops_prod when a task starts?",
    "pull": "Who pulls the image from ECR?",
    "app": "Whose permissions sign the app's own S3 and DynamoDB calls?",
    "task_sg": "From where does the task security group admit port 8080?",
    "alb_sg": "From where does the ALB's security group admit port 80?",
    "push": "Who pushes images and registers task-definition revisions?",
}
ROLE_ANSWERS = {"secret": "a", "pull": "a", "app": "b", "task_sg": "c", "alb_sg": "d", "push": "e"}
ROLE_WHY = {
    "secret": "ECS reads the secret with the execution role before your code runs and injects "
    "it as an environment variable; the app never calls Secrets Manager. A missing permission "
    "shows up as ResourceInitializationError, not as an app error",
    "pull": "the image is pulled by ECS, before any code of yours exists, so the execution "
    "role (AmazonECSTaskExecutionRolePolicy's ecr: actions) needs it",
    "app": "boto3 inside the container gets the task role's credentials; keeping app "
    "permissions there (not on the execution role) scopes each role to one job",
    "task_sg": "the task admits 8080 only from the ALB's group, so nothing on the internet "
    "reaches a task except through the ALB and its health checks",
    "alb_sg": "the ALB is the public entry point: port 80 from anywhere (443 too with HTTPS)",
    "push": "CI builds and pushes the image and registers a new revision; it should never hold "
    "the app's or ECS's permissions, only push, deploy and a scoped iam:PassRole",
}


def check_roles(answer: object) -> list[str]:
    """Compare the learner's letter for each question with the architecture's answer."""
    if not isinstance(answer, dict) or set(answer) != set(ROLES):
        return [f"the answer is a dict with keys {sorted(ROLES)}, each a letter of COMPONENTS"]
    problems = []
    for key, want in ROLE_ANSWERS.items():
        got = answer[key]
        if got not in COMPONENTS:
            problems.append(f"{key}: pick one of {sorted(COMPONENTS)}, got {got!r}")
        elif got != want:
            problems.append(f"{key}: {COMPONENTS[want]}, not {COMPONENTS[got]}: {ROLE_WHY[key]}")
    return problems


# ---- 00-3: what this kernel's account holds ------------------------------------------------------

ACCOUNT_COMMANDS = {
    "logs": "aws logs describe-log-groups --query 'logGroups[].logGroupName'",
    "ecr": "aws ecr describe-repositories --query 'repositories[].repositoryName'",
    "ecs": "aws ecs list-clusters --query clusterArns  (give the cluster names)",
}


def held(ctx: AwsContext) -> dict[str, list[str]]:
    """Return the log groups, repositories and active clusters this account holds, by name."""
    ecs = ctx.client("ecs")
    arns = ecs.list_clusters()["clusterArns"]
    clusters = ecs.describe_clusters(clusters=arns)["clusters"] if arns else []
    return {
        "logs": [g["logGroupName"] for g in ctx.client("logs").describe_log_groups()["logGroups"]],
        "ecr": [
            r["repositoryName"] for r in ctx.client("ecr").describe_repositories()["repositories"]
        ],
        "ecs": [c["clusterName"] for c in clusters if c["status"] == "ACTIVE"],
    }


def _why_held(key: str, extra: set, missing: set, names: StackNames) -> str:
    if key == "ecs" and extra:
        return (
            f"ecs: this account holds no cluster {sorted(extra)}. setup() started this kernel's "
            "own emulator, which holds only what this chapter applied; chapter 08 makes the "
            "cluster in its own kernel's emulator, which is gone when that kernel stops. A stack "
            "outlives a kernel only on a server AWS_ENDPOINT_URL names (`workbook stack emulator`)"
        )
    if key == "ecr" and names.repository in extra:
        return (
            f"ecr: {names.repository} is not there. The plan listed it as 'create', but plan "
            "writes nothing, and this chapter applied only the log group"
        )
    if key == "logs" and names.log_group in missing:
        return (
            f"logs: stack.apply(..., target='logs') made {names.log_group}, the group the task "
            "definition's awslogs driver writes to; the CLI reaches the same account as boto3"
        )
    parts = [f"also {sorted(missing)}" if missing else "", f"not {sorted(extra)}" if extra else ""]
    return f"{key}: the account holds {', '.join(p for p in parts if p)}"


def check_account(answer: object, ctx: AwsContext, names: StackNames) -> list[str]:
    """Compare the learner's prediction of the three commands' output with the account."""
    if not isinstance(answer, dict) or set(answer) != set(ACCOUNT_COMMANDS):
        return [f"the answer is a dict with keys {sorted(ACCOUNT_COMMANDS)}, each a list of names"]
    have, problems = held(ctx), []
    for key, names_there in have.items():
        got = answer[key]
        if not isinstance(got, list | tuple | set):
            problems.append(f"{key}: give a list of names ([] for none), got {got!r}")
            continue
        extra, missing = set(got) - set(names_there), set(names_there) - set(got)
        if extra or missing:
            problems.append(_why_held(key, extra, missing, names))
    return problems


# ---- 00-4: emulator or model? ---------------------------------------------------------------------

OUTPUTS = {
    "a": "`aws sts get-caller-identity` prints the account 123456789012",
    "b": "desired=4 -> failed tasks before rollback: 3",
    "c": "one 1 vCPU / 8 GB task, 730 h: $55.51/month",
    "d": "stack.plan lists the log group with the action 'create'",
    "e": "with moto alone, describe-target-health says every target is healthy",
}
LABELS = {"a": "emulator", "b": "model", "c": "model", "d": "emulator", "e": "emulator"}
LABEL_WHY = {
    "a": "moto answers the call and returns its fixed test account",
    "b": "no deployment ran: deploy.models.rollout applies AWS's documented threshold rule "
    "(half the desired count, at least 3, at most 200) to the number",
    "c": "nothing was billed: deploy.models.cost multiplies the published hourly prices",
    "d": "plan reads what the emulator holds and diffs it against what the code wants; it "
    "computes no AWS behaviour",
    "e": "moto stores the targets and calls every one healthy without probing anything: an "
    "emulator answer that says nothing about your app (chapter 07 uses the data plane)",
}


def check_labels(answer: object) -> list[str]:
    """Compare the learner's label for each output with where it came from."""
    if not isinstance(answer, dict) or set(answer) != set(OUTPUTS):
        return [f"the answer is a dict with keys {sorted(OUTPUTS)}, each 'emulator' or 'model'"]
    problems = []
    for key, want in LABELS.items():
        got = answer[key]
        if got not in ("emulator", "model"):
            problems.append(f"{key}: label it 'emulator' or 'model', got {got!r}")
        elif got != want:
            problems.append(f"{key}: {want}, not {got}: {LABEL_WHY[key]}")
    return problems


EXERCISES = [
    Exercise(
        "00-1",
        "For each environment in ENVIRONMENTS, give (backend, where boto3's calls go): a URL, "
        f"{NEW!r} for a moto server started in this process, or None for AWS's own endpoints.",
        check_backends,
    ),
    Exercise(
        "00-2",
        "For each question in ROLES, give the letter of the component in COMPONENTS.",
        check_roles,
    ),
    Exercise(
        "00-3",
        "After this chapter's apply, predict what each command in ACCOUNT_COMMANDS prints in "
        "this kernel: a list of names for each.",
        check_account,
    ),
    Exercise(
        "00-4",
        "Label each output in OUTPUTS 'emulator' (moto stored or returned it) or 'model' "
        "(computed from AWS's documented rules).",
        check_labels,
    ),
]
