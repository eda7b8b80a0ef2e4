"""A chapter's set-up in one line: start the backend, and let `!aws ...` cells reach it."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from deploy.aws.backend import Backend
from deploy.aws.settings import DeploySettings

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
    bin_dir = str(Path(sys.executable).parent)
    if os.environ.get("PATH", "").split(os.pathsep)[0] != bin_dir:
        os.environ["PATH"] = bin_dir + os.pathsep + os.environ.get("PATH", "")
    where = started.endpoint_url or "AWS's own endpoints"
    print(f"backend={started.kind} region={started.ctx.region} endpoint={where}")
    return started
