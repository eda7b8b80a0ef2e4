"""`make rehearse`: aws.yml's steps run for real with podman, a local registry and moto."""

import json
import shutil
import socket
import subprocess
import urllib.request

import pytest
from rich.console import Console

from deploy import pipeline, present, release, stack
from deploy.aws.names import DEFAULT_NAMES as N
from deploy.podman import podman
from deploy.resources import ecs

SHA = "feedfacecafe0123456789abcdef0123456789ab"


def test_rehearsal_refuses_to_run_without_the_stack(ctx):
    # The workflow deploys into an existing service; so does the rehearsal without apply.
    with pytest.raises(pipeline.PipelineError, match="workbook stack apply"):
        pipeline.rehearse(ctx, N, image="unused", sha=SHA, apply=False)
    assert ctx.client("ecs").list_clusters()["clusterArns"] == []


def test_a_failed_podman_step_names_the_step_and_podman_s_complaint(monkeypatch):
    failed = subprocess.CompletedProcess(["podman", "push"], 125, "", "Error: connection refused")
    monkeypatch.setattr(pipeline, "podman", lambda *args, **kw: failed)
    with pytest.raises(pipeline.PipelineError, match=r"^Push to the registry: podman push .*"):
        pipeline._podman(pipeline.PUSH, "push", "localhost/llmops:x")
    with pytest.raises(pipeline.PipelineError, match="connection refused"):
        pipeline._podman(pipeline.PUSH, "push", "localhost/llmops:x")


@pytest.mark.container
def test_local_registry_answers_then_goes_away():
    if shutil.which("docker-registry") is None:
        pytest.skip("docker-registry is not installed (make system-deps)")
    with (
        pipeline.local_registry() as address,
        urllib.request.urlopen(f"http://{address}/v2/", timeout=5) as resp,
    ):
        assert resp.status == 200
    host, port = address.split(":")
    with socket.socket() as s:
        assert s.connect_ex((host, int(port))) != 0, "the registry is still listening"


@pytest.fixture(scope="module")
def rehearsed(moto_backend, image):
    """Apply the stack on an emptied moto, then rehearse the deploy once for the module."""
    if shutil.which("docker-registry") is None:
        pytest.skip("docker-registry is not installed (make system-deps)")
    moto_backend.reset()
    ctx = moto_backend.ctx
    outputs = stack.apply(ctx, N, target="ecs").outputs
    before = outputs["ecs"].task_definition_arn
    try:
        yield before, outputs, pipeline.rehearse(ctx, N, image=image, sha=SHA)
    finally:
        podman("rmi", f"localhost/{N.repository}:{SHA}", check=False)


@pytest.mark.container
@pytest.mark.slow
def test_rehearsal_deploys_the_commit_image_to_the_service(moto_backend, rehearsed, image):
    ctx = moto_backend.ctx
    before, outputs, _ = rehearsed
    svc = ecs.find_service(ctx, N)
    assert svc["taskDefinition"] != before
    container = ecs.task_definition(ctx, N)["containerDefinitions"][0]
    # ECR holds the manifest the registry got from podman: its config is the built image.
    got = ctx.client("ecr").batch_get_image(
        repositoryName=N.repository, imageIds=[{"imageTag": SHA}]
    )["images"][0]
    # The revision names that one build by digest, as aws.yml's render step does.
    assert container["image"] == f"{outputs['ecr'].repository_uri}@{got['imageId']['imageDigest']}"
    assert container["name"] == N.container
    image_id = json.loads(podman("image", "inspect", image).stdout)[0]["Id"]
    assert json.loads(got["imageManifest"])["config"]["digest"] == f"sha256:{image_id}"


@pytest.mark.container
@pytest.mark.slow
def test_rehearsal_steps_follow_the_workflow_and_print_a_timeline(rehearsed):
    *_, steps = rehearsed
    order = [s.mirrors for s in steps]
    assert order[0] == pipeline.CHECKOUT and order[-1] == pipeline.VERIFY
    assert order.index(pipeline.BUILD_PUSH) < order.index(pipeline.RENDER)
    assert order.index(pipeline.RENDER) < order.index(pipeline.DEPLOY)
    assert all(s.seconds >= 0 for s in steps)
    console = Console(record=True, width=200)
    console.print(present.timeline(steps))
    text = console.export_text()
    assert all(s.name in text for s in steps)
    assert f"{len(steps)} steps" in text


@pytest.mark.container
@pytest.mark.slow
def test_rehearsing_the_same_commit_twice_keeps_the_first_image(moto_backend, rehearsed, image):
    # Runs after the tests that read the first rehearsal's result (module-scoped fixture).
    # ECR refuses a second PutImage of the same tag and manifest; the pipeline carries on.
    ctx = moto_backend.ctx
    steps = pipeline.rehearse(ctx, N, image=image, sha=SHA)
    record = next(s for s in steps if s.name == "Record the image in ECR")
    assert "already in ECR" in record.detail
    assert ecs.find_service(ctx, N)["taskDefinition"].endswith(":3")


@pytest.mark.container
@pytest.mark.slow
def test_the_verify_step_catches_a_rollback_after_the_rehearsal(moto_backend, rehearsed):
    # Last in the module: it moves the service back to the revision before the rehearsal.
    ctx = moto_backend.ctx
    before, *_ = rehearsed
    new = ecs.find_service(ctx, N)["taskDefinition"]
    # What the circuit breaker does on AWS: the service goes back to the last good revision.
    release.rollback(ctx, N, int(before.rsplit(":", 1)[1]))
    svc = ecs.find_service(ctx, N)
    with pytest.raises(pipeline.PipelineError, match="rolled back"):
        pipeline.check_rollout(svc, new, emulated=True)
