"""Benchmark the offline free-text grader against answers labelled as an interviewer would.

Run: python -m bench.quiz_grading  (writes bench/results/quiz_grading.json)
Two sets: the tuning set the grader was tuned on, bench/grading_labels.yaml,
bench/grading_tuning2.yaml and bench/grading_tuning3/, grading_tuning4/ and grading_tuning5/
answers.yaml (held-out sets retired on 2026-12-05 and twice on 2026-12-06;
reported as such, together and per file, with their disagreements), and
bench/grading_heldout/answers.yaml, written blind and never tuned on, when it exists
(aggregate figures only, never per-answer results). Reported:
agreement of the grader's verdict with the label, agreement of its confident verdicts, the
share it marks unsure, wrong or negated answers graded good, strong answers graded good, and
the grading latency per answer.

`--grader llm` grades with the chat model LLM_PROVIDER / LLM_MODEL name (quizzes/llmgrade.py,
key from the environment or .env): the way to measure whether reading meaning meets the goals
the word-matching grader does not. One provider call per answer, so never part of `bench.run`
or CI; it writes bench/results/quiz_grading_llm.json, and counts the answers graded offline
after a failed call (those are the offline grader's verdicts, not the model's).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import yaml
from rich.console import Console
from rich.progress import track

from bench.figures import Figure, percentile
from quizzes.errors import BankError, QuizError
from quizzes.freetext import grade_free_text
from quizzes.llmgrade import fallback_note
from quizzes.loader import load_bank, parse_file
from quizzes.schema import FreeTextItem
from quizzes.verdict import Grade

ROOT = Path(__file__).resolve().parents[1]
TUNING = ROOT / "bench" / "grading_labels.yaml"
TUNING2 = ROOT / "bench" / "grading_tuning2.yaml"  # more items, the held-out set's kinds
TUNING3 = ROOT / "bench" / "grading_tuning3" / "answers.yaml"  # held-out until 2026-12-05
TUNING4 = ROOT / "bench" / "grading_tuning4" / "answers.yaml"  # held-out until 2026-12-06
TUNING5 = ROOT / "bench" / "grading_tuning5" / "answers.yaml"  # held-out on 2026-12-06 only
TUNING_SETS = (TUNING, TUNING2, TUNING3, TUNING4, TUNING5)
HELDOUT = ROOT / "bench" / "grading_heldout" / "answers.yaml"
BANK = ROOT / "quizzes" / "bank"
SECTIONS = ROOT / "quizzes" / "sections.yaml"
QUICK_EVERY = 4  # --quick grades every 4th answer of each set: a check that the bench runs
RESULTS = ROOT / "bench" / "results" / "quiz_grading.json"
RESULTS_LLM = ROOT / "bench" / "results" / "quiz_grading_llm.json"
OFFLINE = "offline"
Grader = Callable[[FreeTextItem, str], Grade]
AREA = "quizzes"
CMD = "python -m bench.quiz_grading"
VERDICTS = ("good", "partial", "wrong")
# Issue 14's goals, judged on the held-out set.
AGREEMENT_GOAL = 0.85
CONFIDENT_GOAL = 0.92
UNSURE_GOAL = 0.20
STRONG_GOAL = 0.90
LATENCY_MS_GOAL = 50.0
SEPARATORS = {"space": " ", "comma": ", ", "period": ". ", "and": " and ", "newline": "\n"}


class LabelsError(ValueError):
    """A labelled set that cannot be read (the message names the file and the entry)."""


@dataclass(frozen=True)
class Labelled:
    """One labelled answer."""

    item: str
    label: str
    kind: str
    answer: str


@dataclass(frozen=True)
class Row:
    """One graded answer beside its label."""

    item: str
    kind: str
    label: str
    predicted: str
    unsure: bool
    confidence: float
    score: float
    covered: list[str]
    wrong_claims: list[str]
    ms: float
    fell_back: bool = False  # the LLM call failed: graded offline instead


def strong_rows(rows: list[Row]) -> list[Row]:
    """Return the strong answers: kind `strong` where the set marks them, else labelled good."""
    marked = [r for r in rows if r.kind == "strong"]
    return marked or [r for r in rows if r.label == "good"]


def dangerous(row: Row) -> bool:
    """Say whether an answer must never be graded good: wrong, or right words negated."""
    kind = row.kind.lower()
    return row.label == "wrong" or "negat" in kind or "misappl" in kind


def read_labels(path: Path) -> list[Labelled]:
    """Read a labelled set (answers: [{item, label, kind, answer, ...}])."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise LabelsError(f"{path}: cannot read the labelled answers: {exc}") from exc
    entries = data.get("answers") if isinstance(data, dict) else None
    if not isinstance(entries, list) or not entries:
        raise LabelsError(f"{path}: expected a non-empty list under 'answers'")
    out = []
    for n, e in enumerate(entries, 1):
        missing = [k for k in ("item", "label", "answer") if not isinstance(e, dict) or k not in e]
        if missing:
            raise LabelsError(f"{path}: answer {n} lacks {', '.join(missing)}")
        if e["label"] not in VERDICTS:
            raise LabelsError(f"{path}: answer {n} has label {e['label']!r}, not one of {VERDICTS}")
        out.append(Labelled(str(e["item"]), e["label"], str(e.get("kind", "?")), str(e["answer"])))
    return out


