"""Solutions to chapter 13's exercises (loaded only by show_solution and by CI's runs)."""


def order() -> list:
    """13-1: what points at the service first, then the service, then what it used."""
    return [
        "scaling",  # nothing may raise the desired count again
        "service",  # no task runs or starts after this
        "task-definitions",
        "cluster",  # empty now
        "load-balancer",  # its listeners go with it, so the target group is free
        "target-group",
        "task-security-group",  # its rule names the ALB group
        "alb-security-group",
        "bucket",
        "table",
        "log-group",
        "repository",
        "iam",
        "budget",
        "secret",
    ]


def delete_secret(client, secret_id: str) -> str:
    """13-2: a week to change your mind (7 is the minimum; the default is 30)."""
    return client.delete_secret(SecretId=secret_id, RecoveryWindowInDays=7)["DeletionDate"]


def billed() -> set:
    """13-3: alarms bill by existing; the bucket, table and file system by what they store."""
    return {"cloudwatch alarm", "s3 bucket", "dynamodb table", "efs file-system"}


SOLUTIONS = {
    "13-1": order,
    "13-2": delete_secret,
    "13-3": billed,
}
