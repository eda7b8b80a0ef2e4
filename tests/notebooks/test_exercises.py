"""Chapter exercises check themselves: typical wrong answers get named, solutions pass in CI."""

import copy
import json

import nbformat
import pytest

from deploy.aws.names import DEFAULT_NAMES as names
from deploy.models import policies
from deploy.resources import ecr
from workbook import compare, exercises, notebooks
from workbook.solutions import ch03 as solved

ACCOUNT, REGION = "123456789012", "us-east-1"
BUCKET = f"arn:aws:s3:::{names.bucket(ACCOUNT, REGION)}"
TABLE = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{names.history_table}"
CHAPTER_03 = notebooks.select(["03"])[0]


def _check(exercise_id, answer, **context):
    """Evaluate one answer of chapter 03 with the given context."""
    exercise = exercises.exercises_of("03")[exercise_id]
    return exercises.evaluate(exercise, answer, {"names": names, **context})


def _policy(**changes):
    """Return the solved task-role policy with some statements' fields replaced."""
    doc = copy.deepcopy(solved.task_policy(BUCKET, TABLE))
    for index, fields in changes.items():
        doc["Statement"][int(index[1:])].update(fields)
    return doc


# ---- blanks ---------------------------------------------------------------------------------


def test_blanks_at_any_depth_and_in_functions_count_as_not_done():
    """`...` or TODO anywhere (a dict value, a keyword in a function) is still a blank."""

    def unfinished(client):
        client.create_role(RoleName=...)

    def finished(client):
        client.create_role(RoleName="x")

    assert exercises.is_blank({"Statement": [{"Action": ...}]})
    assert exercises.is_blank("TODO: the ARN")

    def unpacked():
        first, second = ..., ...  # one constant tuple in the compiled code
        return first, second

    assert exercises.is_blank(unfinished)
    assert exercises.is_blank(unpacked)
    assert not exercises.is_blank(finished)
    assert not exercises.is_blank(solved.task_policy(BUCKET, TABLE))


def test_a_todo_blank_is_named_as_todo():
    """The "not done yet" hint names the blank the learner left: TODO, not `...`."""
    exercise = exercises.exercises_of("03")["03-1"]
    outcome = exercises.evaluate(exercise, {"Resource": "TODO: the ARN"}, {})
    assert outcome.status == "not done" and "replace each TODO" in str(outcome)


@pytest.mark.parametrize("exercise_id", list(exercises.exercises_of("03")))
def test_every_blank_check_says_not_done_yet_without_raising(exercise_id):
    """A chapter as shipped stays green: each blank prints 'not done yet'."""
    outcome = _check(exercise_id, ...)
    assert outcome.status == "not done"
    assert f"{exercise_id} not done yet" in str(outcome)


# ---- 03-1: the task role's policy -------------------------------------------------------------


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (
            _policy(s0={"Resource": [f"{BUCKET}/*"]}),
            "s3:ListBucket acts on the bucket itself",
        ),
        (_policy(s1={"Resource": [BUCKET]}), "acts on objects"),
        (_policy(s2={"Resource": "*"}), 'on Resource "*" reaches every such resource'),
        (_policy(s1={"Action": ["s3:GetObject", "s3:PutObject"]}), "lacks s3:DeleteObject"),
        (
            {
                **_policy(),
                "Statement": [
                    *_policy()["Statement"],
                    {"Effect": "Allow", "Action": "ecr:*", "Resource": "*"},
                ],
            },
            "grants ecr:*, which the reference does not: pulling the image is the execution role",
        ),
        (
            _policy(s0={"Action": ["s3:ListBucket", "secretsmanager:GetSecretValue"]}),
            "ECS injects the secret through the execution role",
        ),
    ],
    ids=["listbucket-on-objects", "objects-on-bucket", "star", "missing", "ecr", "secret"],
)
def test_task_policy_check_names_the_typical_mistake(answer, expected):
    """Each typical wrong task-role policy gets its own diagnosis."""
    outcome = _check("03-1", answer, bucket_arn=BUCKET, table_arn=TABLE)
    assert outcome.status == "to fix"
    assert any(expected in m for m in outcome.messages), outcome.messages


def test_task_policy_solution_passes():
    """The reference's own document passes 03-1."""
    assert _check(
        "03-1", solved.task_policy(BUCKET, TABLE), bucket_arn=BUCKET, table_arn=TABLE
    ).passed


# ---- 03-3: the secret's ARN pattern ------------------------------------------------------------


@pytest.mark.parametrize(
    ("suffix", "expected"),
    [
        ("llmops_prod", "no suffix: Secrets Manager appends"),
        ("llmops_prod-*", "'*' matches any number of characters"),
        ("llmops_prod-??????", None),
    ],
)
def test_secret_pattern_check(ctx, suffix, expected):
    """A pattern without the suffix matches nothing; '-*' matches other secrets too."""
    answer = f"arn:aws:secretsmanager:{ctx.region}:{ctx.account_id}:secret:{suffix}"
    outcome = _check("03-3", answer, ctx=ctx)
    if expected is None:
        assert outcome.passed, outcome
    else:
        assert any(expected in m for m in outcome.messages), outcome.messages


