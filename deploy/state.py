"""Keep the state that must outlive a task: S3 documents, DynamoDB chat history, optional EFS.

Tasks are disposable and several run at once behind the ALB, so nothing worth keeping may live
on a task's disk. The chat-history key design corrects the guide's Q8: it keyed the table by
user_id with a second-resolution timestamp, so two messages in the same second overwrite each
other and reading one session needs a GSI. Here the partition key is the session (every read
of a conversation is one Query), the sort key a sortable string (zero-padded nanosecond time
plus a random suffix: ordered, and two tasks writing at once never collide), and a GSI by user and last activity lists a user's sessions newest first.
"""

from __future__ import annotations

from botocore.exceptions import ClientError

from deploy.changes import Change
from deploy.clients import account_id, client
from deploy.errors import DeployError, aws_errors
from deploy.names import StackNames

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


def _s3():
    return client("s3")


def _ddb():
    return client("dynamodb")


def bucket_name(names: StackNames) -> str:
    """Return the documents bucket's name (unique per account and region)."""
    return names.bucket(account_id())


def efs_token(names: StackNames) -> str:
    """Return the EFS creation token (makes create_file_system idempotent)."""
    return f"{names.family}-efs"


def efs_security_group_name(names: StackNames) -> str:
    """Return the name of the security group that lets tasks reach EFS over NFS."""
    return f"{names.family}-efs-sg"


# ---------------------------------------------------------------- S3


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
LIFECYCLE = {
    "Rules": [
        {
            "ID": "documents-tiering",
            "Status": "Enabled",
            "Filter": {"Prefix": ""},
            "Transitions": [{"Days": IA_AFTER_DAYS, "StorageClass": "STANDARD_IA"}],
            "NoncurrentVersionExpiration": {"NoncurrentDays": NONCURRENT_EXPIRE_DAYS},
            "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": ABORT_MULTIPART_DAYS},
        }
    ]
}


def find_bucket(names: StackNames) -> bool:
    """Return True when the documents bucket exists."""
    with aws_errors(f"bucket {bucket_name(names)}", "s3"):
        try:
            _s3().head_bucket(Bucket=bucket_name(names))
            return True
        except ClientError as exc:
            if exc.response["Error"]["Code"] in ("404", "NoSuchBucket", "NotFound"):
                return False
            raise


def _bucket_settings(bucket: str) -> dict:
    s3 = _s3()

    def read(fn, key, missing):
        try:
            return fn(Bucket=bucket).get(key)
        except ClientError as exc:
            if exc.response["Error"]["Code"] in missing:
                return None
            raise

    versioning = s3.get_bucket_versioning(Bucket=bucket).get("Status")
    return {
        "versioning": {"Status": versioning} if versioning else None,
        "public_access_block": read(
            s3.get_public_access_block,
            "PublicAccessBlockConfiguration",
            ("NoSuchPublicAccessBlockConfiguration",),
        ),
        "encryption": read(
            s3.get_bucket_encryption,
            "ServerSideEncryptionConfiguration",
            ("ServerSideEncryptionConfigurationNotFoundError",),
        ),
        "lifecycle": read(
            s3.get_bucket_lifecycle_configuration, "Rules", ("NoSuchLifecycleConfiguration",)
        ),
        "tags": {
            t["Key"]: t["Value"]
            for t in (read(s3.get_bucket_tagging, "TagSet", ("NoSuchTagSet",)) or [])
        },
    }


def _bucket(names: StackNames, apply: bool) -> Change:
    bucket = bucket_name(names)
    exists = find_bucket(names)
    have = _bucket_settings(bucket) if exists else {}
    delta = {}
    if have.get("versioning") != BUCKET_VERSIONING:
        delta["versioning"] = (have.get("versioning"), BUCKET_VERSIONING)
    if have.get("public_access_block") != PUBLIC_ACCESS_BLOCK:
        delta["public_access_block"] = (have.get("public_access_block"), PUBLIC_ACCESS_BLOCK)
    enc = (have.get("encryption") or {}).get("Rules", [{}])[0]
    if enc.get("ApplyServerSideEncryptionByDefault", {}).get("SSEAlgorithm") != "AES256":
        delta["encryption"] = (enc or None, ENCRYPTION)
    rule_ids = {r.get("ID") for r in have.get("lifecycle") or []}
    if "documents-tiering" not in rule_ids:
        delta["lifecycle"] = (sorted(i for i in rule_ids if i), LIFECYCLE)
    if any(have.get("tags", {}).get(k) != v for k, v in names.tags.items()):
        delta["tags"] = (have.get("tags"), names.tags)
    if apply and delta:
        s3 = _s3()
        with aws_errors(f"bucket {bucket}", "s3"):
            if not exists:
                kwargs = {}
                if names.region != "us-east-1":  # us-east-1 refuses a LocationConstraint
                    kwargs["CreateBucketConfiguration"] = {"LocationConstraint": names.region}
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
    action = "create" if not exists else ("update" if delta else "unchanged")
    return Change(
        "s3-bucket", bucket, action, {} if not exists else delta, f"arn:aws:s3:::{bucket}"
    )


