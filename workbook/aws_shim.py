"""Serve a chapter's `!aws ...` cells from an AWS CLI loaded once in the kernel.

A shell cell's `aws` is a new process, and AWS CLI v1 takes about a second to start (Python,
botocore, the command table). `start()` puts a small `aws` first on the kernel's PATH: it hands
its arguments, environment and working directory to a thread of the kernel, which runs them
with the AWS CLI's own driver (the same parser, the same requests, the same output) and sends
back the output and exit code: about 0.1 s a command once warm. Without the kernel (it was
restarted, or the script is copied elsewhere) the small `aws` runs the real CLI instead, as it
does for `--follow` (it prints until Ctrl-C). Both have the workbook's `aws logs tail`.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import socket
import struct
import sys
import tempfile
import threading
from pathlib import Path

# The client: standard library only, started with -S (no site-packages) so it starts fast.
CLIENT = """#!{python} -S
# `aws` for this kernel's shell cells (workbook/aws_shim.py): the kernel runs the command.
import json, os, socket, struct, sys

def _exact(sock, n):
    data = b""
    while len(data) < n:
        part = sock.recv(n - len(data))
        if not part:
            raise ConnectionError("the kernel closed the connection")
        data += part
    return data

def _real_cli():
    os.execv({python!r}, [{python!r}, "-m", "deploy.aws", *sys.argv[1:]])

if "--follow" in sys.argv:  # runs until Ctrl-C, printing as it goes: a process of its own
    _real_cli()
try:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect({socket_path!r})
except OSError:  # no kernel to ask: the real AWS CLI (with the workbook's plugins)
    _real_cli()
request = json.dumps({{"argv": sys.argv[1:], "env": dict(os.environ), "cwd": os.getcwd()}})
body = request.encode()
sock.sendall(struct.pack("!I", len(body)) + body)
code, n_out, n_err = struct.unpack("!iII", _exact(sock, 12))
os.write(1, _exact(sock, n_out)) if n_out else None
os.write(2, _exact(sock, n_err)) if n_err else None
sys.exit(code)
"""

_LOCK = threading.Lock()  # one command at a time: the CLI writes to sys.stdout
_LOADER = None  # botocore's parsed JSON data (endpoints, service models), shared by every run
_started: Path | None = None


def start() -> Path:
    """Start the kernel's AWS CLI server (once); return the folder holding the small `aws`."""
    global _started
    with _LOCK:
        if _started is not None:
            return _started
        folder = Path(tempfile.mkdtemp(prefix="workbook-aws-"))
        socket_path = str(folder / "cli.sock")
        server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        server.bind(socket_path)
        server.listen(8)
        script = folder / "bin" / "aws"
        script.parent.mkdir()
        script.write_text(CLIENT.format(python=sys.executable, socket_path=socket_path))
        script.chmod(0o755)
        import awscli  # noqa: F401  (sets AWS_DATA_PATH before any command runs)

        threading.Thread(target=_serve, args=(server,), name="aws-shim", daemon=True).start()
        _started = script.parent
        return _started


def _serve(server: socket.socket) -> None:
    """Load the AWS CLI, then answer each connection with one run of it (daemon thread)."""
    with _LOCK:  # the first command waits for this instead of loading it itself
        driver = _driver()
        driver._get_command_table()  # imports the commands' modules
        _LOADER.load_data_with_path("endpoints")  # what every command's client resolves with
    while True:
        conn, _ = server.accept()
        with conn:
            try:
                (size,) = struct.unpack("!I", _exact(conn, 4))
                request = json.loads(_exact(conn, size))
                code, out, err = run(request["argv"], request["env"], request["cwd"])
            except Exception as exc:  # a broken request: say so, as a failed command
                code, out, err = 255, b"", f"workbook aws shim: {exc}\n".encode()
            with contextlib.suppress(OSError):  # the caller was interrupted
                conn.sendall(struct.pack("!iII", code, len(out), len(err)) + out + err)


