"""Benchmark the offline free-text grader against hand-labelled answers.

Run: .venv/bin/python bench/quiz_grading.py  (writes bench/results/quiz_grading.json)
Reports agreement with the labels, a confusion table, agreement per answer kind and the
mean grading latency per answer.
"""

import argparse
import json
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from quizzes.errors import BankError  # noqa: E402
from quizzes.freetext import grade_free_text  # noqa: E402
from quizzes.loader import load_bank, parse_file  # noqa: E402

VERDICTS = ("good", "partial", "wrong")


def free_text_items(bank_dir: Path, sections: Path) -> tuple[dict, str]:
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


SEPARATORS = {"space": " ", "comma": ", ", "period": ". ", "and": " and ", "newline": "\n"}


def stuffing(items: list) -> dict:
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


def run(labels_path: Path, bank_dir: Path, sections: Path) -> dict:
    """Grade every labelled answer and return the report as a dict."""
    items, how = free_text_items(bank_dir, sections)
    answers = yaml.safe_load(labels_path.read_text())["answers"]
    rows, missing, times = [], [], []
    for a in answers:
        item = items.get(a["item"])
        if item is None:
            missing.append(a["item"])
            continue
        start = time.perf_counter()
        g = grade_free_text(item, a["answer"])
        times.append(time.perf_counter() - start)
        rows.append(
            {
                "item": a["item"],
                "kind": a.get("kind", "?"),
                "label": a["label"],
                "predicted": g.verdict,
                "score": g.score,
                "covered": g.covered,
                "wrong_claims": g.wrong_claims,
            }
        )
    n = len(rows)
    agree = sum(r["label"] == r["predicted"] for r in rows)
    confusion = {
        lab: {p: sum(r["label"] == lab and r["predicted"] == p for r in rows) for p in VERDICTS}
        for lab in VERDICTS
    }
    kinds = Counter(r["kind"] for r in rows)
    per_kind = {
        k: round(sum(r["label"] == r["predicted"] for r in rows if r["kind"] == k) / c, 3)
        for k, c in sorted(kinds.items())
    }
    dangerous = [r for r in rows if r["label"] == "wrong" and r["predicted"] == "good"]
    stuffed = stuffing(list(items.values()))
    model_ok = sum(grade_free_text(i, i.model_answer).verdict == "good" for i in items.values())
    return {
        "answers": n,
        "items": len({r["item"] for r in rows}),
        "bank_load": how,
        "agreement": round(agree / n, 3) if n else None,
        "confusion (rows=label, cols=grader)": confusion,
        "agreement_by_kind": per_kind,
        "wrong_marked_good": len(dangerous),
        "model_answers_good": f"{model_ok}/{len(items)}",
        "rubric_stuffing_marked_good": stuffed,
        "mean_latency_ms": round(statistics.mean(times) * 1000, 3) if times else None,
        "p95_latency_ms": round(sorted(times)[int(0.95 * (len(times) - 1))] * 1000, 3)
        if times
        else None,
        "labels_for_missing_items": sorted(set(missing)),
        "disagreements": [r for r in rows if r["label"] != r["predicted"]],
    }


def main() -> None:
    """Parse arguments, run the benchmark, print a summary and write the JSON report."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--labels", type=Path, default=ROOT / "bench" / "grading_labels.yaml")
    ap.add_argument("--bank", type=Path, default=ROOT / "quizzes" / "bank")
    ap.add_argument("--sections", type=Path, default=ROOT / "quizzes" / "sections.yaml")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "quiz_grading.json")
    args = ap.parse_args()
    report = run(args.labels, args.bank, args.sections)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"answers: {report['answers']} over {report['items']} items ({report['bank_load']})")
    print(f"agreement: {report['agreement']}  (goal >= 0.85)")
    print("confusion (rows = label, cols = grader):")
    print("           " + "".join(f"{v:>9}" for v in VERDICTS))
    for lab, row in report["confusion (rows=label, cols=grader)"].items():
        print(f"  {lab:<9}" + "".join(f"{row[v]:>9}" for v in VERDICTS))
    print("by kind:", report["agreement_by_kind"])
    print(f"wrong answers marked good: {report['wrong_marked_good']}")
    print(f"model answers graded good: {report['model_answers_good']}")
    print(
        "rubric phrasings pasted as an answer, graded good:", report["rubric_stuffing_marked_good"]
    )
    print(
        f"mean latency: {report['mean_latency_ms']} ms/answer (p95 {report['p95_latency_ms']} ms)"
    )
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
