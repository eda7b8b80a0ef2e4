"""Chapter 11's exercises: typical wrong answers get named, blanks wait, solutions pass."""

import pytest

from deploy.aws.names import DEFAULT_NAMES as names
from deploy.resources import documents
from workbook import exercises
from workbook.solutions import ch11 as solved

BUCKET = "llmops-documents-123456789012-us-east-1"
BUCKET_ARN = f"arn:aws:s3:::{BUCKET}"
TABLE_ARN = f"arn:aws:dynamodb:us-east-1:123456789012:table/{names.history_table}"


def _check(exercise_id, answer, **context):
    """Evaluate one answer of chapter 11 with the given context."""
    exercise = exercises.exercises_of("11")[exercise_id]
    return exercises.evaluate(exercise, answer, {"names": names, **context})


def _messages(outcome):
    return "\n".join(outcome.messages)


def _bucket_context(ctx):
    return {
        "ctx": ctx,
        "client": ctx.client("s3"),
        "bucket": documents.bucket_name(ctx, names),
        "lifecycle": documents.LIFECYCLE,
    }


def _table_context(ctx):
    return {"ctx": ctx, "client": ctx.client("dynamodb"), "table": names.history_table}


@pytest.mark.parametrize("exercise_id", list(exercises.exercises_of("11")))
def test_every_blank_check_says_not_done_yet_without_raising(exercise_id):
    """The chapter as shipped stays green: each blank prints 'not done yet'."""
    outcome = _check(exercise_id, ...)
    assert outcome.status == "not done"
    assert f"{exercise_id} not done yet" in str(outcome)


def test_blank_statements_and_environment_are_not_done():
    """The shipped skeletons of 11-3 and 11-4 (lists and dicts of ...) count as blanks."""
    skeleton = [{"Sid": "ListTheBucket", "Effect": "Allow", "Action": [...], "Resource": [...]}]
    outcome = _check("11-3", skeleton, bucket_arn=BUCKET_ARN, table_arn=TABLE_ARN)
    assert outcome.status == "not done"
    assert _check("11-4", {...: ...}, bucket=BUCKET).status == "not done"


# ---- 11-1: the documents bucket -------------------------------------------------------------


def test_bucket_solution_matches_the_reference(ctx):
    """The stored solution's bucket passes, and a second run (reset first) passes again."""
    for _ in range(2):
        outcome = _check("11-1", solved.create_documents_bucket, **_bucket_context(ctx))
        assert outcome.passed, outcome


def test_a_bare_bucket_gets_every_missing_setting_named(ctx):
    """create_bucket alone: public access, encryption, versioning, lifecycle and tags named."""

    def create_documents_bucket(client, bucket, lifecycle):
        client.create_bucket(Bucket=bucket)
        return f"arn:aws:s3:::{bucket}"

    text = _messages(_check("11-1", create_documents_bucket, **_bucket_context(ctx)))
    assert "versioning: versioning is never enabled: an overwritten or deleted document" in text
    assert "public_access_block: no public access block: a bucket policy or ACL" in text
    assert "encryption: no default encryption set" in text
    assert "lifecycle: no lifecycle rule, not documents-tiering" in text
    assert "tags: tags are {}" in text


def test_bucket_with_two_public_flags_off_and_versioning_suspended_is_named(ctx):
    """Half a public access block and suspended versioning: each gap named with its risk."""

    def create_documents_bucket(client, bucket, lifecycle):
        solved.create_documents_bucket(client, bucket, lifecycle)
        client.put_public_access_block(
            Bucket=bucket,
            PublicAccessBlockConfiguration={
                "BlockPublicAcls": True,
                "IgnorePublicAcls": True,
                "BlockPublicPolicy": False,
                "RestrictPublicBuckets": False,
            },
        )
        client.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Suspended"})

    text = _messages(_check("11-1", create_documents_bucket, **_bucket_context(ctx)))
    assert "public access block has BlockPublicPolicy, RestrictPublicBuckets off" in text
    assert "versioning is Suspended" in text
    assert "encryption" not in text


# ---- 11-2: the chat-history table -------------------------------------------------------------


def test_table_solution_matches_the_reference(ctx):
    """The stored solution's table passes, and a second run (reset first) passes again."""
    for _ in range(2):
        outcome = _check("11-2", solved.create_history_table, **_table_context(ctx))
        assert outcome.passed, outcome


def _table(client, table, keys, types, **extra):
    client.create_table(
        TableName=table,
        AttributeDefinitions=[{"AttributeName": k, "AttributeType": t} for k, t in types.items()],
        KeySchema=[{"AttributeName": k, "KeyType": t} for k, t in keys.items()],
        **({"BillingMode": "PAY_PER_REQUEST"} | extra),
    )


def test_the_guides_user_and_timestamp_keys_are_named(ctx):
    """Q8's design (user_id + timestamp): partition and sort key both named, with why."""

    def create_history_table(client, table):
        _table(
            client,
            table,
            {"user_id": "HASH", "timestamp": "RANGE"},
            {"user_id": "S", "timestamp": "N"},
        )

    text = _messages(_check("11-2", create_history_table, **_table_context(ctx)))
    assert "the partition (HASH) key is 'user_id'; it must be 'session_id'" in text
    assert "the guide's Q8 design" in text
    assert "the sort (RANGE) key is 'timestamp'; the service writes 'seq'" in text
    assert "same second overwrite each other" in text
    assert "cannot change in place" in text


