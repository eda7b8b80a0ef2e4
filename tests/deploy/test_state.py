"""Documents bucket, chat-history table (the guide's Q8 key design, corrected) and EFS."""

import time

import pytest
from botocore.exceptions import ClientError

from deploy import network, state
from deploy.clients import client
from deploy.errors import DeployError
from deploy.names import DEFAULT_NAMES as N


@pytest.fixture
def stored(aws):
    """Apply the state module alone (no network needed without EFS)."""
    return state.ensure(N)


def test_bucket_is_private_versioned_encrypted_with_lifecycle(stored):
    bucket = state.bucket_name(N)
    s3 = client("s3")
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    block = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
    assert all(block.values()) and len(block) == 4
    enc = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]
    assert enc["Rules"][0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    rule = s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"][0]
    assert rule["Transitions"][0]["StorageClass"] == "STANDARD_IA"
    assert {"Key": "Project", "Value": N.project} in s3.get_bucket_tagging(Bucket=bucket)["TagSet"]


def test_table_keys_index_ttl_and_billing(stored):
    info = state.describe(N)["table"]
    assert info["keys"] == {"session_id": "HASH", "seq": "RANGE"}
    assert info["indexes"] == [state.HISTORY_USER_INDEX]
    assert info["billing"] == "PAY_PER_REQUEST" and info["ttl_enabled"]


def test_same_second_messages_do_not_collide_and_users_list_sessions(stored):
    ddb, table = client("dynamodb"), N.history_table
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
        IndexName=state.HISTORY_USER_INDEX,
        KeyConditionExpression="user_id = :u",
        ExpressionAttributeValues={":u": {"S": "alice"}},
        ScanIndexForward=False,
    )["Items"]
    assert recent[0]["session_id"]["S"] == "s2"


def test_ensure_twice_and_drift_is_repaired(stored):
    assert {c.action for c in state.ensure(N)} == {"unchanged"}
    client("s3").put_bucket_versioning(
        Bucket=state.bucket_name(N), VersioningConfiguration={"Status": "Suspended"}
    )
    bucket_change = state.plan(N)[0]
    assert bucket_change.action == "update" and "versioning" in bucket_change.detail
    state.ensure(N)
    assert {c.action for c in state.plan(N)} == {"unchanged"}


def test_wrong_key_design_is_refused(aws):
    client("dynamodb").create_table(
        TableName=N.history_table,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "user_id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "user_id", "KeyType": "HASH"}],
    )
    with pytest.raises(DeployError, match="expected"):
        state.ensure(N)


def test_delete_empties_a_versioned_bucket(stored):
    s3, bucket = client("s3"), state.bucket_name(N)
    for body in (b"v1", b"v2"):
        s3.put_object(Bucket=bucket, Key="doc.txt", Body=body)
    s3.delete_object(Bucket=bucket, Key="doc.txt")  # leaves a delete marker
    changes = {c.kind: c for c in state.delete(N)}
    assert changes["s3-bucket"].detail["objects_removed"] == 3
    with pytest.raises(ClientError):
        s3.head_bucket(Bucket=bucket)
    assert state.find_table(N) is None
    assert {c.action for c in state.delete(N)} == {"absent"}


def test_optional_efs_with_mount_targets_and_nfs_group(aws):
    network.ensure(N)
    state.ensure(N, efs=True)
    fs = state.find_file_system(N)
    assert fs["Encrypted"]
    mounts = client("efs").describe_mount_targets(FileSystemId=fs["FileSystemId"])["MountTargets"]
    assert sorted(m["SubnetId"] for m in mounts) == sorted(network.subnets(N))
    assert {c.action for c in state.plan(N, efs=True)} == {"unchanged"}
    state.delete(N)
    assert state.find_file_system(N) is None
    network.delete(N)


def test_the_service_history_store_writes_to_the_table_apply_made(stored):
    from service.storage.base import Message
    from service.storage.dynamodb import DynamoHistoryStore

    store = DynamoHistoryStore(client("dynamodb"), N.history_table)
    store.append("s9", Message("user", "why 8 GB?"))
    store.append("s9", Message("assistant", "the guide's embeddings model needed it"))
    assert [m.role for m in store.messages("s9")] == ["user", "assistant"]
