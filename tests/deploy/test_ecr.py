"""The ECR repository against moto: settings, convergence, images, deletion."""

import json
import subprocess
import sys

import pytest

from deploy import ecr
from deploy.clients import client
from deploy.errors import InvalidInput, PermissionDenied, ResourceError
from deploy.names import DEFAULT_NAMES

N = DEFAULT_NAMES


def aws_cli(*args: str) -> dict:
    """Run the AWS CLI v1 (it follows AWS_ENDPOINT_URL) and return its JSON output."""
    out = subprocess.run(
        [sys.executable, "-m", "awscli", *args, "--output", "json"],
        capture_output=True, text=True, check=True, timeout=60,
    )  # fmt: skip
    return json.loads(out.stdout or "{}")


def test_ensure_creates_a_scanned_mutable_repo_with_keep_last_10(aws):
    assert [c.action for c in ecr.plan(N)] == ["create"]
    ecr.ensure(N)
    repo = aws_cli("ecr", "describe-repositories", "--repository-names", "llmops")["repositories"][
        0
    ]
    assert repo["imageScanningConfiguration"] == {"scanOnPush": True}
    assert repo["imageTagMutability"] == "MUTABLE"  # AWS's default (errata 13)
    rule = ecr.describe(N)["lifecycle"]["rules"][0]
    assert rule["selection"]["countNumber"] == 10 and rule["action"] == {"type": "expire"}
    tags = client("ecr").list_tags_for_resource(resourceArn=repo["repositoryArn"])["tags"]
    assert {"Key": "Project", "Value": "ecs-workbook"} in tags
    assert ecr.repository_uri(N) == "123456789012.dkr.ecr.us-east-1.amazonaws.com/llmops"


def test_second_ensure_changes_nothing(aws):
    ecr.ensure(N)
    assert [c.action for c in ecr.ensure(N)] == ["unchanged"]


def test_drifted_settings_are_converged(aws):
    ecr.ensure(N)
    client("ecr").put_image_scanning_configuration(
        repositoryName="llmops", imageScanningConfiguration={"scanOnPush": False}
    )
    client("ecr").delete_lifecycle_policy(repositoryName="llmops")
    [change] = ecr.plan(N)
    assert change.action == "update"
    assert set(change.detail) == {"scan_on_push", "lifecycle"}
    ecr.ensure(N)
    assert [c.action for c in ecr.plan(N)] == ["unchanged"]
    assert ecr.describe(N)["scan_on_push"] is True


def test_immutable_flag_refuses_to_overwrite_a_tag(aws):
    ecr.ensure(N)
    ecr.record_image(N, "abc123")
    ecr.record_image(N, "abc123", ecr.fake_manifest("rebuilt"))  # mutable: tag moves
    assert [c.detail for c in ecr.ensure(N, immutable=True)] == [
        {"tag_mutability": ("MUTABLE", "IMMUTABLE")}
    ]
    with pytest.raises(ResourceError, match="image def456"):
        ecr.record_image(N, "def456")
        ecr.record_image(N, "def456", ecr.fake_manifest("rebuilt"))


def test_record_image_lists_newest_first_with_uri(aws):
    ecr.ensure(N)
    first = ecr.record_image(N, "sha-1")
    ecr.record_image(N, "sha-2")
    assert first["imageTag"] == "sha-1" and first["imageDigest"].startswith("sha256:")
    assert {t for row in ecr.images(N) for t in row["tags"]} == {"sha-1", "sha-2"}
    assert ecr.image_uri(N, "sha-2").endswith("/llmops:sha-2")


@pytest.mark.parametrize("tag", ["", "-x", ".x", "x" * 129])
def test_bad_tag_is_refused(aws, tag):
    ecr.ensure(N)
    with pytest.raises(InvalidInput, match="image tag"):
        ecr.record_image(N, tag)


def test_bad_keep_last_is_refused(aws):
    with pytest.raises(InvalidInput, match="keep_last"):
        ecr.plan(N, keep_last=0)


def test_missing_repository_is_a_clear_error(aws):
    with pytest.raises(ResourceError, match="llmops does not exist"):
        ecr.repository_uri(N)
    with pytest.raises(ResourceError, match="does not exist"):
        ecr.record_image(N, "x")


def test_delete_removes_repo_with_images_then_reports_absent(aws):
    ecr.ensure(N)
    ecr.record_image(N, "sha-1")
    assert [c.action for c in ecr.delete(N)] == ["delete"]
    assert [c.action for c in ecr.delete(N)] == ["absent"]
    assert ecr.describe(N) == {"name": "llmops", "exists": False}


def test_denied_call_names_the_action(aws):
    aws.enforce_iam(0)
    with pytest.raises(PermissionDenied, match="ecr:DescribeRepositories"):
        ecr.ensure(N)