def free_text_items(bank_dir: Path = BANK, sections: Path = SECTIONS) -> tuple[dict, str]:
    """Return {id: FreeTextItem}; fall back to per-file parsing while the bank is in progress."""
    try:
        bank = load_bank(bank_dir, sections)
        return {i.id: i for i in bank.free_text()}, "load_bank"
    except BankError as exc:
        items = {}
        for path in sorted(bank_dir.glob("*.yaml")):
            bank_file, _ = parse_file(path)
            items.update({i.id: i for i in bank_file.items if i.type == "free_text"})
        return items, f"per-file parse (bank did not load as a whole: {exc})"


def grade_all(
    answers: list[Labelled],
    items: dict[str, FreeTextItem],
    grade: Grader = grade_free_text,
    progress: bool = False,
) -> tuple[list[Row], list]:
    """Grade every labelled answer whose item is in the bank; return rows and missing items."""
    rows, missing = [], []
    for item in list(items.values())[:1]:  # warm-up: the grader loads its word list once
        grade_free_text(item, item.model_answer)
    shown: Iterable[Labelled] = answers
    if progress:  # a chat model takes about a second an answer
        shown = track(answers, "grading", console=Console(stderr=True), transient=True)
    for a in shown:
        item = items.get(a.item)
        if item is None:
            missing.append(a.item)
            continue
        start = time.perf_counter()
        g = grade(item, a.answer)
        ms = (time.perf_counter() - start) * 1000
        rows.append(
            Row(a.item, a.kind, a.label, g.verdict, g.unsure, g.confidence, g.score,
                g.covered, g.wrong_claims, round(ms, 3), fallback_note(g) is not None)
        )  # fmt: skip
    return rows, sorted(set(missing))


def _share(hits: int, n: int) -> float | None:
    return round(hits / n, 3) if n else None


def summarize(rows: list[Row]) -> dict:
    """Return the aggregate figures of graded rows (nothing per answer)."""
    confident = [r for r in rows if not r.unsure]
    strong = strong_rows(rows)
    good = [r for r in rows if r.label == "good"]
    times = [r.ms for r in rows]
    kinds = Counter(r.kind for r in rows)
    return {
        "answers": len(rows),
        "items": len({r.item for r in rows}),
        "agreement": _share(sum(r.label == r.predicted for r in rows), len(rows)),
        "confident_agreement": _share(
            sum(r.label == r.predicted for r in confident), len(confident)
        ),
        "unsure_share": _share(len(rows) - len(confident), len(rows)),
        "wrong_or_negated": sum(dangerous(r) for r in rows),
        "wrong_or_negated_graded_good": sum(dangerous(r) and r.predicted == "good" for r in rows),
        "strong": len(strong),
        "strong_graded_good": _share(sum(r.predicted == "good" for r in strong), len(strong)),
        "labelled_good_graded_good": _share(sum(r.predicted == "good" for r in good), len(good)),
        "graded_offline_after_a_failed_llm_call": sum(r.fell_back for r in rows),
        "latency_ms_median": round(statistics.median(times), 3) if times else None,
        "latency_ms_p95": round(percentile(times, 95), 3) if times else None,
        "confusion (rows=label, cols=grader)": {
            lab: {p: sum(r.label == lab and r.predicted == p for r in rows) for p in VERDICTS}
            for lab in VERDICTS
        },
        "agreement_by_kind": {
            k: _share(sum(r.label == r.predicted for r in rows if r.kind == k), c)
            for k, c in sorted(kinds.items())
        },
    }


