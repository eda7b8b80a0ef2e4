"""Chapter 11's exercises: the documents bucket, the history table, the task role's statements."""

from __future__ import annotations

from botocore.exceptions import ClientError

from deploy.aws.names import StackNames
from deploy.models import policies
from deploy.resources import documents, history_table
from service.aws import AwsContext
from workbook import compare
from workbook.exercises import Exercise, NotDone

PARTITION, SORT = history_table.HISTORY_PARTITION_KEY, history_table.HISTORY_SORT_KEY
# The variables service/config.py's Settings reads to leave local disk for S3 and DynamoDB.
SERVICE_READS = {
    "DOCUMENT_BUCKET": "documents and index snapshots stay under DATA_DIR on the task's own disk",
    "CHAT_HISTORY_TABLE": "chat history stays under DATA_DIR on the task's own disk",
}
GUIDE_VALUES = {"DOCUMENT_BUCKET": "llmops-documents", "CHAT_HISTORY_TABLE": "chat_history"}


# ---- 11-1: the documents bucket -------------------------------------------------------------


def check_bucket(answer: object, ctx: AwsContext, names: StackNames) -> list[str]:
    """Compare the bucket the learner's function made with the reference (what plan sees)."""
    found = documents.find_bucket(ctx, names)
    if found is None:
        bucket = documents.bucket_name(ctx, names)
        raise NotDone(f"{bucket} does not exist after your function ran: did it call AWS?")
    change = documents.converge(ctx, names, found, apply=False)
    return [f"{f.field}: {f.message}" for f in compare.explain(change, names)]


def reset_bucket(ctx: AwsContext, names: StackNames) -> None:
    """Empty and delete the bucket an earlier attempt made, if any."""
    if documents.find_bucket(ctx, names) is not None:
        bucket = documents.bucket_name(ctx, names)
        documents.empty(ctx, bucket)
        ctx.client("s3").delete_bucket(Bucket=bucket)


# ---- 11-2: the chat-history table ---------------------------------------------------------


def _describe(ctx: AwsContext, table: str) -> dict | None:
    try:
        return ctx.client("dynamodb").describe_table(TableName=table)["Table"]
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "ResourceNotFoundException":
            return None
        raise


def key_findings(table: dict) -> list[str]:
    """Return what is wrong with a table's primary key for the service's history items."""
    keys = {k["AttributeName"]: k["KeyType"] for k in table.get("KeySchema", [])}
    types = {a["AttributeName"]: a["AttributeType"] for a in table.get("AttributeDefinitions", [])}
    want = {PARTITION: "HASH", SORT: "RANGE"}
    if keys == want:
        if types.get(SORT) != "S":
            return [
                f"{SORT} is defined as type {types.get(SORT)!r}: the service writes it as a string "
                "('<zero-padded nanoseconds>-<6 hex>'), so every PutItem fails with "
                "ValidationException (type mismatch for the key); define it as 'S'"
            ]
        return []
    hash_key = next((k for k, t in keys.items() if t == "HASH"), None)
    range_key = next((k for k, t in keys.items() if t == "RANGE"), None)
    problems = []
    if hash_key != PARTITION:
        why = (
            "keyed by user (the guide's Q8 design), one conversation is not one partition: "
            "reading it needs a filter or an index instead of one Query"
            if hash_key == "user_id"
            else f"the service writes and reads items by {PARTITION}"
        )
        problems.append(
            f"the partition (HASH) key is {hash_key!r}; it must be {PARTITION!r}: {why}"
        )
    if range_key is None:
        problems.append(
            f"there is no sort (RANGE) key: the primary key is {hash_key!r} alone, so every "
            "message written replaces the session's only item and the history keeps just the "
            f"last one; add {SORT!r} as the RANGE key"
        )
    elif range_key != SORT:
        problems.append(
            f"the sort (RANGE) key is {range_key!r}; the service writes {SORT!r} "
            "('<zero-padded nanoseconds>-<random>'), so its PutItem fails with "
            "ValidationException (a key attribute is missing). A timestamp in seconds would also "
            "let two messages written in the same second overwrite each other"
        )
    problems.append(
        "a table's key schema cannot change in place: delete the table and create it again "
        "(re-running the exercise cell does that for you)"
    )
    return problems


