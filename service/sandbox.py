"""Parse untrusted PDFs in a child process under CPU, memory and wall-clock limits.

A crafted PDF of a few kilobytes can keep pypdf busy for minutes or make it allocate
gigabytes. Each PDF is therefore read by its own child process (`python -m service.sandbox`)
that caps its own CPU time and address space with setrlimit; the parent kills it when the
wall-clock limit passes or the client goes away. One child is kept started in advance with
pypdf imported, so a parse does not pay the interpreter's start-up.

The protocol: the parent writes one JSON line (the limits) and the PDF's bytes to the
child's stdin; the child answers one JSON object on stdout: {"pages": [...]} or
{"error": "...", ...}. JSON rather than pickle, so a child subverted by its input cannot
make the parent run code.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import signal
import subprocess
import sys
import threading
import time
import warnings
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

try:  # POSIX only, like the service's image: elsewhere the module imports but cannot parse
    import resource
except ImportError:  # pragma: no cover - Windows
    resource = None  # type: ignore[assignment]

from service.rag.errors import CorruptDocumentError, EncryptedDocumentError, IngestError
from service.rag.pdftext import LimitError, read_pages

PACKAGE_ROOT = Path(__file__).resolve().parent.parent  # the directory holding `service/`
log = logging.getLogger("service.sandbox")
POLL_S = 0.1  # how often a waiting parent checks for a cancelled upload
# Parses running at once. Each child may use PARSE_MEMORY_MB, so this bounds their memory
# together (4 x 512 MB within the task's 8 GB); more uploads wait for a free slot.
MAX_PARALLEL_PARSES = 4
# The reader's errors a child reports by name; the parent raises the same type.
INGEST_ERRORS: dict[str, type[IngestError]] = {
    cls.__name__: cls for cls in (CorruptDocumentError, EncryptedDocumentError)
}


@dataclass(frozen=True)
class ParseLimits:
    """What one PDF parse may use: pages, characters, CPU seconds, wall seconds, memory."""

    max_pages: int
    max_chars: int
    max_page_bytes: int
    cpu_s: int
    timeout_s: float
    memory_mb: int


class ParseFailed(Exception):
    """Signal a parse stopped by a limit or a failure of the parser, not by the PDF's content."""

    def __init__(self, kind: str, message: str) -> None:
        self.kind = kind  # cpu, timeout, memory, cancelled, crashed or unavailable
        super().__init__(message)


class Sandbox:
    """Run PDF parses in child processes, one per PDF, with one child kept ready."""

    def __init__(self, parallel: int = MAX_PARALLEL_PARSES) -> None:
        self._slots = threading.BoundedSemaphore(parallel)
        self._lock = threading.Lock()
        self._spare: subprocess.Popen[bytes] | None = None

    def close(self) -> None:
        """Stop the spare child (at exit; parses in flight end on their own)."""
        with self._lock:
            spare, self._spare = self._spare, None
        if spare is not None and spare.poll() is None:
            spare.kill()
            spare.communicate()

    def warm(self) -> None:
        """Start the spare child now, so that the first PDF parse need not wait for it."""
        with self._lock:
            if self._spare is None or self._spare.poll() is not None:
                try:
                    self._spare = _start()
                except OSError as exc:  # a parse will try again and report it
                    log.warning("cannot start the PDF parser", extra={"error": str(exc)})

    def parse(
        self, data: bytes, filename: str, limits: ParseLimits, cancelled: threading.Event
    ) -> list[str]:
        """Return the PDF's page texts.

        A PDF over a content limit raises LimitError, a bad one the IngestError the reader
        raised (CorruptDocumentError, ...); ParseFailed says a parse limit or the upload's
        cancellation stopped the child.
        """
        while not self._slots.acquire(timeout=POLL_S):
            if cancelled.is_set():
                raise ParseFailed("cancelled", "the upload was cancelled")
        try:
            try:
                child = self._take()
            except OSError as exc:
                raise ParseFailed("unavailable", f"cannot start the PDF parser: {exc}") from exc
            log.debug("pdf parse started", extra={"file": filename, "pid": child.pid})
            try:
                out, err = _exchange(child, _job(data, filename, limits), limits, cancelled)
            finally:
                if child.poll() is None:  # an unexpected error above: leave no child behind
                    child.kill()
                    child.wait()
        finally:
            self._slots.release()
        return _result(child.returncode, out, err, filename, limits)

    def _take(self) -> subprocess.Popen[bytes]:
        with self._lock:
            child, self._spare = self._spare, _start()
        if child is None or child.poll() is not None:  # none yet, or it died while waiting
            child = _start()
        return child


def _start() -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "service.sandbox"],
        cwd=PACKAGE_ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def _job(data: bytes, filename: str, limits: ParseLimits) -> bytes:
    header = {
        "filename": filename,
        "size": len(data),
        "max_pages": limits.max_pages,
        "max_chars": limits.max_chars,
        "max_page_bytes": limits.max_page_bytes,
        "cpu_s": limits.cpu_s,
        "memory_mb": limits.memory_mb,
    }
    return json.dumps(header).encode() + b"\n" + data


