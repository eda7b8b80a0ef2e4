"""Keep the documents bucket: private, versioned, encrypted, tiered to Infrequent Access."""

from __future__ import annotations

from botocore.exceptions import ClientError

from deploy.aws.errors import aws_errors
from deploy.aws.names import StackNames
from deploy.resources.contract import Change, missing_tags, tag_map
from service.aws import AwsContext

# Document bucket lifecycle: current objects to Infrequent Access after 30 days (its minimum),
# old versions kept 30 days, unfinished multipart uploads cleaned after 7.
IA_AFTER_DAYS, NONCURRENT_EXPIRE_DAYS, ABORT_MULTIPART_DAYS = 30, 30, 7

BUCKET_VERSIONING = {"Status": "Enabled"}
PUBLIC_ACCESS_BLOCK = {
    "BlockPublicAcls": True,
    "IgnorePublicAcls": True,
    "BlockPublicPolicy": True,
    "RestrictPublicBuckets": True,
}
ENCRYPTION = {
    "Rules": [
        {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}, "BucketKeyEnabled": True}
    ]
}
LIFECYCLE_RULE = "documents-tiering"
LIFECYCLE = {
    "Rules": [
        {
            "ID": LIFECYCLE_RULE,
            "Status": "Enabled",
            "Filter": {"Prefix": ""},
            "Transitions": [{"Days": IA_AFTER_DAYS, "StorageClass": "STANDARD_IA"}],
            "NoncurrentVersionExpiration": {"NoncurrentDays": NONCURRENT_EXPIRE_DAYS},
            "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": ABORT_MULTIPART_DAYS},
        }
    ]
}


def bucket_name(ctx: AwsContext, names: StackNames) -> str:
    """Return the documents bucket's name (unique per account and region)."""
    return names.bucket(ctx.account_id, ctx.region)


def _read(call, bucket: str, key: str, missing: str) -> object:
    try:
        return call(Bucket=bucket).get(key)
    except ClientError as exc:
        if exc.response["Error"]["Code"] == missing:
            return None
        raise


def find_bucket(ctx: AwsContext, names: StackNames) -> dict | None:
    """Return the documents bucket's settings and tags, or None when it does not exist."""
    with aws_errors("the account id (the bucket name holds it)", "sts"):
        s3, bucket = ctx.client("s3"), bucket_name(ctx, names)
    with aws_errors(f"bucket {bucket}", "s3"):
        try:
            s3.head_bucket(Bucket=bucket)
        except ClientError as exc:
            if exc.response["Error"]["Code"] in ("404", "NoSuchBucket", "NotFound"):
                return None
            raise
        status = s3.get_bucket_versioning(Bucket=bucket).get("Status")
        block = _read(
            s3.get_public_access_block,
            bucket,
            "PublicAccessBlockConfiguration",
            "NoSuchPublicAccessBlockConfiguration",
        )
        encryption = _read(
            s3.get_bucket_encryption,
            bucket,
            "ServerSideEncryptionConfiguration",
            "ServerSideEncryptionConfigurationNotFoundError",
        )
        lifecycle = _read(
            s3.get_bucket_lifecycle_configuration, bucket, "Rules", "NoSuchLifecycleConfiguration"
        )
        tags = _read(s3.get_bucket_tagging, bucket, "TagSet", "NoSuchTagSet")
    return {
        "versioning": {"Status": status} if status else None,
        "public_access_block": block,
        "encryption": encryption,
        "lifecycle": lifecycle,
        "tags": tag_map(tags),
    }


def converge(ctx: AwsContext, names: StackNames, have: dict | None, apply: bool) -> Change:
    """Create or converge the bucket (`have`: find_bucket's result); return its change."""
    bucket, s3 = bucket_name(ctx, names), ctx.client("s3")
    current = have or {}
    delta = {}
    if current.get("versioning") != BUCKET_VERSIONING:
        delta["versioning"] = (current.get("versioning"), BUCKET_VERSIONING)
    if current.get("public_access_block") != PUBLIC_ACCESS_BLOCK:
        delta["public_access_block"] = (current.get("public_access_block"), PUBLIC_ACCESS_BLOCK)
    enc = (current.get("encryption") or {}).get("Rules", [{}])[0]
    if enc.get("ApplyServerSideEncryptionByDefault", {}).get("SSEAlgorithm") != "AES256":
        delta["encryption"] = (enc or None, ENCRYPTION)
    rule_ids = {r.get("ID") for r in current.get("lifecycle") or []}
    if LIFECYCLE_RULE not in rule_ids:
        delta["lifecycle"] = (sorted(i for i in rule_ids if i), LIFECYCLE)
    if missing_tags(current.get("tags", {}), names.tags):
        delta["tags"] = (current.get("tags"), names.tags)
    if apply and delta:
        with aws_errors(f"bucket {bucket}", "s3"):
            if have is None:
                kwargs = {}
                if ctx.region != "us-east-1":  # us-east-1 refuses a LocationConstraint
                    kwargs["CreateBucketConfiguration"] = {"LocationConstraint": ctx.region}
                s3.create_bucket(Bucket=bucket, **kwargs)
            if "public_access_block" in delta:
                s3.put_public_access_block(
                    Bucket=bucket, PublicAccessBlockConfiguration=PUBLIC_ACCESS_BLOCK
                )
            if "versioning" in delta:
                s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration=BUCKET_VERSIONING)
            if "encryption" in delta:
                s3.put_bucket_encryption(
                    Bucket=bucket, ServerSideEncryptionConfiguration=ENCRYPTION
                )
            if "lifecycle" in delta:
                s3.put_bucket_lifecycle_configuration(
                    Bucket=bucket, LifecycleConfiguration=LIFECYCLE
                )
            if "tags" in delta:
                s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": names.tag_list()})
    action = "create" if have is None else ("update" if delta else "unchanged")
    detail = {} if have is None else delta
    return Change("s3-bucket", bucket, action, detail, f"arn:aws:s3:::{bucket}")


def empty(ctx: AwsContext, bucket: str) -> int:
    """Delete every object version and delete marker; return how many were removed."""
    s3, removed = ctx.client("s3"), 0
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket):
        batch = [
            {"Key": v["Key"], "VersionId": v["VersionId"]}
            for v in page.get("Versions", []) + page.get("DeleteMarkers", [])
        ]
        for start in range(0, len(batch), 1000):
            s3.delete_objects(Bucket=bucket, Delete={"Objects": batch[start : start + 1000]})
        removed += len(batch)
    return removed


def delete(ctx: AwsContext, names: StackNames) -> Change:
    """Empty the bucket (every version and delete marker), then delete it."""
    bucket = bucket_name(ctx, names)
    if find_bucket(ctx, names) is None:
        return Change("s3-bucket", bucket, "absent")
    with aws_errors(f"bucket {bucket}", "s3"):
        removed = empty(ctx, bucket)
        ctx.client("s3").delete_bucket(Bucket=bucket)
    return Change("s3-bucket", bucket, "delete", {"objects_removed": removed})