def test_a_table_without_a_sort_key_is_named(ctx):
    """session_id alone: each message would replace the session's only item."""

    def create_history_table(client, table):
        _table(client, table, {"session_id": "HASH"}, {"session_id": "S"})

    text = _messages(_check("11-2", create_history_table, **_table_context(ctx)))
    assert "there is no sort (RANGE) key" in text
    assert "keeps just the last one" in text


def test_a_numeric_seq_is_named(ctx):
    """The right keys with seq as a Number: the service's string seq would be refused."""

    def create_history_table(client, table):
        _table(
            client, table, {"session_id": "HASH", "seq": "RANGE"}, {"session_id": "S", "seq": "N"}
        )

    text = _messages(_check("11-2", create_history_table, **_table_context(ctx)))
    assert "seq is defined as type 'N'" in text


def test_provisioned_table_without_ttl_or_index_is_named(ctx):
    """Right keys, but provisioned, no TTL, no GSI, no tags: each named with what it costs."""

    def create_history_table(client, table):
        _table(
            client,
            table,
            {"session_id": "HASH", "seq": "RANGE"},
            {"session_id": "S", "seq": "S"},
            BillingMode="PROVISIONED",
            ProvisionedThroughput={"ReadCapacityUnits": 5, "WriteCapacityUnits": 5},
        )

    text = _messages(_check("11-2", create_history_table, **_table_context(ctx)))
    assert "ttl: TTL is not on for expires_at" in text
    assert "billing: billing mode is PROVISIONED" in text
    assert "gsi: no by-user index" in text
    assert "tags: tags are {}" in text


# ---- 11-3: the task role's statements ---------------------------------------------------------


def _statements(**override):
    found = solved.statements(BUCKET_ARN, TABLE_ARN)
    for statement in found:
        statement.update(override.get(statement["Sid"], {}))
    return found


def test_statements_solution_passes_in_any_order():
    """The solution passes, and so does the same grant with actions in another order."""
    good = _statements(
        UseTheBucketObjects={"Action": ["s3:PutObject", "s3:GetObject", "s3:DeleteObject"]}
    )
    for answer in (solved.statements(BUCKET_ARN, TABLE_ARN), good):
        outcome = _check("11-3", answer, bucket_arn=BUCKET_ARN, table_arn=TABLE_ARN)
        assert outcome.passed, outcome


def test_list_bucket_on_the_objects_and_objects_on_the_bucket_are_named():
    """The Resources swapped: ListBucket on bucket/*, object actions on the bucket."""
    answer = _statements(
        ListTheBucket={"Resource": [f"{BUCKET_ARN}/*"]},
        UseTheBucketObjects={"Resource": [BUCKET_ARN]},
    )
    text = _messages(_check("11-3", answer, bucket_arn=BUCKET_ARN, table_arn=TABLE_ARN))
    assert "s3:ListBucket acts on the bucket itself" in text
    assert "s3:GetObject acts on objects, so its Resource is" in text


def test_wildcards_and_a_missing_index_are_named():
    """s3:* on "*" and the table without its indexes: each named."""
    answer = _statements(
        ListTheBucket={"Action": ["s3:*"], "Resource": ["*"]},
        UseTheHistoryTable={"Resource": [TABLE_ARN]},
    )
    text = _messages(_check("11-3", answer, bucket_arn=BUCKET_ARN, table_arn=TABLE_ARN))
    assert 'on Resource "*" reaches every such resource in the account' in text
    assert "grants s3:*, which the reference does not" in text
    assert "dynamodb:Query applies to" in text


def test_statements_that_are_not_a_list_are_refused():
    """A whole policy document instead of its statements: the expected shape is said."""
    doc = {"Version": "2012-10-17", "Statement": solved.statements(BUCKET_ARN, TABLE_ARN)}
    text = _messages(_check("11-3", doc, bucket_arn=BUCKET_ARN, table_arn=TABLE_ARN))
    assert "the answer is a list of statements" in text


# ---- 11-4: the variables the service reads ----------------------------------------------------


def test_environment_solution_passes():
    """The stored solution names both variables with the stack's names."""
    answer = solved.environment(BUCKET, names)
    assert _check("11-4", answer, bucket=BUCKET).passed


def test_guessed_names_and_the_guides_values_are_named():
    """S3_BUCKET is not read; the guide's global bucket name and a table ARN are named."""
    answer = {"S3_BUCKET": BUCKET, "CHAT_HISTORY_TABLE": TABLE_ARN}
    text = _messages(_check("11-4", answer, bucket=BUCKET))
    assert "the service does not read S3_BUCKET" in text
    assert "DOCUMENT_BUCKET is missing: without it documents and index snapshots stay" in text
    assert "CHAT_HISTORY_TABLE is an ARN" in text
    guide = {"DOCUMENT_BUCKET": "llmops-documents", "CHAT_HISTORY_TABLE": "chat_history"}
    text = _messages(_check("11-4", guide, bucket=BUCKET))
    assert "DOCUMENT_BUCKET is the guide's 'llmops-documents'" in text
    assert "bucket names are global" in text
    assert "CHAT_HISTORY_TABLE is the guide's 'chat_history'" in text
