"""Chapter 15's walk-through: the guide's order, the cost before each step, checkpoints, teardown."""

import dataclasses
import shlex
from pathlib import Path

import pytest
import yaml

from deploy import checkpoints, stack, walkthrough
from deploy.aws import cli
from deploy.aws.errors import ConfirmationRequired
from deploy.aws.names import DEFAULT_NAMES as N
from deploy.guide import GUIDE_DIR, GuideDataError
from deploy.resources import network, secrets

OPTIONS = stack.stack_options(image="0123abc")


@dataclasses.dataclass
class Walked:
    """What one walk on a fresh account saw: before, during and after, captured as it happened."""

    before: dict[str, str]  # each step's checkpoint message, run before that step
    reports: list[walkthrough.StepReport]
    again: list[walkthrough.StepReport]  # a second walk over the applied stack
    cli: dict[str, int | None]  # each checkpoint command's exit status on the applied stack
    teardown: stack.TeardownReport
    after: dict[str, str]  # each checkpoint's message once the stack is torn down


def _failure(ctx, name: str) -> str:
    with pytest.raises(walkthrough.CheckpointFailed) as failed:
        walkthrough.check(ctx, N, name)
    return str(failed.value)


def _cli_status(ctx, tmp: Path) -> dict[str, int | None]:
    """Return each checkpoint command's exit status, run with the AWS CLI against `ctx`."""
    runnable = [
        command
        for name in walkthrough.order()
        for command in walkthrough.commands(name, ctx, N)
        if "<" not in command  # a value the learner copies from an earlier output
    ]
    cli.warm({shlex.split(command)[1] for command in runnable})  # loaded once, forked per command
    env = ctx.environment()
    return {
        command: cli.run_line(command + " --output json", env, tmp, timeout=60).exit_code
        for command in runnable
    }


@pytest.fixture(scope="module")
def walked(moto_backend, tmp_path_factory) -> Walked:
    """Walk the stack once on a fresh account, step by step, and record everything on the way."""
    # Everything is captured here: other modules' tests may empty the account between ours.
    moto_backend.reset()
    ctx = moto_backend.ctx
    before, reports = {}, []
    for name in walkthrough.order():
        before[name] = _failure(ctx, name)
        reports.append(walkthrough.run_step(ctx, N, name, options=OPTIONS))
    again = walkthrough.walk(ctx, N, options=OPTIONS)
    statuses = _cli_status(ctx, tmp_path_factory.mktemp("walk-cli"))
    report = stack.teardown(ctx, N, yes=True)
    after = {name: _failure(ctx, name) for name in walkthrough.order()}
    return Walked(before, reports, again, statuses, report, after)


# ---------------------------------------------------------------- the order


def test_the_walk_covers_every_stack_resource_exactly_once():
    order = walkthrough.order()
    assert len(order) == len(set(order)) == len(stack.steps())
    assert set(order) == set(stack.steps())


def test_every_step_comes_after_what_it_needs():
    order = walkthrough.order()
    for name in order:
        assert all(order.index(dep) < order.index(name) for dep in stack.NEEDS[name]), name


def test_every_step_has_a_checkpoint_check():
    assert set(checkpoints.DESCRIBE) == set(walkthrough.order())


def test_the_order_table_sets_each_step_beside_the_package_and_says_why_it_moved():
    rows = walkthrough.order_rows()
    assert [r["step"] for r in rows] == list(walkthrough.order())
    budget = next(r for r in rows if r["step"] == "budget")
    assert budget["#"] == 1 and budget["stack.steps()"] == len(stack.steps())
    assert "misses the spending" in budget["why here"]
    secret = next(r for r in rows if r["step"] == "secrets")
    assert "exact ARN" in secret["why here"]


# ---------------------------------------------------------------- the cost before each step


def test_the_steps_costs_add_up_to_the_stack_estimate():
    costs = walkthrough.costs(N)
    estimate = stack.estimate(N)
    assert sum(c.hourly for c in costs) == pytest.approx(estimate.hourly_total)
    assert sum(c.monthly for c in costs) == pytest.approx(estimate.monthly_total)
    final = {i.name: i.monthly for i in costs[-1].total.items}
    assert final == pytest.approx({i.name: i.monthly for i in estimate.items})


