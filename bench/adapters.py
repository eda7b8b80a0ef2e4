"""Turn the JSON of the script-style benchmarks (retrieval, image) into Figures."""

from __future__ import annotations

from collections.abc import Callable

from bench.figures import Figure, median

ADDED_MB_GOAL = 300.0  # what the Dockerfile adds on top of the base image (issue: container)
HEALTHY_S_GOAL = 2.0  # container start to healthy (issue: container)
REBUILD_S_GOAL = 20.0
GUIDE_IMAGE_MB = 4400.0  # the guide's image size (4.4 GB), its anchor for ours  # rebuild after a one-line code change (issue: container)
# How many times `python -m bench.run` runs each script (after one warm-up run when > 1).
REPEATS = {"retrieval": 5, "image": 1}


def script_flags(name: str) -> set[str]:
    """Return the optional flags a script benchmark accepts besides --out."""
    return {"--quick"} if name == "image" else set()


def retrieval(area: str, datas: list[dict]) -> list[Figure]:
    """Return retrieval quality (first run) and ingest timings (every run)."""
    cmd = "python -m bench.retrieval"
    d = datas[0]
    n = f"{d['questions']} eval questions, {d['corpus']['chunks']} chunks"
    ingest = [x["ingest_pdf"]["total_s"] for x in datas]
    index = [x["notes_index_s"] for x in datas]
    pdf = d["ingest_pdf"]
    figs = [
        Figure(area, f"section {k}", None, "", d["section"][k], [], cmd, n, True)
        for k in ("recall@1", "recall@3", "recall@5", "mrr")
    ]
    figs += [
        Figure(area, "note recall@3", None, "", d["note"]["recall@3"], [], cmd, n, True),
        Figure(area, "off-topic questions refused", None, "", d["off_topic_refused"], [], cmd,
               f"{len(d['off_topic_answered'])} answered", True),
        Figure(area, "eval questions answered (extractive)", None, "",
               d["answered_by_extractive"], [], cmd, n, True),
        Figure(area, f"ingest a {pdf['pages']}-page PDF in-process", 5.0, "s", median(ingest),
               ingest, cmd, f"load {pdf['load_s']} s + split {pdf['split_s']} s + index "
               f"{pdf['index_s']} s (first run); same goal as POST /upload"),
        Figure(area, "index the notes library in-process", None, "s", median(index), index, cmd,
               f"{d['corpus']['notes']} notes"),
    ]  # fmt: skip
    return figs


def image(area: str, datas: list[dict]) -> list[Figure]:
    """Return the image's size, start-to-healthy, stop and rebuild figures."""
    cmd = "python -m bench.image"
    d = datas[0]
    size, start, rebuild = d["size"], d["start"], d["rebuild"]
    samples = d.get("start_samples", {})
    n = d.get("runs", 1)
    runs = f"median of {n} container runs after a warm-up" if n > 1 else "one container run"
    return [
        Figure(area, "image size", None, "MB", size["image_bytes"] / 1e6, [], cmd,
               f"base {size['base_bytes'] / 1e6:.0f} MB + added {size['added_bytes'] / 1e6:.0f} MB"),
        Figure(area, "image size added to the base", ADDED_MB_GOAL, "MB",
               size["added_bytes"] / 1e6, [], cmd, "the layers the Dockerfile adds; the guide's "
               "figure is its whole image", versus=GUIDE_IMAGE_MB),
        Figure(area, "container start → first /health 200", None, "s",
               start["first_health_200_s"], samples.get("first_health_200_s", []), cmd, runs),
        Figure(area, "container start → HEALTHCHECK passes (guide: 20–40 s)", HEALTHY_S_GOAL,
               "s", start["healthcheck_pass_s"], samples.get("healthcheck_pass_s", []), cmd, runs),
        Figure(area, "podman stop (SIGTERM → exit)", None, "s", start["stop_s"],
               samples.get("stop_s", []), cmd,
               f"exit codes {d.get('stop_exit_codes')}"),
        Figure(area, "rebuild after a one-line code change", REBUILD_S_GOAL, "s",
               rebuild["one_line_change_s"], rebuild.get("one_line_change_samples", []), cmd,
               f"nothing changed: {rebuild['nothing_changed_s']:.1f} s"),
    ]  # fmt: skip


CONVERTERS: dict[str, Callable[[str, list[dict]], list[Figure]]] = {
    "retrieval": retrieval,
    "image": image,
}
