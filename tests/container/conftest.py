"""Build the real Dockerfile with podman once per run and hand out running containers."""

import os
import shutil
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
IMAGE = "localhost/llmops:test"
# Flags that make podman work on these machines (scripts/podman-base-image.sh explains each).
BUILD_FLAGS = [
    "--format", "docker", "--isolation=chroot",
    "-v", "/etc/ssl/certs/ca-certificates.crt:/etc/ssl/certs/ca-certificates.crt:ro",
]  # fmt: skip
RUN_FLAGS = ["--runtime", "runc", "--ulimit", "nofile=4096:4096", "--ulimit", "nproc=4096:4096"]


def podman(*args: str, timeout: float = 120, check: bool = True) -> subprocess.CompletedProcess:
    """Run a podman command and return its completed process."""
    return subprocess.run(
        ["podman", *args], capture_output=True, text=True, timeout=timeout, check=check
    )


def free_port() -> int:
    """Return a free TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, limit_s: float = 30.0) -> float:
    """Poll `url` until it answers 200 and return the seconds it took."""
    start = time.monotonic()
    while time.monotonic() - start < limit_s:
        try:
            with urllib.request.urlopen(url, timeout=1) as resp:
                if resp.status == 200:
                    return time.monotonic() - start
        except OSError:
            time.sleep(0.05)
    raise AssertionError(f"{url} did not answer 200 within {limit_s} s")


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
    out = subprocess.run(
        ["bash", str(ROOT / "scripts/podman-base-image.sh")],
        capture_output=True, text=True, timeout=600, check=True,
    )  # fmt: skip
    return out.stdout.strip().splitlines()[-1]


@pytest.fixture(scope="session")
def image(base_image: str) -> str:
    """Build the repository's Dockerfile on the local base image."""
    podman(
        "build", *BUILD_FLAGS, "--build-arg", f"PYTHON_IMAGE={base_image}",
        "--build-arg", "GIT_SHA=0123456789abcdef", "-t", IMAGE, str(ROOT), timeout=900,
    )  # fmt: skip
    return IMAGE


@pytest.fixture
def container(image: str):
    """Run the image on a free loopback port; yield (name, base_url); remove it after."""
    port = free_port()
    name = f"llmops-test-{port}"
    podman("run", "-d", "--name", name, *RUN_FLAGS, "-p", f"127.0.0.1:{port}:8080", image)
    try:
        yield name, f"http://127.0.0.1:{port}"
    finally:
        podman("rm", "-f", "-t", "0", name, check=False)
