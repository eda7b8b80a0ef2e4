"""The soak: wrk pairs each response with its request, the checks judge right, nothing is lost."""

from __future__ import annotations

import json
import os
import random
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from bench import _soakcheck as check
from bench import soak
from bench.figures import BenchError

needs_wrk = pytest.mark.needs("wrk")

# Each request carries its thread and sequence number; the server echoes it after a random
# delay, or drops the connection without answering. response() must always get the echo of
# the request its own thread sent last.
PAIRING_LUA = """
local threads, n = {}, 0
function setup(thread) n = n + 1; thread:set("tid", n); table.insert(threads, thread) end
tid = tid or 0
seq, last, bad, good = 0, nil, 0, 0
function request()
  seq = seq + 1
  last = tid .. ":" .. seq
  return wrk.format("GET", "/", {Host = wrk.headers["Host"], ["X-Seq"] = last})
end
function response(status, headers, body)
  if body == last then good = good + 1 else bad = bad + 1 end
end
function done(summary)
  local g, b = 0, 0
  for _, t in ipairs(threads) do g, b = g + t:get("good"), b + t:get("bad") end
  io.write(string.format('PAIRS {"good": %d, "bad": %d, "read": %d}\\n', g, b, summary.errors.read))
end
"""


class Echo(BaseHTTPRequestHandler):
    """Echo X-Seq after 0-5 ms, or (one request in ten) close without an answer."""

    protocol_version = "HTTP/1.1"

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        if random.random() < 0.1:
            self.close_connection = True
            return
        threading.Event().wait(random.random() / 200)
        body = self.headers["X-Seq"].encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def pairs(tmp_path: Path, threads: int, connections: int) -> dict:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Echo)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    script = tmp_path / "pairs.lua"
    script.write_text(PAIRING_LUA)
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        cmd = [
            "wrk",
            "-t",
            str(threads),
            "-c",
            str(connections),
            "-d",
            "2s",
            "-s",
            str(script),
            url,
        ]
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=60).stdout
    finally:
        server.shutdown()
        server.server_close()
    line = next(x for x in out.splitlines() if x.startswith("PAIRS "))
    return json.loads(line.removeprefix("PAIRS "))


@needs_wrk
def test_one_connection_per_thread_pairs_every_response_with_its_request(tmp_path):
    got = pairs(tmp_path, threads=3, connections=3)
    assert got["bad"] == 0
    assert got["good"] > 50
    assert got["read"] > 0  # connections were dropped and re-opened meanwhile


@needs_wrk
def test_two_connections_per_thread_break_the_pairing(tmp_path):
    # The control: the same check does catch responses answered out of order.
    assert pairs(tmp_path, threads=1, connections=2)["bad"] > 0


def test_logs_are_parsed_into_acks(tmp_path):
    (tmp_path / "thread-1.log").write_text(
        "100\tcreate\ts1\n"
        "101\tupload\ts2\tsoak-mk.md\tmk\n"
        "102\tchat\ts1\tWhich record mentions mk turn bt\n"
        '103\terror\tupload\t507\t{"detail":"cannot save: no space left"}\n'
        "104\tmismatch\tchat\ts1\t{}\n"
    )
    acks = check.read_logs(tmp_path)
    assert acks.sessions == {"s1", "s2"}
    assert acks.uploads == [("s2", "soak-mk.md", "mk")]
    assert acks.chats == [("s1", "Which record mentions mk turn bt")]
    assert acks.errors == [(103, "upload", 507, '{"detail":"cannot save: no space left"}')]
    assert acks.mismatches == 1


def test_error_answers_are_judged_clear_only_with_a_specific_detail():
    assert check.is_clear(507, '{"detail":"cannot save: no space left"}')
    assert not check.is_clear(500, '{"detail":"internal error; quote request id 1"}')
    assert not check.is_clear(502, "<html>Bad Gateway</html>")
    assert not check.is_clear(503, '{"detail":""}')


def test_errors_are_split_by_fault_window():
    acks = check.Acks(
        errors=[
            (100, "upload", 507, '{"detail":"no space left"}'),
            (200, "chat", 503, '{"detail":"internal error; quote request id 7"}'),
            (150, "chat", 404, '{"detail":"session not found"}'),
        ]
    )
    got = check.classify_errors(acks, [(99.5, 101.0)])
    assert got["5xx in faults"] == 1
    assert got["5xx outside faults"] == 1
    assert got["4xx"] == 1
    assert got["unclear"] == 1


def test_soak_refuses_to_run_without_root(monkeypatch):
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    with pytest.raises(BenchError, match="root is needed"):
        soak.run(quick=True)


def test_a_failed_tmpfs_mount_says_root_is_needed(monkeypatch):
    failed = subprocess.CompletedProcess([], 32, "", "mount: only root can do that")
    monkeypatch.setattr(soak.subprocess, "run", lambda *a, **k: failed)
    with pytest.raises(BenchError, match=r"root is needed.*only root"), soak.tmpfs(8):
        pass


def mounts() -> list[str]:
    return [line for line in Path("/proc/mounts").read_text().splitlines() if "soak-data-" in line]


@needs_wrk
@pytest.mark.skipif(os.geteuid() != 0, reason="the soak mounts a tmpfs: root only")
def test_quick_soak_loses_no_acknowledged_write():
    before = _children()  # an earlier test on this worker may have its own still running
    figures = {f.name: f for f in soak.run(quick=True)}
    value = {name: f.value for name, f in figures.items()}
    assert value["acknowledged writes lost"] == 0
    assert value["corrupt indexes"] == 0
    assert value["wrk timeouts (hangs)"] == 0
    assert value["request/response pairing mismatches"] == 0
    assert value["responses 5xx outside the faults"] == 0
    assert value["error answers without a clear JSON detail"] == 0
    refused = figures["probe uploads answered 507 while DATA_DIR was full"]
    assert refused.value >= 1, refused
    assert "no space left" in refused.note
    for name in ("acknowledged uploads queryable", "acknowledged chat turns verified"):
        assert 0 < figures[name].value == figures[name].goal, figures[name]
    assert value["requests served"] > 0
    assert value["kill -9 → /health 200 (restarted)"] > 0
    assert value["kill -9 → /ready 200 (restarted)"] >= value["kill -9 → /health 200 (restarted)"]
    # Nothing left behind: no mount, no service process the soak started.
    assert mounts() == []
    assert [p for p in _children() if p not in before] == []


def _children() -> list:
    """Return this process's child processes (none known without psutil)."""
    try:
        import psutil
    except ImportError:
        return []
    return psutil.Process().children(recursive=True)