def calibration(rows: list[Row], steps: int = 10) -> dict[str, dict]:
    """Return, per candidate threshold, the unsure share and the confident verdicts' agreement."""
    out = {}
    for k in range(1, steps):
        cut = k / steps
        sure = [r for r in rows if r.confidence >= cut]
        out[f"{cut:.1f}"] = {
            "unsure_share": _share(len(rows) - len(sure), len(rows)),
            "confident_agreement": _share(sum(r.label == r.predicted for r in sure), len(sure)),
        }
    return out


def stuffing(items: list[FreeTextItem]) -> dict:
    """Grade each item's own rubric phrasings pasted as an answer; return how often it passes."""
    out = {}
    for name, sep in SEPARATORS.items():
        for mode in ("all", "first"):
            good = sum(
                grade_free_text(
                    it,
                    sep.join(
                        ph
                        for p in it.rubric.points
                        for ph in (p.phrasings if mode == "all" else p.phrasings[:1])
                    ),
                ).verdict
                == "good"
                for it in items
            )
            out[f"{name}/{mode}"] = f"{good}/{len(items)}"
    return out


def _name(path: Path) -> str:
    return str(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)


def evaluate(
    labels: Path | Sequence[Path] = TUNING_SETS,
    heldout: Path | None = HELDOUT,
    bank_dir: Path = BANK,
    sections: Path = SECTIONS,
    *,
    quick: bool = False,
    grade: Grader = grade_free_text,
    grader: str = OFFLINE,
) -> dict:
    """Grade the tuning set (and the held-out set, if there is one); return the report.

    `quick` grades every QUICK_EVERY-th answer and skips the rubric-stuffing check: its
    figures show that the bench runs, not how well the grader does. `grade` is the grader
    (offline unless an LLM grader is given, named by `grader`); an LLM grader skips the
    rubric-stuffing check too (its hundreds of pastes would each be a call).
    """
    items, how = free_text_items(bank_dir, sections)
    every = QUICK_EVERY if quick else 1
    files = [labels] if isinstance(labels, Path) else list(labels)
    llm = grader != OFFLINE
    by_file, rows, missing = {}, [], []
    for path in files:
        file_rows, file_missing = grade_all(read_labels(path)[::every], items, grade, llm)
        by_file[_name(path)] = {
            k: v for k, v in summarize(file_rows).items() if not k.startswith("confusion")
        }
        rows += file_rows
        missing += file_missing
    report = {
        "grader": grader,
        "bank_load": how,
        "tuning": {
            "set": " + ".join(by_file),
            **summarize(rows),
            "by_file": by_file,  # each file of the tuning set on its own
            "labels_for_missing_items": sorted(set(missing)),
            # how verdict.UNSURE_BELOW was chosen: each threshold's unsure share and agreement
            "calibration": calibration(rows),
            # the tuning set's misses are what the grader was tuned on: listed
            "disagreements": [asdict(r) for r in rows if r.label != r.predicted],
        },
        "heldout": None,
    }
    if heldout is not None and heldout.exists():
        held_rows, held_missing = grade_all(read_labels(heldout)[::every], items, grade, llm)
        report["heldout"] = {
            "set": _name(heldout),
            **summarize(held_rows),
            "answers_for_missing_items": len(held_missing),
        }  # aggregate figures only: the set stays out of tuning
    model_ok = sum(grade(i, i.model_answer).verdict == "good" for i in items.values())
    report["model_answers_good"] = f"{model_ok}/{len(items)}"
    if not quick and not llm:
        report["rubric_stuffing_marked_good"] = stuffing(list(items.values()))
    return report


