"""Run the whole probe: start each service shape, replay every category, collect the results."""

from __future__ import annotations

import secrets
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from bench.probe import (
    access,
    crafted,
    forms,
    jsonbodies,
    memory,
    names,
    oversize,
    readonly,
    sessions,
    smuggling,
    xss,
)
from bench.probe.target import ROOT, Limits, Service, Target
from bench.probe.verdict import Verdict, tally


@dataclass
class Outcome:
    """Everything one probe run found and measured."""

    quick: bool
    repo: str
    verdicts: list[Verdict] = field(default_factory=list)
    pdf_costs: list[crafted.Cost] = field(default_factory=list)
    json: oversize.JsonRefusal = field(default_factory=oversize.JsonRefusal)
    uploads: memory.Uploads = field(default_factory=memory.Uploads)
    seconds: float = 0.0


def say(text: str) -> None:
    """Print one progress line to stderr."""
    print(f"probe: {text}", file=sys.stderr, flush=True)


@contextmanager
def serving(tmp: Path, name: str, repo: Path, quick: bool, env: dict[str, str] | None = None):
    """Start a service shape with a fresh DATA_DIR; yield its Target; stop it afterwards."""
    box = tmp / name
    box.mkdir()
    service = Service(repo, box / "data", tmp / f"{name}.log", env or {})
    service.start()
    try:
        page = httpx.get(service.base + "/", timeout=30).text
        target = Target(
            service.base, box / "data", box, Limits.from_page(page),
            api_key=(env or {}).get("API_KEY"), service=service, quick=quick,
        )  # fmt: skip
        with target.client:
            yield target
    finally:
        service.stop()


def replay(out: Outcome, t: Target, category: str, checks: Callable[[], Iterable[Verdict]]):
    """Run one category's checks; a service that dies meanwhile is a problem, then restarted."""
    t0, n = time.perf_counter(), len(out.verdicts)
    try:
        out.verdicts.extend(checks())
    except OSError:  # a refused connection: the service's death is the finding, else ours
        if t.service is None or t.service.alive():
            raise
    if t.service is not None and not t.service.alive():
        out.verdicts.append(Verdict(
            category, "the service survives the category", "high",
            f"the process exited with {t.service.proc.returncode}: {t.service.tail(300)}",
        ))  # fmt: skip
        t.service.start()
        t.base = t.service.base
    got = out.verdicts[n:]
    bad = sum(not v.handled for v in got)
    say(f"{category}: {len(got)} inputs, {bad} problem(s), {time.perf_counter() - t0:.0f} s")


def probe(quick: bool = False, repo: Path = ROOT) -> Outcome:
    """Replay every abusive input against fresh services; return the verdicts and figures."""
    out = Outcome(quick=quick, repo=str(repo))
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench-probe-") as tmp_name:
        tmp = Path(tmp_name)
        key = "probe-Key-" + secrets.token_hex(12)
        keyed_env = {"API_KEY": key, "CORS_ORIGINS": access.ALLOWED_ORIGIN, "ENV": "production"}
        with serving(tmp, "keyed", repo, quick, keyed_env) as t:
            replay(out, t, access.KEY_CATEGORY, lambda: access.key_checks(t))
            replay(out, t, access.CORS_CATEGORY, lambda: access.cors_checks(t))
            replay(out, t, oversize.CATEGORY, lambda: oversize.measure(t, out.json))
        with serving(tmp, "open", repo, quick) as t:
            for module in (names, forms, smuggling, xss, jsonbodies, sessions):
                replay(out, t, module.CATEGORY, lambda m=module: m.checks(t))
            replay(out, t, oversize.CATEGORY, lambda: oversize.open_checks(t))
            replay(out, t, crafted.CATEGORY, lambda: crafted.checks(t, out.pdf_costs))
        with serving(tmp, "uploads", repo, quick) as t:

            def uploads() -> list[Verdict]:
                verdicts, out.uploads = memory.run_uploads(t)
                return verdicts

            replay(out, t, memory.CATEGORY, uploads)
        out.verdicts.extend(_read_only(tmp, repo, quick))
    out.seconds = time.perf_counter() - t0
    total = tally(out.verdicts)["total"]
    say(f"{total['tried']} inputs, {total['handled']} handled, {out.seconds:.0f} s")
    return out


def _read_only(tmp: Path, repo: Path, quick: bool) -> list[Verdict]:
    box = tmp / "read-only"
    box.mkdir()
    data_dir, how = readonly.unwritable_dir(box)
    service = Service(repo, data_dir, tmp / "read-only.log", {})
    refused = readonly.start(service)
    try:
        if refused is not None:
            return [refused]
        t = Target(service.base, data_dir, box, service=service, quick=quick)
        with t.client:
            verdicts = list(readonly.checks(t, how))
        say(f"{readonly.CATEGORY}: {len(verdicts)} inputs")
        return verdicts
    finally:
        service.stop()
