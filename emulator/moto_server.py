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
def _managed_policy_fields() -> tuple[tuple[dict, str], ...]:
    """Return each AWS managed policy's fixed fields and document, parsed once per process.

    The fields are what moto's constructor sets apart from the account, the partition and the
    mutable state; the id is drawn once here, so a policy keeps it across resets and accounts,
    as an AWS managed policy's id is one everywhere.
    """
    from moto.iam import models

    out = []
    for name, d in json.loads(models.aws_managed_policies_data).items():
        version = d.get("DefaultVersionId") or "v1"
        fields = {
            "name": name,
            "description": "",
            "id": models.random_policy_id(),
            "path": d.get("Path") or "/",
            "default_version_id": version,
            "next_version_num": int(version.lstrip("v")) + 1,
            "create_date": datetime.fromisoformat(d["CreateDate"]),
            "update_date": datetime.fromisoformat(d["UpdateDate"]),
        }
        out.append((fields, json.dumps(d.get("Document"))))
    return tuple(out)


def _load_managed_policies_once() -> None:
    """Make moto's IAM backends build their ~1,600 AWS managed policies from one parse.

    An emulator extension: moto re-parses the whole policy file, and draws a random id per
    policy, each time an IAM backend is made (every reset, several times), which made each
    test's reset the slowest part. The objects are built from fields parsed once: the same
    classes, fields and documents as moto's constructor gives, each backend its own objects.
    """
    from moto.iam import models
    from moto.settings import load_iam_aws_managed_policies
    from moto.utilities.utils import get_partition

    def init_aws_policies(self: models.IAMBackend) -> list[models.ManagedPolicy]:
        if not load_iam_aws_managed_policies():
            return []
        partition = get_partition(self.region_name)
        made = []
        for fields, document in _managed_policy_fields():
            policy = models.AWSManagedPolicy.__new__(models.AWSManagedPolicy)  # tracked by moto
            policy.__dict__.update(fields)
            policy.account_id, policy.partition = self.account_id, partition
            policy.attachment_count, policy.tags = 0, {}
            policy.versions = [
                models.PolicyVersion(
                    policy.arn, document, True, fields["default_version_id"], fields["update_date"]
                )
            ]
            made.append(policy)
        return made

    models.IAMBackend._init_aws_policies = init_aws_policies


def _look_up_access_keys_in_made_backends() -> None:
    """Make moto look an access key up only in the IAM backends that exist.

    An emulator extension: moto looks in every partition's IAM backend of every account, and
    so makes the five the workbook never uses (aws-cn, aws-us-gov, ...) on the first request
    after each reset, each with its managed policies. A backend not made yet holds no access
    key, so skipping it gives the same answer.
    """
    from moto.iam import models

    def get_account_id_from(access_key: str) -> str:
        for account_id, account in list(models.iam_backends.items()):
            for partition in list(account.keys()):  # the dict's own keys: made backends only
                if access_key in account[partition].access_keys:
                    return account_id
        return models.DEFAULT_ACCOUNT_ID

    models.get_account_id_from = get_account_id_from


def install_extensions() -> None:
    """Give moto the workbook's extensions (localstack/README.md lists them); idempotent."""
    from emulator import scaling_activities
    from emulator.ecs_hooks import install_moto_extensions

    _load_managed_policies_once()
    _look_up_access_keys_in_made_backends()
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