def figures(report: dict) -> list[Figure]:
    """Return the figures for BENCHMARKS.md: the held-out set judged, the tuning set beside."""
    figs: list[Figure] = []
    held, tune = report["heldout"], report["tuning"]
    if held is not None:  # none until bench/grading_heldout/answers.yaml is written
        figs += _set_figures(held, "held-out set", goals=True)
        figs += [
            Figure(AREA, f"  agreement, kind {kind}, held-out set", None, "", value, [], CMD,
                   "the set's own kinds (bench/grading_heldout/README.md)", True)
            for kind, value in held["agreement_by_kind"].items()
        ]  # fmt: skip
    figs += _set_figures(tune, "tuning set", goals=False)
    figs += [
        Figure(AREA, f"  agreement, {_short(name)}, tuning set", None, "", f["agreement"], [],
               CMD, f"{f['answers']} answers over {f['items']} items; tuned on, not a result",
               True)
        for name, f in tune.get("by_file", {}).items()
    ]  # fmt: skip
    figs.append(
        Figure(AREA, "model answers graded good", None, "", _fraction(report["model_answers_good"]),
               [], CMD, report["model_answers_good"], True)
    )  # fmt: skip
    return figs


def _short(name: str) -> str:
    """Name a tuning file by its folder when it is a set's answers.yaml (grading_tuning4)."""
    path = Path(name)
    return path.parent.name if path.name == "answers.yaml" else path.name


def _fraction(text: str) -> float | None:
    hits, _, n = text.partition("/")
    return int(hits) / int(n) if int(n) else None


def _set_figures(s: dict, label: str, *, goals: bool) -> list[Figure]:
    """Return one set's figures, with issue 14's goals when `goals`."""
    n = f"{label}: {s['answers']} labelled answers over {s['items']} items ({s['set']})"
    if not goals:
        n += "; tuned on, not a result"

    def g(goal: float | None) -> float | None:
        return goal if goals else None

    return [
        Figure(AREA, f"grader agreement, {label}", g(AGREEMENT_GOAL), "", s["agreement"], [],
               CMD, n, True),
        Figure(AREA, f"  confident verdicts agree, {label}", g(CONFIDENT_GOAL), "",
               s["confident_agreement"], [], CMD, "verdicts not marked unsure", True),
        Figure(AREA, f"  answers marked unsure, {label}", g(UNSURE_GOAL), "", s["unsure_share"],
               [], CMD, "the learner rates these against the rubric's checklist"),
        Figure(AREA, f"  wrong or negated answers graded good, {label}", g(0), "answers",
               s["wrong_or_negated_graded_good"], [], CMD,
               f"of {s['wrong_or_negated']} labelled wrong, or right words negated/misapplied"),
        Figure(AREA, f"  strong answers graded good, {label}", g(STRONG_GOAL), "",
               s["strong_graded_good"], [], CMD,
               f"of {s['strong']} strong answers; of every answer labelled good: "
               f"{s['labelled_good_graded_good']}", True),
        Figure(AREA, f"  grading latency per answer (median), {label}", g(LATENCY_MS_GOAL), "ms",
               s["latency_ms_median"], [], CMD, f"p95 {s['latency_ms_p95']} ms, offline grader"),
    ]  # fmt: skip


def write(report: dict, out: Path = RESULTS) -> None:
    """Write the report as JSON."""
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")


def run(quick: bool) -> list[Figure]:
    """Return the figures (a full run also rewrites bench/results/quiz_grading.json)."""
    report = evaluate(quick=quick)
    if not quick:
        write(report)
    return figures(report)


