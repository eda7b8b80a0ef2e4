"""Build our service the guide's way (bench/guide/Dockerfile) and ours the workbook's way."""

from __future__ import annotations

import shutil
import statistics
import tempfile
import time
from pathlib import Path

from bench._guide_env import WHEELS
from bench.image import copy_context, sizes, start_to_healthy
from deploy.podman import BUILD_FLAGS, base_image, podman
from deploy.podman import build as podman_build

ROOT = Path(__file__).resolve().parents[1]
OURS_TAG = "localhost/llmops:compare-ours"
GUIDE_TAG = "localhost/llmops:compare-guide"
GUIDE_DOCKERFILE = ROOT / "bench" / "guide" / "Dockerfile"
GUIDE_CONTEXT = ["requirements/service.txt", "bench/guide/requirements.txt", "service", "notes"]


def build_guide(base: str, tag: str = GUIDE_TAG) -> float:
    """Build bench/guide/Dockerfile on `base` from a copy of what it needs; return seconds."""
    with tempfile.TemporaryDirectory(prefix="bench-guide-image-") as tmp:
        context = copy_context(Path(tmp), GUIDE_CONTEXT)
        shutil.copy2(GUIDE_DOCKERFILE, context / "Dockerfile")
        mount = ["-v", f"{WHEELS}:{WHEELS}:ro"] if WHEELS.is_dir() else []
        started = time.perf_counter()
        podman(
            "build", *BUILD_FLAGS, *mount, "--build-arg", f"PYTHON_IMAGE={base}",
            "-t", tag, str(context), timeout=1800,
        )  # fmt: skip
        return time.perf_counter() - started


def build_ours(base: str, tag: str = OURS_TAG) -> float:
    """Build the workbook's Dockerfile from a copy of its context; return seconds."""
    with tempfile.TemporaryDirectory(prefix="bench-ours-image-") as tmp:
        return podman_build(tag, base=base, sha="compare", context=copy_context(Path(tmp)))


def measure(runs: int = 5) -> dict[str, dict]:
    """Build both images on the local base; return size and start figures for each."""
    base = base_image()
    out: dict[str, dict] = {}
    for variant, tag, build in (("ours", OURS_TAG, build_ours), ("guide", GUIDE_TAG, build_guide)):
        build_s = build(base)
        started = [start_to_healthy(tag, limit_s=180) for _ in range(runs)]
        out[variant] = {
            "tag": tag,
            "build_s": build_s,
            "size": sizes(tag, base),
            "health": [r["first_health_200_s"] for r in started],
            "healthy": [r["healthcheck_pass_s"] for r in started],
            "base": base,
        }
        out[variant]["health_median"] = statistics.median(out[variant]["health"])
    return out
