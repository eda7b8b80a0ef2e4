"""The real process: JSON logs on stdout, clean SIGTERM, refusing bad production config."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
import urllib.request

import pytest

from tests.service.server import REPO, ServiceProcess

pytestmark = pytest.mark.slow


@pytest.fixture
def proc_env(tmp_path, notes_dir):
    return {"DATA_DIR": str(tmp_path / "data"), "LIBRARY_DIR": str(notes_dir), "ENV": "development"}


def test_sigterm_finishes_and_exits_zero(proc_env, tmp_path):
    svc = ServiceProcess(proc_env, tmp_path / "out.log")
    try:
        svc.wait_for("/ready")
        # A request in flight while SIGTERM arrives still gets its answer.
        results: list[int] = []

        def slow_request() -> None:
            req = urllib.request.Request(
                svc.url + "/chat",
                method="POST",
                data=json.dumps(
                    {"session_id": "library", "message": "What does the execution role do?"}
                ).encode(),
                headers={"Content-Type": "application/json"},
            )
            with urllib.request.urlopen(req, timeout=10) as r:
                results.append(r.status)

        worker = threading.Thread(target=slow_request)
        worker.start()
        svc.proc.send_signal(signal.SIGTERM)
        started = time.monotonic()
        code = svc.proc.wait(timeout=15)
        elapsed = time.monotonic() - started
        worker.join(10)
    finally:
        svc.stop()
    assert code == 0, svc.output()
    assert elapsed < 5, f"took {elapsed:.1f} s to exit"
    assert results in ([200], []), results  # answered, or refused before it was accepted


def test_stdout_is_json_lines_with_one_line_per_request(proc_env, tmp_path):
    svc = ServiceProcess({**proc_env, "GROQ_API_KEY": "gsk_MARKER_proc_77"}, tmp_path / "o.log")
    try:
        svc.wait_for("/ready")
        assert svc.get("/health")[0] == 200
        assert svc.get("/sessions/nope/history")[0] == 404
    finally:
        svc.proc.send_signal(signal.SIGTERM)
        svc.proc.wait(15)
        svc.stop()
    lines = [json.loads(line) for line in svc.output().splitlines() if line.strip()]
    routes = [(x["route"], x["status"]) for x in lines if x.get("message") == "request"]
    assert ("/health", 200) in routes
    assert ("/sessions/{session_id}/history", 404) in routes
    assert "gsk_MARKER_proc_77" not in svc.output()


def test_production_without_the_key_refuses_to_start(proc_env):
    env = {**proc_env, "ENV": "production", "LLM_PROVIDER": "groq", "GROQ_API_KEY": ""}
    import os

    out = subprocess.run(
        [sys.executable, "-m", "service", "--port", "1"],
        cwd=REPO,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 2
    assert "GROQ_API_KEY" in out.stderr
    assert "Traceback" not in out.stderr


HEAVY = ("boto3", "botocore", "numpy", "faiss", "langchain_core", "pypdf", "jinja2")


@pytest.mark.parametrize("aws", [False, True])
def test_building_the_app_imports_nothing_heavy(tmp_path, aws):
    # What create_app imports runs before the port is bound; the heavy stacks load later,
    # in the background loader or on first use (timings: bench/, not here).
    env = ", DOCUMENT_BUCKET='b', CHAT_HISTORY_TABLE='t'" if aws else ""
    code = (
        "import sys; import service.server, uvicorn; from service.app import create_app;"
        "from service.config import Settings;"
        f"create_app(Settings(_env_file=None, DATA_DIR={str(tmp_path)!r}{env}));"
        f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == ""