def check_table(answer: object, ctx: AwsContext, names: StackNames) -> list[str]:
    """Check the table's keys, then compare the rest with the reference (what plan sees)."""
    table = _describe(ctx, names.history_table)
    if table is None:
        raise NotDone(f"{names.history_table} does not exist after your function ran")
    problems = key_findings(table)
    if problems:
        return problems  # plan refuses a table with other keys; say why instead
    found = history_table.find_table(ctx, names)
    change = history_table.converge(ctx, names, found, apply=False)
    return [f"{f.field}: {f.message}" for f in compare.explain(change, names)]


def reset_table(ctx: AwsContext, names: StackNames) -> None:
    """Delete the table an earlier attempt made (and wait until it is gone), if any."""
    client = ctx.client("dynamodb")
    try:
        client.delete_table(TableName=names.history_table)
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "ResourceNotFoundException":
            return
        raise
    client.get_waiter("table_not_exists").wait(
        TableName=names.history_table, WaiterConfig={"Delay": 1, "MaxAttempts": 60}
    )


# ---- 11-3: the task role's statements ---------------------------------------------------------


def check_statements(answer: object, bucket_arn: str, table_arn: str, names: StackNames) -> list:
    """Compare the learner's statements with what the reference task policy allows."""
    if not isinstance(answer, list) or not all(isinstance(s, dict) for s in answer):
        return ["the answer is a list of statements, each a dict with Effect, Action, Resource"]
    want = policies.task_policy(bucket_arn, table_arn)
    have = {"Version": want["Version"], "Statement": answer}
    found = compare.policy_findings(have, want, names.task_role, names)
    # Here only what the statements allow matters (order and Sids are free): plan, which
    # compares documents exactly, is not the judge of this value exercise.
    return [p for p in found if not p.startswith("allows the same but is written differently")]


# ---- 11-4: the variables the service reads ---------------------------------------------------


def check_environment(answer: object, bucket: str, names: StackNames) -> list[str]:
    """Check the environment that points the service at the bucket and the table."""
    if not isinstance(answer, dict):
        return ["the answer is a dict: variable name -> value, as a task definition passes them"]
    problems = []
    for name in sorted(set(answer) - set(SERVICE_READS)):
        problems.append(
            f"the service does not read {name}: Settings (service/config.py) reads "
            f"{' and '.join(SERVICE_READS)}; an unread variable changes nothing"
        )
    for name, without in SERVICE_READS.items():
        if name not in answer:
            problems.append(f"{name} is missing: without it {without}, unseen by other tasks")
    want = {"DOCUMENT_BUCKET": bucket, "CHAT_HISTORY_TABLE": names.history_table}
    for name, value in want.items():
        got = answer.get(name)
        if name not in answer or got == value:
            continue
        if not isinstance(got, str):
            problems.append(f"{name} is {got!r}: environment values are strings")
        elif got.startswith("arn:"):
            problems.append(f"{name} is an ARN: the service passes it as the name ({value!r})")
        elif got.startswith("s3://"):
            problems.append(f"{name} is a URL: boto3's Bucket= takes the bare name ({value!r})")
        elif got == GUIDE_VALUES[name]:
            why = (
                "bucket names are global across every AWS account, so a plain name is likely "
                "someone else's; the stack adds the account id and region"
                if name == "DOCUMENT_BUCKET"
                else "the stack names the table with its llmops- prefix"
            )
            problems.append(f"{name} is the guide's {got!r}; this stack's is {value!r}: {why}")
        else:
            problems.append(f"{name} is {got!r}; the stack's is {value!r}")
    return problems


EXERCISES = [
    Exercise(
        "11-1",
        "Complete create_documents_bucket: create the bucket, then block all public access, "
        "set default encryption (SSE-S3 with a bucket key), turn versioning on, put the "
        "lifecycle shown above and the Project tag. (Each run empties and deletes the bucket "
        "an earlier attempt made, then calls your function.)",
        check_bucket,
        args=("client", "bucket", "lifecycle"),
        reset=reset_bucket,
    ),
    Exercise(
        "11-2",
        "Complete create_history_table: the key schema (session_id, then seq), the attribute "
        "types, on-demand billing and the Project tag; then turn TTL on for expires_at. (Each "
        "run deletes the table an earlier attempt made, then calls your function.)",
        check_table,
        args=("client", "table"),
        reset=reset_table,
    ),
    Exercise(
        "11-3",
        "Write the task role's statements that let the service use exactly this bucket and "
        "this table: each statement's Action list and its Resource list.",
        check_statements,
    ),
    Exercise(
        "11-4",
        "Give the environment (variable -> value) that points the service at the bucket and "
        "the table: the names service/config.py reads, and the values this stack made.",
        check_environment,
    ),
]
