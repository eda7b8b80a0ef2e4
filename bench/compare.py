"""Compare our service with the guide's approach (MiniLM on PyTorch) in one run, side by side."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import traceback
from dataclasses import dataclass
from pathlib import Path

from bench._guide_env import OFFLINE, ensure_guide_venv, site_packages_mb
from bench.figures import BenchError, Figure, median
from bench.service import (
    PDF_PAGES,
    chat_load,
    installed_size_mb,
    rss_mb,
    running_service,
    sample_pdf,
    upload,
    wait_status,
)

ROOT = Path(__file__).resolve().parents[1]
AREA = "guide comparison"
CMD = "python -m bench.run --only compare"
# Same limits for both: all the notes go up in one request.
SHARED_ENV = {"MAX_FILES": "40", "MAX_UPLOAD_MB": "20"}
# One intra-op thread for torch: the 1-vCPU Fargate task gives it one core, and with its
# default (a thread per core) it spin-waits against wrk and other work on the same cores,
# which here made each query embedding about ten times slower. This favours the guide.
GUIDE_ENV = {**OFFLINE, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
# Quick mode only checks that everything still runs: the two shortest notes that eval
# questions ask about and a short PDF keep the guide's side (which embeds every chunk through
# PyTorch, at start, on upload and in the eval) to seconds.
QUICK_NOTES = ("env-vars.md", "secrets.md")
QUICK_PAGES = 3


@dataclass
class Variant:
    """One side of the comparison: which python runs the service, with which embeddings."""

    key: str
    python: Path
    embeddings: str
    env: dict[str, str]


@dataclass
class Corpus:
    """The documents both variants index, upload and are scored on."""

    notes: Path
    pdf_pages: int

    def describe(self) -> str:
        """Say what the library is, for the figures' notes."""
        return f"{len(list(self.notes.glob('*.md')))} notes"


def variants() -> list[Variant]:
    """Return ours (the project venv, hashing) and the guide's (build/guide-venv, MiniLM)."""
    guide = ensure_guide_venv()
    return [
        Variant("ours", Path(sys.executable), "hashing", {}),
        Variant("guide", guide, "minilm", GUIDE_ENV),
    ]


def serve(v: Variant, data_dir: Path, corpus: Corpus):
    """Start `python -m service` of variant `v` on a free port; yield (process, URL, t0)."""
    env = {**SHARED_ENV, **v.env, "EMBEDDINGS": v.embeddings, "LIBRARY_DIR": str(corpus.notes)}
    return running_service(data_dir, python=v.python, env=env)


def process_figures(v: Variant, corpus: Corpus, quick: bool) -> tuple[dict, dict]:
    """Start the service on an empty DATA_DIR repeatedly; load and ingest on the last one.

    Each start times /health and /ready and takes RSS at /ready. The last process, once
    measured, is then driven with wrk (RSS sampled) and times uploads of the notes and of a
    PDF: the load figures come from a process in the state a fresh start has at /ready, and
    the guide's side loads PyTorch and MiniLM once for all of them instead of once more.
    Returns (start samples, load and ingest results).
    """
    repeats, warmup = (1, 0) if quick else (5, 1)
    starts: dict[str, list[float]] = {"health": [], "ready": [], "rss": []}
    load: dict = {}
    for i in range(warmup + repeats):
        with (
            tempfile.TemporaryDirectory(prefix="bench-compare-") as tmp,
            serve(v, Path(tmp), corpus) as (proc, base, t0),
        ):
            health = wait_status(proc, base + "/health", t0, limit_s=300)
            ready = wait_status(proc, base + "/ready", t0, limit_s=600)
            rss = rss_mb(proc.pid)
            if i >= warmup:
                for key, value in zip(starts, (health, ready, rss), strict=True):
                    starts[key].append(value)
            if i == warmup + repeats - 1:
                load = load_and_ingest(proc, base, corpus, quick)
    return starts, load


def load_and_ingest(proc, base: str, corpus: Corpus, quick: bool) -> dict:
    """Drive /chat with wrk (RSS sampled), then time uploads of the notes and of a PDF."""
    repeats, warmup = (1, 0) if quick else (5, 1)
    notes = [(p.name, p.read_bytes(), "text/markdown") for p in sorted(corpus.notes.glob("*.md"))]
    pdf = [("bench.pdf", sample_pdf(corpus.pdf_pages), "application/pdf")]
    out = chat_load(proc, base, quick)
    out["notes_s"] = [upload(base, notes) for _ in range(warmup + repeats)][warmup:]
    out["pdf_s"] = [upload(base, pdf) for _ in range(warmup + repeats)][warmup:]
    return {**out, "n_notes": len(notes)}


