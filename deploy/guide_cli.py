"""The guide's AWS CLI commands, each run as the guide writes it (or its fix) on an applied stack.

deploy/guide/cli_commands.yaml lists every distinct `aws ...` command of the guide (`extract`
finds them) with its status: it works as written, works with the shown fix, or needs real
AWS. `run_all` runs each one with AWS CLI v1 (deploy.aws.cli: forked, each call bounded by a
timeout) against the stack, filling the guide's stand-ins and the fixes' ${placeholders} with
the stack's own values; deploy.guide_cli_doc turns the results into docs/guide-cli.md.
"""

from __future__ import annotations

import dataclasses
import json
import re
import string
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from deploy import stack
from deploy.aws.cli import FOLLOW, Outcome, run_lines, warm
from deploy.aws.names import StackNames
from deploy.guide import load
from deploy.guide.schema import CliCommand, CliCommands
from deploy.resources import ecr
from service.aws import AwsContext

ROOT = Path(__file__).resolve().parents[1]
GUIDE = ROOT.parent / "shared" / "reference" / "aws-ecs-interview-guide.md"
TIMEOUT_S = 20.0
WAITER_TIMEOUT_S = 8.0  # a waiter polls every 15 s: on moto it passes at once or not at all
FOLLOW_TIMEOUT_S = 3.0  # `aws logs tail --follow` prints at once, then polls until Ctrl-C
PHASES = ("stack", "cleanup", "after-cleanup")  # `never` is not run

# --- finding the commands in the guide ---------------------------------------------------------

# A command starts a line (after a Markdown quote), or follows `X=$(` or `watch -n 5 '`.
_START = re.compile(r"^[>\s]*(?P<wrap>[A-Z_]+=\$\(|watch -n \d+ ')?(?P<cmd>aws [a-z0-9-]+\b.*)$")


def _unquoted(line: str) -> str:
    return re.sub(r"^>\s?", "", line).strip()


def _continues(command: str, closer: str) -> bool:
    """Return True while a quote is open or the line ends in a backslash."""
    return (command.count("'") + (closer == "'")) % 2 == 1 or command.rstrip().endswith("\\")


def normalise(command: str) -> str:
    """Return `command` without comments, continuations and repeated spaces (for deduplication)."""
    text = re.sub(r"\s+#[^'\"\n]*$", "", command, flags=re.M)
    return " ".join(text.replace("\\\n", " ").split())


def extract(text: str) -> list[tuple[int, str, str]]:
    """Return (line, section, command) for each distinct `aws ...` command of the guide's text."""
    lines, found, section, seen = text.splitlines(), [], "", set()
    index = 0
    while index < len(lines):
        if lines[index].startswith("## "):
            section = re.sub(r"[^A-Za-z0-9&/ -]", "", lines[index][3:]).strip()
        match = _START.match(lines[index])
        if match:
            start, wrap = index, match["wrap"] or ""
            command = match["cmd"]
            closer = "'" if wrap.startswith("watch") else ")" if wrap else ""
            while _continues(command, closer):
                index += 1
                inside = (command.count("'") + (closer == "'")) % 2
                command += "\n" + (
                    re.sub(r"^>\s?", "", lines[index]) if inside else _unquoted(lines[index])
                )
            if closer and command.rstrip().endswith(closer):
                command = command.rstrip()[: -len(closer)]
            key = normalise(command)
            if key not in seen:
                seen.add(key)
                found.append((start + 1, section, command.rstrip()))
        index += 1
    return found


# --- the list ----------------------------------------------------------------------------------


def commands(directory: Path | None = None) -> CliCommands:
    """Return cli_commands.yaml, its placeholders checked against the ones the runner fills."""
    context = {"placeholders": set(PLACEHOLDERS), "files": set(FILES)}
    kwargs = {} if directory is None else {"directory": directory}
    return load("cli_commands", CliCommands, context=context, **kwargs)


def render(text: str, guide_values: dict[str, str], values: dict[str, str]) -> str:
    """Return `text` with the guide's own placeholders and then ${names} filled in."""
    for guide_text in sorted(guide_values, key=len, reverse=True):
        text = text.replace(guide_text, guide_values[guide_text])
    return string.Template(text).safe_substitute(values)


# --- the values the commands name ------------------------------------------------------------

