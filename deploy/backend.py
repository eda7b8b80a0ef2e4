"""Select the AWS backend: embedded moto server (default), LocalStack, or real AWS."""

from __future__ import annotations

import json
import logging
import os
import urllib.error
import urllib.request
from dataclasses import dataclass, field

from deploy.clients import reset_clients
from deploy.config import get_settings
from deploy.errors import BackendError

# moto reads these at request time; they make the emulator behave like the guide's account.
MOTO_FLAGS = {
    # AWS managed policies (AmazonECSTaskExecutionRolePolicy, ...) exist and can be attached.
    "MOTO_IAM_LOAD_MANAGED_POLICIES": "true",
    # Services report this many running tasks, so `aws ecs wait services-stable` returns.
    "MOTO_ECS_SERVICE_RUNNING": "1",
    # The stack needs no AMIs; loading them makes every reset seconds slower.
    "MOTO_EC2_LOAD_DEFAULT_AMIS": "false",
}
DUMMY_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
}


@dataclass
class Backend:
    """A running backend: where AWS calls go and how to undo the process settings."""

    kind: str
    endpoint_url: str | None
    region: str
    _saved_env: dict[str, str | None] = field(default_factory=dict, repr=False)
    _server: object | None = field(default=None, repr=False)

    def _set_env(self, values: dict[str, str]) -> None:
        for key, value in values.items():
            self._saved_env.setdefault(key, os.environ.get(key))
            os.environ[key] = value
        reset_clients()

    def _post(self, path: str, body: bytes = b"") -> bytes:
        if not self.endpoint_url:
            raise BackendError(f"the {self.kind} backend has no emulator API")
        req = urllib.request.Request(
            self.endpoint_url + path,
            data=body,
            method="POST",
            headers={"Content-Type": "text/plain"},  # else Flask eats the body as a form
        )
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.read()

    def reset(self) -> None:
        """Wipe every resource in the emulator (moto only)."""
        if self.kind != "moto":
            raise BackendError("reset wipes an emulator; it is only offered for moto")
        self._post("/moto-api/reset")
        self.enforce_iam(None)

    def enforce_iam(self, after_calls: int | None = 0) -> None:
        """Make moto check IAM policies after `after_calls` more calls (None turns it off)."""
        if self.kind != "moto":
            raise BackendError("IAM enforcement switching is a moto feature")
        body = b"inf" if after_calls is None else str(after_calls).encode()
        self._post("/moto-api/reset-auth", body)

    def stop(self) -> None:
        """Stop the embedded server (if any) and restore the environment."""
        global _CURRENT
        if self._server is not None:
            self._server.stop()
            self._server = None
        for key, value in self._saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        self._saved_env.clear()
        reset_clients()
        if _CURRENT is self:
            _CURRENT = None

    def __enter__(self) -> Backend:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


_CURRENT: Backend | None = None


def serve_moto(port: int = 0, region: str = "us-east-1") -> Backend:
    """Start a moto server in this process on 127.0.0.1:`port` (0 = any free port)."""
    for key, value in MOTO_FLAGS.items():
        os.environ.setdefault(key, value)
    from moto.server import ThreadedMotoServer  # imported late: ~0.3 s, lab extra only

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    host, bound = server.get_host_and_port()
    return Backend("moto", f"http://{host}:{bound}", region, _server=server)


def moto_answers(endpoint: str) -> bool:
    """Say whether a moto server answers at `endpoint`."""
    try:
        with urllib.request.urlopen(endpoint.rstrip("/") + "/moto-api/", timeout=2):
            return True
    except (urllib.error.URLError, OSError, ValueError):
        return False


def _start_moto(region: str, port: int, endpoint: str | None, fresh: bool) -> Backend:
    # A moto server that already runs (`workbook stack emulator`, the compose `moto`
    # service) is used as it is, so a stack outlives one command or kernel.
    if not fresh:
        known = endpoint or (f"http://127.0.0.1:{port}" if port else None)
        if known and moto_answers(known):
            backend = Backend("moto", known.rstrip("/"), region)
            backend._set_env(
                {**DUMMY_CREDENTIALS, "AWS_ENDPOINT_URL": backend.endpoint_url,
                 "AWS_REGION": region, "AWS_DEFAULT_REGION": region}
            )  # fmt: skip
            return backend
    backend = serve_moto(port if not fresh else 0, region)
    backend._set_env(
        {
            **DUMMY_CREDENTIALS,
            "AWS_ENDPOINT_URL": backend.endpoint_url,
            "AWS_REGION": region,
            "AWS_DEFAULT_REGION": region,
        }
    )
    os.environ.pop("AWS_PROFILE", None)
    return backend


def _health(url: str) -> dict | None:
    try:
        with urllib.request.urlopen(url, timeout=3) as resp:
            return json.loads(resp.read() or b"{}")
    except (urllib.error.URLError, OSError, ValueError):
        return None


def _check_localstack(endpoint: str) -> None:
    health = _health(endpoint.rstrip("/") + "/_localstack/health")
    if health is None:
        raise BackendError(
            f"nothing answers at {endpoint}. Start LocalStack (see localstack/README.md): it "
            "needs Docker and LOCALSTACK_AUTH_TOKEN, and ECS, ECR, ELBv2 and Application Auto "
            "Scaling need a paid plan. The default backend, moto, needs none of that."
        )
    missing = [
        svc
        for svc in ("ecs", "ecr", "elbv2", "application-autoscaling")
        if health.get("services", {}).get(svc) in (None, "disabled")
    ]
    if missing:
        raise BackendError(
            f"LocalStack at {endpoint} does not offer {', '.join(missing)}: those services "
            "need a LocalStack plan that includes them (and LOCALSTACK_AUTH_TOKEN)."
        )


def _start_localstack(region: str, endpoint: str) -> Backend:
    backend = Backend("localstack", endpoint, region)
    backend._set_env({**DUMMY_CREDENTIALS, "AWS_ENDPOINT_URL": endpoint, "AWS_REGION": region})
    return backend


def start_backend(
    kind: str | None = None, *, region: str | None = None, fresh: bool = False
) -> Backend:
    """Start (or reuse) the backend `kind` and point this process's AWS calls at it.

    With moto, a server already answering at AWS_ENDPOINT_URL (or WORKBOOK_MOTO_PORT) is
    reused; `fresh=True` always starts a private one (tests do, so they never wipe yours).
    """
    global _CURRENT
    s = get_settings()
    kind = kind or s.backend
    region = region or s.aws_region
    if kind not in ("moto", "localstack", "aws"):
        raise BackendError(f"unknown backend {kind!r}: choose moto, localstack or aws")
    if _CURRENT is not None and _CURRENT.kind == kind:
        return _CURRENT
    if kind == "localstack":  # check before leaving the current backend
        _check_localstack(s.localstack_endpoint)
    if _CURRENT is not None:
        _CURRENT.stop()
    if kind == "moto":
        _CURRENT = _start_moto(region, s.moto_port, s.aws_endpoint_url, fresh)
    elif kind == "localstack":
        _CURRENT = _start_localstack(region, s.localstack_endpoint)
    else:
        _CURRENT = Backend("aws", None, region)
        _CURRENT._set_env({"AWS_REGION": region})
        os.environ.pop("AWS_ENDPOINT_URL", None)
        reset_clients()
    return _CURRENT


def current_backend() -> Backend | None:
    """Return the backend started in this process, if any."""
    return _CURRENT


def is_moto() -> bool:
    """Return True when calls go to a moto server (embedded or one named by the settings)."""
    if _CURRENT is not None:
        return _CURRENT.kind == "moto"
    return bool(get_settings().moto_port)
