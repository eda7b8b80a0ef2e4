"""The in-process starter: uvicorn in a thread on a free port, waited for, then stopped."""

from __future__ import annotations

import json
import socket
import urllib.request

import pytest

from service.app import create_app
from service.server import (
    MAX_HEADER_BYTES,
    ThreadedServer,
    free_port,
    serve_in_thread,
    service_config,
    wait_http,
)


def port_is_open(port: int) -> bool:
    """Say whether something accepts connections on 127.0.0.1:port."""
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", port)) == 0


def test_serve_in_thread_answers_then_stops(settings):
    with serve_in_thread(create_app(settings)) as server:
        assert server.url == f"http://127.0.0.1:{server.port}"
        assert wait_http(server.url + "/ready", limit_s=60) >= 0
        request = urllib.request.Request(
            server.url + "/chat",
            data=json.dumps(
                {"session_id": "library", "message": "What is the task execution role used for?"}
            ).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as reply:
            assert json.load(reply)["citations"][0]["source"] == "roles.md"
    assert not port_is_open(server.port)


def test_a_taken_port_is_a_clear_error(settings):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(RuntimeError, match=f"did not start on http://127.0.0.1:{port}"):
            ThreadedServer(create_app(settings), port=port).start()


def test_wait_http_gives_up_on_a_closed_port():
    port = free_port()
    assert not port_is_open(port)
    with pytest.raises(TimeoutError, match=f"127.0.0.1:{port}/health did not answer 200"):
        wait_http(f"http://127.0.0.1:{port}/health", limit_s=0.3)


def test_the_process_serves_with_the_settings_connection_limits(make_settings):
    settings = make_settings(MAX_CONCURRENCY="7", KEEP_ALIVE_S="70", SHUTDOWN_GRACE_S="3")
    config = service_config(create_app(settings), settings, "127.0.0.1", 8080)
    assert config.limit_concurrency == 7
    assert config.timeout_keep_alive == 70
    assert config.timeout_graceful_shutdown == 3
    assert config.h11_max_incomplete_event_size == MAX_HEADER_BYTES == 64 * 1024
    assert (config.proxy_headers, config.forwarded_allow_ips) == (True, "*")
    assert (config.host, config.port) == ("127.0.0.1", 8080)


def test_by_default_the_alb_closes_idle_connections_not_the_task(settings):
    config = service_config(create_app(settings), settings, "127.0.0.1", 8080)
    alb_idle_timeout_s = 60  # the ALB's default
    assert config.timeout_keep_alive > alb_idle_timeout_s
    assert config.limit_concurrency == 100
