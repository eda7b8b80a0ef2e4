"""Build the real Dockerfile with podman once per run and hand out running containers."""

import os
import shutil

import pytest

from deploy.podman import RUN_FLAGS, build, podman
from deploy.podman import base_image as podman_base_image
from service.server import free_port

IMAGE = "localhost/llmops:test"


@pytest.fixture(scope="session")
def base_image() -> str:
    """Make (or reuse) the local Python base image, or skip when podman cannot run here."""
    if shutil.which("podman") is None:
        pytest.skip("podman is not installed (make system-deps installs it on Debian as root)")
    probe = podman("info", check=False, timeout=60)
    if probe.returncode != 0:
        pytest.skip(f"podman cannot run here: {probe.stderr.strip()[:200]}")
    if os.environ.get("PYTHON_IMAGE"):  # e.g. python:3.12-slim where a registry is reachable
        return os.environ["PYTHON_IMAGE"]
    return podman_base_image()


@pytest.fixture(scope="session")
def image(base_image: str) -> str:
    """Build the repository's Dockerfile on the local base image."""
    build(IMAGE, base=base_image, sha="0123456789abcdef")
    return IMAGE


# As the task definition runs it: a read-only root file system, writable only where the
# service writes (its DATA_DIR volume and /tmp, where uploads are spooled).
READ_ONLY_FLAGS = ["--read-only", "--tmpfs", "/tmp", "-v", "/app/data"]


@pytest.fixture
def container(image: str):
    """Run the image read-only on a free loopback port; yield (name, base_url); remove it after."""
    port = free_port()
    name = f"llmops-test-{port}"
    podman(
        "run", "-d", "--name", name, *RUN_FLAGS, *READ_ONLY_FLAGS,
        "-p", f"127.0.0.1:{port}:8080", image,
    )  # fmt: skip
    try:
        yield name, f"http://127.0.0.1:{port}"
    finally:
        # Shown by pytest only when the test failed: what the service logged.
        logs = podman("logs", name, check=False)
        print(f"--- podman logs {name} ---\n{logs.stdout[-6000:]}{logs.stderr[-2000:]}")
        podman("rm", "-f", "-v", "-t", "0", name, check=False)
