"""Keep the state that must outlive a task: S3 documents, DynamoDB chat history, optional EFS.

Tasks are disposable and several run at once behind the ALB, so nothing worth keeping may live
on a task's disk. The chat-history key design corrects the guide's Q8: it keyed the table by
user_id with a second-resolution timestamp, so two messages in the same second overwrite each
other and reading one session needs a GSI. Here the partition key is the session (every read
of a conversation is one Query), the sort key a sortable string (zero-padded nanosecond time
plus a random suffix: ordered, and two tasks writing at once never collide), and a GSI by user
and last activity lists a user's sessions newest first.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from botocore.exceptions import ClientError

from deploy.aws.errors import DeployError, aws_errors
from deploy.aws.names import StackNames
from deploy.resources.contract import (
    UNKNOWN,
    Change,
    Result,
    known,
    missing_tags,
    require,
    tag_map,
)
from deploy.resources.outputs import NetworkOutputs, StateOutputs
from service.aws import AwsContext

# Chat-history table design (the service's DynamoDB store must use the same names).
HISTORY_PARTITION_KEY = "session_id"  # S
HISTORY_SORT_KEY = "seq"  # S: "<zero-padded ns time>-<random>", written by service/storage
HISTORY_USER_INDEX = "by-user"
HISTORY_USER_KEY = "user_id"  # S
HISTORY_ACTIVITY_KEY = "last_activity"  # N: epoch seconds
HISTORY_TTL_ATTRIBUTE = "expires_at"  # N: epoch seconds; DynamoDB deletes expired items
# Document bucket lifecycle: current objects to Infrequent Access after 30 days (its minimum),
# old versions kept 30 days, unfinished multipart uploads cleaned after 7.
IA_AFTER_DAYS, NONCURRENT_EXPIRE_DAYS, ABORT_MULTIPART_DAYS = 30, 30, 7
NFS_PORT = 2049

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


def efs_token(names: StackNames) -> str:
    """Return the EFS creation token (makes create_file_system idempotent)."""
    return f"{names.family}-efs"


def efs_security_group_name(names: StackNames) -> str:
    """Return the name of the security group that lets tasks reach EFS over NFS."""
    return f"{names.family}-efs-sg"


def table_spec(names: StackNames) -> dict:
    """Return the create_table arguments of the chat-history table."""
    return {
        "TableName": names.history_table,
        "BillingMode": "PAY_PER_REQUEST",  # on-demand: no capacity to guess for a demo
        "AttributeDefinitions": [
            {"AttributeName": HISTORY_PARTITION_KEY, "AttributeType": "S"},
            {"AttributeName": HISTORY_SORT_KEY, "AttributeType": "S"},
            {"AttributeName": HISTORY_USER_KEY, "AttributeType": "S"},
            {"AttributeName": HISTORY_ACTIVITY_KEY, "AttributeType": "N"},
        ],
        "KeySchema": [
            {"AttributeName": HISTORY_PARTITION_KEY, "KeyType": "HASH"},
            {"AttributeName": HISTORY_SORT_KEY, "KeyType": "RANGE"},
        ],
        "GlobalSecondaryIndexes": [
            {
                "IndexName": HISTORY_USER_INDEX,
                "KeySchema": [
                    {"AttributeName": HISTORY_USER_KEY, "KeyType": "HASH"},
                    {"AttributeName": HISTORY_ACTIVITY_KEY, "KeyType": "RANGE"},
                ],
                # Keys only: listing a user's sessions needs no message bodies (a smaller,
                # cheaper index; the GSI roughly doubles write cost, errata 22).
                "Projection": {"ProjectionType": "KEYS_ONLY"},
            }
        ],
        "Tags": names.tag_list(),
    }


# ---------------------------------------------------------------- describing, once per call


@dataclass(frozen=True)
class Found:
    """The state resources as they are (None = absent)."""

    bucket: dict | None  # versioning, public_access_block, encryption, lifecycle, tags
    table: dict | None  # describe_table plus "ttl" and "tags"
    efs_group: dict | None = None
    file_system: dict | None = None
    mount_subnets: set[str] = field(default_factory=set)


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


def find_table(ctx: AwsContext, names: StackNames) -> dict | None:
    """Return describe_table for the chat-history table, with its TTL and tags, or None."""
    ddb, what = ctx.client("dynamodb"), f"table {names.history_table}"
    with aws_errors(what, "dynamodb"):
        try:
            table = ddb.describe_table(TableName=names.history_table)["Table"]
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ResourceNotFoundException":
                return None
            raise
        ttl = ddb.describe_time_to_live(TableName=names.history_table)["TimeToLiveDescription"]
        tags = ddb.list_tags_of_resource(ResourceArn=table["TableArn"]).get("Tags", [])
    return {**table, "ttl": ttl, "tags": tag_map(tags)}


def find_file_system(ctx: AwsContext, names: StackNames) -> dict | None:
    """Return the EFS file system made for the stack (by creation token) or None."""
    with aws_errors(f"EFS {efs_token(names)}", "efs"):
        found = ctx.client("efs").describe_file_systems(CreationToken=efs_token(names))
    live = [f for f in found["FileSystems"] if f["LifeCycleState"] not in ("deleting", "deleted")]
    return live[0] if live else None


def _efs_group(ctx: AwsContext, names: StackNames, vpc_id: str | None) -> dict | None:
    """Return the EFS security group (in `vpc_id`, or any VPC when None) or None."""
    filters = [{"Name": "group-name", "Values": [efs_security_group_name(names)]}]
    if vpc_id is not None:
        filters.append({"Name": "vpc-id", "Values": [vpc_id]})
    with aws_errors(f"security group {efs_security_group_name(names)}", "ec2"):
        groups = ctx.client("ec2").describe_security_groups(Filters=filters)["SecurityGroups"]
    return groups[0] if groups else None


def _mount_subnets(ctx: AwsContext, fs: dict | None) -> set[str]:
    if fs is None:
        return set()
    with aws_errors(f"EFS {fs['FileSystemId']}", "efs"):
        rows = ctx.client("efs").describe_mount_targets(FileSystemId=fs["FileSystemId"])
    return {m["SubnetId"] for m in rows["MountTargets"]}


def find(ctx: AwsContext, names: StackNames, *, efs: bool, vpc_id: str) -> Found:
    """Describe the bucket, the table and (with `efs`) the EFS pieces in `vpc_id`, once each."""
    bucket, table = find_bucket(ctx, names), find_table(ctx, names)
    if not efs:
        return Found(bucket, table)
    group = _efs_group(ctx, names, vpc_id) if known(vpc_id) else None
    fs = find_file_system(ctx, names)
    return Found(bucket, table, group, fs, _mount_subnets(ctx, fs))


# ---------------------------------------------------------------- S3


def _bucket(ctx: AwsContext, names: StackNames, have: dict | None, apply: bool) -> Change:
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


def _empty_bucket(ctx: AwsContext, bucket: str) -> int:
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


# ---------------------------------------------------------------- DynamoDB


def _ttl_enabled(table: dict) -> bool:
    ttl = table["ttl"]
    return (
        ttl.get("TimeToLiveStatus") in ("ENABLED", "ENABLING")
        and ttl.get("AttributeName") == HISTORY_TTL_ATTRIBUTE
    )


def _table_delta(names: StackNames, found: dict) -> dict:
    keys = {k["AttributeName"]: k["KeyType"] for k in found["KeySchema"]}
    want_keys = {HISTORY_PARTITION_KEY: "HASH", HISTORY_SORT_KEY: "RANGE"}
    if keys != want_keys:
        # Keys cannot change in place; refuse rather than silently keep a wrong design.
        raise DeployError(
            f"table {names.history_table} has keys {keys}, expected {want_keys}; "
            "delete it (teardown) and apply"
        )
    delta: dict = {}
    if not _ttl_enabled(found):
        delta["ttl"] = (None, HISTORY_TTL_ATTRIBUTE)
    mode = found.get("BillingModeSummary", {}).get("BillingMode", "PROVISIONED")
    if mode != "PAY_PER_REQUEST":
        delta["billing"] = (mode, "PAY_PER_REQUEST")
    indexes = {i["IndexName"] for i in found.get("GlobalSecondaryIndexes", [])}
    if HISTORY_USER_INDEX not in indexes:
        delta["gsi"] = (sorted(indexes), HISTORY_USER_INDEX)
    if missing_tags(found["tags"], names.tags):
        delta["tags"] = (found["tags"], names.tags)
    return delta


def _table(ctx: AwsContext, names: StackNames, found: dict | None, apply: bool) -> Change:
    ddb, table = ctx.client("dynamodb"), names.history_table
    delta = {} if found is None else _table_delta(names, found)
    arn = found["TableArn"] if found else None
    if apply:
        with aws_errors(f"table {table}", "dynamodb"):
            if found is None:
                arn = ddb.create_table(**table_spec(names))["TableDescription"]["TableArn"]
                ddb.get_waiter("table_exists").wait(
                    TableName=table, WaiterConfig={"Delay": 1, "MaxAttempts": 60}
                )
            if found is None or "ttl" in delta:
                ddb.update_time_to_live(
                    TableName=table,
                    TimeToLiveSpecification={
                        "Enabled": True,
                        "AttributeName": HISTORY_TTL_ATTRIBUTE,
                    },
                )
            if "billing" in delta:
                ddb.update_table(TableName=table, BillingMode="PAY_PER_REQUEST")
            if "gsi" in delta:
                spec = table_spec(names)
                ddb.update_table(
                    TableName=table,
                    AttributeDefinitions=spec["AttributeDefinitions"],
                    GlobalSecondaryIndexUpdates=[{"Create": spec["GlobalSecondaryIndexes"][0]}],
                )
            if "tags" in delta:
                ddb.tag_resource(ResourceArn=arn, Tags=names.tag_list())
    action = "create" if found is None else ("update" if delta else "unchanged")
    return Change("dynamodb-table", table, action, delta, arn)


# ---------------------------------------------------------------- EFS (optional)


def _nfs_rule(group_id: str) -> dict:
    return {
        "IpProtocol": "tcp",
        "FromPort": NFS_PORT,
        "ToPort": NFS_PORT,
        "UserIdGroupPairs": [{"GroupId": group_id}],
    }


def _nfs_sources(group: dict) -> set[str]:
    """Return the security groups the EFS group admits on the NFS port."""
    return {
        pair["GroupId"]
        for p in group.get("IpPermissions", [])
        if p.get("IpProtocol") == "tcp" and p.get("FromPort") == NFS_PORT
        for pair in p.get("UserIdGroupPairs", [])
    }


def _efs_group_change(
    ctx: AwsContext, names: StackNames, found: Found, network: NetworkOutputs, apply: bool
) -> Change:
    ec2, name, task_sg = (
        ctx.client("ec2"),
        efs_security_group_name(names),
        network.task_security_group_id,
    )
    group = found.efs_group
    with aws_errors(f"security group {name}", "ec2"):
        if group is None:
            gid = None
            if apply:
                gid = ec2.create_security_group(
                    GroupName=name,
                    Description="NFS from the ECS tasks to EFS",
                    VpcId=network.vpc_id,
                    TagSpecifications=[
                        {"ResourceType": "security-group", "Tags": names.tag_list()}
                    ],
                )["GroupId"]
                ec2.authorize_security_group_ingress(
                    GroupId=gid, IpPermissions=[_nfs_rule(task_sg)]
                )
            return Change("security-group", name, "create", {"nfs_from": task_sg}, gid)
        gid, sources = group["GroupId"], _nfs_sources(group)
        detail = {} if sources == {task_sg} else {"nfs_from": (sorted(sources), [task_sg])}
        if apply and detail:
            stale = sorted(sources - {task_sg})
            if stale:
                ec2.revoke_security_group_ingress(
                    GroupId=gid, IpPermissions=[_nfs_rule(s) for s in stale]
                )
            if task_sg not in sources:
                ec2.authorize_security_group_ingress(
                    GroupId=gid, IpPermissions=[_nfs_rule(task_sg)]
                )
    return Change("security-group", name, "update" if detail else "unchanged", detail, gid)


def _efs_changes(
    ctx: AwsContext, names: StackNames, found: Found, network: NetworkOutputs, apply: bool
) -> tuple[list[Change], str]:
    """Return the EFS group's, file system's and mount targets' changes, and the file system id."""
    group = _efs_group_change(ctx, names, found, network, apply)
    efs, fs, token = ctx.client("efs"), found.file_system, efs_token(names)
    changes = [group]
    with aws_errors(f"EFS {token}", "efs"):
        if fs is None:
            if apply:
                fs = efs.create_file_system(
                    CreationToken=token,
                    Encrypted=True,
                    PerformanceMode="generalPurpose",
                    ThroughputMode="elastic",
                    Tags=names.tag_list(),
                )
            changes.append(
                Change("efs-file-system", token, "create", {}, (fs or {}).get("FileSystemArn"))
            )
        else:
            changes.append(
                Change("efs-file-system", token, "unchanged", {}, fs.get("FileSystemArn"))
            )
        for subnet in network.subnet_ids if known(network.subnet_ids) else ():
            if subnet in found.mount_subnets:
                continue
            if apply:
                efs.create_mount_target(
                    FileSystemId=fs["FileSystemId"], SubnetId=subnet, SecurityGroups=[group.arn]
                )
            changes.append(Change("efs-mount-target", subnet, "create"))
    return changes, (fs["FileSystemId"] if fs else UNKNOWN)


