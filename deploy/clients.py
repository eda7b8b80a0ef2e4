"""The one place boto3 clients are made for the deploy package."""

from functools import lru_cache

import boto3
from botocore.config import Config

from deploy.config import get_settings

_RETRIES = Config(retries={"max_attempts": 5, "mode": "standard"})


@lru_cache(maxsize=64)
def _cached(service: str, region: str, endpoint: str | None, profile: str | None):
    session = boto3.session.Session(profile_name=profile, region_name=region)
    return session.client(service, endpoint_url=endpoint, config=_RETRIES)


def client(service: str, region: str | None = None):
    """Return a boto3 client for `service`, honouring the backend's endpoint and region."""
    s = get_settings()
    return _cached(service, region or s.aws_region, s.aws_endpoint_url, s.aws_profile)


def reset_clients() -> None:
    """Forget cached clients and settings (after the backend or environment changes)."""
    _cached.cache_clear()
    get_settings.cache_clear()


def account_id() -> str:
    """Return the caller's AWS account id."""
    return client("sts").get_caller_identity()["Account"]
