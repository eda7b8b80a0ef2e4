"""Static checks on the container and pipeline files: hadolint and actionlint are clean."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def _tool(name: str) -> str:
    path = shutil.which(name, path=str(BIN)) or shutil.which(name)
    if path is None:
        pytest.skip(f"{name} is not installed (it comes with the dev requirements)")
    return path


def test_dockerfile_is_hadolint_clean():
    out = subprocess.run(
        [_tool("hadolint"), "--no-color", str(ROOT / "Dockerfile")], capture_output=True, text=True
    )
    assert out.returncode == 0, out.stdout + out.stderr


def test_dockerignore_has_no_inline_comments():
    # `.venv/  # big` is one pattern to Docker, not a pattern and a comment (errata 19).
    for number, line in enumerate((ROOT / ".dockerignore").read_text().splitlines(), 1):
        assert "#" not in line or line.lstrip().startswith("#"), f"line {number}: {line!r}"