# What a fix or a guide stand-in may name besides the StackNames fields.
STACK_VALUES = (
    "account", "region", "revision", "task_arn", "target_group_arn", "load_balancer_arn",
    "task_security_group_id", "alb_security_group_id", "subnet_id", "subnets", "image_tag",
    "bucket", "start_time", "end_time", "start_ms", "file_system_id",
)  # fmt: skip
PLACEHOLDERS = (*(f.name for f in dataclasses.fields(StackNames)), *STACK_VALUES)
FILES = ("task-definition.json", "secret.json")  # written from the stack by `prepare`
# Registering a described task definition again takes only these of its fields.
REGISTRABLE = (
    "family", "taskRoleArn", "executionRoleArn", "networkMode", "containerDefinitions",
    "volumes", "placementConstraints", "requiresCompatibilities", "cpu", "memory",
    "runtimePlatform", "ephemeralStorage",
)  # fmt: skip


class Values(dict):
    """The placeholder values; a file system id is looked up when first named (a command makes it)."""

    def __init__(self, ctx: AwsContext, data: dict[str, str]) -> None:
        super().__init__(data)
        self.ctx = ctx

    def __missing__(self, key: str) -> str:
        if key != "file_system_id":
            raise KeyError(key)
        found = self.ctx.client("efs").describe_file_systems()["FileSystems"]
        return found[-1]["FileSystemId"] if found else "fs-none"  # the newest: the guide's


def stack_values(ctx: AwsContext, names: StackNames) -> Values:
    """Return the applied stack's names, ids and ARNs that the commands' placeholders name."""
    ecs, ec2, elb = ctx.client("ecs"), ctx.client("ec2"), ctx.client("elbv2")
    service = ecs.describe_services(cluster=names.cluster, services=[names.service])
    service = service["services"][0]
    network = service["networkConfiguration"]["awsvpcConfiguration"]
    taskdef = ecs.describe_task_definition(taskDefinition=service["taskDefinition"])
    image = taskdef["taskDefinition"]["containerDefinitions"][0]["image"]
    tasks = ecs.list_tasks(cluster=names.cluster)["taskArns"]
    alb_group = ec2.describe_security_groups(
        Filters=[{"Name": "group-name", "Values": [names.alb_security_group]}]
    )["SecurityGroups"]
    now = time.time()
    data = dataclasses.asdict(names) | {
        "account": ctx.account_id,
        "region": ctx.region,
        "revision": service["taskDefinition"].rsplit(":", 1)[1],
        "task_arn": tasks[0] if tasks else "no-task",
        "target_group_arn": elb.describe_target_groups(Names=[names.target_group])["TargetGroups"][
            0
        ]["TargetGroupArn"],
        "load_balancer_arn": elb.describe_load_balancers(Names=[names.alb])["LoadBalancers"][0][
            "LoadBalancerArn"
        ],
        "task_security_group_id": network["securityGroups"][0],
        "alb_security_group_id": alb_group[0]["GroupId"] if alb_group else "sg-none",
        "subnet_id": network["subnets"][0],
        "subnets": ",".join(network["subnets"]),
        "image_tag": image.rsplit(":", 1)[1],
        "bucket": names.bucket(ctx.account_id, ctx.region),
        "start_time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now - 86400)),
        "end_time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now)),
        "start_ms": str(int((now - 300) * 1000)),
    }
    return Values(ctx, {k: str(v) for k, v in data.items()})


def _moto_extras(ctx: AwsContext, names: StackNames) -> None:
    """Give moto what a real stack has and moto does not make: the image and a running task."""
    ecs = ctx.client("ecs")
    service = ecs.describe_services(cluster=names.cluster, services=[names.service])
    service = service["services"][0]
    taskdef = ecs.describe_task_definition(taskDefinition=service["taskDefinition"])
    tag = taskdef["taskDefinition"]["containerDefinitions"][0]["image"].rsplit(":", 1)[1]
    ecr.record_image(ctx, names, tag)  # what `docker push` did
    ecs.run_task(
        cluster=names.cluster,
        taskDefinition=service["taskDefinition"],
        launchType="FARGATE",
        networkConfiguration=service["networkConfiguration"],
        startedBy=names.service,
    )


