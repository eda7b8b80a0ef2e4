"""Resolve a numeric item's `compute` by calling an allow-listed deploy model function."""

import importlib
import inspect
import math
from numbers import Real

from quizzes.errors import ComputeError
from quizzes.schema import ALLOWED_COMPUTE_PREFIXES, Compute


def resolve(compute: Compute) -> float:
    """Import the named function (never eval), call it with the kwargs, return the number."""
    # The schema already refused other prefixes; check again so callers can't bypass it.
    if not compute.function.startswith(ALLOWED_COMPUTE_PREFIXES):
        raise ComputeError(f"function {compute.function!r} is not allow-listed", field="compute")
    module_name, _, attr = compute.function.rpartition(".")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ComputeError(
            f"cannot import {module_name!r}: {exc}", field="compute.function"
        ) from exc
    func = getattr(module, attr, None)
    if func is None or not callable(func):
        raise ComputeError(f"{module_name} has no function {attr!r}", field="compute.function")
    try:
        inspect.signature(func).bind(**compute.kwargs)
    except TypeError as exc:
        raise ComputeError(
            f"{compute.function}: bad kwargs: {exc}", field="compute.kwargs"
        ) from exc
    try:
        value = func(**compute.kwargs)
    except Exception as exc:  # the model refused the inputs: report, don't crash the loader
        raise ComputeError(f"{compute.function} failed: {exc!r}", field="compute.kwargs") from exc
    if isinstance(value, bool) or not isinstance(value, Real) or not math.isfinite(value):
        raise ComputeError(
            f"{compute.function} returned {value!r}, not a finite number", field="compute.function"
        )
    value = float(value)
    return round(value, compute.round) if compute.round is not None else value
