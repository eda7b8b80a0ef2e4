"""Exercise 02-2's check: an ECS container healthCheck, judged by its form and run for real."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HEALTH_KEYS = {"command", "interval", "timeout", "retries", "startPeriod"}
# RegisterTaskDefinition's limits for a container healthCheck (seconds; retries a count).
HEALTH_LIMITS = {
    "interval": (5, 300),
    "timeout": (2, 60),
    "retries": (1, 10),
    "startPeriod": (0, 300),
}
CONTAINER_PORT = 8080
NOT_IN_SLIM = ("curl", "wget")
_URL = re.compile(r"https?://([^/:'\"\s]+)(?::([^/'\"\s]+))?(/[^'\"\s)]*)?")


class _Health(BaseHTTPRequestHandler):
    """Answer GET /health with the server's `status`, anything else with 404."""

    def do_GET(self) -> None:
        status = self.server.status if self.path.split("?")[0] == "/health" else 404
        body = b'{"status": "ok"}' if status == 200 else b"{}"
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        """Print nothing per request."""


def _serve(status: int) -> ThreadingHTTPServer:
    """Start an HTTP server on a free 127.0.0.1 port whose /health answers `status`."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Health)
    server.status = status
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    return server


def _closed_port() -> int:
    """Return a 127.0.0.1 port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def probe(command: list[str], port: int, limit_s: float = 10.0) -> tuple[int, str]:
    """Run a healthCheck command here against 127.0.0.1:`port`; return (exit code, stderr tail)."""
    # 8080 in the command, and $PORT, point at `port`; `python` is this interpreter (the image
    # has one, as this machine does).
    here = os.path.dirname(sys.executable)
    env = {**os.environ, "PORT": str(port), "PATH": here + os.pathsep + os.environ["PATH"]}
    items = [c.replace(str(CONTAINER_PORT), str(port)) for c in command[1:]]
    if command[0] == "CMD-SHELL":
        argv = ["/bin/sh", "-c", items[0]]
    else:
        python = re.fullmatch(r"(/usr/local/bin/)?python(3(\.\d+)?)?", items[0])
        argv = [sys.executable if python else items[0], *items[1:]]
    try:
        run = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=limit_s)
    except FileNotFoundError:
        return 127, f"{argv[0]}: not found"
    except subprocess.TimeoutExpired:
        return -1, f"still running after {limit_s:g} s"
    tail = (run.stderr.strip().splitlines() or [""])[-1]
    return run.returncode, tail


def _check_url(text: str) -> list[str]:
    """Name a probed URL that misses the container's own /health on 8080."""
    found = _URL.search(text)
    if found is None:
        return []  # built from parts: the runs below decide
    host, port, path = found.group(1), found.group(2), found.group(3) or "/"
    problems = []
    if host not in ("127.0.0.1", "localhost"):
        problems.append(
            f"the command probes {host}: ECS runs it inside the container, in the task's own "
            "network namespace, so the app is at 127.0.0.1 (or localhost); a load balancer's "
            "or another host's name tests something else, and the ALB already has its own check"
        )
    if port is not None and port.isdigit() and int(port) != CONTAINER_PORT:
        problems.append(
            f"the command probes port {port}, but the app listens on {CONTAINER_PORT} (the "
            "containerPort, $PORT); 80 is the ALB listener's port, not the container's"
        )
    if path.split("?")[0] != "/health":
        why = (
            "/ready answers 503 until the library is indexed and whenever a store is slow, so "
            "ECS would replace tasks that are only warming up or briefly degraded"
            if path.startswith("/ready")
            else f"{path} is not it"
        )
        problems.append(
            "the liveness route is /health: it answers as soon as the process serves, "
            f"without touching the stores; {why}"
        )
    return problems


