"""Keep the ECR repository (scan on push, tag mutability, keep-last-N lifecycle) and its images."""

import hashlib
import json

from botocore.exceptions import ClientError

from deploy.changes import Change
from deploy.clients import client
from deploy.errors import InvalidInput, ResourceError, aws_errors
from deploy.names import StackNames

KIND = "ecr-repository"
KEEP_LAST = 10
MANIFEST_TYPE = "application/vnd.docker.distribution.manifest.v2+json"


def _what(names: StackNames) -> str:
    return f"ECR repository {names.repository}"


def _ecr():
    return client("ecr")


def lifecycle_policy(keep_last: int = KEEP_LAST) -> dict:
    """Return the lifecycle policy that expires all but the newest `keep_last` images."""
    if isinstance(keep_last, bool) or not isinstance(keep_last, int) or keep_last < 1:
        raise InvalidInput(f"keep_last must be a whole number >= 1, got {keep_last!r}")
    return {
        "rules": [
            {
                "rulePriority": 1,
                "description": f"keep the newest {keep_last} images",
                "selection": {
                    "tagStatus": "any",
                    "countType": "imageCountMoreThan",
                    "countNumber": keep_last,
                },
                "action": {"type": "expire"},
            }
        ]
    }


def find_repository(names: StackNames) -> dict | None:
    """Return describe_repositories' row for the stack's repository, or None."""
    with aws_errors(_what(names), "ecr"):
        try:
            return _ecr().describe_repositories(repositoryNames=[names.repository])["repositories"][
                0
            ]
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "RepositoryNotFoundException":
                return None
            raise


def repository_uri(names: StackNames) -> str:
    """Return `<account>.dkr.ecr.<region>.amazonaws.com/<repo>` (the repository must exist)."""
    repo = find_repository(names)
    if repo is None:
        raise ResourceError(f"{_what(names)} does not exist; run ecr.ensure first")
    return repo["repositoryUri"]


def _current_lifecycle(names: StackNames) -> dict | None:
    try:
        text = _ecr().get_lifecycle_policy(repositoryName=names.repository)["lifecyclePolicyText"]
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "LifecyclePolicyNotFoundException":
            return None
        raise
    return json.loads(text)


def _converge(names: StackNames, immutable: bool, keep_last: int, apply: bool) -> list[Change]:
    # errata 13: AWS's default is MUTABLE, so a commit-SHA tag can be overwritten unless
    # immutability is switched on; basic scan-on-push covers OS packages only.
    want = {
        "scan_on_push": True,
        "tag_mutability": "IMMUTABLE" if immutable else "MUTABLE",
        "lifecycle": lifecycle_policy(keep_last),
    }
    ecr = _ecr()
    repo = find_repository(names)
    with aws_errors(_what(names), "ecr"):
        if repo is None:
            arn = None
            if apply:
                arn = ecr.create_repository(
                    repositoryName=names.repository,
                    imageScanningConfiguration={"scanOnPush": True},
                    imageTagMutability=want["tag_mutability"],
                    tags=names.tag_list(),
                )["repository"]["repositoryArn"]
                ecr.put_lifecycle_policy(
                    repositoryName=names.repository,
                    lifecyclePolicyText=json.dumps(want["lifecycle"]),
                )
            detail = {k: v for k, v in want.items() if k != "lifecycle"}
            return [Change(KIND, names.repository, "create", detail, arn)]
        arn = repo["repositoryArn"]
        have = {
            "scan_on_push": repo["imageScanningConfiguration"]["scanOnPush"],
            "tag_mutability": repo["imageTagMutability"],
            "lifecycle": _current_lifecycle(names),
        }
        detail = {k: (have[k], v) for k, v in want.items() if have[k] != v}
        tags = {t["Key"]: t["Value"] for t in ecr.list_tags_for_resource(resourceArn=arn)["tags"]}
        missing = {k: v for k, v in names.tags.items() if tags.get(k) != v}
        if missing:
            detail["tags"] = (tags, names.tags)
        if apply:
            _apply(names, arn, detail, want, missing)
    return [Change(KIND, names.repository, "update" if detail else "unchanged", detail, arn)]