def _print(report: dict) -> None:
    print(f"grader: {report['grader']}")
    for key in ("tuning", "heldout"):
        s = report[key]
        if s is None:
            print("held-out set: not graded (none, or --no-heldout)")
            continue
        print(f"{key} set {s['set']}: {s['answers']} answers over {s['items']} items")
        print(
            f"  agreement {s['agreement']}  confident {s['confident_agreement']}  "
            f"unsure {s['unsure_share']}  wrong/negated graded good "
            f"{s['wrong_or_negated_graded_good']}/{s['wrong_or_negated']}  strong graded good "
            f"{s['strong_graded_good']} (labelled good: {s['labelled_good_graded_good']})  "
            f"latency median {s['latency_ms_median']} ms, "
            f"p95 {s['latency_ms_p95']} ms"
        )
        if s["graded_offline_after_a_failed_llm_call"]:
            print(f"  graded offline after a failed LLM call: "
                  f"{s['graded_offline_after_a_failed_llm_call']}")  # fmt: skip
        print("  confusion (rows = label, cols = grader):")
        print("             " + "".join(f"{v:>9}" for v in VERDICTS))
        for lab, row in s["confusion (rows=label, cols=grader)"].items():
            print(f"    {lab:<9}" + "".join(f"{row[v]:>9}" for v in VERDICTS))
        print("  by kind:", s["agreement_by_kind"])
        for name, f in s.get("by_file", {}).items():
            print(
                f"  {name}: {f['answers']} answers, agreement {f['agreement']}, confident "
                f"{f['confident_agreement']}, unsure {f['unsure_share']}, wrong/negated graded "
                f"good {f['wrong_or_negated_graded_good']}/{f['wrong_or_negated']}"
            )
            print("    by kind:", f["agreement_by_kind"])
    print(f"model answers graded good: {report['model_answers_good']}")
    if "rubric_stuffing_marked_good" in report:
        print("rubric phrasings pasted as an answer, graded good:",
              report["rubric_stuffing_marked_good"])  # fmt: skip


def _llm() -> tuple[Grader, str]:
    """Return the LLM grader the service's settings name, and its label (QuizError if unusable)."""
    from quizzes.config import get_settings as quiz_settings
    from quizzes.llmgrade import llm_grader
    from service.config import Settings

    grader = llm_grader(Settings(), quiz_settings().grader_timeout_s)
    return grader, grader.label


def main(argv: list[str] | None = None) -> int:
    """Grade the labelled sets, print a summary and write the JSON report."""
    ap = argparse.ArgumentParser(prog=CMD, description=__doc__.splitlines()[0])
    ap.add_argument(
        "--labels", type=Path, nargs="+", default=list(TUNING_SETS), help="the tuning set's files"
    )
    ap.add_argument("--heldout", type=Path, default=HELDOUT, help="the held-out set (if any)")
    ap.add_argument("--no-heldout", action="store_true", help="grade the tuning set only")
    ap.add_argument("--bank", type=Path, default=BANK)
    ap.add_argument("--sections", type=Path, default=SECTIONS)
    ap.add_argument(
        "--quick", action="store_true", help="every 4th answer, no rubric-stuffing check"
    )
    ap.add_argument(
        "--grader", choices=(OFFLINE, "llm"), default=OFFLINE,
        help="llm: the chat model LLM_PROVIDER / LLM_MODEL name (one call per answer; "
        f"writes {_name(RESULTS_LLM)} unless --out is given)",
    )  # fmt: skip
    ap.add_argument("--out", type=Path, default=None, help=f"default {_name(RESULTS)}")
    args = ap.parse_args(argv)
    out = args.out or (RESULTS if args.grader == OFFLINE else RESULTS_LLM)
    try:
        grade, label = (grade_free_text, OFFLINE) if args.grader == OFFLINE else _llm()
        report = evaluate(
            args.labels,
            None if args.no_heldout else args.heldout,
            args.bank,
            args.sections,
            quick=args.quick,
            grade=grade,
            grader=label,
        )
    except (LabelsError, QuizError) as exc:
        print(f"{CMD}: {exc}", file=sys.stderr)
        return 2
    _print(report)
    if args.quick and args.out is None:  # a sample must not replace the measured results
        print(f"--quick: {_name(out)} left as it was (give --out to keep this)")
        return 0
    write(report, out)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
