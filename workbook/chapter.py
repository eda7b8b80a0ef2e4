"""A chapter's set-up in one line: start the backend, and let `!aws ...` cells reach it."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from deploy.aws.backend import Backend
from deploy.aws.settings import DeploySettings
from workbook import aws_shim

ROOT = Path(__file__).resolve().parents[1]
_exported: set[str] = set()  # what an earlier setup() in this kernel exported


def setup(backend: str = "moto") -> Backend:
    """Start (or reuse) `backend`, export it for the chapter's shell cells and return it."""
    started = DeploySettings().start_backend(backend)
    # A chapter is the edge, like a terminal: its `!aws ...` cells are child processes, so the
    # account they must reach is exported here (as `export AWS_ENDPOINT_URL=...` would be),
    # and the kernel's own bin folder, where the AWS CLI lives, goes first on PATH.
    env = started.ctx.environment()
    for stale in _exported - env.keys():  # switching backends in one kernel
        os.environ.pop(stale, None)
    os.environ.update(env)
    _exported.clear()
    _exported.update(env)
    # The kernel answers those `aws` calls itself (workbook/aws_shim.py: the CLI loaded once,
    # about 0.1 s a command instead of a second); WORKBOOK_AWS_SHIM=0 keeps the plain CLI.
    bin_dirs = [str(Path(sys.executable).parent)]
    if os.environ.get("WORKBOOK_AWS_SHIM", "1") != "0":
        bin_dirs.insert(0, str(aws_shim.start()))
    path = [p for p in os.environ.get("PATH", "").split(os.pathsep) if p and p not in bin_dirs]
    os.environ["PATH"] = os.pathsep.join([*bin_dirs, *path])
    where = started.endpoint_url or "AWS's own endpoints"
    print(f"backend={started.kind} region={started.ctx.region} endpoint={where}")
    return started
