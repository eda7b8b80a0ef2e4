"""The real image, built and run with podman: health, a chat through it, a clean stop."""

import json
import time
import urllib.request
import uuid

import pytest

from deploy.podman import RUN_FLAGS, podman
from service.server import wait_http

pytestmark = [pytest.mark.container, pytest.mark.slow]


def _post_json(url: str, body: dict) -> dict:
    req = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.loads(resp.read())


def _upload(url: str, filename: str, content: bytes) -> dict:
    boundary = uuid.uuid4().hex
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="files"; '
            f'filename="{filename}"\r\nContent-Type: text/markdown\r\n\r\n'
        ).encode()
        + content
        + f"\r\n--{boundary}--\r\n".encode()
    )
    req = urllib.request.Request(
        url, data=body, headers={"Content-Type": f"multipart/form-data; boundary={boundary}"}
    )
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.loads(resp.read())


def test_health_answers_and_healthcheck_passes(container):
    name, base = container
    wait_http(base + "/health")  # the start-up figure itself is measured in bench/
    health = json.loads(urllib.request.urlopen(base + "/health", timeout=5).read())
    assert health["status"] == "ok"
    assert podman("healthcheck", "run", name, check=False).returncode == 0


def test_upload_and_chat_through_the_container(container):
    _, base = container
    wait_http(base + "/health")
    doc = b"# Zebra facts\n\nThe zebra project stores its vectors in FAISS on EFS volumes.\n"
    up = _upload(base + "/upload", "zebra.md", doc)
    assert up["session_id"]
    reply = _post_json(
        base + "/chat", {"session_id": up["session_id"], "message": "Where are zebra vectors kept?"}
    )
    assert "FAISS" in reply["answer"]
    assert reply["citations"][0]["source"] == "zebra.md"


def test_library_answers_from_the_notes_with_the_index_built_into_the_image(container):
    name, base = container
    wait_http(base + "/health")
    for _ in range(100):  # the library indexes in the background; /ready says when
        try:
            with urllib.request.urlopen(base + "/ready", timeout=2):
                break
        except OSError:
            time.sleep(0.1)
    reply = _post_json(
        base + "/chat", {"session_id": "library", "message": "What does the circuit breaker do?"}
    )
    assert reply["citations"], reply
    out = podman("logs", name)
    logs = out.stdout + out.stderr
    loaded = [json.loads(ln) for ln in logs.splitlines() if '"library loaded"' in ln]
    assert loaded and loaded[0]["source"] == "prebuilt", loaded  # not indexed at start-up


def test_runs_as_non_root(container):
    name, base = container
    wait_http(base + "/health")
    uid = podman("exec", name, "id", "-u").stdout.strip()
    assert uid != "0"


def test_root_file_system_is_read_only_but_uploads_persist(container):
    name, base = container
    wait_http(base + "/health")
    denied = podman("exec", name, "sh", "-c", "touch /app/service/x", check=False)
    assert denied.returncode != 0 and "Read-only file system" in denied.stderr
    up = _upload(
        base + "/upload", "kept.md", b"# Kept\n\nThe kept note lives on the data volume.\n"
    )
    stored = podman("exec", name, "ls", "-R", "/app/data").stdout
    assert up["session_id"] in stored and "kept.md" in stored


def test_sigterm_stops_it_cleanly(container):
    name, base = container
    wait_http(base + "/health")
    podman("stop", "-t", "10", name, timeout=30)
    state = json.loads(podman("inspect", name).stdout)[0]["State"]
    # Exit code 0 means the server handled SIGTERM; 137 would mean podman had to SIGKILL it.
    assert state["ExitCode"] == 0, state


def test_image_holds_only_what_the_service_needs(image):
    listing = podman("run", "--rm", *RUN_FLAGS, image, "ls", "-A", "/app").stdout.split()
    assert sorted(listing) == ["data", "library-index", "notes", "service"]
    tree = podman(
        "run", "--rm", *RUN_FLAGS, image, "sh", "-c",
        "find / -xdev \\( -name .git -o -name '.env' -o -name tests -path '/app/*' "
        "-o -name '*.ipynb' \\) -print 2>/dev/null | grep -v '^/proc' || true",
    ).stdout.split()  # fmt: skip
    assert [p for p in tree if p.startswith("/app")] == []


def test_image_labels_carry_the_revision(image):
    info = json.loads(podman("image", "inspect", image).stdout)[0]
    assert info["Config"]["Labels"]["org.opencontainers.image.revision"] == "0123456789abcdef"
    assert "/health" in " ".join(info["Healthcheck"]["Test"])  # kept: built with --format docker
