"""Solutions to chapter 03's exercises (loaded only by show_solution and by CI's runs)."""

import json


def task_policy(bucket_arn: str, table_arn: str) -> dict:
    """03-1: the app's own calls, each scoped to the one resource it needs."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "ListTheBucket",
                "Effect": "Allow",
                "Action": ["s3:ListBucket"],  # a bucket action: Resource is the bucket
                "Resource": [bucket_arn],
            },
            {
                "Sid": "UseTheBucketObjects",
                "Effect": "Allow",
                "Action": ["s3:DeleteObject", "s3:GetObject", "s3:PutObject"],
                "Resource": [f"{bucket_arn}/*"],  # object actions: Resource is the objects
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
                "Resource": [table_arn, f"{table_arn}/index/*"],
            },
        ],
    }


def create_task_role(client, trust_policy: dict, app_policy: dict) -> str:
    """03-2: the role, trusted by ECS tasks and tagged, then its inline policy."""
    arn = client.create_role(
        RoleName="llmops-task-role",
        AssumeRolePolicyDocument=json.dumps(trust_policy),
        Tags=[{"Key": "Project", "Value": "ecs-workbook"}],
    )["Role"]["Arn"]
    client.put_role_policy(
        RoleName="llmops-task-role",
        PolicyName="llmops-task-role-app",
        PolicyDocument=json.dumps(app_policy),
    )
    return arn


def create_repository(client, lifecycle: dict) -> str:
    """03-4: immutable tags and scan on push at creation, then keep the newest 10 images."""
    uri = client.create_repository(
        repositoryName="llmops",
        imageTagMutability="IMMUTABLE",
        imageScanningConfiguration={"scanOnPush": True},
        tags=[{"Key": "Project", "Value": "ecs-workbook"}],
    )["repository"]["repositoryUri"]
    client.put_lifecycle_policy(repositoryName="llmops", lifecyclePolicyText=json.dumps(lifecycle))
    return uri


def secret_pattern(ctx, names) -> str:
    """03-3: '?' matches exactly one character, and AWS's suffix is exactly six."""
    return f"arn:aws:secretsmanager:{ctx.region}:{ctx.account_id}:secret:{names.secret}-??????"


SOLUTIONS = {
    "03-1": task_policy,
    "03-2": create_task_role,
    "03-3": secret_pattern,
    "03-4": create_repository,
}
