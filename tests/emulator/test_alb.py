"""The local ALB: a reverse proxy per listener in moto, routing as AWS's ALB does."""

from __future__ import annotations

import http.client
import json
import socket
from urllib.parse import urlsplit

import httpx
import pytest

from emulator import targets
from emulator.alb import Request, redirect_location
from emulator.dataplane import DataPlane
from tests.emulator.conftest import CLOCK, wait_for

# The proxy is on 127.0.0.1 only; never let a proxy setting of the machine in between.
client = httpx.Client(trust_env=False, timeout=10)


def _healthy(alb, *ts):
    return lambda: all(alb.health().get(t.port, {}).get("State") == "healthy" for t in ts)


def _names(url: str, count: int) -> list[str]:
    return [client.get(url + "/who").json()["target"] for _ in range(count)]


def test_the_proxy_alternates_between_healthy_targets(alb, plane, make_target):
    a, b = make_target("a"), make_target("b")
    alb.register(a, b)
    wait_for(_healthy(alb, a, b), "both healthy")
    names = _names(plane.url_for(alb.name), 4)
    assert sorted(names) == ["a", "a", "b", "b"]
    assert names[0] != names[1] and names[1] != names[2]


def test_the_proxy_passes_the_request_on_as_an_alb_does(alb, plane, make_target):
    a = make_target("a")
    alb.register(a)
    wait_for(_healthy(alb, a), "healthy")
    port = urlsplit(plane.url_for(alb.name)).port
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.request(
        "POST",
        "/chat?q=1",
        body=b"x" * 100_000,
        headers={"Host": "chat.example", "X-Forwarded-For": "203.0.113.7"},
    )
    response = connection.getresponse()
    assert (response.status, json.loads(response.read())["target"]) == (200, "a")
    connection.close()
    seen = a.seen[-1]
    assert seen["path"] == "/chat?q=1"
    assert seen["body"] == b"x" * 100_000
    headers = {k.lower(): v for k, v in seen["headers"].items()}
    assert headers["host"] == "chat.example"
    assert headers["x-forwarded-for"] == "203.0.113.7, 127.0.0.1"
    assert headers["x-forwarded-proto"] == "http"
    assert headers["x-forwarded-port"] == str(port)
    assert headers["x-amzn-trace-id"].startswith("Root=1-")
    assert "user-agent" not in headers  # the proxy adds no header of its own HTTP client


def test_the_proxy_streams_the_answer_as_it_comes(alb, plane, make_target):
    a = make_target("a")
    alb.register(a)
    wait_for(_healthy(alb, a), "healthy")
    with client.stream("GET", plane.url_for(alb.name) + "/stream") as response:
        chunks = response.iter_raw()
        assert next(chunks) == b"first\n"  # before the target has finished its answer
        a.go.set()
        assert b"".join(chunks) == b"second\n"


def test_an_unhealthy_target_gets_no_traffic(alb, plane, make_target):
    a, b = make_target("a"), make_target("b")
    alb.register(a, b)
    wait_for(_healthy(alb, a, b), "both healthy")
    a.mode = "error"
    wait_for(lambda: alb.health()[a.port]["State"] == "unhealthy", "a unhealthy")
    assert _names(plane.url_for(alb.name), 4) == ["b"] * 4


def test_without_a_registered_target_the_alb_answers_503(alb, plane):
    response = client.get(plane.url_for(alb.name) + "/")
    assert response.status_code == 503
    assert response.headers["server"] == "awselb/2.0"
    assert "503 Service Temporarily Unavailable" in response.text


def test_a_target_gets_no_request_before_it_passes_a_check(alb, plane, make_target):
    alb.ctx.client("elbv2").modify_target_group(
        TargetGroupArn=alb.target_group_arn, HealthCheckIntervalSeconds=300
    )
    a = make_target("a")
    a.mode = "error"  # fails its first check, and the next one is 300 AWS seconds away
    alb.register(a)
    wait_for(lambda: a.seen, "the first check")
    assert alb.health()[a.port]["State"] == "initial"
    assert client.get(plane.url_for(alb.name) + "/who").status_code == 503
    assert [seen["path"] for seen in a.seen] == ["/health"]


def test_when_every_target_is_unhealthy_the_alb_fails_open(alb, plane, make_target):
    a, b = make_target("a"), make_target("b")
    a.mode = b.mode = "error"
    alb.register(a, b)
    wait_for(lambda: {h["State"] for h in alb.health().values()} == {"unhealthy"}, "unhealthy")
    responses = [client.get(plane.url_for(alb.name) + "/who") for _ in range(4)]
    assert {r.status_code for r in responses} == {500}  # the targets' own answers
    assert sorted(r.json()["target"] for r in responses) == ["a", "a", "b", "b"]