def _exchange(
    child: subprocess.Popen[bytes], job: bytes, limits: ParseLimits, cancelled: threading.Event
) -> tuple[bytes, bytes]:
    """Send the job and collect the answer; kill the child on timeout or cancellation."""
    # communicate() runs in a helper thread: retrying it after a timeout would not send the
    # rest of a large input, so the timeout and the cancellation are handled here instead.
    answer: list[tuple[bytes, bytes]] = []
    talk = threading.Thread(
        target=lambda: answer.append(child.communicate(job)), name="pdf-parse", daemon=True
    )
    talk.start()
    deadline = time.monotonic() + limits.timeout_s
    while talk.is_alive():
        talk.join(POLL_S)
        stop = None
        if cancelled.is_set():
            stop = ParseFailed("cancelled", "the upload was cancelled")
        elif time.monotonic() >= deadline:
            stop = ParseFailed(
                "timeout", f"PDF parsing took longer than PARSE_TIMEOUT_S={limits.timeout_s:g}"
            )
        if stop is not None and talk.is_alive():
            child.kill()  # its pipes close, so communicate() returns
            talk.join()
            raise stop
    return answer[0] if answer else (b"", b"")


def _result(
    code: int | None, out: bytes, err: bytes, filename: str, limits: ParseLimits
) -> list[str]:
    if code == -signal.SIGXCPU:
        raise ParseFailed("cpu", f"PDF parsing exceeded PARSE_CPU_S={limits.cpu_s}")
    try:
        answer = json.loads(out)
    except ValueError:
        answer = None
    if isinstance(answer, dict) and isinstance(answer.get("pages"), list):
        return [str(page) for page in answer["pages"]]
    if isinstance(answer, dict) and answer.get("error") == "limit":
        found = answer["limit"]
        raise LimitError(
            filename,
            str(found["what"]),
            int(found["limit"]),
            int(found["seen"]),
            bool(found["exact"]),
        )
    if isinstance(answer, dict) and answer.get("error") in INGEST_ERRORS:
        raise INGEST_ERRORS[answer["error"]](filename, str(answer.get("message", "")))
    if b"MemoryError" in err or (isinstance(answer, dict) and answer.get("error") == "memory"):
        raise ParseFailed(
            "memory", f"PDF parsing needed more than PARSE_MEMORY_MB={limits.memory_mb}"
        )
    tail = err.decode(errors="replace").strip().splitlines()[-1:] or [f"exit code {code}"]
    raise ParseFailed("crashed", f"the PDF parser stopped: {tail[0][:200]}")


@lru_cache
# -- the child ----------------------------------------------------------------------------
def _limit_self(cpu_s: int, memory_mb: int) -> None:
    """Cap this process's CPU seconds (from now) and address space; write no core file."""
    used = resource.getrusage(resource.RUSAGE_SELF)
    soft = math.ceil(used.ru_utime + used.ru_stime) + cpu_s
    # Past the soft limit the kernel sends SIGXCPU (which ends the process); SIGKILL at hard.
    resource.setrlimit(resource.RLIMIT_CPU, (soft, soft + 1))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    # macOS refuses an address-space limit: the CPU and wall-clock limits still hold there.
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_AS, (memory_mb << 20, memory_mb << 20))


def child_main() -> None:
    """Wait for one job on stdin, parse it under its limits, answer on stdout, exit."""
    import pypdf  # noqa: F401 - imported while idle, so a job starts at once

    # pypdf logs a warning per broken object: a crafted file could fill the parent's buffer.
    logging.getLogger("pypdf").setLevel(logging.ERROR)
    warnings.simplefilter("ignore")

    line = sys.stdin.buffer.readline()
    if not line:  # the parent exited without sending a job
        return
    job = json.loads(line)
    _limit_self(int(job["cpu_s"]), int(job["memory_mb"]))
    data = sys.stdin.buffer.read(int(job["size"]))
    try:
        pages = read_pages(
            data,
            job["filename"],
            max_pages=job["max_pages"],
            max_chars=job["max_chars"],
            max_page_bytes=job["max_page_bytes"],
        )
        answer: dict[str, object] = {"pages": pages}
    except MemoryError:
        answer = {"error": "memory"}
    except LimitError as exc:
        limit = {"what": exc.what, "limit": exc.limit, "seen": exc.seen, "exact": exc.exact}
        answer = {"error": "limit", "message": exc.problem, "limit": limit}
    except IngestError as exc:
        answer = {"error": type(exc).__name__, "message": exc.problem}
    sys.stdout.write(json.dumps(answer))
    sys.stdout.flush()


if __name__ == "__main__":
    child_main()
