"""`workbook stack load`: steady traffic to the local data plane's ALB, counted by status."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from typer.testing import CliRunner

from deploy import cli, local_plane
from deploy.aws.errors import InvalidInput
from deploy.aws.names import DEFAULT_NAMES as N

runner = CliRunner()


def _state(urls: dict[str, dict[str, str]]) -> local_plane.PlaneState:
    return local_plane.PlaneState(
        pid=1, endpoint_url="http://127.0.0.1:5000", region="us-east-1", mode="process",
        clock="real time", urls=urls,
    )  # fmt: skip


@pytest.fixture
def answering() -> Iterator[str]:
    """A local server answering 200 on /health and 503 elsewhere; yield its base URL."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200 if self.path == "/health" else 503)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_the_load_goes_to_the_stacks_alb_on_its_http_listener():
    state = _state(
        {"other-alb": {"80": "http://127.0.0.1:7001"}, N.alb: {"443": "http://127.0.0.1:7003",
                                                               "80": "http://127.0.0.1:7002"}}
    )  # fmt: skip
    assert cli.load_url(state, N, "/chat") == "http://127.0.0.1:7002/chat"
    only = _state({"drill-alb": {"8080": "http://127.0.0.1:7004/"}})
    assert cli.load_url(only, N, "/health") == "http://127.0.0.1:7004/health"


@pytest.mark.parametrize(
    ("state", "path", "named"),
    [
        (None, "/health", "no local data plane runs"),
        (_state({}), "/health", "proxies no ALB named llmops-alb"),
        (_state({"a": {"80": "http://x"}, "b": {"80": "http://y"}}), "/health", "balancers: a, b"),
        (_state({N.alb: {"80": "http://127.0.0.1:7002"}}), "health", "must start with '/'"),
    ],
)
def test_a_load_with_nowhere_to_go_names_the_problem(state, path, named):
    with pytest.raises(InvalidInput, match=named):
        cli.load_url(state, N, path)


def test_load_counts_the_answers_by_status(answering):
    ok = runner.invoke(
        cli.app, ["load", "--url", f"{answering}/health", "--rps", "40", "--seconds", "0.5"]
    )
    assert ok.exit_code == 0, ok.output
    assert "to " + answering + "/health" in ok.output and "│ 200" in ok.output
    assert " 0 2xx" not in ok.output
    failing = runner.invoke(
        cli.app, ["load", "--url", f"{answering}/missing", "--rps", "20", "--seconds", "0.3"]
    )
    assert failing.exit_code == 1 and "503" in failing.output
    assert "got a 2xx answer" in failing.output


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["--rps", "0"], "rps (requests a second) must be above 0"),
        (["--seconds", "-1"], "seconds must be a positive number"),
    ],
)
def test_bad_load_settings_are_refused_before_sending(answering, args, named):
    result = runner.invoke(cli.app, ["load", "--url", f"{answering}/health", *args])
    assert result.exit_code == 2 and named in result.output


def test_load_without_an_emulator_says_how_to_start_one(monkeypatch):
    for name in ("AWS_ENDPOINT_URL", "WORKBOOK_MOTO_PORT"):
        monkeypatch.delenv(name, raising=False)
    result = runner.invoke(cli.app, ["load", "--seconds", "1"])
    assert result.exit_code == 2
    assert "no emulator answers" in result.output and "workbook stack emulator" in result.output