# ---- the learner's resources against the reference (moto) --------------------------------------


def test_task_role_with_wrong_principal_and_execution_policy_is_named(ctx):
    """A task role trusting ecs.amazonaws.com and holding the execution policy: both named."""

    def create_task_role(client, trust_policy, app_policy):
        trust = copy.deepcopy(trust_policy)
        trust["Statement"][0]["Principal"] = {"Service": "ecs.amazonaws.com"}
        client.create_role(RoleName="llmops-task-role", AssumeRolePolicyDocument=json.dumps(trust))
        client.attach_role_policy(
            RoleName="llmops-task-role", PolicyArn=policies.EXECUTION_MANAGED_POLICY
        )

    trust = policies.ecs_tasks_trust(ctx.account_id, ctx.region)
    context = {"ctx": ctx, "client": ctx.client("iam"), "trust_policy": trust, "app_policy": {}}
    outcome = _check("03-2", create_task_role, **context)
    text = "\n".join(outcome.messages)
    assert outcome.status == "to fix"
    assert "trust policy principal is ecs.amazonaws.com" in text
    assert "unable to assume the role" in text
    assert "AmazonECSTaskExecutionRolePolicy is attached" in text
    assert "inline policy llmops-task-role-app is missing" in text
    assert "tags are {}" in text


def test_execution_role_without_managed_policy_is_named(ctx):
    """The reference comparison says the execution role lacks the managed policy, and why."""
    trust = policies.ecs_tasks_trust(ctx.account_id, ctx.region)
    ctx.client("iam").create_role(
        RoleName=names.execution_role,
        AssumeRolePolicyDocument=json.dumps(trust),
        Tags=names.tag_list(),
    )
    found = compare.against_reference(ctx, names, {"iam": [names.execution_role]})
    text = str(found)
    assert not found.matches
    assert "managed policy AmazonECSTaskExecutionRolePolicy is not attached" in text
    assert "CannotPullContainerError" in text


def test_ci_role_trust_without_a_sub_condition_is_named_as_githubs_not_ecs(ctx):
    """The comparison judges the CI role's trust as GitHub's OIDC trust, not as an ECS role's."""
    from deploy import stack

    stack.apply(ctx, names, target="iam")
    assert compare.against_reference(ctx, names, {"iam": [names.ci_role]}).matches
    provider = f"arn:aws:iam::{ctx.account_id}:oidc-provider/{policies.GITHUB_OIDC_HOST}"
    open_to_all = policies.github_oidc_trust(provider, names.github_repo)
    del open_to_all["Statement"][0]["Condition"]["StringEquals"][f"{policies.GITHUB_OIDC_HOST}:sub"]
    ctx.client("iam").update_assume_role_policy(
        RoleName=names.ci_role, PolicyDocument=json.dumps(open_to_all)
    )
    text = str(compare.against_reference(ctx, names, {"iam": [names.ci_role]}))
    assert "any repository, anyone's, can assume this role" in text
    assert policies.ECS_TASKS not in text  # not judged as a task role


def test_a_secret_that_lost_a_key_the_task_reads_is_named(ctx):
    """The guide's partial update-secret drops LANGCHAIN_API_KEY: the comparison says what breaks."""
    from deploy.resources import secrets

    secrets.ensure(ctx, names)
    sm = ctx.client("secretsmanager")
    values = json.loads(sm.get_secret_value(SecretId=names.secret)["SecretString"])
    del values["LANGCHAIN_API_KEY"]
    sm.update_secret(SecretId=names.secret, SecretString=json.dumps(values))
    text = str(compare.against_reference(ctx, names, {"secrets": [names.secret]}))
    assert "lacks LANGCHAIN_API_KEY" in text and "ResourceInitializationError" in text


def test_mutable_repository_without_scan_is_named(ctx):
    """create_repository with AWS's defaults: MUTABLE, no scan, no lifecycle, no tag."""

    def create_repository(client, lifecycle):
        client.create_repository(repositoryName="llmops")

    context = {"ctx": ctx, "client": ctx.client("ecr"), "lifecycle": ecr.lifecycle_policy()}
    outcome = _check("03-4", create_repository, **context)
    text = "\n".join(outcome.messages)
    assert "repository is MUTABLE (AWS's default)" in text
    assert "scan on push is off" in text
    assert "no lifecycle policy" in text


def test_a_function_that_raises_gets_its_error_as_feedback(ctx):
    """The learner's exception is reported, not raised."""

    def create_repository(client, lifecycle):
        client.create_repository(repositoryName="Not Valid!")

    context = {"ctx": ctx, "client": ctx.client("ecr"), "lifecycle": {}}
    outcome = _check("03-4", create_repository, **context)
    assert outcome.status == "to fix"
    assert outcome.messages[0].startswith("your function raised")