def retrieval(v: Variant, corpus: Corpus) -> dict:
    """Score the variant's embedder on the eval set, in its own environment's python."""
    env = {**os.environ, **v.env}
    proc = subprocess.run(
        [str(v.python), "-m", "bench._guide_eval", "--embeddings", v.embeddings,
         "--notes", str(corpus.notes)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=1800,
    )  # fmt: skip
    if proc.returncode != 0:
        raise BenchError(f"retrieval eval ({v.key}) exited {proc.returncode}: {proc.stderr[-800:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def pair(name: str, unit: str, ours, guide, note: str = "", higher: bool = False) -> Figure:
    """Return one side-by-side Figure: value is ours, versus is the guide's (median of lists)."""

    def mid(x):
        return (median(x) if x else None) if isinstance(x, list) else x

    def samples(x):
        return list(x) if isinstance(x, list) else []

    return Figure(
        AREA, name, None, unit, mid(ours), samples(ours), CMD, note, higher,
        versus=mid(guide), versus_samples=samples(guide),
    )  # fmt: skip


def image_figures(quick: bool) -> list[Figure]:
    """Return the image size and start-to-healthy figures for both (None, with why, if not)."""
    from bench._guide_image import measure

    names = [
        ("image size", "MB"),
        ("image size added to the base", "MB"),
        ("container start → first /health 200", "s"),
        ("container start → HEALTHCHECK passes", "s"),
    ]
    if quick:  # the image benchmark measures ours; building the guide's takes minutes
        why = "not measured in quick mode: `--only image` measures our image"
        return [pair(n, u, None, None, why) for n, u in names]
    try:
        got = measure()
    except Exception as exc:  # podman missing or broken: the other figures still count
        traceback.print_exc()
        why = "image benchmark failed: " + " ".join(str(exc).split())[:300]
        return [pair(n, u, None, None, why) for n, u in names]
    ours, guide = got["ours"], got["guide"]
    note = (
        "same local base, podman; median of the container runs; /health (and so the "
        "HEALTHCHECK) answers before the embedder is loaded: the guide's torch import and "
        "MiniLM indexing show in /ready, not here"
    )

    def values(d: dict) -> list:
        s = d["size"]
        return [s["image_bytes"] / 1e6, s["added_bytes"] / 1e6, d["health"], d["healthy"]]

    o, g = values(ours), values(guide)
    return [pair(n, u, o[i], g[i], note) for i, (n, u) in enumerate(names)]


def run(quick: bool) -> list[Figure]:
    """Measure both variants on this machine; return side-by-side figures (ours vs guide)."""
    vs = variants()
    with tempfile.TemporaryDirectory(prefix="bench-compare-notes-") as tmp:
        corpus = Corpus(ROOT / "notes", PDF_PAGES)
        if quick:
            corpus = Corpus(Path(tmp), QUICK_PAGES)
            for name in QUICK_NOTES:
                shutil.copy2(ROOT / "notes" / name, corpus.notes / name)
        return measure(vs, corpus, quick) + image_figures(quick)


def measure(vs: list[Variant], corpus: Corpus, quick: bool) -> list[Figure]:
    """Return the process, load, ingest and retrieval figures of both variants."""
    got: dict[str, dict] = {}
    for v in vs:
        start, load = process_figures(v, corpus, quick)
        got[v.key] = {"start": start, "load": load, "eval": retrieval(v, corpus)}
    o, g = got["ours"], got["guide"]
    sizes = (installed_size_mb(), site_packages_mb())
    load = o["load"]["load"] + "; the guide's torch on 1 thread (OMP_NUM_THREADS=1)"
    nn = o["load"]["n_notes"]
    docs = corpus.describe() + (" (quick mode: a small corpus)" if quick else "")
    figs = [
        pair("installed size (site-packages)", "MB", *sizes,
             "ours: fresh venv of requirements/service.txt; guide: build/guide-venv less pip"),
        pair("start → first /health 200", "s", o["start"]["health"], g["start"]["health"],
             "`python -m service`, empty DATA_DIR; /health answers before the library thread "
             "imports the embedder (torch for the guide), so this hides torch's import"),
        pair("start → /ready 200 (notes indexed)", "s", o["start"]["ready"],
             g["start"]["ready"], f"library of {docs}, indexed in the background thread"),
        pair("RSS at /ready", "MB", o["start"]["rss"], g["start"]["rss"]),
        pair("RSS peak under /chat load", "MB", o["load"]["peak_rss"], g["load"]["peak_rss"],
             load),
        pair("/chat p50 latency", "ms", o["load"]["p50"], g["load"]["p50"], load),
        pair("/chat p99 latency", "ms", o["load"]["p99"], g["load"]["p99"], load),
        pair("/chat throughput", "req/s", o["load"]["rps"], g["load"]["rps"], load, True),
        pair("/chat errors", "requests", sum(o["load"]["errors"]), sum(g["load"]["errors"]),
             load),
        pair(f"POST /upload of the {nn} notes (one request)", "s", o["load"]["notes_s"],
             g["load"]["notes_s"], "parse, split, embed, index"),
        pair(f"POST /upload of a {corpus.pdf_pages}-page PDF", "s", o["load"]["pdf_s"],
             g["load"]["pdf_s"], "bench.service.sample_pdf()"),
    ]  # fmt: skip
    n = (
        f"{o['eval']['questions']} eval questions, {o['eval']['chunks']} chunks; "
        "python -m bench._guide_eval in each env"
    )
    for key, label in (("recall@3", "section recall@3"), ("mrr", "section MRR")):
        figs.append(pair(label, "", o["eval"]["section"][key], g["eval"]["section"][key], n, True))
    figs.append(pair("note recall@3", "", o["eval"]["note"]["recall@3"],
                     g["eval"]["note"]["recall@3"], n, True))  # fmt: skip
    ours, guide = o["eval"]["separation"], g["eval"]["separation"]
    figs.append(pair(
        "near-miss vs off-topic by similarity alone (AUC)", "", ours["auc"], guide["auc"],
        f"bench/tuning's {ours['near']} near-miss and {ours['off']} off-topic questions, best "
        "chunk's cosine; 1.0 would let one threshold refuse every off-topic question and "
        f"answer every near-miss; off-topic at or above the lowest near-miss: ours "
        f"{ours['off_above']}, the guide's {guide['off_above']}", True,
    ))  # fmt: skip
    return figs


if __name__ == "__main__":
    for f in run("--quick" in sys.argv):
        print(f"{f.name}: ours {f.value} | guide {f.versus} | ratio {f.versus_ratio}")
