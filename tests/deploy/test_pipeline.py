"""The rehearsal's deploy steps on moto, podman and the local registry stubbed: digest pinning."""

import contextlib
import hashlib

import pytest

from deploy import pipeline
from deploy.aws.names import DEFAULT_NAMES as N
from deploy.resources import ecr, ecs, taskdef

SHA = "feedfacecafe0123456789abcdef0123456789ab"


@contextlib.contextmanager
def _registry():
    yield "127.0.0.1:9"  # nothing listens: the stubs below never connect


@pytest.fixture
def stubbed(monkeypatch):
    """Replace podman and the registry: the push "produces" a manifest with a known digest."""
    manifest = ecr.fake_manifest("built-from-this-commit")
    digest = "sha256:" + hashlib.sha256(manifest.encode()).hexdigest()  # the registry's
    monkeypatch.setattr(pipeline, "_podman", lambda step, *args: "")
    monkeypatch.setattr(pipeline, "local_registry", _registry)
    monkeypatch.setattr(pipeline, "registry_manifest", lambda *_: (manifest, digest))
    return digest


def test_the_rehearsal_deploys_the_pushed_digest_not_the_tag(ctx, stubbed):
    steps = pipeline.rehearse(ctx, N, image="localhost/llmops:built", sha=SHA)
    assert steps[-1].mirrors == pipeline.VERIFY
    image = taskdef.container(ecs.task_definition(ctx, N))["image"]
    assert image == f"{ecr.repository_uri(ctx, N)}@{stubbed}"
    # ECR holds that digest under the commit tag (record_image names the manifest's digest)
    assert ecr.image_digest(ctx, N.repository, SHA) == stubbed


def test_a_second_rehearsal_of_the_commit_deploys_what_ecr_already_holds(ctx, stubbed):
    pipeline.rehearse(ctx, N, image="localhost/llmops:built", sha=SHA)
    steps = pipeline.rehearse(ctx, N, image="localhost/llmops:built", sha=SHA, apply=False)
    record = next(s for s in steps if s.name == "Record the image in ECR")
    assert "already in ECR" in record.detail
    assert taskdef.container(ecs.task_definition(ctx, N))["image"].endswith("@" + stubbed)