def _empty_bucket(bucket: str) -> int:
    """Delete every object version and delete marker; return how many were removed."""
    s3, removed = _s3(), 0
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


def find_table(names: StackNames) -> dict | None:
    """Return describe_table for the chat-history table or None."""
    with aws_errors(f"table {names.history_table}", "dynamodb"):
        try:
            return _ddb().describe_table(TableName=names.history_table)["Table"]
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ResourceNotFoundException":
                return None
            raise


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


def _ttl_enabled(names: StackNames) -> bool:
    desc = _ddb().describe_time_to_live(TableName=names.history_table)["TimeToLiveDescription"]
    return (
        desc.get("TimeToLiveStatus") in ("ENABLED", "ENABLING")
        and desc.get("AttributeName") == HISTORY_TTL_ATTRIBUTE
    )


def _table(names: StackNames, apply: bool) -> Change:
    ddb = _ddb()
    found = find_table(names)
    what = f"table {names.history_table}"
    if found is not None:
        keys = {k["AttributeName"]: k["KeyType"] for k in found["KeySchema"]}
        want_keys = {HISTORY_PARTITION_KEY: "HASH", HISTORY_SORT_KEY: "RANGE"}
        if keys != want_keys:
            # Keys cannot change in place; refuse rather than silently keep a wrong design.
            raise DeployError(
                f"{what} has keys {keys}, expected {want_keys}; delete it (teardown) and apply"
            )
    delta: dict = {}
    existed = found is not None
    if found is not None:
        with aws_errors(what, "dynamodb"):
            if not _ttl_enabled(names):
                delta["ttl"] = (None, HISTORY_TTL_ATTRIBUTE)
            mode = found.get("BillingModeSummary", {}).get("BillingMode", "PROVISIONED")
            if mode != "PAY_PER_REQUEST":
                delta["billing"] = (mode, "PAY_PER_REQUEST")
            indexes = {i["IndexName"] for i in found.get("GlobalSecondaryIndexes", [])}
            if HISTORY_USER_INDEX not in indexes:
                delta["gsi"] = (sorted(indexes), HISTORY_USER_INDEX)
            tags = {
                t["Key"]: t["Value"]
                for t in ddb.list_tags_of_resource(ResourceArn=found["TableArn"]).get("Tags", [])
            }
            if any(tags.get(k) != v for k, v in names.tags.items()):
                delta["tags"] = (tags, names.tags)
    if apply:
        with aws_errors(what, "dynamodb"):
            if found is None:
                ddb.create_table(**table_spec(names))
                ddb.get_waiter("table_exists").wait(
                    TableName=names.history_table, WaiterConfig={"Delay": 1, "MaxAttempts": 60}
                )
                found = find_table(names)
            if not existed or "ttl" in delta:
                ddb.update_time_to_live(
                    TableName=names.history_table,
                    TimeToLiveSpecification={
                        "Enabled": True,
                        "AttributeName": HISTORY_TTL_ATTRIBUTE,
                    },
                )
            if "billing" in delta:
                ddb.update_table(TableName=names.history_table, BillingMode="PAY_PER_REQUEST")
            if "gsi" in delta:
                spec = table_spec(names)
                ddb.update_table(
                    TableName=names.history_table,
                    AttributeDefinitions=spec["AttributeDefinitions"],
                    GlobalSecondaryIndexUpdates=[{"Create": spec["GlobalSecondaryIndexes"][0]}],
                )
            if "tags" in delta:
                ddb.tag_resource(ResourceArn=found["TableArn"], Tags=names.tag_list())
    arn = found["TableArn"] if found else None
    action = ("update" if delta else "unchanged") if existed else "create"
    return Change("dynamodb-table", names.history_table, action, delta, arn)


# ---------------------------------------------------------------- EFS (optional)


def _efs():
    return client("efs")


def find_file_system(names: StackNames) -> dict | None:
    """Return the EFS file system made for the stack (by creation token) or None."""
    with aws_errors(f"EFS {efs_token(names)}", "efs"):
        found = _efs().describe_file_systems(CreationToken=efs_token(names))["FileSystems"]
    live = [f for f in found if f["LifeCycleState"] not in ("deleting", "deleted")]
    return live[0] if live else None


def _find_efs_group(names: StackNames) -> str | None:
    from deploy import network

    vpc = network.find_default_vpc()
    groups = client("ec2").describe_security_groups(
        Filters=[
            {"Name": "group-name", "Values": [efs_security_group_name(names)]},
            {"Name": "vpc-id", "Values": [vpc]},
        ]
    )["SecurityGroups"]
    return groups[0]["GroupId"] if groups else None


