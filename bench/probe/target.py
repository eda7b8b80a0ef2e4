"""The service under probe: a `python -m service` subprocess, its DATA_DIR, CPU and memory."""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psutil

from bench.figures import BenchError
from service.server import free_port

ROOT = Path(__file__).resolve().parents[2]
HOST = "127.0.0.1"
# Variables the probe decides itself for each service it starts; the rest of the environment
# (MAX_UPLOAD_MB and the other limits among them) is the running configuration it measures.
DECIDED = (
    "API_KEY", "CORS_ORIGINS", "ENV", "ENABLE_DOCS", "DATA_DIR", "HOST", "PORT",
    "DOCUMENT_BUCKET", "CHAT_HISTORY_TABLE", "LLM_PROVIDER", "AWS_ENDPOINT_URL",
)  # fmt: skip
# Files that appear without any request writing data (a lock a reader opens).
IGNORED = re.compile(r"(^|/)\.lock$")


@dataclass
class Limits:
    """The limits the running service announces on its page (defaults: the service's own)."""

    max_upload_mb: float = 10.0
    max_files: int = 10
    max_message_chars: int = 2000

    @property
    def max_upload_bytes(self) -> int:
        """Return the per-file upload limit in bytes."""
        return int(self.max_upload_mb * 1024 * 1024)

    @classmethod
    def from_page(cls, html: str) -> Limits:
        """Read the limits from the chat page's data attributes."""
        found = dict(re.findall(r'data-(max-[a-z-]+)="([0-9.]+)"', html))
        d = cls()
        return cls(
            float(found.get("max-upload-mb", d.max_upload_mb)),
            int(float(found.get("max-files", d.max_files))),
            int(float(found.get("max-message-chars", d.max_message_chars))),
        )


class Service:
    """`python -m service` on a free loopback port with its own DATA_DIR and log file."""

    def __init__(self, repo: Path, data_dir: Path, log: Path, env: dict[str, str]) -> None:
        self.repo, self.data_dir, self.log = repo, data_dir, log
        self.env = {k: v for k, v in os.environ.items() if k not in DECIDED}
        self.env.update({"PYTHONUNBUFFERED": "1", "LLM_PROVIDER": "offline", **env})
        self.proc: subprocess.Popen | None = None
        self.port = 0

    @property
    def base(self) -> str:
        """Return the service's base URL."""
        return f"http://{HOST}:{self.port}"

    def start(self, wait: str = "/ready", limit_s: float = 120.0) -> Service:
        """Start the process and return once `wait` answers 200 (BenchError if it never does)."""
        self.port = free_port()
        env = {**self.env, "HOST": HOST, "PORT": str(self.port), "DATA_DIR": str(self.data_dir)}
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "service"], cwd=self.repo, env=env, stdout=log,
                stderr=subprocess.STDOUT,
            )  # fmt: skip
        deadline = time.monotonic() + limit_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise BenchError(f"the service exited with {self.proc.returncode}: {self.tail()}")
            try:
                if httpx.get(self.base + wait, timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        self.stop()
        raise BenchError(f"{wait} did not answer 200 within {limit_s:.0f} s: {self.tail()}")

    def stop(self) -> None:
        """Stop the process: SIGTERM, then SIGKILL after 5 s."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def kill(self) -> None:
        """Kill the process and its children at once (busy with work a client abandoned)."""
        if self.proc is None or self.proc.poll() is not None:
            return
        children = self._process().children(recursive=True)
        self.proc.kill()
        self.proc.wait()
        for child in children:  # a parser subprocess must not outlive the service
            with contextlib.suppress(psutil.NoSuchProcess):
                child.kill()

    def alive(self) -> bool:
        """Say whether the process still runs."""
        return self.proc is not None and self.proc.poll() is None

    def _process(self) -> psutil.Process:
        if self.proc is None:
            raise BenchError("the service is not running")
        return psutil.Process(self.proc.pid)

    def cpu_seconds(self) -> float:
        """Return the CPU time the process used: its own, its waited-for and live children's."""
        p = self._process()
        t = p.cpu_times()
        total = t.user + t.system + t.children_user + t.children_system
        for child in p.children(recursive=True):
            try:
                c = child.cpu_times()
                total += c.user + c.system
            except psutil.NoSuchProcess:
                pass
        return total

    def rss_mb(self) -> float:
        """Return the resident memory of the process and its children in MB."""
        p = self._process()
        total = p.memory_info().rss
        for child in p.children(recursive=True):
            with contextlib.suppress(psutil.NoSuchProcess):
                total += child.memory_info().rss
        return total / 1e6

    def tail(self, chars: int = 1500) -> str:
        """Return the end of the service's log."""
        try:
            return self.log.read_text(errors="replace")[-chars:]
        except OSError:
            return ""


@dataclass
class Target:
    """Where the checks send their inputs and what they watch for side effects."""

    base: str
    data_dir: Path
    # Watched for writes outside DATA_DIR (DATA_DIR is a folder inside it).
    root: Path
    limits: Limits = field(default_factory=Limits)
    api_key: str | None = None
    service: Service | None = None  # the process, when the probe started it
    quick: bool = False
    marker: str = field(default_factory=lambda: uuid.uuid4().hex[:10])
    client: httpx.Client = field(default_factory=lambda: httpx.Client(timeout=30))

    @property
    def host_port(self) -> tuple[str, int]:
        """Return the (host, port) raw-socket checks connect to."""
        url = httpx.URL(self.base)
        return url.host, url.port or 80

    def auth(self) -> dict[str, str]:
        """Return the headers that carry the right key (none when no key is set)."""
        return {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}

    def snapshot(self) -> dict[str, tuple[int, int]]:
        """Return every file under root: relative path -> (size, mtime)."""
        out = {}
        for dirpath, _, files in os.walk(self.root):
            for name in files:
                path = Path(dirpath, name)
                try:
                    st = path.lstat()
                except OSError:
                    continue
                rel = path.relative_to(self.root).as_posix()
                if not IGNORED.search(rel):
                    out[rel] = (st.st_size, st.st_mtime_ns)
        return out

    def changes(self, before: dict) -> tuple[list[str], list[str]]:
        """Return the files created or changed since `before`: (inside, outside) DATA_DIR."""
        after = self.snapshot()
        changed = [p for p, meta in after.items() if before.get(p) != meta]
        inside = self.data_dir.relative_to(self.root).as_posix() + "/"
        ins = [p.removeprefix(inside) for p in changed if p.startswith(inside)]
        outs = [p for p in changed if not p.startswith(inside)]
        return ins, outs + self.strays()

    def strays(self) -> list[str]:
        """Return (and remove) files named with this run's marker outside root."""
        found = []
        for folder in (Path("/"), Path("/tmp"), Path("/etc"), ROOT, Path.cwd()):
            try:
                hits = [p for p in folder.iterdir() if self.marker in p.name]
            except OSError:
                continue
            for path in hits:
                found.append(str(path))
                if path.is_file():
                    path.unlink(missing_ok=True)
        return found
