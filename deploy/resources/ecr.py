"""Keep the ECR repository (scan on push, immutable tags, keep-last-N lifecycle) and its images.

Tags are immutable by default: a commit-SHA tag then always names the same build. A release
still pins the digest (`pinned_uri`), so a task definition names exactly the image that was
pushed, whatever happens to the tag later.
"""

from __future__ import annotations

import hashlib
import json
import re

from botocore.exceptions import ClientError

from deploy.aws.errors import InvalidInput, ResourceError, aws_errors
from deploy.aws.names import StackNames
from deploy.resources.contract import UNKNOWN, Change, Result, known, missing_tags, tag_map
from deploy.resources.outputs import EcrOutputs
from service.aws import AwsContext

KIND = "ecr-repository"
KEEP_LAST = 10
MANIFEST_TYPE = "application/vnd.docker.distribution.manifest.v2+json"
# <account>.dkr.ecr.<region>.amazonaws.com/<name>[:<tag>] (names may hold / . _ -)
_ECR_URI = re.compile(
    r"^(?P<registry>\d{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com(?:\.cn)?)/"
    r"(?P<name>[a-z0-9][a-z0-9._/-]*?)(?::(?P<tag>[\w][\w.-]{0,127}))?$"
)


def _what(names: StackNames) -> str:
    return f"ECR repository {names.repository}"


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


def find_repository(ctx: AwsContext, names: StackNames) -> dict | None:
    """Return describe_repositories' row for the stack's repository, or None."""
    with aws_errors(_what(names), "ecr"):
        try:
            rows = ctx.client("ecr").describe_repositories(repositoryNames=[names.repository])
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "RepositoryNotFoundException":
                return None
            raise
    return rows["repositories"][0]


def repository_uri(ctx: AwsContext, names: StackNames) -> str:
    """Return what ECR calls the repository: known before it exists (account, region, name)."""
    return f"{ctx.account_id}.dkr.ecr.{ctx.region}.amazonaws.com/{names.repository}"


def _current_lifecycle(ctx: AwsContext, names: StackNames) -> dict | None:
    try:
        text = ctx.client("ecr").get_lifecycle_policy(repositoryName=names.repository)[
            "lifecyclePolicyText"
        ]
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "LifecyclePolicyNotFoundException":
            return None
        raise
    return json.loads(text)


def _converge(
    ctx: AwsContext, names: StackNames, immutable: bool, keep_last: int, apply: bool
) -> Result:
    if not isinstance(immutable, bool):
        raise InvalidInput(f"immutable must be True or False, got {immutable!r}")
    # errata 13: AWS's default is MUTABLE, so a commit-SHA tag can be overwritten unless
    # immutability is switched on; basic scan-on-push covers OS packages only.
    want = {
        "scan_on_push": True,
        "tag_mutability": "IMMUTABLE" if immutable else "MUTABLE",
        "lifecycle": lifecycle_policy(keep_last),
    }
    ecr = ctx.client("ecr")
    repo = find_repository(ctx, names)
    with aws_errors(_what(names), "ecr"):
        if repo is None:
            arn, uri = UNKNOWN, repository_uri(ctx, names)
            if apply:
                made = ecr.create_repository(
                    repositoryName=names.repository,
                    imageScanningConfiguration={"scanOnPush": True},
                    imageTagMutability=want["tag_mutability"],
                    tags=names.tag_list(),
                )["repository"]
                arn, uri = made["repositoryArn"], made["repositoryUri"]
                ecr.put_lifecycle_policy(
                    repositoryName=names.repository,
                    lifecyclePolicyText=json.dumps(want["lifecycle"]),
                )
            detail = {k: v for k, v in want.items() if k != "lifecycle"}
            change = Change(KIND, names.repository, "create", detail, arn if known(arn) else None)
            return Result([change], EcrOutputs(arn, uri))
        arn = repo["repositoryArn"]
        have = {
            "scan_on_push": repo["imageScanningConfiguration"]["scanOnPush"],
            "tag_mutability": repo["imageTagMutability"],
            "lifecycle": _current_lifecycle(ctx, names),
        }
        detail = {k: (have[k], v) for k, v in want.items() if have[k] != v}
        tags = tag_map(ecr.list_tags_for_resource(resourceArn=arn)["tags"])
        absent = missing_tags(tags, names.tags)
        if absent:
            detail["tags"] = (tags, names.tags)
        if apply:
            _apply(ctx, names, arn, detail, want, absent)
    action = "update" if detail else "unchanged"
    change = Change(KIND, names.repository, action, detail, arn)
    return Result([change], EcrOutputs(arn, repo["repositoryUri"]))


def _apply(
    ctx: AwsContext, names: StackNames, arn: str, detail: dict, want: dict, absent: dict
) -> None:
    ecr, repo = ctx.client("ecr"), names.repository
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
    if absent:
        ecr.tag_resource(resourceArn=arn, tags=[{"Key": k, "Value": v} for k, v in absent.items()])


def plan(
    ctx: AwsContext, names: StackNames, *, immutable: bool = True, keep_last: int = KEEP_LAST
) -> Result:
    """Return what ensure would do to the repository, and its ARN and URI as far as known."""
    return _converge(ctx, names, immutable, keep_last, apply=False)


def ensure(
    ctx: AwsContext, names: StackNames, *, immutable: bool = True, keep_last: int = KEEP_LAST
) -> Result:
    """Create or converge the repository: scan on push, immutable tags, keep-last lifecycle."""
    return _converge(ctx, names, immutable, keep_last, apply=True)