def _efs_changes(names: StackNames, apply: bool) -> list[Change]:
    from deploy import network

    ec2, efs = client("ec2"), _efs()
    what = f"EFS {efs_token(names)}"
    changes = []
    with aws_errors(what, "efs"):
        group = _find_efs_group(names)
        if group is None and apply:
            group = ec2.create_security_group(
                GroupName=efs_security_group_name(names),
                Description="NFS from the ECS tasks to EFS",
                VpcId=network.find_default_vpc(),
                TagSpecifications=[{"ResourceType": "security-group", "Tags": names.tag_list()}],
            )["GroupId"]
            ec2.authorize_security_group_ingress(
                GroupId=group,
                IpPermissions=[
                    {
                        "IpProtocol": "tcp",
                        "FromPort": NFS_PORT,
                        "ToPort": NFS_PORT,
                        "UserIdGroupPairs": [
                            {"GroupId": network.security_group_id(names, which="task")}
                        ],
                    }
                ],
            )
            changes.append(Change("security-group", efs_security_group_name(names), "create"))
        elif group is None:
            changes.append(Change("security-group", efs_security_group_name(names), "create"))
        else:
            changes.append(Change("security-group", efs_security_group_name(names), "unchanged"))
        fs = find_file_system(names)
        if fs is None:
            if apply:
                fs = efs.create_file_system(
                    CreationToken=efs_token(names),
                    Encrypted=True,
                    PerformanceMode="generalPurpose",
                    ThroughputMode="elastic",
                    Tags=names.tag_list(),
                )
            changes.append(Change("efs-file-system", efs_token(names), "create"))
        else:
            changes.append(
                Change(
                    "efs-file-system", efs_token(names), "unchanged", {}, fs.get("FileSystemArn")
                )
            )
        if fs is not None:
            have = {
                m["SubnetId"]
                for m in efs.describe_mount_targets(FileSystemId=fs["FileSystemId"])["MountTargets"]
            }
            for subnet in network.subnets(names):
                if subnet in have:
                    continue
                if apply:
                    efs.create_mount_target(
                        FileSystemId=fs["FileSystemId"], SubnetId=subnet, SecurityGroups=[group]
                    )
                changes.append(Change("efs-mount-target", subnet, "create"))
    return changes


# ---------------------------------------------------------------- module interface


def _converge(names: StackNames, efs: bool, apply: bool) -> list[Change]:
    changes = [_bucket(names, apply), _table(names, apply)]
    if efs:
        changes += _efs_changes(names, apply)
    return changes


def plan(names: StackNames, *, efs: bool = False) -> list[Change]:
    """Return what ensure would do to the bucket, the table and (optionally) EFS."""
    return _converge(names, efs, apply=False)


def ensure(names: StackNames, *, efs: bool = False) -> list[Change]:
    """Create or converge the documents bucket, the chat-history table and optional EFS."""
    return _converge(names, efs, apply=True)


def describe(names: StackNames) -> dict:
    """Return the bucket's settings, the table's keys/TTL/billing and the EFS id (if any)."""
    bucket = bucket_name(names)
    table = find_table(names)
    fs = find_file_system(names)
    with aws_errors(f"bucket {bucket}", "s3"):
        bucket_state = _bucket_settings(bucket) if find_bucket(names) else None
    return {
        "bucket": None if bucket_state is None else {"name": bucket, **bucket_state},
        "table": None
        if table is None
        else {
            "name": names.history_table,
            "keys": {k["AttributeName"]: k["KeyType"] for k in table["KeySchema"]},
            "indexes": [i["IndexName"] for i in table.get("GlobalSecondaryIndexes", [])],
            "billing": table.get("BillingModeSummary", {}).get("BillingMode"),
            "ttl_enabled": _ttl_enabled(names),
        },
        "efs": None if fs is None else fs["FileSystemId"],
    }


def delete(names: StackNames) -> list[Change]:
    """Empty and delete the bucket, delete the table, the EFS mounts, file system and group."""
    changes = []
    bucket = bucket_name(names)
    if find_bucket(names):
        with aws_errors(f"bucket {bucket}", "s3"):
            removed = _empty_bucket(bucket)
            _s3().delete_bucket(Bucket=bucket)
        changes.append(Change("s3-bucket", bucket, "delete", {"objects_removed": removed}))
    else:
        changes.append(Change("s3-bucket", bucket, "absent"))
    if find_table(names) is not None:
        with aws_errors(f"table {names.history_table}", "dynamodb"):
            _ddb().delete_table(TableName=names.history_table)
        changes.append(Change("dynamodb-table", names.history_table, "delete"))
    else:
        changes.append(Change("dynamodb-table", names.history_table, "absent"))
    fs = find_file_system(names)
    if fs is not None:
        efs = _efs()
        with aws_errors(f"EFS {efs_token(names)}", "efs"):
            for m in efs.describe_mount_targets(FileSystemId=fs["FileSystemId"])["MountTargets"]:
                efs.delete_mount_target(MountTargetId=m["MountTargetId"])
            efs.delete_file_system(FileSystemId=fs["FileSystemId"])
        changes.append(Change("efs-file-system", efs_token(names), "delete"))
    try:
        group = _find_efs_group(names)
    except DeployError:
        group = None
    if group is not None:
        with aws_errors(efs_security_group_name(names), "ec2"):
            client("ec2").delete_security_group(GroupId=group)
        changes.append(Change("security-group", efs_security_group_name(names), "delete"))
    return changes