# ---------------------------------------------------------------- module interface


def _converge(
    ctx: AwsContext, names: StackNames, network: NetworkOutputs, efs: bool, apply: bool
) -> Result:
    if apply and efs:
        require("the default VPC", "state (EFS)", network.vpc_id)
        require("two subnets", "state (EFS)", network.subnet_ids)
        require("the task security group", "state (EFS)", network.task_security_group_id)
    found = find(ctx, names, efs=efs, vpc_id=network.vpc_id)
    bucket = _bucket(ctx, names, found.bucket, apply)
    table = _table(ctx, names, found.table, apply)
    changes, fs_id = [bucket, table], None
    if efs:
        more, fs_id = _efs_changes(ctx, names, found, network, apply)
        changes += more
    outputs = StateOutputs(
        bucket=bucket.name,
        bucket_arn=bucket.arn,
        table_arn=table.arn or UNKNOWN,
        file_system_id=fs_id,
    )
    return Result(changes, outputs)


def plan(
    ctx: AwsContext, names: StackNames, *, network: NetworkOutputs, efs: bool = False
) -> Result:
    """Return what ensure would do to the bucket, the table and (optionally) EFS."""
    return _converge(ctx, names, network, efs, apply=False)


def ensure(
    ctx: AwsContext, names: StackNames, *, network: NetworkOutputs, efs: bool = False
) -> Result:
    """Create or converge the documents bucket, the chat-history table and optional EFS."""
    # The network is used only by EFS: its group admits NFS from the task group, and it
    # mounts in the network's subnets.
    return _converge(ctx, names, network, efs, apply=True)


