"""Shared helpers for the notebook tests: where chapters are and how to run them."""

import pytest

from workbook import notebooks


@pytest.fixture(scope="session")
def kernel() -> str:
    """Return the venv kernel's name (installed once if missing)."""
    return notebooks.ensure_kernel()
