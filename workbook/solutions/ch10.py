"""Solutions to chapter 10's exercises (loaded only by show_solution and by CI's runs)."""

import json

from deploy import pipeline

GITHUB = "token.actions.githubusercontent.com"


def pass_role(execution_role_arn: str, task_role_arn: str) -> dict:
    """10-1: the two roles a revision names, handed to ECS tasks and nothing else."""
    return {
        "Sid": "PassTheTaskRolesToEcs",
        "Effect": "Allow",
        "Action": ["iam:PassRole"],
        "Resource": sorted([execution_role_arn, task_role_arn]),
        "Condition": {"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}},
    }


def create_ci_role(client, provider_arn: str, repo: str, policy_arn: str) -> str:
    """10-2: trust only aws.yml's runs on main (exact sub, StringEquals), attach the policy."""
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Federated": provider_arn},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {
                    "StringEquals": {
                        f"{GITHUB}:aud": "sts.amazonaws.com",
                        f"{GITHUB}:sub": f"repo:{repo}:ref:refs/heads/main",
                    }
                },
            }
        ],
    }
    arn = client.create_role(
        RoleName="github-actions-llmops-deploy",
        AssumeRolePolicyDocument=json.dumps(trust),
        Tags=[{"Key": "Project", "Value": "ecs-workbook"}],
    )["Role"]["Arn"]
    client.attach_role_policy(RoleName="github-actions-llmops-deploy", PolicyArn=policy_arn)
    return arn


def actions() -> set:
    """10-3: log in, push, register (passing the two roles), update and watch, find the ARN."""
    return {
        "ecr:GetAuthorizationToken",
        "ecr:PutImage",
        "ecs:RegisterTaskDefinition",
        "iam:PassRole",
        "ecs:UpdateService",
        "ecs:DescribeServices",
        "secretsmanager:DescribeSecret",
    }


def first_failure() -> dict:
    """10-4: the first step that touches the broken thing fails; a red CI skips the job."""
    return {
        "trust-names-master": pipeline.CREDENTIALS,
        "no-id-token-permission": pipeline.CREDENTIALS,
        "push-to-other-repository": pipeline.BUILD_PUSH,
        "wrong-secret-name": pipeline.FILL,
        "wrong-container-name": pipeline.RENDER,
        "pass-execution-role-only": pipeline.DEPLOY,
        "ci-tests-fail": "the deploy job is skipped",
    }


SOLUTIONS = {
    "10-1": pass_role,
    "10-2": create_ci_role,
    "10-3": actions,
    "10-4": first_failure,
}