def test_the_running_total_grows_by_what_each_step_adds():
    running = 0.0
    for priced in walkthrough.costs(N):
        running += priced.monthly
        assert priced.total.monthly_total == pytest.approx(running), priced.step


def test_free_steps_say_why_and_billable_steps_name_what_bills():
    for priced in walkthrough.costs(N):
        wanted = walkthrough.step(priced.step)
        if wanted.free:
            assert not priced.billable and priced.monthly == 0, priced.step
        else:
            assert priced.billable and priced.items, priced.step
    ecs = walkthrough.cost_of(N, "ecs")
    assert {i.name for i in ecs.items} == {"Fargate tasks", "Public IPv4"}
    assert walkthrough.cost_of(N, "iam").free.startswith("IAM")


def test_a_bigger_task_makes_only_the_ecs_step_dearer():
    big = dataclasses.replace(N, cpu="2048", memory="16384")
    small, large = walkthrough.costs(N), walkthrough.costs(big)
    for a, b in zip(small, large, strict=True):
        if a.step == "ecs":
            assert b.monthly > a.monthly
        else:
            assert b.monthly == pytest.approx(a.monthly), a.step


def test_cost_rows_say_no_charge_for_free_steps():
    rows = {r["step"]: r for r in walkthrough.cost_rows(N)}
    assert rows["iam"]["adds $/month"] == "no charge"
    assert rows["alb"]["what bills"] == "ALB, Public IPv4"
    assert rows["autoscaling"]["total $/month"] == f"{stack.estimate(N).monthly_total:.2f}"


# ---------------------------------------------------------------- the walk on moto


def test_each_checkpoint_fails_by_name_before_its_step(walked):
    for name, message in walked.before.items():
        assert f"checkpoint {name!r} failed" in message
        assert f"apply step {name!r} first" in message


def test_each_step_changes_its_resources_and_its_checkpoint_passes(walked):
    assert [r.step for r in walked.reports] == list(walkthrough.order())
    for report in walked.reports:
        assert report.changes and all(c.action == "create" for c in report.changes), report.step
        assert report.check.seen, report.step
    seen = {r.step: " ".join(r.check.seen) for r in walked.reports}
    assert "running 1 of 1" in seen["ecs"] and "llmops:0123abc" in seen["ecs"]
    assert "admits 8080 from llmops-alb-sg only" in seen["network"]


def test_a_second_walk_changes_nothing(walked):
    assert [r.step for r in walked.again] == list(walkthrough.order())
    assert all(not r.changes for r in walked.again)


def test_every_checkpoint_command_runs_with_the_aws_cli(walked):
    failed = [command for command, status in walked.cli.items() if status != 0]
    assert walked.cli and not failed, failed


def test_teardown_deletes_everything_and_leaves_no_leftovers(walked):
    assert walked.teardown.clean, walked.teardown.leftovers
    deleted = {c.kind for c in walked.teardown.changes if c.action == "delete"}
    assert {"ecs-service", "load-balancer", "secret", "budget", "log-group"} <= deleted
    assert all("failed" in message for message in walked.after.values())


def test_report_lines_tell_the_step_story(walked, ctx):
    ecs = next(r for r in walked.reports if r.step == "ecs")
    text = "\n".join(walkthrough.lines(ecs, ctx, N))
    assert "step 9/10 ecs" in text and "running total" in text and "checked (moto)" in text
    assert "aws ecs describe-services --cluster llmopscluster" in text
    assert "CannotPullContainerError" in text
    iam = next(r for r in walked.reports if r.step == "iam")
    assert "cost: no charge: IAM" in "\n".join(walkthrough.lines(iam, ctx, N))


# ---------------------------------------------------------------- checks that find what is wrong


def test_a_checkpoint_names_a_wrong_setting_not_only_a_missing_resource(ctx):
    walkthrough.run_step(ctx, N, "logs")
    ctx.client("logs").put_retention_policy(logGroupName=N.log_group, retentionInDays=1)
    with pytest.raises(
        walkthrough.CheckpointFailed,
        match="log-group /ecs/llmopstdlive: retention_days is 1, not 14",
    ):
        walkthrough.check(ctx, N, "logs")