def describe(ctx: AwsContext, names: StackNames) -> dict:
    """Return the repository's URI, settings, lifecycle rule and image count."""
    repo = find_repository(ctx, names)
    if repo is None:
        return {"name": names.repository, "exists": False}
    with aws_errors(_what(names), "ecr"):
        lifecycle = _current_lifecycle(ctx, names)
    return {
        "name": names.repository,
        "exists": True,
        "arn": repo["repositoryArn"],
        "uri": repo["repositoryUri"],
        "scan_on_push": repo["imageScanningConfiguration"]["scanOnPush"],
        "tag_mutability": repo["imageTagMutability"],
        "lifecycle": lifecycle,
        "images": len(images(ctx, names)),
    }


def delete(ctx: AwsContext, names: StackNames) -> list[Change]:
    """Delete the repository and every image in it."""
    repo = find_repository(ctx, names)
    if repo is None:
        return [Change(KIND, names.repository, "absent")]
    with aws_errors(_what(names), "ecr"):
        ctx.client("ecr").delete_repository(repositoryName=names.repository, force=True)
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


def check_tag(tag: str) -> str:
    """Return `tag` if ECR accepts it as an image tag, else raise InvalidInput saying why."""
    if not isinstance(tag, str) or not tag or len(tag) > 128 or tag.startswith((".", "-")):
        raise InvalidInput(
            f"an image tag must be 1-128 characters, not starting with . or -, got {tag!r}"
        )
    return tag


def manifest_digest(manifest: str) -> str:
    """Return a manifest's digest: sha256 of its bytes, as a registry and ECR compute it."""
    return "sha256:" + hashlib.sha256(manifest.encode("utf-8")).hexdigest()


def record_image(ctx: AwsContext, names: StackNames, tag: str, manifest: str | None = None) -> dict:
    """Store an image manifest under `tag` (what `docker push` does); return its imageId."""
    check_tag(tag)
    if find_repository(ctx, names) is None:
        raise ResourceError(f"{_what(names)} does not exist; run ecr.ensure first")
    manifest = manifest or fake_manifest(tag)
    with aws_errors(f"{_what(names)} image {tag}", "ecr"):
        # Naming the digest makes moto store the one ECR computes (it would otherwise derive
        # one from the layers); AWS checks that it matches the manifest.
        image = ctx.client("ecr").put_image(
            repositoryName=names.repository,
            imageManifest=manifest,
            imageManifestMediaType=MANIFEST_TYPE,
            imageTag=tag,
            imageDigest=manifest_digest(manifest),
        )["image"]
    return image["imageId"]


def images(ctx: AwsContext, names: StackNames) -> list[dict]:
    """Return the repository's images (digest, tags, pushed_at), newest first."""
    rows = []
    pages = ctx.client("ecr").get_paginator("describe_images")
    with aws_errors(_what(names), "ecr"):
        for page in pages.paginate(repositoryName=names.repository):
            for img in page["imageDetails"]:
                rows.append(
                    {
                        "digest": img["imageDigest"],
                        "tags": sorted(img.get("imageTags", [])),
                        "pushed_at": img.get("imagePushedAt"),
                    }
                )
    return sorted(rows, key=lambda r: (r["pushed_at"] is None, r["pushed_at"]), reverse=True)


def image_uri(repository_uri: str, tag: str) -> str:
    """Return `<repository uri>:<tag>`, the image a task definition runs (UNKNOWN in a plan)."""
    check_tag(tag)
    if not known(repository_uri):
        return UNKNOWN
    name = repository_uri.rsplit("/", 1)[-1] if isinstance(repository_uri, str) else ""
    if not name or "/" not in repository_uri or ":" in name or "@" in name:
        raise InvalidInput(
            "repository_uri must look like <account>.dkr.ecr.<region>.amazonaws.com/<name>, "
            f"got {repository_uri!r}"
        )
    return f"{repository_uri}:{tag}"


def image_digest(ctx: AwsContext, repository: str, tag: str) -> str:
    """Return the digest ECR holds for `repository:tag`; a clear error when the tag is absent."""
    check_tag(tag)
    with aws_errors(f"ECR repository {repository} image {tag}", "ecr"):
        try:
            found = ctx.client("ecr").describe_images(
                repositoryName=repository, imageIds=[{"imageTag": tag}]
            )["imageDetails"]
        except ClientError as exc:
            code = exc.response["Error"]["Code"]
            if code not in ("ImageNotFoundException", "RepositoryNotFoundException"):
                raise
            found = []
    if not found:
        raise ResourceError(
            f"ECR repository {repository} has no image tagged {tag!r}: push it first "
            "(a task would stop with CannotPullContainerError)"
        )
    return found[0]["imageDigest"]


def pinned_uri(ctx: AwsContext, image: str) -> str:
    """Return `<repository>@sha256:...` for an image URI of this account's ECR; others as given."""
    # A tag can be moved (on a MUTABLE repository) or expire; a digest names one build. Images
    # outside this account and region's ECR (another registry, a digest already) stay as they are.
    match = _ECR_URI.match(image) if "@" not in image else None
    registry = f"{ctx.account_id}.dkr.ecr.{ctx.region}.amazonaws.com"
    if match is None or not match["registry"].startswith(registry):
        return image
    digest = image_digest(ctx, match["name"], match["tag"] or "latest")
    return f"{match['registry']}/{match['name']}@{digest}"
