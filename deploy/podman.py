"""Build and run the service image with podman (the Docker stand-in on machines with no engine).

The flags are the ones that work on Debian hosts without a Docker engine
(scripts/podman-base-image.sh explains each): `--format docker` keeps HEALTHCHECK,
`--isolation=chroot` avoids the OCI runtime during RUN steps, the host's CA bundle is mounted
so pip/uv inside the build trust the same package index as the host, and containers run with
runc and explicit ulimits.
"""

from __future__ import annotations

import subprocess
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"
BUILD_FLAGS = ["--format", "docker", "--isolation=chroot", "-v", f"{CA_BUNDLE}:{CA_BUNDLE}:ro"]
RUN_FLAGS = ["--runtime", "runc", "--ulimit", "nofile=4096:4096", "--ulimit", "nproc=4096:4096"]


def podman(*args: str, timeout: float = 900, check: bool = True) -> subprocess.CompletedProcess:
    """Run a podman command and return its completed process (text output)."""
    return subprocess.run(
        ["podman", *args], capture_output=True, text=True, timeout=timeout, check=check
    )


def base_image() -> str:
    """Make (or reuse) the local Debian Python base image and return its name."""
    out = subprocess.run(
        ["bash", str(ROOT / "scripts/podman-base-image.sh")],
        capture_output=True, text=True, timeout=900, check=True,
    )  # fmt: skip
    return out.stdout.strip().splitlines()[-1]


def build(
    tag: str, *, base: str, sha: str = "unknown", context: Path = ROOT, timeout: float = 900
) -> float:
    """Build the Dockerfile in `context` as `tag` on `base`; return the seconds it took."""
    started = time.perf_counter()
    podman(
        "build", *BUILD_FLAGS, "--build-arg", f"PYTHON_IMAGE={base}",
        "--build-arg", f"GIT_SHA={sha}", "-t", tag, str(context), timeout=timeout,
    )  # fmt: skip
    return time.perf_counter() - started


def relabel(source: str, tag: str, sha: str, timeout: float = 300) -> str:
    """Make `tag` from `source` with only its revision changed (GIT_SHA and the label); return it."""
    # What a build for commit `sha` changes in what the service reports, without the rebuild:
    # the emulator's tests and benchmarks tell one revision's tasks from another's by it.
    containerfile = (
        f"FROM {source}\nLABEL org.opencontainers.image.revision={sha}\nENV GIT_SHA={sha}\n"
    )
    with tempfile.TemporaryDirectory(prefix="relabel-") as context:
        (Path(context) / "Containerfile").write_text(containerfile)
        podman("build", *BUILD_FLAGS, "-t", tag, context, timeout=timeout)
    return tag