def _check_timing(answer: dict) -> list[str]:
    """Name timing fields ECS would refuse (RegisterTaskDefinition's limits)."""
    problems = []
    for key, (low, high) in HEALTH_LIMITS.items():
        if key not in answer:
            continue
        value = answer[key]
        if isinstance(value, str):
            problems.append(
                f"{key} is {value!r}: ECS takes a whole number ({key}: 30), not the "
                "Dockerfile HEALTHCHECK's '30s'"
            )
        elif not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            problems.append(
                f"{key} {value!r}: RegisterTaskDefinition accepts whole numbers {low} to {high}"
            )
    return problems


def check_health(answer: object) -> list[str]:
    """Check a container healthCheck: no curl, the right form, passing only when /health does."""
    if not isinstance(answer, dict) or "command" not in answer:
        return ["the answer is the healthCheck block: a dict with 'command' and the timings"]
    unknown = sorted(set(answer) - HEALTH_KEYS)
    if unknown:
        return [
            f"ECS's healthCheck has no {unknown}: its keys are {sorted(HEALTH_KEYS)} "
            "(camelCase startPeriod, not Docker's --start-period)"
        ]
    command = answer["command"]
    if not (isinstance(command, list) and command and all(isinstance(c, str) for c in command)):
        return ["command is a list of strings, e.g. ['CMD', 'python', '-c', '...']"]
    problems = _check_timing(answer)
    text = " ".join(command)
    tools = [t for t in NOT_IN_SLIM if re.search(rf"\b{t}\b", text)]
    if tools:
        return [
            *problems,
            f"the command runs {' and '.join(tools)}, which python:3.12-slim does not ship "
            "(errata 16): the check can never pass, so every container goes UNHEALTHY and ECS "
            "replaces the task again and again until the circuit breaker (3 failed tasks "
            "here) rolls the deployment back. Use the Python that is in the image "
            "(urllib.request)",
        ]
    if command[0] not in ("CMD", "CMD-SHELL"):
        return [
            *problems,
            f"command starts with {command[0]!r}: ECS wants 'CMD' (run the items that follow "
            "as they are) or 'CMD-SHELL' (run one string with /bin/sh -c) first",
        ]
    if len(command) < 2:
        return [*problems, "command holds only its form: add the program to run"]
    if command[0] == "CMD" and re.search(r"\s", command[1]):
        return [
            *problems,
            f"with CMD the next item is the program itself, so {command[1][:40]!r}... names a "
            "program with spaces in its name, which does not exist: split it into "
            "'python', '-c', '<code>', or use CMD-SHELL with the whole line as one string",
        ]
    if command[0] == "CMD-SHELL" and len(command) != 2:
        return [*problems, "CMD-SHELL takes exactly one string, the whole shell command"]
    problems += _check_url(text)
    if problems:
        return problems
    return _check_runs(command)


def _exit_code(command: list[str], status: int | None) -> tuple[int, str]:
    """Run the command against a /health answering `status` (None: nothing listening)."""
    if status is None:
        return probe(command, _closed_port())
    server = _serve(status)
    try:
        return probe(command, server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()


def _check_runs(command: list[str]) -> list[str]:
    """Run the command against a healthy app, a failing one and none; name a wrong exit."""
    code, tail = _exit_code(command, 200)
    if code != 0:
        return [
            f"against an app whose /health answers 200 the command exits {code} ({tail}): ECS "
            "would mark a healthy container UNHEALTHY and replace it"
        ]
    on_error, on_nothing = _exit_code(command, 500)[0] == 0, _exit_code(command, None)[0] == 0
    if on_error and on_nothing:
        return [
            "the command exits 0 whatever happens, with /health answering 500 and with nothing "
            "listening at all: a check that cannot fail calls a broken or crashed app HEALTHY, "
            "and ECS never replaces it. Request /health and let an error end the process"
        ]
    if on_error:
        return [
            "when /health answers 500 the command still exits 0, so ECS calls a broken app "
            "HEALTHY and never replaces it (the status never read, or an error caught and "
            "ignored? urlopen raises HTTPError on a 5xx: let it end the process)"
        ]
    if on_nothing:
        return [
            "with nothing listening on the port the command still exits 0 (a refused "
            "connection caught and ignored?): a crashed server would look HEALTHY"
        ]
    return []
