"""Run AWS CLI v1 command lines in forked children, each killed at its timeout.

The parent loads awscli once (`warm`), so a command costs a fork and its own HTTP calls
instead of a Python start-up (~0.2 s instead of ~1 s). A line may hold `$(aws ...)`
substitutions, run first, and a pipe: only the `aws` part before the first `|` runs. The
account comes from the environment passed in (`AwsContext.environment()`).
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import re
import shlex
import signal
import sys
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Outcome:
    """What one command line did: exit code (None: killed at its timeout), output, seconds."""

    exit_code: int | None
    stdout: str
    stderr: str
    seconds: float

    @property
    def ok(self) -> bool:
        """Return True when the command exited 0."""
        return self.exit_code == 0

    @property
    def useful(self) -> bool:
        """Return True when the output holds something besides nulls and empty collections."""
        try:
            data = json.loads(self.stdout)
        except ValueError:
            return self.stdout.strip() not in ("", "None")
        return _has_value(data)


def _has_value(data: object) -> bool:
    if isinstance(data, dict):
        return any(_has_value(v) for v in data.values())
    if isinstance(data, list):
        return any(_has_value(v) for v in data)
    return data not in (None, "")


FOLLOW = "--follow"  # `aws logs tail --follow`: runs until Ctrl-C
INTERRUPT_GRACE_S = 2.0
_DRIVER = None  # a driver with its command table and service models loaded, forked ready


def driver() -> Any:
    """Return an AWS CLI v1 driver with the workbook's plugins (`aws logs tail`, a v2 command)."""
    from awscli.clidriver import create_clidriver

    from deploy.aws import logs_tail

    made = create_clidriver()
    logs_tail.awscli_initialize(made.session.get_component("event_emitter"))
    return made


PLUGIN_CONFIG = """\
# Written by `workbook stack emulator`: the AWS CLI v1 of this venv loads the workbook's plugin,
# which adds `aws logs tail` (an AWS CLI v2 command the guide uses). Account and region come
# from the exported variables. To have it with your own config, add these two lines to it.
[plugins]
logs_tail = deploy.aws.logs_tail
"""


def plugin_config(path: Path) -> Path:
    """Write an AWS CLI config file that loads the workbook's plugins; return its path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(PLUGIN_CONFIG)
    return path


def warm(services: Iterable[str]) -> None:
    """Load the AWS CLI's command table and these services' models once, for every child."""
    global _DRIVER
    _DRIVER = _DRIVER or driver()
    # botocore's endpoints file, which every child's client would otherwise parse again
    _DRIVER.session.get_component("data_loader").load_data_with_path("endpoints")
    table = _DRIVER._get_command_table()
    for service in services:
        if service in table and hasattr(table[service], "_get_command_table"):
            table[service]._get_command_table()


def _child(args: list[str], env: dict[str, str], cwd: Path, out: int, err: int) -> int:
    """Run the AWS CLI in this (forked) process with its output in `out`/`err`; return its code."""
    signal.signal(signal.SIGINT, signal.default_int_handler)  # Ctrl-C: KeyboardInterrupt
    gc.disable()  # a collection would walk (and copy) the whole inherited heap; exit frees all
    os.chdir(cwd)
    null = os.open(os.devnull, os.O_RDONLY)
    for fd, target in ((null, 0), (out, 1), (err, 2)):
        os.dup2(fd, target)
    # pytest and the like replace sys.stdout: the CLI must write to the files above
    sys.stdin = open(0, closefd=False)  # noqa: SIM115
    sys.stdout = open(1, "w", closefd=False)  # noqa: SIM115
    sys.stderr = open(2, "w", closefd=False)  # noqa: SIM115
    # The account is `env` and nothing the parent happened to export; AWS_DATA_PATH is the
    # CLI's own (set by `import awscli`): without it a driver made here finds no command table.
    for key in [k for k in os.environ if k.startswith("AWS_") and k != "AWS_DATA_PATH"]:
        del os.environ[key]
    os.environ.update(env)
    try:
        code = (_DRIVER or driver()).main(args)
    except SystemExit as exc:  # argparse: a bad argument or an unknown command
        code = exc.code if isinstance(exc.code, int) else 2
    sys.stdout.flush()
    sys.stderr.flush()
    return code


def cli(args: list[str], env: dict[str, str], cwd: Path, timeout: float) -> Outcome:
    """Run `aws <args>` in a forked child, killed after `timeout` seconds.

    A command that runs until Ctrl-C (`--follow`) gets Ctrl-C (SIGINT) at `timeout` instead,
    as a person would stop it, and its exit code is the one it gives then.
    """
    started = time.monotonic()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        pid = os.fork()
        if pid == 0:  # the child: never returns into the caller's code
            child_code = 255
            with contextlib.suppress(BaseException):
                child_code = _child(args, env, cwd, out.fileno(), err.fileno())
            os._exit(child_code)
        code = _wait(pid, started + timeout, interrupt=FOLLOW in args)
        out.seek(0)
        err.seek(0)
        text = (out.read().decode(errors="replace"), err.read().decode(errors="replace"))
    return Outcome(code, *text, time.monotonic() - started)


def _wait(pid: int, deadline: float, interrupt: bool = False) -> int | None:
    """Return the child's exit code, or kill it at `deadline` and return None.

    With `interrupt`, the child gets SIGINT at `deadline` and INTERRUPT_GRACE_S to exit.
    """
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        if time.monotonic() > deadline:
            if interrupt:
                os.kill(pid, signal.SIGINT)
                deadline, interrupt = time.monotonic() + INTERRUPT_GRACE_S, False
                continue
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            return None
        time.sleep(0.005)


_SUBSTITUTION = re.compile(r"\$\((aws [^()]*)\)")


def run_line(line: str, env: dict[str, str], cwd: Path, timeout: float) -> Outcome:
    """Run one command line: `$(aws ...)` parts first, then the `aws` part before any `|`."""
    seconds = 0.0
    while match := _SUBSTITUTION.search(line):
        inner = run_line(match[1], env, cwd, timeout)
        seconds += inner.seconds
        if not inner.ok:
            return inner
        line = line[: match.start()] + inner.stdout.strip() + line[match.end() :]
    lexer = shlex.shlex(line.replace("\\\n", " "), posix=True, punctuation_chars="|")
    lexer.whitespace_split, lexer.commenters = True, "#"
    words = list(lexer)
    words = words[: words.index("|")] if "|" in words else words
    if words[:1] != ["aws"]:
        return Outcome(127, "", f"not an aws command: {line}", seconds)
    done = cli(words[1:], env, cwd, timeout)
    return Outcome(done.exit_code, done.stdout, done.stderr, done.seconds + seconds)


def run_lines(text: str, env: dict[str, str], cwd: Path, timeout: float) -> Outcome:
    """Run each line of `text` (a fix may be several commands) until one fails; return the last."""
    outcome = Outcome(0, "", "", 0.0)
    seconds = 0.0
    for line in command_lines(text):
        outcome = run_line(line, env, cwd, timeout)
        seconds += outcome.seconds
        if not outcome.ok:
            break
    return Outcome(outcome.exit_code, outcome.stdout, outcome.stderr, seconds)


def command_lines(text: str) -> list[str]:
    """Split a fix into its commands: a new command starts a line with `aws`."""
    lines: list[str] = []
    for line in text.splitlines():
        if line.startswith("aws ") or not lines:
            lines.append(line)
        else:
            lines[-1] += "\n" + line
    return lines
