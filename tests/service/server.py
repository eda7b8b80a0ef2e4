"""Run `python -m service` as a subprocess on a free 127.0.0.1 port (for process-level tests)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from service.server import free_port

REPO = Path(__file__).resolve().parents[2]


class ServiceProcess:
    """A service subprocess: start it, wait for /health, stop it, read its stdout."""

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        full_env = {**os.environ, "PYTHONUNBUFFERED": "1", **env}
        self._log = open(log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "service", "--host", "127.0.0.1", "--port", str(self.port)],
            cwd=REPO,
            env=full_env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    def get(self, path: str, timeout: float = 5) -> tuple[int, bytes]:
        """GET a path; return (status, body)."""
        try:
            with urllib.request.urlopen(self.url + path, timeout=timeout) as r:
                return r.status, r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.read()

    def wait_for(self, path: str = "/health", status: int = 200, limit: float = 60) -> None:
        """Poll until `path` answers `status` (fail if the process dies or time runs out)."""
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"service exited early:\n{self.output()}")
            try:
                if self.get(path, timeout=2)[0] == status:
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise AssertionError(f"{path} never answered {status}:\n{self.output()}")

    def stop(self) -> None:
        """Kill the process if it still runs and close the log."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self._log.close()

    def output(self) -> str:
        """Return what the process printed so far."""
        if not self._log.closed:
            self._log.flush()
        return self.log_path.read_text(errors="replace")
