"""The ECR repository against moto: settings, convergence, outputs, images, deletion."""

import hashlib

import pytest

from deploy.aws.errors import InvalidInput, PermissionDenied, ResourceError
from deploy.aws.names import DEFAULT_NAMES
from deploy.resources import ecr
from deploy.resources.contract import UNKNOWN
from tests.awscli import aws_cli

N = DEFAULT_NAMES
URI = "123456789012.dkr.ecr.us-east-1.amazonaws.com/llmops"


def actions(result) -> list[str]:
    return [c.action for c in result.changes]


def test_ensure_creates_a_scanned_immutable_repo_with_keep_last_10(ctx):
    assert actions(ecr.plan(ctx, N)) == ["create"]
    out = ecr.ensure(ctx, N).outputs
    [repo] = aws_cli(ctx, "ecr", "describe-repositories", "--repository-names", "llmops")[
        "repositories"
    ]
    assert repo["imageScanningConfiguration"] == {"scanOnPush": True}
    # AWS's default is MUTABLE (errata 13): a pushed commit tag could be overwritten.
    assert repo["imageTagMutability"] == "IMMUTABLE"
    rule = ecr.describe(ctx, N)["lifecycle"]["rules"][0]
    assert rule["selection"]["countNumber"] == 10 and rule["action"] == {"type": "expire"}
    tags = ctx.client("ecr").list_tags_for_resource(resourceArn=repo["repositoryArn"])["tags"]
    assert {"Key": "Project", "Value": "ecs-workbook"} in tags
    assert (out.repository_arn, out.repository_uri) == (repo["repositoryArn"], URI)


def test_plan_computes_the_uri_but_not_the_arn_of_a_missing_repo(ctx):
    planned = ecr.plan(ctx, N).outputs
    assert planned.repository_uri == URI and planned.repository_arn == UNKNOWN
    made = ecr.ensure(ctx, N).outputs
    assert made.repository_uri == planned.repository_uri
    assert made.repository_arn == "arn:aws:ecr:us-east-1:123456789012:repository/llmops"


def test_second_ensure_changes_nothing_and_hands_forward_the_same_outputs(ctx):
    first = ecr.ensure(ctx, N)
    again = ecr.ensure(ctx, N)
    assert actions(again) == ["unchanged"]
    assert again.outputs == first.outputs == ecr.plan(ctx, N).outputs


def test_noop_ensure_describes_the_repository_once(ctx, aws_calls):
    ecr.ensure(ctx, N)
    calls = aws_calls("ecr", "sts")
    ecr.ensure(ctx, N)
    assert sorted(op for op, _ in calls) == [
        "DescribeRepositories", "GetLifecyclePolicy", "ListTagsForResource",
    ]  # fmt: skip
    assert len(set(calls)) == len(calls)


def test_drifted_settings_are_converged(ctx):
    ecr.ensure(ctx, N)
    ctx.client("ecr").put_image_scanning_configuration(
        repositoryName="llmops", imageScanningConfiguration={"scanOnPush": False}
    )
    ctx.client("ecr").delete_lifecycle_policy(repositoryName="llmops")
    [change] = ecr.plan(ctx, N).changes
    assert change.action == "update"
    assert set(change.detail) == {"scan_on_push", "lifecycle"}
    ecr.ensure(ctx, N)
    assert actions(ecr.plan(ctx, N)) == ["unchanged"]
    assert ecr.describe(ctx, N)["scan_on_push"] is True


def test_missing_project_tag_is_put_back(ctx):
    arn = ecr.ensure(ctx, N).outputs.repository_arn
    ctx.client("ecr").untag_resource(resourceArn=arn, tagKeys=["Project"])
    assert set(ecr.plan(ctx, N).changes[0].detail) == {"tags"}
    ecr.ensure(ctx, N)
    tags = ctx.client("ecr").list_tags_for_resource(resourceArn=arn)["tags"]
    assert {"Key": "Project", "Value": "ecs-workbook"} in tags


def test_tags_are_immutable_unless_asked_otherwise(ctx):
    ecr.ensure(ctx, N)
    ecr.record_image(ctx, N, "def456")
    with pytest.raises(ResourceError, match="image def456"):
        ecr.record_image(ctx, N, "def456", ecr.fake_manifest("rebuilt"))
    assert [c.detail for c in ecr.ensure(ctx, N, immutable=False).changes] == [
        {"tag_mutability": ("IMMUTABLE", "MUTABLE")}
    ]
    ecr.record_image(ctx, N, "abc123")
    ecr.record_image(ctx, N, "abc123", ecr.fake_manifest("rebuilt"))  # mutable: tag moves
    assert ecr.describe(ctx, N)["tag_mutability"] == "MUTABLE"
    assert [c.action for c in ecr.ensure(ctx, N).changes] == ["update"]  # back to immutable
    assert ecr.describe(ctx, N)["tag_mutability"] == "IMMUTABLE"


