"""Documents bucket, chat-history table (the guide's Q8 key design, corrected) and EFS."""

import time

import pytest
from botocore.exceptions import ClientError

from deploy.aws.errors import DeployError, PermissionDenied, ResourceError
from deploy.aws.names import DEFAULT_NAMES
from deploy.resources import documents, efs, history_table, network, state
from deploy.resources.contract import UNKNOWN
from service.storage.base import Message
from service.storage.dynamodb import DynamoHistoryStore
from tests.deploy.calls import recorded

N = DEFAULT_NAMES


def actions(result) -> list[str]:
    return [c.action for c in result.changes]


@pytest.fixture
def planned_net(ctx):
    """Return the network as a plan sees it: without EFS, state needs none of it made."""
    return network.plan(ctx, N).outputs


@pytest.fixture
def stored(ctx, planned_net):
    """Apply the state module alone (no network needed without EFS)."""
    return state.ensure(ctx, N, network=planned_net)


def test_bucket_is_private_versioned_encrypted_with_lifecycle(ctx, stored):
    bucket = documents.bucket_name(ctx, N)
    assert bucket == f"llmops-documents-{ctx.account_id}-{ctx.region}"
    assert stored.outputs.bucket == bucket and stored.outputs.bucket_arn == f"arn:aws:s3:::{bucket}"
    s3 = ctx.client("s3")
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    block = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
    assert all(block.values()) and len(block) == 4
    enc = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]
    assert enc["Rules"][0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    rule = s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"][0]
    assert rule["Transitions"][0]["StorageClass"] == "STANDARD_IA"
    assert {"Key": "Project", "Value": N.project} in s3.get_bucket_tagging(Bucket=bucket)["TagSet"]


def test_table_keys_index_ttl_and_billing(ctx, stored):
    info = state.describe(ctx, N)["table"]
    assert info["keys"] == {"session_id": "HASH", "seq": "RANGE"}
    assert info["indexes"] == [history_table.HISTORY_USER_INDEX]
    assert info["billing"] == "PAY_PER_REQUEST" and info["ttl_enabled"]
    assert stored.outputs.table_arn == info["arn"] and stored.outputs.file_system_id is None


def test_plan_hands_forward_an_unknown_table_arn(ctx, planned_net):
    result = state.plan(ctx, N, network=planned_net)
    assert actions(result) == ["create", "create"]
    assert result.outputs.table_arn == UNKNOWN
    assert result.outputs.bucket == documents.bucket_name(ctx, N)  # known before apply


def test_same_second_messages_do_not_collide_and_users_list_sessions(ctx, stored):
    ddb, table = ctx.client("dynamodb"), N.history_table
    now = int(time.time())
    # the guide's user_id + second-resolution timestamp key would keep only one of these
    for seq, (session, role) in enumerate([("s1", "user"), ("s1", "assistant")], start=1):
        ddb.put_item(
            TableName=table,
            Item={
                "session_id": {"S": session},
                "seq": {"S": f"{seq:020d}-a1"},
                "role": {"S": role},
                "user_id": {"S": "alice"},
                "last_activity": {"N": str(now)},
                "expires_at": {"N": str(now + 86400)},
            },
        )
    ddb.put_item(
        TableName=table,
        Item={
            "session_id": {"S": "s2"},
            "seq": {"S": f"{1:020d}-b2"},
            "user_id": {"S": "alice"},
            "last_activity": {"N": str(now + 5)},
        },
    )
    turns = ddb.query(
        TableName=table,
        KeyConditionExpression="session_id = :s",
        ExpressionAttributeValues={":s": {"S": "s1"}},
    )["Items"]
    assert [t["role"]["S"] for t in turns] == ["user", "assistant"]
    recent = ddb.query(
        TableName=table,
        IndexName=history_table.HISTORY_USER_INDEX,
        KeyConditionExpression="user_id = :u",
        ExpressionAttributeValues={":u": {"S": "alice"}},
        ScanIndexForward=False,
    )["Items"]
    assert recent[0]["session_id"]["S"] == "s2"


def test_ensure_twice_and_drift_is_repaired(ctx, stored, planned_net):
    again = state.ensure(ctx, N, network=planned_net)
    assert set(actions(again)) == {"unchanged"} and again.outputs == stored.outputs
    ctx.client("s3").put_bucket_versioning(
        Bucket=documents.bucket_name(ctx, N), VersioningConfiguration={"Status": "Suspended"}
    )
    bucket_change = state.plan(ctx, N, network=planned_net).changes[0]
    assert bucket_change.action == "update" and "versioning" in bucket_change.detail
    state.ensure(ctx, N, network=planned_net)
    assert set(actions(state.plan(ctx, N, network=planned_net))) == {"unchanged"}


def test_noop_ensure_makes_no_call_twice(ctx, stored, planned_net):
    with recorded(ctx, "s3", "dynamodb", "sts") as calls:
        state.ensure(ctx, N, network=planned_net)
    assert len(calls) == len(set(calls)), calls
    assert len(calls) == 9  # six S3 reads (no single describe exists), three DynamoDB


def test_wrong_key_design_is_refused(ctx, planned_net):
    ctx.client("dynamodb").create_table(
        TableName=N.history_table,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "user_id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "user_id", "KeyType": "HASH"}],
    )
    with pytest.raises(DeployError, match="expected"):
        state.ensure(ctx, N, network=planned_net)


def test_delete_empties_a_versioned_bucket(ctx, stored):
    s3, bucket = ctx.client("s3"), documents.bucket_name(ctx, N)
    for body in (b"v1", b"v2"):
        s3.put_object(Bucket=bucket, Key="doc.txt", Body=body)
    s3.delete_object(Bucket=bucket, Key="doc.txt")  # leaves a delete marker
    changes = {c.kind: c for c in state.delete(ctx, N)}
    assert changes["s3-bucket"].detail["objects_removed"] == 3
    with pytest.raises(ClientError):
        s3.head_bucket(Bucket=bucket)
    assert history_table.find_table(ctx, N) is None
    assert {c.action for c in state.delete(ctx, N)} == {"absent"}


def test_efs_needs_the_task_security_group_first(ctx, planned_net):
    with pytest.raises(ResourceError, match="needs the task security group first"):
        state.ensure(ctx, N, network=planned_net, efs=True)
    assert efs.find_file_system(ctx, N) is None


def test_optional_efs_with_mount_targets_and_nfs_group(ctx):
    net = network.ensure(ctx, N).outputs
    out = state.ensure(ctx, N, network=net, efs=True).outputs
    fs = efs.find_file_system(ctx, N)
    assert fs["Encrypted"] and out.file_system_id == fs["FileSystemId"]
    efs_client = ctx.client("efs")
    mounts = efs_client.describe_mount_targets(FileSystemId=fs["FileSystemId"])["MountTargets"]
    assert sorted(m["SubnetId"] for m in mounts) == sorted(net.subnet_ids)
    [group] = ctx.client("ec2").describe_security_groups(
        Filters=[{"Name": "group-name", "Values": [efs.efs_security_group_name(N)]}]
    )["SecurityGroups"]
    [rule] = group["IpPermissions"]
    assert (rule["FromPort"], rule["ToPort"]) == (2049, 2049)
    assert [p["GroupId"] for p in rule["UserIdGroupPairs"]] == [net.task_security_group_id]
    with recorded(ctx, "s3", "dynamodb", "efs", "ec2") as calls:
        assert set(actions(state.ensure(ctx, N, network=net, efs=True))) == {"unchanged"}
    assert len(calls) == len(set(calls)) == 12, calls
    state.delete(ctx, N)
    assert efs.find_file_system(ctx, N) is None
    assert network.delete(ctx, N)[0].action == "delete"  # the EFS group no longer refers to it


def test_efs_group_follows_a_replaced_task_group(ctx):
    net = network.ensure(ctx, N).outputs
    state.ensure(ctx, N, network=net, efs=True)
    other = ctx.client("ec2").create_security_group(
        GroupName="new-task-sg", Description="x", VpcId=net.vpc_id
    )["GroupId"]
    moved = type(net)(net.vpc_id, net.subnet_ids, net.alb_security_group_id, other)
    change = state.plan(ctx, N, network=moved, efs=True).changes[2]
    assert change.action == "update"
    assert change.detail == {"nfs_from": ([net.task_security_group_id], [other])}
    state.ensure(ctx, N, network=moved, efs=True)
    assert set(actions(state.plan(ctx, N, network=moved, efs=True))) == {"unchanged"}


def test_the_service_history_store_writes_to_the_table_apply_made(ctx, stored):
    store = DynamoHistoryStore(ctx.client("dynamodb"), N.history_table)
    store.append("s9", Message("user", "why 8 GB?"))
    store.append("s9", Message("assistant", "the guide's embeddings model needed it"))
    assert [m.role for m in store.messages("s9")] == ["user", "assistant"]


def test_denied_call_names_the_action(aws, ctx, planned_net):
    assert ctx.account_id  # known before IAM is enforced, as in a chapter's context
    aws.enforce_iam(0)
    with pytest.raises(PermissionDenied, match="s3:HeadBucket on bucket llmops-documents-"):
        state.ensure(ctx, N, network=planned_net)