def describe(ctx: AwsContext, names: StackNames) -> dict:
    """Return the bucket's settings, the table's keys/TTL/billing and the EFS id (if any)."""
    bucket, table = find_bucket(ctx, names), find_table(ctx, names)
    fs = find_file_system(ctx, names)
    return {
        "bucket": None if bucket is None else {"name": bucket_name(ctx, names), **bucket},
        "table": None
        if table is None
        else {
            "name": names.history_table,
            "arn": table["TableArn"],
            "keys": {k["AttributeName"]: k["KeyType"] for k in table["KeySchema"]},
            "indexes": [i["IndexName"] for i in table.get("GlobalSecondaryIndexes", [])],
            "billing": table.get("BillingModeSummary", {}).get("BillingMode"),
            "ttl_enabled": _ttl_enabled(table),
        },
        "efs": None if fs is None else fs["FileSystemId"],
    }


def delete(ctx: AwsContext, names: StackNames) -> list[Change]:
    """Empty and delete the bucket, delete the table, the EFS mounts, file system and group."""
    changes = []
    bucket = bucket_name(ctx, names)
    if find_bucket(ctx, names) is not None:
        with aws_errors(f"bucket {bucket}", "s3"):
            removed = _empty_bucket(ctx, bucket)
            ctx.client("s3").delete_bucket(Bucket=bucket)
        changes.append(Change("s3-bucket", bucket, "delete", {"objects_removed": removed}))
    else:
        changes.append(Change("s3-bucket", bucket, "absent"))
    table = names.history_table
    if find_table(ctx, names) is not None:
        with aws_errors(f"table {table}", "dynamodb"):
            ctx.client("dynamodb").delete_table(TableName=table)
        changes.append(Change("dynamodb-table", table, "delete"))
    else:
        changes.append(Change("dynamodb-table", table, "absent"))
    fs = find_file_system(ctx, names)
    if fs is not None:
        efs = ctx.client("efs")
        with aws_errors(f"EFS {efs_token(names)}", "efs"):
            for m in efs.describe_mount_targets(FileSystemId=fs["FileSystemId"])["MountTargets"]:
                efs.delete_mount_target(MountTargetId=m["MountTargetId"])
            efs.delete_file_system(FileSystemId=fs["FileSystemId"])
        changes.append(Change("efs-file-system", efs_token(names), "delete"))
    group = _efs_group(ctx, names, None)
    if group is not None:
        with aws_errors(f"security group {efs_security_group_name(names)}", "ec2"):
            ctx.client("ec2").delete_security_group(GroupId=group["GroupId"])
        changes.append(Change("security-group", efs_security_group_name(names), "delete"))
    return changes
