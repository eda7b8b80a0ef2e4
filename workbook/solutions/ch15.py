"""Solutions to chapter 15's exercises (loaded only by show_solution and by CI's runs)."""

import base64


def gate_function():
    """15-1: real AWS, the account you meant (set, and equal), and the exact word yes."""

    def open_gate(backend, account, expected_account, confirm) -> bool:
        if backend != "aws":  # nothing bills on an emulator, and it has no registry
            return False
        if not expected_account or account != expected_account:  # whose keys are these?
            return False
        return confirm == "yes"  # the word itself: not True, not "y"

    return open_gate


def login(authorization_data: dict) -> tuple:
    """15-2: the token is base64 of 'AWS:<password>'; the registry is the endpoint's host."""
    decoded = base64.b64decode(authorization_data["authorizationToken"]).decode()
    username, _, password = decoded.partition(":")
    registry = authorization_data["proxyEndpoint"].removeprefix("https://")
    return username, password, registry


def image_uri(sts, region: str, repository: str, tag: str) -> str:
    """15-3: the account from STS, the registry of that account and region, an immutable tag."""
    account = sts.get_caller_identity()["Account"]
    return f"{account}.dkr.ecr.{region}.amazonaws.com/{repository}:{tag}"


def push_policy(repository_arn: str) -> dict:
    """15-4: the login on "*" (it takes no resource), the push calls on the one repository."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "EcrLogin",
                "Effect": "Allow",
                "Action": "ecr:GetAuthorizationToken",
                "Resource": "*",
            },
            {
                "Sid": "PushToTheRepository",
                "Effect": "Allow",
                "Action": [
                    "ecr:BatchCheckLayerAvailability",
                    "ecr:BatchGetImage",
                    "ecr:CompleteLayerUpload",
                    "ecr:InitiateLayerUpload",
                    "ecr:PutImage",
                    "ecr:UploadLayerPart",
                ],
                "Resource": repository_arn,
            },
        ],
    }


def network_configuration(subnets: list, security_group: str) -> str:
    """15-5: both subnets, the task group, a public IP (no NAT in the default VPC's subnets)."""
    return (
        "awsvpcConfiguration={"
        f"subnets=[{','.join(subnets)}],"
        f"securityGroups=[{security_group}],"
        "assignPublicIp=ENABLED}"
    )


SOLUTIONS = {
    "15-1": gate_function,
    "15-2": login,
    "15-3": image_uri,
    "15-4": push_policy,
    "15-5": network_configuration,
}