def test_a_recorded_image_has_its_manifests_digest(ctx):
    ecr.ensure(ctx, N)
    manifest = ecr.fake_manifest("sha-1")
    image_id = ecr.record_image(ctx, N, "sha-1", manifest)
    digest = "sha256:" + hashlib.sha256(manifest.encode()).hexdigest()  # what a registry says
    assert image_id["imageDigest"] == digest == ecr.image_digest(ctx, N.repository, "sha-1")


def test_pinned_uri_names_the_digest_ecr_holds_for_the_tag(ctx):
    ecr.ensure(ctx, N)
    first = ecr.record_image(ctx, N, "sha-1")["imageDigest"]
    second = ecr.record_image(ctx, N, "sha-2")["imageDigest"]
    assert first != second
    assert ecr.pinned_uri(ctx, f"{URI}:sha-1") == f"{URI}@{first}"
    assert ecr.pinned_uri(ctx, f"{URI}:sha-2") == f"{URI}@{second}"
    assert ecr.pinned_uri(ctx, f"{URI}@{first}") == f"{URI}@{first}"  # already pinned


@pytest.mark.parametrize(
    "image",
    [
        "registry.example.com/team/app:abc",  # another registry
        "public.ecr.aws/docker/library/python:3.12-slim",  # public ECR
        "210987654321.dkr.ecr.us-east-1.amazonaws.com/llmops:sha-1",  # another account
        "123456789012.dkr.ecr.eu-west-3.amazonaws.com/llmops:sha-1",  # another region
    ],
)
def test_images_outside_this_accounts_ecr_are_left_as_given(ctx, image):
    assert ecr.pinned_uri(ctx, image) == image


def test_a_tag_never_pushed_is_a_clear_error(ctx):
    ecr.ensure(ctx, N)
    ecr.record_image(ctx, N, "sha-1")
    with pytest.raises(ResourceError, match="no image tagged 'c0ffee1': push it first"):
        ecr.pinned_uri(ctx, f"{URI}:c0ffee1")
    ecr.delete(ctx, N)
    with pytest.raises(ResourceError, match="no image tagged 'sha-1'"):
        ecr.image_digest(ctx, N.repository, "sha-1")


def test_record_image_lists_newest_first_with_uri(ctx):
    out = ecr.ensure(ctx, N).outputs
    first = ecr.record_image(ctx, N, "sha-1")
    ecr.record_image(ctx, N, "sha-2")
    assert first["imageTag"] == "sha-1" and first["imageDigest"].startswith("sha256:")
    assert {t for row in ecr.images(ctx, N) for t in row["tags"]} == {"sha-1", "sha-2"}
    assert ecr.image_uri(out.repository_uri, "sha-2") == f"{URI}:sha-2"


def test_image_uri_of_a_planned_repository_is_unknown():
    assert ecr.image_uri(UNKNOWN, "sha-1") == UNKNOWN


@pytest.mark.parametrize("uri", [N, "llmops", f"{URI}:latest", f"{URI}/", ""])
def test_image_uri_refuses_what_is_not_a_repository_uri(uri):
    with pytest.raises(InvalidInput, match="repository_uri must look like"):
        ecr.image_uri(uri, "sha-1")


@pytest.mark.parametrize("tag", ["", "-x", ".x", "x" * 129, None])
def test_bad_tag_is_refused(ctx, tag):
    ecr.ensure(ctx, N)
    with pytest.raises(InvalidInput, match="image tag"):
        ecr.record_image(ctx, N, tag)
    with pytest.raises(InvalidInput, match="image tag"):
        ecr.image_uri(URI, tag)


@pytest.mark.parametrize("keep_last", [0, -1, 2.5, True, "10"])
def test_bad_keep_last_is_refused(ctx, keep_last):
    with pytest.raises(InvalidInput, match="keep_last"):
        ecr.plan(ctx, N, keep_last=keep_last)


def test_non_bool_immutable_is_refused_before_any_write(ctx):
    with pytest.raises(InvalidInput, match="immutable must be True or False"):
        ecr.ensure(ctx, N, immutable="false")
    assert ecr.describe(ctx, N)["exists"] is False


def test_recording_into_a_missing_repository_is_a_clear_error(ctx):
    with pytest.raises(ResourceError, match="llmops does not exist"):
        ecr.record_image(ctx, N, "x")


def test_delete_removes_repo_with_images_then_reports_absent(ctx):
    ecr.ensure(ctx, N)
    ecr.record_image(ctx, N, "sha-1")
    assert [c.action for c in ecr.delete(ctx, N)] == ["delete"]
    assert [c.action for c in ecr.delete(ctx, N)] == ["absent"]
    assert ecr.describe(ctx, N) == {"name": "llmops", "exists": False}


def test_denied_call_names_the_action(aws, ctx):
    aws.enforce_iam(0)
    with pytest.raises(PermissionDenied, match="ecr:DescribeRepositories"):
        ecr.ensure(ctx, N)
