"""Run moto's server inside this process on 127.0.0.1, and drive its control API."""

from __future__ import annotations

import functools
import json
import logging
import os
import urllib.error
import urllib.request
from datetime import datetime

# moto reads these switches from the process environment at request time, so the in-process
# server can only be configured here; they make the emulator behave like the guide's account.
MOTO_FLAGS = {
    # AWS managed policies (AmazonECSTaskExecutionRolePolicy, ...) exist and can be attached.
    "MOTO_IAM_LOAD_MANAGED_POLICIES": "true",
    # Services report this many running tasks, so `aws ecs wait services-stable` returns.
    "MOTO_ECS_SERVICE_RUNNING": "1",
    # The stack needs no AMIs; loading them makes every reset seconds slower.
    "MOTO_EC2_LOAD_DEFAULT_AMIS": "false",
}
ACCOUNT_ID = "123456789012"  # moto's default account
# moto accepts any keys; these make a request signed, so IAM enforcement has a caller.
ACCESS_KEY_ID = SECRET_ACCESS_KEY = "testing"


@functools.cache
def _managed_policy_args() -> tuple[tuple[str, dict], ...]:
    """Return every AWS managed policy's constructor arguments, parsed once per process."""
    from moto.iam import models

    parsed = json.loads(models.aws_managed_policies_data)
    return tuple(
        (
            name,
            {
                "default_version_id": d.get("DefaultVersionId"),
                "path": d.get("Path"),
                "document": json.dumps(d.get("Document")),
                "create_date": datetime.fromisoformat(d["CreateDate"]),
                "update_date": datetime.fromisoformat(d["UpdateDate"]),
            },
        )
        for name, d in parsed.items()
    )


def _load_managed_policies_once() -> None:
    """Make moto's IAM parse its ~1,300 AWS managed policies once per process, not per reset.

    An emulator extension: moto re-parses the whole policy file each time an account's IAM
    backend is made (every reset, ~1 s), which made each test's reset the slowest part.
    The policies and their documents are the same; only the parsing is shared.
    """
    from moto.iam import models
    from moto.settings import load_iam_aws_managed_policies

    def init_aws_policies(self: models.IAMBackend) -> list[models.ManagedPolicy]:
        if not load_iam_aws_managed_policies():
            return []
        return [
            models.AWSManagedPolicy(
                name, account_id=self.account_id, region=self.region_name, **args
            )
            for name, args in _managed_policy_args()
        ]

    models.IAMBackend._init_aws_policies = init_aws_policies


def install_extensions() -> None:
    """Give moto the workbook's extensions (localstack/README.md lists them); idempotent."""
    from emulator import scaling_activities
    from emulator.ecs_hooks import install_moto_extensions

    _load_managed_policies_once()
    install_moto_extensions()
    scaling_activities.install()


class MotoServer:
    """An embedded ThreadedMotoServer on a free (or given) 127.0.0.1 port, with the extensions."""

    def __init__(self, port: int = 0) -> None:
        for key, value in MOTO_FLAGS.items():
            os.environ.setdefault(key, value)
        from moto.server import ThreadedMotoServer  # ~0.3 s, the lab extra only

        install_extensions()
        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
        self._server.start()
        host, bound = self._server.get_host_and_port()
        self.endpoint_url = f"http://{host}:{bound}"

    def stop(self) -> None:
        """Stop serving (everything it held is forgotten)."""
        self._server.stop()


def post(endpoint_url: str, path: str, body: bytes = b"") -> bytes:
    """POST to moto's control API (`/moto-api/...`) and return the response body."""
    req = urllib.request.Request(
        endpoint_url.rstrip("/") + path,
        data=body,
        method="POST",
        headers={"Content-Type": "text/plain"},  # else Flask eats the body as a form
    )
    with urllib.request.urlopen(req, timeout=10) as resp:
        return resp.read()


def reset(endpoint_url: str) -> None:
    """Wipe every resource the moto server at `endpoint_url` holds."""
    post(endpoint_url, "/moto-api/reset")


def enforce_iam(endpoint_url: str, after_calls: int | None = 0) -> None:
    """Make moto check IAM policies after `after_calls` more calls (None turns it off)."""
    post(
        endpoint_url, "/moto-api/reset-auth", b"inf" if after_calls is None else b"%d" % after_calls
    )


def answers(endpoint_url: str) -> bool:
    """Say whether a moto server answers at `endpoint_url`."""
    try:
        with urllib.request.urlopen(endpoint_url.rstrip("/") + "/moto-api/", timeout=2):
            return True
    except (urllib.error.URLError, OSError, ValueError):
        return False