def _exact(conn: socket.socket, n: int) -> bytes:
    """Read exactly n bytes."""
    data = b""
    while len(data) < n:
        part = conn.recv(n - len(data))
        if not part:
            raise ConnectionError("the client closed the connection")
        data += part
    return data


def run(argv: list[str], env: dict[str, str], cwd: str) -> tuple[int, bytes, bytes]:
    """Run `aws argv` with the AWS CLI's driver in this process; return (code, stdout, stderr)."""
    # Importing awscli adds its data folder to AWS_DATA_PATH in os.environ: keep it.
    env = {**env, **{k: v for k, v in os.environ.items() if k == "AWS_DATA_PATH"}}
    out, err = _buffer(), _buffer()
    with (
        _LOCK,
        _environment(env),
        _directory(cwd),
        contextlib.redirect_stdout(out),
        contextlib.redirect_stderr(err),
        _program("aws", argv),
        _isolated_logging(),
    ):
        try:
            code = _driver().main(list(argv))
        except SystemExit as exc:  # argparse: an unknown command or option
            code = exc.code if isinstance(exc.code, int) else 255
    return int(code or 0), out.buffer.getvalue(), err.buffer.getvalue()


def _driver():
    """Return a new CLI driver: a session of its own (this command's environment), shared data.

    Each command needs a new botocore session, since its environment names its account, but a
    new session would parse botocore's JSON again (the endpoints file alone, ~0.1 s a command).
    The loader holding that parsed data depends only on AWS_DATA_PATH, which stays the one the
    CLI set at import, so every session here shares the first one's.
    """
    global _LOADER
    from deploy.aws.cli import driver as cli_driver  # awscli loaded once, then warm

    driver = cli_driver()
    if _LOADER is None:
        _LOADER = driver.session.get_component("data_loader")
    else:
        driver.session.register_component("data_loader", _LOADER)
    return driver


def _buffer() -> io.TextIOWrapper:
    """Return a text stream with a bytes .buffer (the CLI writes both text and bytes)."""
    return io.TextIOWrapper(io.BytesIO(), encoding="utf-8", write_through=True)


@contextlib.contextmanager
def _environment(env: dict[str, str]):
    """Give os.environ the shell's environment for the run, then put the kernel's back."""
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


# A CLI process of its own starts with no logging set up, and each run of the driver adds a
# handler to the "awscli" logger and sets its level (botocore's set_stream_logger). In the
# kernel, where a chapter may log at DEBUG (the service's JSON logs), these loggers are cut off
# from the kernel's handlers while a command runs, and put back as they were after it.
ISOLATED_LOGGERS = ("awscli", "botocore", "s3transfer", "urllib3")


@contextlib.contextmanager
def _isolated_logging(names: tuple[str, ...] = ISOLATED_LOGGERS):
    """Run with these loggers not propagating to the kernel's; restore level and handlers."""
    loggers = [logging.getLogger(name) for name in names]
    saved = [(lg.level, list(lg.handlers), lg.propagate) for lg in loggers]
    for lg in loggers:
        lg.propagate = False
    try:
        yield
    finally:
        for lg, (level, handlers, propagate) in zip(loggers, saved, strict=True):
            lg.setLevel(level)
            lg.handlers[:] = handlers
            lg.propagate = propagate


@contextlib.contextmanager
def _program(name: str, argv: list[str]):
    """Set sys.argv as the shell would (argparse names the program from it in usage errors)."""
    saved = sys.argv
    sys.argv = [name, *argv]
    try:
        yield
    finally:
        sys.argv = saved


@contextlib.contextmanager
def _directory(cwd: str):
    """Run in the shell's working directory, then return to the kernel's."""
    here = os.getcwd()
    if cwd == here:
        yield
        return
    os.chdir(cwd)
    try:
        yield
    finally:
        os.chdir(here)
