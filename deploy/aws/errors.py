"""Errors raised by the deploy package."""

import re
from collections.abc import Iterator
from contextlib import contextmanager

from botocore.exceptions import ClientError


class DeployError(Exception):
    """Base class for every error the deploy package raises on purpose."""


class BackendError(DeployError):
    """The AWS backend (moto, LocalStack, real AWS) cannot be reached or refuses the call."""


class ConfirmationRequired(DeployError):
    """A billable create on real AWS was not confirmed."""


class ResourceError(DeployError):
    """An AWS resource is missing, misconfigured or in a state the operation cannot handle."""


class PermissionDenied(ResourceError):
    """The caller's IAM policy does not allow an action; the message names the action."""


class InvalidInput(DeployError, ValueError):
    """A caller passed a value AWS would refuse or the stack cannot use (message says which)."""


# One translation of botocore errors for every resource module.
_DENIED = {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "403"}
_BAD_CREDENTIALS = {"InvalidClientTokenId", "UnrecognizedClientException", "AuthFailure"}
_IAM_PREFIX = {
    "elbv2": "elasticloadbalancing",
    "application-autoscaling": "application-autoscaling",
}


def translate(exc: Exception, resource: str, service: str | None = None) -> DeployError:
    """Return the deploy error for a botocore ClientError, naming the resource (and action)."""
    response = getattr(exc, "response", {}) or {}
    err = response.get("Error", {})
    code, message = str(err.get("Code", "")), str(err.get("Message", ""))
    inner = re.search(r"<Code>([^<]+)</Code>", message)  # moto wraps JSON-service denials
    if inner:
        code = inner.group(1)
        text = re.search(r"<Message>([^<]+)</Message>", message)
        message = text.group(1) if text else message
    operation = getattr(exc, "operation_name", "call")
    status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    if code in _DENIED | _BAD_CREDENTIALS or status in (401, 403):
        performed = re.search(r"perform: ([\w-]+:\w+)", message)
        prefix = _IAM_PREFIX.get(service or "", service or "?")
        action = performed.group(1) if performed else f"{prefix}:{operation}"
        why = "credentials were rejected" if code in _BAD_CREDENTIALS else "access denied"
        return PermissionDenied(f"{why} for {action} on {resource} ({code}): {message}")
    return ResourceError(f"{resource}: {operation} failed ({code}): {message}")


@contextmanager
def aws_errors(resource: str, service: str | None = None) -> Iterator[None]:
    """Translate a botocore ClientError raised inside the block into a deploy error."""
    try:
        yield
    except ClientError as exc:
        raise translate(exc, resource, service) from exc
