"""Benchmark the service image: size (base vs added layers), start to healthy, rebuild, stop."""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import statistics
import tempfile
import time
import urllib.request
from pathlib import Path

from deploy.podman import RUN_FLAGS, base_image, podman
from deploy.podman import build as podman_build
from service.server import free_port

ROOT = Path(__file__).resolve().parents[1]
TAG = "localhost/llmops:bench"
# What the Dockerfile copies (.dockerignore lets only these in): a copy of them is built so the
# one-line change never touches the working tree other people are editing.
CONTEXT = ["Dockerfile", ".dockerignore", "requirements/service.txt", "service", "notes"]


def copy_context(dest: Path, paths: list[str] = CONTEXT) -> Path:
    """Copy the build context a Dockerfile needs (default: ours) into `dest`; return it."""
    for rel in paths:
        src, dst = ROOT / rel, dest / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        if src.is_dir():
            shutil.copytree(src, dst, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(src, dst)
    return dest


def build(context: Path, base_image: str, tag: str = TAG, sha: str = "bench") -> float:
    """Build the Dockerfile in `context`; return the seconds it took."""
    return podman_build(tag, base=base_image, sha=sha, context=context)


def sizes(image: str, base_image: str) -> dict:
    """Split the image's size into the base image and the layers the Dockerfile adds."""
    total = json.loads(podman("image", "inspect", image).stdout)[0]["Size"]
    base = json.loads(podman("image", "inspect", base_image).stdout)[0]["Size"]
    history = json.loads(podman("history", "--format", "json", image).stdout)
    base_layers = sum(
        1 for h in json.loads(podman("history", "--format", "json", base_image).stdout)
    )
    added = history[: len(history) - base_layers]  # newest first; the base's entries are last
    layers = [
        {"created_by": (h.get("CreatedBy") or h.get("createdBy") or "").strip()[:100],
         "bytes": h.get("Size", h.get("size", 0))}
        for h in added
        if h.get("Size", h.get("size", 0))
    ]  # fmt: skip
    return {
        "image_bytes": total,
        "base_bytes": base,
        "added_bytes": total - base,
        "added_share": round((total - base) / total, 3),
        "added_layers": sorted(layers, key=lambda layer: -layer["bytes"]),
    }


def start_to_healthy(image: str, limit_s: float = 60.0) -> dict:
    """Run the image; time the first /health answer, the HEALTHCHECK passing, and the stop."""
    port = free_port()
    name = f"llmops-bench-{port}"
    start = time.perf_counter()
    podman("run", "-d", "--name", name, *RUN_FLAGS, "-p", f"127.0.0.1:{port}:8080", image)
    try:
        http_s = healthy_s = None
        while time.perf_counter() - start < limit_s and healthy_s is None:
            if http_s is None:
                try:
                    urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1).close()
                    http_s = time.perf_counter() - start
                except OSError:
                    time.sleep(0.05)
                    continue
            # podman's healthcheck timer needs systemd; run the image's HEALTHCHECK directly.
            if podman("healthcheck", "run", name, check=False).returncode == 0:
                healthy_s = time.perf_counter() - start
        if healthy_s is None:
            raise RuntimeError(f"{image} was not healthy within {limit_s} s")
        stop_start = time.perf_counter()
        podman("stop", "-t", "10", name, timeout=60)
        stop_s = time.perf_counter() - stop_start
        code = json.loads(podman("inspect", name).stdout)[0]["State"]["ExitCode"]
        return {"first_health_200_s": http_s, "healthcheck_pass_s": healthy_s,
                "stop_s": stop_s, "exit_code": code}  # fmt: skip
    finally:
        podman("rm", "-f", "-v", "-t", "0", name, check=False)


def change_one_line(context: Path) -> None:
    """Append a comment to the service code in a copied context (a one-line code change)."""
    target = context / "service" / "__init__.py"
    target.write_text(target.read_text() + f"# bench change {time.time_ns()}\n")


def rebuild_after_code_change(base_image: str, repeats: int = 1) -> dict:
    """Build a copy of the context, then time rebuilds: unchanged, and after one-line changes."""
    with tempfile.TemporaryDirectory(prefix="bench-image-") as tmp:
        context = copy_context(Path(tmp))
        build(context, base_image, tag=f"{TAG}-copy")  # primes the cache for this copy
        unchanged = build(context, base_image, tag=f"{TAG}-copy")
        changed = []
        for _ in range(repeats):
            change_one_line(context)
            changed.append(build(context, base_image, tag=f"{TAG}-copy"))
    podman("rmi", f"{TAG}-copy", check=False)
    # Only the layers from `COPY service/` on are rebuilt; the 260 MB dependency layer is
    # reused, which is what the Dockerfile's order (requirements before code) is for.
    return {
        "nothing_changed_s": unchanged,
        "one_line_change_s": statistics.median(changed),
        "one_line_change_samples": changed,
    }


def main() -> None:
    """Run the benchmark, print the figures and write bench/results/image.json."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="one start/stop run instead of 3")
    parser.add_argument("--base-image", default=None, help="PYTHON_IMAGE (default: local base)")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "image.json")
    args = parser.parse_args()
    base = args.base_image or base_image()
    build_s = build(ROOT, base)
    repeats = 1 if args.quick else 5
    if not args.quick:
        start_to_healthy(TAG)  # warm-up: the first run also warms podman's storage
    runs = [start_to_healthy(TAG) for _ in range(repeats)]
    result = {
        "image": TAG,
        "base_image": base,
        "build_s_with_cache": build_s,
        "size": sizes(TAG, base),
        "start": {
            key: statistics.median(r[key] for r in runs)
            for key in ("first_health_200_s", "healthcheck_pass_s", "stop_s")
        },
        "start_samples": {
            key: [r[key] for r in runs]
            for key in ("first_health_200_s", "healthcheck_pass_s", "stop_s")
        },
        "stop_exit_codes": [r["exit_code"] for r in runs],
        "runs": len(runs),
        "rebuild": rebuild_after_code_change(base, repeats),
        "machine": {
            "python": platform.python_version(),
            "cpu": platform.machine(),
            "podman": podman("--version").stdout.strip(),
        },
    }
    size = result["size"]
    print(
        f"image {size['image_bytes'] / 1e6:.0f} MB = base {size['base_bytes'] / 1e6:.0f} MB + "
        f"added {size['added_bytes'] / 1e6:.0f} MB ({size['added_share']:.0%})"
    )
    start = result["start"]
    print(
        f"start -> /health 200 {start['first_health_200_s']:.2f} s, HEALTHCHECK passes "
        f"{start['healthcheck_pass_s']:.2f} s, podman stop {start['stop_s']:.2f} s "
        f"(exit codes {result['stop_exit_codes']})"
    )
    rebuild = result["rebuild"]
    print(
        f"rebuild: nothing changed {rebuild['nothing_changed_s']:.1f} s, one-line code change "
        f"{rebuild['one_line_change_s']:.1f} s"
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
