"""Shared by the benchmark tests: a machine description, and a quick `bench.run`."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
INFO = {
    "cores": 2,
    "memory_gb": 8.0,
    "python": "3.11.7",
    "os": "Linux",
    "load_before": (0.1, 0.1, 0.1),
    "load_after": (0.2, 0.1, 0.1),
    "date": "2026-01-01 00:00 UTC",
    "mode": "full",
    "took_s": 1,
}


def run_quick(only: str, tmp_path: Path) -> tuple[str, dict]:
    """Run `python -m bench.run --quick --only ONLY`; return the report and its JSON."""
    out = tmp_path / "BENCHMARKS.md"
    proc = subprocess.run(
        [sys.executable, "-m", "bench.run", "--quick", "--only", only, "--out", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out.read_text(), json.loads(out.with_suffix(".json").read_text())
