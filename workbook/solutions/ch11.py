"""Solutions to chapter 11's exercises (loaded only by show_solution and by CI's runs)."""


def create_documents_bucket(client, bucket: str, lifecycle: dict) -> str:
    """11-1: private, encrypted, versioned, tiered, tagged; the ARN has no region or account."""
    region = client.meta.region_name
    extra = (
        {}
        if region == "us-east-1"
        else {"CreateBucketConfiguration": {"LocationConstraint": region}}
    )
    client.create_bucket(Bucket=bucket, **extra)  # us-east-1 refuses a LocationConstraint
    client.put_public_access_block(
        Bucket=bucket,
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True,
        },
    )
    client.put_bucket_encryption(
        Bucket=bucket,
        ServerSideEncryptionConfiguration={
            "Rules": [
                {
                    "ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"},
                    "BucketKeyEnabled": True,
                }
            ]
        },
    )
    client.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    client.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration=lifecycle)
    client.put_bucket_tagging(
        Bucket=bucket, Tagging={"TagSet": [{"Key": "Project", "Value": "ecs-workbook"}]}
    )
    return f"arn:aws:s3:::{bucket}"


def create_history_table(client, table: str) -> str:
    """11-2: one partition per session, messages sorted by seq, on-demand, TTL on expires_at."""
    arn = client.create_table(
        TableName=table,
        AttributeDefinitions=[
            {"AttributeName": "session_id", "AttributeType": "S"},
            {"AttributeName": "seq", "AttributeType": "S"},
            {"AttributeName": "user_id", "AttributeType": "S"},
            {"AttributeName": "last_activity", "AttributeType": "N"},
        ],
        KeySchema=[
            {"AttributeName": "session_id", "KeyType": "HASH"},
            {"AttributeName": "seq", "KeyType": "RANGE"},
        ],
        BillingMode="PAY_PER_REQUEST",
        GlobalSecondaryIndexes=[
            {
                "IndexName": "by-user",
                "KeySchema": [
                    {"AttributeName": "user_id", "KeyType": "HASH"},
                    {"AttributeName": "last_activity", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "KEYS_ONLY"},
            }
        ],
        Tags=[{"Key": "Project", "Value": "ecs-workbook"}],
    )["TableDescription"]["TableArn"]
    # TTL can be set only once the table is ACTIVE.
    client.get_waiter("table_exists").wait(
        TableName=table, WaiterConfig={"Delay": 1, "MaxAttempts": 60}
    )
    client.update_time_to_live(
        TableName=table,
        TimeToLiveSpecification={"Enabled": True, "AttributeName": "expires_at"},
    )
    return arn


def statements(bucket_arn: str, table_arn: str) -> list[dict]:
    """11-3: ListBucket on the bucket, object actions on bucket/*, the table and its indexes."""
    return [
        {
            "Sid": "ListTheBucket",
            "Effect": "Allow",
            "Action": ["s3:ListBucket"],  # acts on the bucket itself
            "Resource": [bucket_arn],
        },
        {
            "Sid": "UseTheBucketObjects",
            "Effect": "Allow",
            "Action": ["s3:DeleteObject", "s3:GetObject", "s3:PutObject"],
            "Resource": [f"{bucket_arn}/*"],  # act on objects: the keys under the bucket
        },
        {
            "Sid": "UseTheHistoryTable",
            "Effect": "Allow",
            "Action": [
                "dynamodb:BatchWriteItem",
                "dynamodb:DeleteItem",
                "dynamodb:GetItem",
                "dynamodb:PutItem",
                "dynamodb:Query",
                "dynamodb:UpdateItem",
            ],
            "Resource": [table_arn, f"{table_arn}/index/*"],  # a Query on by-user hits the index
        },
    ]


def environment(bucket: str, names) -> dict:
    """11-4: the two names service/config.py reads, with this stack's bucket and table names."""
    return {"DOCUMENT_BUCKET": bucket, "CHAT_HISTORY_TABLE": names.history_table}


SOLUTIONS = {
    "11-1": create_documents_bucket,
    "11-2": create_history_table,
    "11-3": statements,
    "11-4": environment,
}
