"""Share the error type and input checks of the AWS behaviour models (cost, rollout, scaling)."""

import math

from deploy.aws.errors import DeployError


class ModelError(DeployError, ValueError):
    """A model was given input that AWS would refuse or that makes no sense (message says which)."""


def require_non_negative(name: str, value: float) -> float:
    """Return `value` if it is a finite number >= 0, else raise ModelError naming it."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ModelError(f"{name} must be a finite number, got {value!r}")
    if value < 0:
        raise ModelError(f"{name} must not be negative, got {value!r}")
    return value


def require_positive(name: str, value: float) -> float:
    """Return `value` if it is a finite number > 0, else raise ModelError naming it."""
    require_non_negative(name, value)
    if value == 0:
        raise ModelError(f"{name} must be greater than 0, got {value!r}")
    return value


def require_int(name: str, value: int, *, minimum: int = 0) -> int:
    """Return `value` if it is an int >= `minimum`, else raise ModelError naming it."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ModelError(f"{name} must be a whole number, got {value!r}")
    if value < minimum:
        raise ModelError(f"{name} must be at least {minimum}, got {value!r}")
    return value
