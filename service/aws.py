"""The one AWS connection: a boto3 session with its region, endpoint and account id.

Every boto3 client in the project comes from an `AwsContext`: the service's S3 and DynamoDB
stores, and every deploy resource and model (deploy/ receives one from `start_backend`). It
lives here because the image carries only `service/`. Configuration reaches it once, from
the edge (the service's Settings, the CLI, a chapter's set-up), and nothing here reads or
writes `os.environ`: the endpoint is passed explicitly and botocore's own
`AWS_ENDPOINT_URL` lookup is switched off, so an exported endpoint can never redirect a
context that was built for another account.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any

# Standard retry mode (AWS's recommended one: exponential back-off with jitter, 3 attempts);
# short connect/read timeouts so a request path fails fast instead of hanging on a store.
RETRIES = {"max_attempts": 3, "mode": "standard"}
CONNECT_TIMEOUT_S = 5
READ_TIMEOUT_S = 20


@dataclass(frozen=True)
class AwsContext:
    """Where AWS calls go (region, endpoint, credentials); makes and caches the clients."""

    region: str = "us-east-1"
    endpoint_url: str | None = None
    kind: str = "aws"  # moto, localstack or aws: which account answers (labels output)
    profile: str | None = None
    access_key_id: str | None = None  # explicit keys (emulators, a test acting as a user);
    secret_access_key: str | None = field(default=None, repr=False)  # None = default chain
    session_token: str | None = field(default=None, repr=False)
    _lock: threading.Lock = field(
        default_factory=threading.Lock, init=False, repr=False, compare=False
    )
    _clients: dict[str, Any] = field(default_factory=dict, init=False, repr=False, compare=False)

    @cached_property
    def session(self) -> Any:
        """Return the boto3 Session every client of this context is made from."""
        import boto3  # imported on first use: ~0.6 s the service's start-up does not pay

        return boto3.session.Session(
            profile_name=self.profile,
            region_name=self.region,
            aws_access_key_id=self.access_key_id,
            aws_secret_access_key=self.secret_access_key,
            aws_session_token=self.session_token,
        )

    def client(self, service: str) -> Any:
        """Return the (cached, thread-safe to share) boto3 client for `service`."""
        with self._lock:
            made = self._clients.get(service)
            if made is None:
                from botocore.config import Config

                config = Config(
                    retries=RETRIES,
                    connect_timeout=CONNECT_TIMEOUT_S,
                    read_timeout=READ_TIMEOUT_S,
                    ignore_configured_endpoint_urls=True,
                )
                made = self.session.client(service, endpoint_url=self.endpoint_url, config=config)
                self._clients[service] = made
            return made

    @cached_property
    def account_id(self) -> str:
        """Return the caller's account id (one sts:GetCallerIdentity per context)."""
        return self.client("sts").get_caller_identity()["Account"]

    def with_credentials(
        self, access_key_id: str, secret_access_key: str, session_token: str | None = None
    ) -> AwsContext:
        """Return a context for the same account that signs with other keys (new clients)."""
        return replace(
            self,
            access_key_id=access_key_id,
            secret_access_key=secret_access_key,
            session_token=session_token,
            profile=None,
        )

    def environment(self) -> dict[str, str]:
        """Return the variables a child process (AWS CLI, a service) needs to reach this account."""
        env = {"AWS_REGION": self.region, "AWS_DEFAULT_REGION": self.region}
        if self.endpoint_url:
            env["AWS_ENDPOINT_URL"] = self.endpoint_url
        if self.profile:
            env["AWS_PROFILE"] = self.profile
        if self.access_key_id and self.secret_access_key:
            env["AWS_ACCESS_KEY_ID"] = self.access_key_id
            env["AWS_SECRET_ACCESS_KEY"] = self.secret_access_key
            if self.session_token:
                env["AWS_SESSION_TOKEN"] = self.session_token
        return env
