"""Keep the state that must outlive a task: S3 documents, DynamoDB chat history, optional EFS.

Tasks are disposable and several run at once behind the ALB, so nothing worth keeping may live
on a task's disk. Each part has its own module (documents, history_table, efs); this one is
the stack's resource over them.
"""

from __future__ import annotations

from deploy.aws.names import StackNames
from deploy.resources import documents, efs, history_table
from deploy.resources.contract import UNKNOWN, Change, Result, require
from deploy.resources.outputs import NetworkOutputs, StateOutputs
from service.aws import AwsContext


def _converge(
    ctx: AwsContext, names: StackNames, network: NetworkOutputs, with_efs: bool, apply: bool
) -> Result:
    if apply and with_efs:
        require("the default VPC", "state (EFS)", network.vpc_id)
        require("two subnets", "state (EFS)", network.subnet_ids)
        require("the task security group", "state (EFS)", network.task_security_group_id)
    bucket = documents.converge(ctx, names, documents.find_bucket(ctx, names), apply)
    table = history_table.converge(ctx, names, history_table.find_table(ctx, names), apply)
    changes, fs_id = [bucket, table], None
    if with_efs:
        found = efs.find(ctx, names, network.vpc_id)
        more, fs_id = efs.converge(ctx, names, found, network, apply)
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
    bucket = documents.find_bucket(ctx, names)
    table = history_table.find_table(ctx, names)
    fs = efs.find_file_system(ctx, names)
    return {
        "bucket": None if bucket is None else {"name": documents.bucket_name(ctx, names), **bucket},
        "table": None
        if table is None
        else {
            "name": names.history_table,
            "arn": table["TableArn"],
            "keys": {k["AttributeName"]: k["KeyType"] for k in table["KeySchema"]},
            "indexes": [i["IndexName"] for i in table.get("GlobalSecondaryIndexes", [])],
            "billing": table.get("BillingModeSummary", {}).get("BillingMode"),
            "ttl_enabled": history_table.ttl_enabled(table),
        },
        "efs": None if fs is None else fs["FileSystemId"],
    }


def delete(ctx: AwsContext, names: StackNames) -> list[Change]:
    """Empty and delete the bucket, delete the table, the EFS mounts, file system and group."""
    return [documents.delete(ctx, names), history_table.delete(ctx, names), *efs.delete(ctx, names)]
