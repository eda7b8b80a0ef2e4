"""A chapter's `!aws ...` cells answered by the kernel's warm AWS CLI: same output, same codes."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from workbook import aws_shim

# Each as a learner types it: a query as text, a JSON answer, an API error, a usage error.
COMMANDS = [
    ["sts", "get-caller-identity", "--query", "Account", "--output", "text"],
    ["ecs", "list-clusters"],
    ["ecs", "describe-services", "--cluster", "nope", "--services", "nope"],
    ["ecs", "describe-services", "--no-such-option"],
]


def _shell(ctx, argv: list[str], aws: str) -> subprocess.CompletedProcess:
    env = {**os.environ, **ctx.environment()}
    return subprocess.run([aws, *argv], env=env, capture_output=True, text=True, timeout=60)


@pytest.fixture(scope="module")
def shim_aws() -> str:
    return str(aws_shim.start() / "aws")


@pytest.mark.parametrize("argv", COMMANDS, ids=["text", "json", "api-error", "usage-error"])
def test_the_kernels_aws_answers_as_the_cli_does(ctx, shim_aws, argv):
    real = _shell(ctx, argv, str(os.path.join(os.path.dirname(sys.executable), "aws")))
    mine = _shell(ctx, argv, shim_aws)
    assert (mine.returncode, mine.stdout) == (real.returncode, real.stdout)
    assert bool(mine.stderr) == bool(real.stderr)  # errors still reach stderr
    if real.returncode:
        assert real.stderr.strip().splitlines()[-1] == mine.stderr.strip().splitlines()[-1]


def test_the_shells_environment_and_directory_apply_and_the_kernels_come_back(ctx, tmp_path):
    (tmp_path / "input.json").write_text('{"clusterName": "from-a-file"}')
    import awscli  # noqa: F401  (importing it adds AWS_DATA_PATH to the kernel's environment)

    env = {**os.environ, **ctx.environment(), "AWS_DEFAULT_OUTPUT": "text"}
    before_env, before_cwd = dict(os.environ), os.getcwd()
    code, out, err = aws_shim.run(
        ["ecs", "create-cluster", "--cli-input-json", "file://input.json",
         "--query", "cluster.clusterName"],
        env, str(tmp_path),
    )  # fmt: skip
    assert (code, out.decode().strip(), err) == (0, "from-a-file", b"")
    assert dict(os.environ) == before_env and os.getcwd() == before_cwd


def test_without_the_kernel_the_small_aws_runs_the_real_cli(ctx, tmp_path):
    script = tmp_path / "aws"
    script.write_text(
        aws_shim.CLIENT.format(python=sys.executable, socket_path=str(tmp_path / "gone.sock"))
    )
    script.chmod(0o755)
    out = _shell(ctx, ["sts", "get-caller-identity", "--query", "Account"], str(script))
    assert out.returncode == 0 and out.stdout.strip() == f'"{ctx.account_id}"'


def test_the_kernels_debug_logging_stays_out_of_the_commands_output(ctx, caplog):
    env = {**os.environ, **ctx.environment()}
    with caplog.at_level(logging.DEBUG):  # a chapter that set up logging at DEBUG
        code, out, err = aws_shim.run(["ecs", "list-clusters"], env, os.getcwd())
    assert b"clusterArns" in out
    assert code == 0 and err == b""
    assert not [r for r in caplog.records if r.name.startswith(aws_shim.ISOLATED_LOGGERS)]
    awscli = logging.getLogger("awscli")  # the driver sets its level and adds a handler
    assert (awscli.level, awscli.handlers, awscli.propagate) == (logging.NOTSET, [], True)


@pytest.mark.parametrize(
    "request_bytes",
    [b"{not json", b'{"argv": ["sts"]}'],  # unreadable JSON; a request missing env and cwd
    ids=["bad-json", "missing-fields"],
)
def test_a_broken_request_fails_as_a_command_and_the_kernel_keeps_serving(
    ctx, shim_aws, request_bytes
):
    import socket
    import struct

    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(60)
        sock.connect(str(Path(shim_aws).parent.parent / "cli.sock"))
        sock.sendall(struct.pack("!I", len(request_bytes)) + request_bytes)
        code, n_out, n_err = struct.unpack("!iII", aws_shim._exact(sock, 12))
        err = aws_shim._exact(sock, n_err).decode()
    assert (code, n_out) == (255, 0)
    assert err.startswith("workbook aws shim: ") and len(err.strip()) > len("workbook aws shim:")
    after = _shell(ctx, ["sts", "get-caller-identity", "--query", "Account"], shim_aws)
    assert after.returncode == 0 and after.stdout.strip() == f'"{ctx.account_id}"'


def test_each_command_gets_its_own_session_on_data_parsed_once(ctx, monkeypatch):
    sessions = []
    real = aws_shim._driver

    def recording():
        driver = real()
        sessions.append(driver.session)
        return driver

    monkeypatch.setattr(aws_shim, "_LOADER", None)  # as in a new kernel
    monkeypatch.setattr(aws_shim, "_driver", recording)
    regions = []
    for region in ("eu-west-1", "us-east-1", "eu-west-1"):
        env = {
            **os.environ,
            **ctx.environment(),
            "AWS_REGION": region,
            "AWS_DEFAULT_REGION": region,
        }
        code, out, err = aws_shim.run(
            ["ec2", "describe-availability-zones", "--query", "AvailabilityZones[0].RegionName"],
            env, os.getcwd(),
        )  # fmt: skip
        assert code == 0, err
        regions.append(out.decode().strip().strip('"'))
    assert regions == ["eu-west-1", "us-east-1", "eu-west-1"]  # each command's own region
    assert len({id(s) for s in sessions}) == 3  # a session per command: its own environment
    loaders = {id(s.get_component("data_loader")) for s in sessions}
    assert loaders == {id(aws_shim._LOADER)}  # one parse of botocore's JSON for all of them


def test_logs_tail_answers_in_the_kernel_and_follow_runs_as_a_process_ctrl_c_ends(ctx, shim_aws):
    logs = ctx.client("logs")
    logs.create_log_group(logGroupName="/ecs/shim")
    logs.create_log_stream(logGroupName="/ecs/shim", logStreamName="ecs/app/1")
    logs.put_log_events(
        logGroupName="/ecs/shim",
        logStreamName="ecs/app/1",
        logEvents=[{"timestamp": int(time.time() * 1000), "message": "hello"}],
    )
    tail = _shell(ctx, ["logs", "tail", "/ecs/shim", "--format", "short"], shim_aws)
    assert tail.returncode == 0 and tail.stdout.split(" ", 1)[1] == "hello\n", tail.stderr
    # --follow prints until Ctrl-C: a process of its own, not the kernel's (one command at a
    # time) thread, which it would hold for ever.
    env = {**os.environ, **ctx.environment()}
    follow = subprocess.Popen(
        [shim_aws, "logs", "tail", "/ecs/shim", "--follow"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert follow.stdout.readline().endswith(" ecs/app/1 hello\n")
        assert aws_shim.run(["sts", "get-caller-identity"], env, os.getcwd())[0] == 0  # free
    finally:
        follow.send_signal(signal.SIGINT)
        _, err = follow.communicate(timeout=30)
    assert follow.returncode == 0, err