def _stack_files(ctx: AwsContext, names: StackNames) -> dict[str, str]:
    """Return the learner's own files: the task definition and the secret with one key changed."""
    current = ctx.client("ecs").describe_task_definition(taskDefinition=names.family)
    taskdef = {k: v for k, v in current["taskDefinition"].items() if k in REGISTRABLE}
    secret = ctx.client("secretsmanager").get_secret_value(SecretId=names.secret)
    keys = json.loads(secret["SecretString"]) | {"GROQ_API_KEY": "gsk_NEW_KEY_HERE"}
    return {"task-definition.json": json.dumps(taskdef, indent=2), "secret.json": json.dumps(keys)}


def prepare(ctx: AwsContext, names: StackNames, workdir: Path, files: dict[str, str]) -> Values:
    """Ready the account (moto: an image and a task) and `workdir`'s files; return the values."""
    if ctx.kind == "moto":
        _moto_extras(ctx, names)
    values = stack_values(ctx, names)
    for name, text in {**files, **_stack_files(ctx, names)}.items():
        path = workdir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(string.Template(text).safe_substitute(values))
    return values


# --- running the list --------------------------------------------------------------------------


@dataclass(frozen=True)
class Result:
    """One entry's run on moto: what ran, how it went and, if checked, the as-written form."""

    id: str
    ran: str | None  # the rendered command or fix (None: not run)
    outcome: Outcome | None
    as_written: Outcome | None = None  # a with-fix entry's guide form, when `broken` says how


def _timeout(text: str) -> float:
    if re.search(r"\baws \S+ wait\b", text):
        return WAITER_TIMEOUT_S
    return FOLLOW_TIMEOUT_S if FOLLOW in text.split() else TIMEOUT_S


def run_entry(entry: CliCommand, guide_values: dict, values: dict, env: dict, cwd: Path) -> Result:
    """Run one entry's form for moto (the fix if it has one), and its guide form if `broken`."""
    if entry.when == "never":  # the guide's form still runs if it fails harmlessly (`broken`)
        return Result(entry.id, None, None, _guide_form(entry, guide_values, values, env, cwd))
    if entry.setup:
        run_lines(render(entry.setup, guide_values, values), env, cwd, TIMEOUT_S)
    written = _guide_form(entry, guide_values, values, env, cwd)
    text = render(entry.runs, guide_values, values)
    return Result(entry.id, text, run_lines(text, env, cwd, _timeout(text)), written)


def _guide_form(
    entry: CliCommand, guide_values: dict, values: dict, env: dict, cwd: Path
) -> Outcome | None:
    """Run the guide's own form of a `broken` entry (it fails or prints null); else None."""
    if not entry.broken:
        return None
    text = render(entry.command, guide_values, values)
    return run_lines(text, env, cwd, _timeout(text))


def run_all(
    ctx: AwsContext,
    names: StackNames,
    workdir: Path,
    listed: CliCommands | None = None,
    progress: Callable[[str], None] = lambda _: None,
) -> dict[str, Result]:
    """Run every entry against the stack applied in `ctx`, phase by phase; return them by id."""
    listed = listed or commands()
    values = prepare(ctx, names, workdir, listed.files)
    env = {**ctx.environment(), "AWS_DEFAULT_OUTPUT": "json"}
    warm({e.command.split()[1] for e in listed.commands})
    results: dict[str, Result] = {}
    for phase in ("never", *PHASES):
        for entry in (e for e in listed.commands if e.when == phase):
            results[entry.id] = run_entry(entry, listed.guide_values, values, env, workdir)
            progress(_progress_line(results[entry.id]))
    return {e.id: results[e.id] for e in listed.commands}


def apply_and_run(
    ctx: AwsContext,
    names: StackNames,
    workdir: Path,
    listed: CliCommands | None = None,
    progress: Callable[[str], None] = lambda _: None,
) -> dict[str, Result]:
    """Apply the stack (with the CI user the guide's put-user-policy names), then run the list."""
    stack.apply(ctx, names, options=stack.stack_options(ci_user=True))
    return run_all(ctx, names, workdir, listed, progress)


def _progress_line(result: Result) -> str:
    if result.outcome is None:
        return f"{result.id}: not run"
    return f"{result.id}: exit {result.outcome.exit_code} ({result.outcome.seconds:.2f} s)"
