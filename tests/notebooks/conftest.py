"""Shared helpers for the notebook tests: where chapters are and how to run them."""

import pytest

from workbook import notebooks


@pytest.fixture(scope="session")
def kernel() -> str:
    """Return the venv kernel's name (installed once if missing)."""
    return notebooks.ensure_kernel()


@pytest.fixture
def exported_account(aws, monkeypatch):
    """Export the worker's emptied moto server, so a chapter's set-up reuses it.

    A chapter run by hand starts its own server; here the kernels find this one, which saves
    each of them importing moto (about 3 s), and it is emptied before every execution.
    """
    for key, value in aws.ctx.environment().items():
        monkeypatch.setenv(key, value)
    return aws