def _apply(names: StackNames, arn: str, detail: dict, want: dict, missing: dict) -> None:
    ecr, repo = _ecr(), names.repository
    if "scan_on_push" in detail:
        ecr.put_image_scanning_configuration(
            repositoryName=repo, imageScanningConfiguration={"scanOnPush": True}
        )
    if "tag_mutability" in detail:
        ecr.put_image_tag_mutability(repositoryName=repo, imageTagMutability=want["tag_mutability"])
    if "lifecycle" in detail:
        ecr.put_lifecycle_policy(
            repositoryName=repo, lifecyclePolicyText=json.dumps(want["lifecycle"])
        )
    if missing:
        ecr.tag_resource(resourceArn=arn, tags=[{"Key": k, "Value": v} for k, v in missing.items()])


def plan(names: StackNames, *, immutable: bool = False, keep_last: int = KEEP_LAST) -> list[Change]:
    """Return what ensure would do to the repository."""
    return _converge(names, immutable, keep_last, apply=False)


def ensure(
    names: StackNames, *, immutable: bool = False, keep_last: int = KEEP_LAST
) -> list[Change]:
    """Create or converge the repository: scan on push, mutability, keep-last lifecycle."""
    return _converge(names, immutable, keep_last, apply=True)


def describe(names: StackNames) -> dict:
    """Return the repository's URI, settings, lifecycle rule and image count."""
    repo = find_repository(names)
    if repo is None:
        return {"name": names.repository, "exists": False}
    with aws_errors(_what(names), "ecr"):
        lifecycle = _current_lifecycle(names)
    return {
        "name": names.repository,
        "exists": True,
        "arn": repo["repositoryArn"],
        "uri": repo["repositoryUri"],
        "scan_on_push": repo["imageScanningConfiguration"]["scanOnPush"],
        "tag_mutability": repo["imageTagMutability"],
        "lifecycle": lifecycle,
        "images": len(images(names)),
    }


def delete(names: StackNames) -> list[Change]:
    """Delete the repository and every image in it."""
    repo = find_repository(names)
    if repo is None:
        return [Change(KIND, names.repository, "absent")]
    with aws_errors(_what(names), "ecr"):
        _ecr().delete_repository(repositoryName=names.repository, force=True)
    return [Change(KIND, names.repository, "delete", {}, repo["repositoryArn"])]


def fake_manifest(tag: str, size: int = 4_400_000_000) -> str:
    """Return a Docker v2 image manifest (JSON text) whose digests derive from `tag`."""

    # No registry sits behind moto, so no layers exist: the digests only need to be unique.
    def digest(part: str) -> str:
        return "sha256:" + hashlib.sha256(f"{tag}/{part}".encode()).hexdigest()

    return json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": MANIFEST_TYPE,
            "config": {
                "mediaType": "application/vnd.docker.container.image.v1+json",
                "size": 7023,
                "digest": digest("config"),
            },
            "layers": [
                {
                    "mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
                    "size": size,
                    "digest": digest("layer"),
                }
            ],
        }
    )


def record_image(names: StackNames, tag: str, manifest: str | None = None) -> dict:
    """Store an image manifest under `tag` (what `docker push` does); return its imageId."""
    if not isinstance(tag, str) or not tag or len(tag) > 128 or tag.startswith((".", "-")):
        raise InvalidInput(
            f"an image tag must be 1-128 characters, not starting with . or -, got {tag!r}"
        )
    if find_repository(names) is None:
        raise ResourceError(f"{_what(names)} does not exist; run ecr.ensure first")
    with aws_errors(f"{_what(names)} image {tag}", "ecr"):
        image = _ecr().put_image(
            repositoryName=names.repository,
            imageManifest=manifest or fake_manifest(tag),
            imageManifestMediaType=MANIFEST_TYPE,
            imageTag=tag,
        )["image"]
    return image["imageId"]


def images(names: StackNames) -> list[dict]:
    """Return the repository's images (digest, tags, pushed_at), newest first."""
    rows = []
    with aws_errors(_what(names), "ecr"):
        for page in (
            _ecr().get_paginator("describe_images").paginate(repositoryName=names.repository)
        ):
            for img in page["imageDetails"]:
                rows.append(
                    {
                        "digest": img["imageDigest"],
                        "tags": sorted(img.get("imageTags", [])),
                        "pushed_at": img.get("imagePushedAt"),
                    }
                )
    return sorted(rows, key=lambda r: (r["pushed_at"] is None, r["pushed_at"]), reverse=True)


def image_uri(names: StackNames, tag: str) -> str:
    """Return `<repository uri>:<tag>`, the image reference a task definition uses."""
    return f"{repository_uri(names)}:{tag}"