def test_a_checkpoint_names_each_field_its_plan_would_change(ctx):
    for name in ("ecr", "network"):
        walkthrough.run_step(ctx, N, name)
    ctx.client("ecr").put_image_tag_mutability(
        repositoryName=N.repository, imageTagMutability="MUTABLE"
    )
    with pytest.raises(walkthrough.CheckpointFailed, match="tag_mutability is 'MUTABLE', not"):
        walkthrough.check(ctx, N, "ecr")
    group = network.describe(ctx, N)["task_security_group"]["id"]
    ctx.client("ec2").authorize_security_group_ingress(
        GroupId=group,
        IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": 8080, "ToPort": 8080,
             "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}
        ],
    )  # fmt: skip
    with pytest.raises(walkthrough.CheckpointFailed) as failed:
        walkthrough.check(ctx, N, "network")
    assert f"{N.task_security_group}: revoke" in str(failed.value)
    assert "0.0.0.0/0" in str(failed.value)


def test_on_real_aws_each_step_needs_a_yes_and_shows_its_price_first(ctx):
    asked = []
    as_aws = dataclasses.replace(ctx, kind="aws")  # the gate's path; still the emulator
    with pytest.raises(ConfirmationRequired, match=r"step 'secrets' not confirmed: it adds \$"):
        walkthrough.run_step(as_aws, N, "secrets", confirm=lambda c: asked.append(c) or False)
    assert [c.step for c in asked] == ["secrets"] and asked[0].monthly > 0
    assert not secrets.describe(ctx, N)["exists"]  # nothing was created
    report = walkthrough.run_step(as_aws, N, "secrets", confirm=lambda c: True)
    assert report.check.seen


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "call",
    [
        lambda ctx: walkthrough.step("vpc"),
        lambda ctx: walkthrough.cost_of(N, "vpc"),
        lambda ctx: walkthrough.check(ctx, N, "vpc"),
        lambda ctx: walkthrough.run_step(ctx, N, "vpc"),
        lambda ctx: walkthrough.commands("vpc", ctx, N),
    ],
)
def test_an_unknown_step_is_an_error_naming_the_steps(call, ctx):
    with pytest.raises(
        walkthrough.WalkthroughError, match=r"unknown walk-through step 'vpc'.*secrets"
    ):
        call(ctx)


def _broken(tmp_path: Path, edit) -> str:
    data = yaml.safe_load((GUIDE_DIR / "walkthrough.yaml").read_text())
    edit(data)
    (tmp_path / "walkthrough.yaml").write_text(yaml.safe_dump(data))
    return str(tmp_path)


def _swap_secrets_and_iam(data):
    steps = data["steps"]
    i, j = [n for n, s in enumerate(steps) if s["id"] in ("secrets", "iam")]
    steps[i], steps[j] = steps[j], steps[i]


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (_swap_secrets_and_iam, "step 'iam' comes before ['secrets'], which it needs"),
        (lambda d: d["steps"].pop(), "missing ['autoscaling']"),
        (lambda d: d["steps"].append(dict(d["steps"][0])), "['budget'] appear more than once"),
        (lambda d: d["steps"][0].update(adds={"secrets": 1}), "exactly one of adds"),
        (lambda d: d["steps"][1].update(adds={"secret": 1}), "unknown cost input(s) ['secret']"),
        (lambda d: d["steps"][1]["checkpoint"]["cli"].append("aws x ${clutser}"), "['clutser']"),
        (lambda d: d["steps"][1]["checkpoint"].pop("failure"), "failure: Field required"),
        (lambda d: d["steps"][1]["checkpoint"].update(success="costs $5"), "write ${name}, and $$"),
    ],
)
def test_a_bad_walkthrough_file_names_the_problem(tmp_path, edit, message):
    with pytest.raises(GuideDataError, match=r"walkthrough\.yaml") as bad:
        walkthrough.guide(_broken(tmp_path, edit))
    assert message in str(bad.value)
