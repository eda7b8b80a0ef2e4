"""Run the AWS CLI v1 against a test's AWS context (the second client the tests use)."""

import json
import os
import subprocess
import sys

from service.aws import AwsContext


def aws_cli(ctx: AwsContext, *args: str, check: bool = True) -> dict:
    """Run `aws <args> --output json` against `ctx`'s account and return the parsed output."""
    out = subprocess.run(
        [sys.executable, "-m", "awscli", *args, "--output", "json"],
        capture_output=True, text=True, check=check, timeout=60,
        env={**os.environ, **ctx.environment()},
    )  # fmt: skip
    return json.loads(out.stdout or "{}")