def test_a_refused_connection_is_a_502(alb, plane, make_target):
    gone = make_target("gone")
    alb.register(gone)
    wait_for(_healthy(alb, gone), "healthy")
    gone.stop()  # healthy, or unhealthy and the only target (fail-open): the proxy tries it
    response = client.get(plane.url_for(alb.name) + "/")
    assert response.status_code == 502
    assert "502 Bad Gateway" in response.text


def test_a_target_breaking_off_mid_answer_cuts_the_client_off_too(alb, plane, make_target):
    a = make_target("a")
    alb.register(a)
    wait_for(_healthy(alb, a), "healthy")
    with pytest.raises(httpx.RemoteProtocolError):
        client.get(plane.url_for(alb.name) + "/broken")
    assert client.get(plane.url_for(alb.name) + "/who").json()["target"] == "a"  # still serving


def test_a_target_slower_than_the_idle_timeout_is_a_504(alb, plane, make_target):
    slow = make_target("slow")
    alb.register(slow)
    wait_for(_healthy(alb, slow), "healthy")
    slow.mode = "slow"
    response = client.get(plane.url_for(alb.name) + "/")
    assert response.status_code == 504
    assert "504 Gateway Time-out" in response.text


def test_redirect_fixed_response_and_path_rules(alb, plane, make_target):
    elbv2 = alb.ctx.client("elbv2")
    elbv2.modify_listener(
        ListenerArn=alb.listener_arn,
        DefaultActions=[
            {
                "Type": "redirect",
                "RedirectConfig": {"Protocol": "HTTPS", "Port": "443", "StatusCode": "HTTP_301"},
            }
        ],
    )
    elbv2.create_rule(
        ListenerArn=alb.listener_arn,
        Priority=10,
        Conditions=[{"Field": "path-pattern", "Values": ["/maintenance*"]}],
        Actions=[
            {
                "Type": "fixed-response",
                "FixedResponseConfig": {
                    "StatusCode": "503",
                    "ContentType": "text/plain",
                    "MessageBody": "back soon",
                },
            }
        ],
    )
    url = plane.url_for(alb.name)
    moved = client.get(url + "/chat?q=1", headers={"Host": "chat.example"})
    assert moved.status_code == 301
    assert moved.headers["location"] == "https://chat.example/chat?q=1"
    fixed = client.get(url + "/maintenance/now")
    assert (fixed.status_code, fixed.text) == (503, "back soon")


@pytest.mark.parametrize(
    ("config", "location"),
    [
        ({}, "http://h:8080/a/b?x=1"),
        ({"Protocol": "HTTPS", "Port": "443"}, "https://h/a/b?x=1"),
        ({"Host": "new.#{host}", "Path": "/v2/#{path}", "Query": ""}, "http://new.h:8080/v2/a/b"),
    ],
)
def test_redirect_placeholders_are_filled_in(config, location):
    request = Request("GET", "/a/b", "x=1", "h", 8080)
    assert redirect_location(config, request, "http") == location


def test_a_listener_added_later_is_proxied(alb, plane):
    elbv2 = alb.ctx.client("elbv2")
    elbv2.create_listener(
        LoadBalancerArn=alb.arn,
        Protocol="HTTP",
        Port=8081,
        DefaultActions=[{"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "200"}}],
    )
    plane.refresh()
    assert client.get(plane.url_for(alb.name, 8081)).status_code == 200
    assert plane.url_for(alb.name) != plane.url_for(alb.name, 8081)


def test_stop_leaves_no_port_listening(alb, make_target):
    a = make_target("a")
    alb.register(a)
    plane = DataPlane.start(alb.ctx, clock=CLOCK)
    port = urlsplit(plane.url_for(alb.name)).port
    assert client.get(f"http://127.0.0.1:{port}/").status_code in (200, 503)
    plane.stop()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    assert not plane._thread.is_alive()
    assert not targets.installed()
    plane.stop()  # a second stop is harmless


def test_start_refuses_what_it_cannot_serve(alb, plane):
    with pytest.raises(ValueError, match="region"):
        DataPlane.start()
    with pytest.raises(ValueError, match="moto"):
        DataPlane.start(type("Ctx", (), {"kind": "aws", "region": "us-east-1"})())
    with pytest.raises(KeyError, match="no-such-alb"):
        plane.url_for("no-such-alb")
    with pytest.raises(KeyError, match="9999"):
        plane.url_for(alb.name, 9999)
