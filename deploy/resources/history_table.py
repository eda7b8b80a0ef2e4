"""Keep the chat-history table: keyed by session, sortable sequence, a GSI by user, TTL.

The key design corrects the guide's Q8: it keyed the table by user_id with a second-resolution
timestamp, so two messages in the same second overwrite each other and reading one session
needs a GSI. Here the partition key is the session (every read of a conversation is one
Query), the sort key a sortable string (zero-padded nanosecond time plus a random suffix:
ordered, and two tasks writing at once never collide), and a GSI by user and last activity
lists a user's sessions newest first.
"""

from __future__ import annotations

from botocore.exceptions import ClientError

from deploy.aws.errors import DeployError, aws_errors
from deploy.aws.names import StackNames
from deploy.resources.contract import Change, missing_tags, tag_map
from service.aws import AwsContext

# Chat-history table design (the service's DynamoDB store must use the same names).
HISTORY_PARTITION_KEY = "session_id"  # S
HISTORY_SORT_KEY = "seq"  # S: "<zero-padded ns time>-<random>", written by service/storage
HISTORY_USER_INDEX = "by-user"
HISTORY_USER_KEY = "user_id"  # S
HISTORY_ACTIVITY_KEY = "last_activity"  # N: epoch seconds
HISTORY_TTL_ATTRIBUTE = "expires_at"  # N: epoch seconds; DynamoDB deletes expired items


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


def ttl_enabled(table: dict) -> bool:
    """Return True when the table's TTL is on for the expiry attribute."""
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
    if not ttl_enabled(found):
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


def converge(ctx: AwsContext, names: StackNames, found: dict | None, apply: bool) -> Change:
    """Create or converge the table (`found`: find_table's result); return its change."""
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


def delete(ctx: AwsContext, names: StackNames) -> Change:
    """Delete the chat-history table (and every message in it)."""
    table = names.history_table
    if find_table(ctx, names) is None:
        return Change("dynamodb-table", table, "absent")
    with aws_errors(f"table {table}", "dynamodb"):
        ctx.client("dynamodb").delete_table(TableName=table)
    return Change("dynamodb-table", table, "delete")
