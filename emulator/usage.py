"""What a task's containers use right now: CPU cores and resident memory, read from the engine.

The ECS agent reads a container's usage from its runtime's cgroup; the local data plane reads
the same numbers the way the task runs. Each container's moto model carries its runtimeId
(`process:<pid>`, `podman:<name>`, `docker:<name>`, written by emulator.tasks):
- process mode: psutil (installed with the lab extra, through ipykernel) sums the CPU time and
  resident memory of the process and its children;
- podman and docker: `<cli> stats --no-stream`, CPU as a percent of one core, memory used.
CPU is reported as cumulative core-seconds, so a caller takes the difference over a period.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass

STATS_FORMAT = "{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}"
STATS_TIMEOUT = 10  # real seconds; the metrics part waits longer than this when it stops
_UNITS = {
    "b": 1,
    "kb": 1e3,
    "mb": 1e6,
    "gb": 1e9,
    "tb": 1e12,
    "kib": 2**10,
    "mib": 2**20,
    "gib": 2**30,
    "tib": 2**40,
}
_SIZE = re.compile(r"^\s*([0-9.]+)\s*([a-zA-Z]*)\s*$")


@dataclass(frozen=True)
class Usage:
    """One container's usage: CPU (cumulative core-seconds, or cores now) and memory bytes."""

    cpu_seconds: float | None  # process mode: CPU time so far (a difference gives cores)
    cores: float | None  # podman/docker: cores in use now, as the engine averages them
    memory_bytes: float


def parse_size(text: str) -> float:
    """Return bytes from an engine's size ("10.5MB", "1.2GiB", "512B")."""
    found = _SIZE.match(text)
    if not found or found.group(2).lower() not in _UNITS:
        raise ValueError(f"not a size an engine prints: {text!r}")
    return float(found.group(1)) * _UNITS[found.group(2).lower()]


def parse_stats(output: str) -> dict[str, Usage]:
    """Return usage by container name from `stats --no-stream --format STATS_FORMAT` output."""
    found = {}
    for line in output.splitlines():
        parts = line.split("\t")
        if len(parts) != 3:
            continue
        name, cpu, memory = (p.strip() for p in parts)
        try:
            cores = float(cpu.rstrip("%")) / 100
            used = parse_size(memory.split("/")[0])
        except ValueError:
            continue  # a container that is starting or gone prints "--"
        found[name] = Usage(None, cores, used)
    return found


def engine_stats(cli: str, names: list[str]) -> dict[str, Usage]:
    """Return usage of podman or docker containers by name (missing ones are left out)."""
    if not names:
        return {}
    try:
        done = subprocess.run(
            [cli, "stats", "--no-stream", "--format", STATS_FORMAT, *names],
            capture_output=True, text=True, timeout=STATS_TIMEOUT, check=False,
        )  # fmt: skip
    except (OSError, subprocess.TimeoutExpired):
        return {}
    return parse_stats(done.stdout)


def process_usage(pid: int) -> Usage | None:
    """Return usage of a process-mode container: the process and its children (None: gone)."""
    try:
        import psutil  # the lab extra has it (ipykernel needs it); only process mode reads it
    except ImportError:  # no reading: the service publishes no utilization, nothing scales on it
        return None
    try:
        root = psutil.Process(pid)
        tree = [root, *root.children(recursive=True)]
    except psutil.Error:
        return None
    cpu = memory = 0.0
    for proc in tree:
        try:
            times = proc.cpu_times()
            cpu += times.user + times.system
            memory += proc.memory_info().rss
        except psutil.Error:
            continue  # a child that ended between the listing and the reading
    return Usage(cpu, None, memory)


def read(runtime_ids: list[str]) -> dict[str, Usage]:
    """Return usage by runtimeId for every container that still runs."""
    found: dict[str, Usage] = {}
    by_cli: dict[str, list[str]] = {}
    for runtime_id in runtime_ids:
        mode, _, ident = runtime_id.partition(":")
        if mode == "process" and ident.isdigit():
            usage = process_usage(int(ident))
            if usage is not None:
                found[runtime_id] = usage
        elif mode in ("podman", "docker") and ident:
            by_cli.setdefault(mode, []).append(ident)
    for cli, names in by_cli.items():
        for name, usage in engine_stats(cli, names).items():
            found[f"{cli}:{name}"] = usage
    return found
