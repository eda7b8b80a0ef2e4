"""Chapter 03's exercises: the task role's policy and role, a secret's ARN, the repository."""

from __future__ import annotations

import fnmatch

from botocore.exceptions import ClientError

from deploy.aws.names import StackNames
from deploy.models import policies
from service.aws import AwsContext
from workbook import compare
from workbook.exercises import Exercise, NotDone


def check_app_policy(answer: object, bucket_arn: str, table_arn: str, names: StackNames) -> list:
    """Compare the learner's task-role policy document with the reference's."""
    want = policies.task_policy(bucket_arn, table_arn)
    return compare.policy_findings(answer, want, names.task_role, names)


def _resource_check(ctx: AwsContext, names: StackNames, module: str, name: str) -> list[str]:
    found = compare.against_reference(ctx, names, {module: [name]})
    if found.missing:
        raise NotDone(f"{name} does not exist after your function ran: did it call AWS?")
    return [f"{f.field}: {f.message}" for f in found.findings]


def check_task_role(answer: object, ctx: AwsContext, names: StackNames) -> list[str]:
    """Compare the task role the learner's function made with the reference."""
    return _resource_check(ctx, names, "iam", names.task_role)


def check_repository(answer: object, ctx: AwsContext, names: StackNames) -> list[str]:
    """Compare the repository the learner's function made with the reference."""
    return _resource_check(ctx, names, "ecr", names.repository)


def reset_task_role(ctx: AwsContext, names: StackNames) -> None:
    """Delete the task role an earlier attempt made (its policies first), if any."""
    client, role = ctx.client("iam"), names.task_role
    try:
        attached = client.list_attached_role_policies(RoleName=role)["AttachedPolicies"]
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "NoSuchEntity":
            return
        raise
    for policy in attached:
        client.detach_role_policy(RoleName=role, PolicyArn=policy["PolicyArn"])
    for name in client.list_role_policies(RoleName=role)["PolicyNames"]:
        client.delete_role_policy(RoleName=role, PolicyName=name)
    client.delete_role(RoleName=role)


def reset_repository(ctx: AwsContext, names: StackNames) -> None:
    """Delete the repository an earlier attempt made (with its images), if any."""
    try:
        ctx.client("ecr").delete_repository(repositoryName=names.repository, force=True)
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "RepositoryNotFoundException":
            raise


def check_secret_pattern(answer: object, ctx: AwsContext, names: StackNames) -> list[str]:
    """Check an ARN pattern for the app secret: it must match its ARN and no other secret's."""
    if not isinstance(answer, str):
        return [f"the answer is an ARN pattern (a string), got {type(answer).__name__}"]
    prefix = f"arn:aws:secretsmanager:{ctx.region}:{ctx.account_id}:secret:"
    real = f"{prefix}{names.secret}-AbCdEf"  # AWS appends '-' and 6 random characters
    others = [f"{prefix}{names.secret}-old-AbCdEf", f"{prefix}{names.secret}_v2-AbCdEf"]
    if not answer.startswith(prefix):
        return [
            f"a secret's ARN starts {prefix} (service, region, account, 'secret:'); "
            f"{answer!r} does not, so it matches no secret of this account"
        ]
    if answer == prefix + names.secret:
        return [
            "no suffix: Secrets Manager appends '-' and 6 random characters to every secret's "
            "ARN, so this matches nothing and ECS is denied (ResourceInitializationError)"
        ]
    if not fnmatch.fnmatchcase(real, answer):
        return [f"{answer!r} does not match the secret's ARN (for example {real})"]
    wider = [o for o in others if fnmatch.fnmatchcase(o, answer)]
    if wider:
        return [
            f"'*' matches any number of characters, so this also matches {wider[0]}; "
            "'?' matches exactly one, and the suffix is exactly six"
        ]
    return []


EXERCISES = [
    Exercise(
        "03-1",
        "Fill in the task role's policy: each statement's Action list and Resource list, using "
        "bucket_arn and table_arn (the app lists the bucket, reads/writes/deletes objects, and "
        "reads/writes its history table and the table's indexes).",
        check_app_policy,
    ),
    Exercise(
        "03-2",
        "Complete create_task_role: create llmops-task-role with the shared trust policy and "
        "the Project tag, then put app_policy on it as the inline policy llmops-task-role-app. "
        "(Each run deletes the role an earlier attempt made, then calls your function.)",
        check_task_role,
        args=("client", "trust_policy", "app_policy"),
        reset=reset_task_role,
    ),
    Exercise(
        "03-3",
        "Before the secret exists its ARN's random suffix is unknown. Write the Resource "
        "pattern that matches the secret llmops_prod's ARN and no other secret's.",
        check_secret_pattern,
    ),
    Exercise(
        "03-4",
        "Complete create_repository: create the llmops repository with immutable tags, scan on "
        "push and the Project tag, then put the lifecycle policy. (Each run deletes the "
        "repository an earlier attempt made, images included, then calls your function.)",
        check_repository,
        args=("client", "lifecycle"),
        reset=reset_repository,
    ),
]