def test_solutions_pass_twice_and_match_the_reference(ctx, capsys):
    """With solutions injected every check passes, a second run too, and plan shows 0 changes."""
    trust = policies.ecs_tasks_trust(ctx.account_id, ctx.region)
    work = exercises.chapter("03", solutions=True, ctx=ctx, names=names)
    for _ in range(2):  # each attempt replaces the earlier one: re-runs are safe
        policy = work.check("03-1", ..., bucket_arn=BUCKET, table_arn=TABLE)
        work.check("03-2", ..., client=ctx.client("iam"), trust_policy=trust, app_policy=policy)
        work.check("03-3", ...)
        work.check("03-4", ..., client=ctx.client("ecr"), lifecycle=ecr.lifecycle_policy())
    assert "4 passed" in work.summary()
    assert capsys.readouterr().out.count("passed") == 8
    found = compare.against_reference(ctx, names, {"iam": [names.task_role], "ecr": ["llmops"]})
    assert str(found).startswith("0 changes")


def test_a_failing_solution_stops_the_ci_run(ctx, monkeypatch):
    """If a stored solution stops passing, the solutions run fails loudly."""
    monkeypatch.setitem(solved.SOLUTIONS, "03-3", lambda ctx, names: "arn:aws:s3:::wrong")
    work = exercises.chapter("03", solutions=True, ctx=ctx, names=names)
    with pytest.raises(exercises.ExerciseError, match="stored solution of 03-3 does not pass"):
        work.check("03-3", ...)


def test_unknown_exercise_and_bad_id_are_refused():
    """A typo in an exercise id names the exercises that exist."""
    work = exercises.chapter("03", names=names)
    with pytest.raises(exercises.ExerciseError, match="03-1, 03-2, 03-3, 03-4"):
        work.check("03-9", "x")
    with pytest.raises(exercises.ExerciseError, match="looks like '03-2'"):
        exercises.show_solution("3.2")


def test_show_solution_prints_the_stored_solution(capsys):
    """show_solution prints the solution's source on request."""
    exercises.show_solution("03-4")
    assert 'imageTagMutability="IMMUTABLE"' in capsys.readouterr().out


def test_clean_copies_keep_prose_and_exercises_but_no_outputs_or_solutions(tmp_path):
    """`workbook notebooks clean`: no outputs, no solution text, no solution cell or call."""
    source = nbformat.read(CHAPTER_03, as_version=4)
    source.cells[4].outputs = [nbformat.v4.new_output("stream", text="some output")]
    source.cells.append(nbformat.v4.new_code_cell("print('the answer')", id="sol"))
    source.cells[-1].metadata["tags"] = ["solution"]
    chapters = tmp_path / "chapters"
    chapters.mkdir()
    nbformat.write(source, chapters / CHAPTER_03.name)
    written = notebooks.clean(["03"], tmp_path / "clean", chapters)
    text = written[0].read_text(encoding="utf-8")
    cleaned = nbformat.read(written[0], as_version=4)
    assert all(not c.get("outputs") for c in cleaned.cells if c.cell_type == "code")
    assert not any("show_solution(" in c.source for c in cleaned.cells if c.cell_type == "code")
    assert "??????" not in text and 'RoleName="llmops-task-role"' not in text
    assert "EXERCISE 03-1" in text and "Exercise 03-4" in text  # questions kept
    cleaned_alone = notebooks.clean_notebook(source)
    assert all("the answer" not in c.source for c in cleaned_alone.cells)
    assert not cleaned_alone.cells[4].outputs


def test_clean_refuses_to_overwrite_the_chapters():
    """Writing clean copies over the chapters themselves is refused."""
    with pytest.raises(notebooks.NotebookRunError, match="overwrite the chapters"):
        notebooks.clean(["03"], notebooks.NOTEBOOK_DIR)


def test_clean_command_writes_the_self_test_copies(tmp_path):
    """`workbook notebooks clean 03 --out DIR` writes chapter 03's clean copy there."""
    from typer.testing import CliRunner

    from workbook.cli import app

    run = CliRunner().invoke(app, ["notebooks", "clean", "03", "--out", str(tmp_path)])
    assert run.exit_code == 0, run.output
    assert "wrote 1 self-test chapter(s)" in run.output
    assert (tmp_path / CHAPTER_03.name).exists()


def test_bad_inputs_are_refused_with_the_reason(ctx):
    """An unknown stack module and a non-boolean SOLUTIONS are named."""
    with pytest.raises(ValueError, match="unknown stack module"):
        compare.against_reference(ctx, names, {"iamm": ["x"]})
    with pytest.raises(exercises.ExerciseError, match="solutions must be True or False"):
        exercises.chapter("03", solutions="yes")
