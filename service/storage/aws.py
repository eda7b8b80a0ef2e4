"""The service's one place that makes boto3 clients (lazily, never at import time)."""

from __future__ import annotations

from functools import lru_cache
from typing import Any


@lru_cache(maxsize=16)
def _cached(service: str, region: str, endpoint_url: str | None) -> Any:
    import boto3  # imported on first use: ~0.6 s that start-up does not need to pay
    from botocore.config import Config

    config = Config(
        retries={"max_attempts": 3, "mode": "standard"},
        connect_timeout=3,
        read_timeout=10,
    )
    session = boto3.session.Session(region_name=region)
    return session.client(service, endpoint_url=endpoint_url, config=config)


def client(service: str, region: str, endpoint_url: str | None = None) -> Any:
    """Return a boto3 client for `service` (botocore also honours AWS_ENDPOINT_URL itself)."""
    return _cached(service, region, endpoint_url or None)


def reset_clients() -> None:
    """Forget cached clients (after the endpoint or credentials change, e.g. in tests)."""
    _cached.cache_clear()
