"""Wait for `make test`'s background set-up (system packages, the podman base image).

`make test` starts installing the Debian packages and making the base image in the
background, and runs pytest meanwhile: the tests that need neither start at once. It names a
marker file in WORKBOOK_SETUP_PENDING, which the set-up writes its exit code into when done.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

LIMIT_S = 1200.0


class SetupFailed(RuntimeError):
    """The background set-up exited non-zero (the message holds its log's tail)."""


def wait_for_setup(limit_s: float = LIMIT_S) -> None:
    """Return once the background set-up has finished (at once when none was started)."""
    pending = os.environ.get("WORKBOOK_SETUP_PENDING")
    if not pending:
        return
    marker = Path(pending)
    deadline = time.monotonic() + limit_s
    while not marker.exists():
        if time.monotonic() > deadline:
            raise SetupFailed(f"the background set-up did not finish within {limit_s:.0f} s")
        time.sleep(1)
    code = marker.read_text().strip()
    if code != "0":
        log = marker.with_suffix(".log")
        tail = log.read_text()[-2000:] if log.exists() else "(no log)"
        raise SetupFailed(f"the background set-up exited {code}:\n{tail}")
