"""Select the AWS backend (embedded moto, LocalStack or real AWS) and build its AWS context."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Literal, get_args

from deploy.aws.errors import BackendError
from emulator import moto_server
from service.aws import AwsContext

BackendKind = Literal["moto", "localstack", "aws"]
BACKENDS: tuple[str, ...] = get_args(BackendKind)
DEFAULT_REGION = "us-east-1"
LOCALSTACK_ENDPOINT = "http://localhost:4566"
# LocalStack accepts any keys, as moto does.
EMULATOR_KEYS = {"access_key_id": "testing", "secret_access_key": "testing"}
# What the stack needs from LocalStack besides the free services (its paid plan has them).
LOCALSTACK_PAID = ("ecs", "ecr", "elbv2", "application-autoscaling")


def check_kind(kind: str) -> BackendKind:
    """Return `kind` if it names a backend, else raise BackendError listing the choices."""
    if kind not in BACKENDS:
        raise BackendError(f"unknown backend {kind!r}: choose {', '.join(BACKENDS)}")
    return kind  # type: ignore[return-value]


@dataclass
class Backend:
    """A backend in use: the AWS context pointing at it, and an embedded server's controls."""

    ctx: AwsContext
    server: object | None = None  # an emulator.moto_server.MotoServer this process started

    @property
    def kind(self) -> str:
        """Return moto, localstack or aws."""
        return self.ctx.kind

    @property
    def endpoint_url(self) -> str | None:
        """Return where calls go (None: AWS's own endpoints)."""
        return self.ctx.endpoint_url

    def reset(self) -> None:
        """Wipe every resource in the emulator (moto only) and turn IAM enforcement off."""
        self._require_moto("reset wipes an emulator; it")
        moto_server.reset(self.ctx.endpoint_url)
        moto_server.enforce_iam(self.ctx.endpoint_url, None)

    def enforce_iam(self, after_calls: int | None = 0) -> None:
        """Make moto check IAM policies after `after_calls` more calls (None turns it off)."""
        self._require_moto("IAM enforcement switching")
        moto_server.enforce_iam(self.ctx.endpoint_url, after_calls)

    def _require_moto(self, what: str) -> None:
        if self.kind != "moto":
            raise BackendError(f"{what} is only offered for moto, not {self.kind}")

    def stop(self) -> None:
        """Stop the embedded server, if this process started one."""
        global _EMBEDDED
        if self.server is not None:
            self.server.stop()
            self.server = None
        if _EMBEDDED is self:
            _EMBEDDED = None

    def __enter__(self) -> Backend:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


# The embedded moto server this process runs: re-running a chapter's set-up reuses it.
_EMBEDDED: Backend | None = None


def _moto(region: str, endpoint_url: str | None, fresh: bool) -> Backend:
    global _EMBEDDED

    def context(url: str) -> AwsContext:
        return AwsContext(region=region, endpoint_url=url, kind="moto", **EMULATOR_KEYS)

    url = endpoint_url.rstrip("/") if endpoint_url else None
    # This process's own server, found again (a chapter's set-up exports its endpoint, so a
    # second Run All names it): the same Backend, whose `server` says the models are here.
    embedded = _EMBEDDED is not None and _EMBEDDED.ctx.region == region
    if not fresh and embedded and url in (None, _EMBEDDED.endpoint_url):
        return _EMBEDDED
    # A moto server that already runs (`workbook stack emulator`, the compose `moto` service)
    # is used as it is, so a stack outlives one command or kernel.
    if not fresh and url and moto_server.answers(url):
        return Backend(context(url))
    if not fresh and embedded:
        return _EMBEDDED
    server = moto_server.MotoServer()
    backend = Backend(context(server.endpoint_url), server)
    if not fresh:
        _EMBEDDED = backend
    return backend


def _health(url: str) -> dict | None:
    try:
        with urllib.request.urlopen(url, timeout=3) as resp:
            return json.loads(resp.read() or b"{}")
    except (urllib.error.URLError, OSError, ValueError):
        return None


def _localstack(region: str, endpoint: str) -> Backend:
    health = _health(endpoint.rstrip("/") + "/_localstack/health")
    if health is None:
        raise BackendError(
            f"nothing answers at {endpoint}. Start LocalStack (see localstack/README.md): it "
            "needs Docker and LOCALSTACK_AUTH_TOKEN, and ECS, ECR, ELBv2 and Application Auto "
            "Scaling need a paid plan. The default backend, moto, needs none of that."
        )
    services = health.get("services", {})
    missing = [svc for svc in LOCALSTACK_PAID if services.get(svc) in (None, "disabled")]
    if missing:
        raise BackendError(
            f"LocalStack at {endpoint} does not offer {', '.join(missing)}: those services "
            "need a LocalStack plan that includes them (and LOCALSTACK_AUTH_TOKEN)."
        )
    return Backend(
        AwsContext(region=region, endpoint_url=endpoint, kind="localstack", **EMULATOR_KEYS)
    )


def start_backend(
    kind: str = "moto",
    *,
    region: str = DEFAULT_REGION,
    endpoint_url: str | None = None,
    localstack_endpoint: str = LOCALSTACK_ENDPOINT,
    profile: str | None = None,
    fresh: bool = False,
) -> Backend:
    """Start (or reuse) the backend `kind` and return it with its AWS context.

    moto: a server answering at `endpoint_url` is reused, then this process's embedded one;
    otherwise one starts on a free 127.0.0.1 port. `fresh=True` always starts a private one
    (tests do, so they never wipe yours). localstack: checked before use. aws: your
    credentials (`profile`, else boto3's default chain); no endpoint override applies.
    """
    kind = check_kind(kind)
    if kind == "moto":
        return _moto(region, endpoint_url, fresh)
    if kind == "localstack":
        return _localstack(region, localstack_endpoint)
    return Backend(AwsContext(region=region, profile=profile, kind="aws"))
