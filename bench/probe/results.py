"""Turn a probe run into the bench's Figures, a rich table and the JSON of every verdict."""

from __future__ import annotations

import statistics
from dataclasses import asdict
from datetime import UTC, datetime

from rich.console import Console
from rich.table import Table

from bench.figures import Figure
from bench.probe import crafted, memory, oversize
from bench.probe.campaign import Outcome
from bench.probe.verdict import SEVERITIES, tally

AREA = "probe"
CMD = "python -m bench.run --only probe"


def _problems_note(out: Outcome, severity: str) -> str:
    names = [
        f"{v.category}: {v.name} ({v.reason[:90]})" for v in out.verdicts if v.severity == severity
    ]
    more = f" (+{len(names) - 4} more)" if len(names) > 4 else ""
    return "; ".join(names[:4]) + more


def _uploads_figure(out: Outcome) -> Figure:
    u = out.uploads
    # The highest RSS measured after each upload: the goal is that memory *stays* under 1 GB.
    rss = u.peak_rss_mb
    # Judged only when every planned upload was made or memory is already past the goal;
    # a loop cut short below the goal has not shown the goal is met.
    judged = rss is not None and (u.done >= u.planned or rss > memory.RSS_GOAL_MB)
    quick = " (quick mode)" if out.quick else ""
    last = f"{u.final_rss_mb:.0f} MB after the last, " if u.final_rss_mb else ""
    note = (
        f"highest RSS after each of {u.done} of {u.planned} uploads{quick} of a "
        f"{u.size / 1e6:.1f} MB single-line .txt (the largest the config accepts), each a new "
        f"session; {last}{u.start_rss_mb:.0f} MB at start; DATA_DIR grew "
        f"{u.disk_total / 1e6:.0f} MB" + (f"; {u.stopped}" if u.stopped else "")
    )
    return Figure(AREA, f"RSS after {memory.UPLOADS} maximal uploads", memory.RSS_GOAL_MB, "MB",
                  rss if judged else None, [], CMD, note)  # fmt: skip


def _pdf_figures(out: Outcome) -> list[Figure]:
    figures = []
    for c in out.pdf_costs:
        if not c.figure:
            continue
        wrote = "nothing written" if not c.wrote else f"{c.wrote} file(s) written"
        inflates = f", streams inflate to {c.inflated / 1e6:.1f} MB" if c.inflated > c.size else ""
        note = f"{c.size / 1e3:.0f} KB{inflates}; {c.reason}; {wrote}"
        figures.append(Figure(AREA, f"CPU for a crafted PDF: {c.label}", crafted.CPU_GOAL_S, "s",
                              c.cpu_s, [], CMD, note))  # fmt: skip
    return figures


def _json_figures(out: Outcome) -> list[Figure]:
    j = out.json
    if not j.refusal_ms:
        return []
    statuses = ", ".join(str(s) for s in j.statuses)
    peak = f"; service RSS peak {j.peak_rss_mb:.0f} MB" if j.peak_rss_mb else ""
    note = f"{oversize.JSON_MB} MB body, API_KEY set, no key sent; answered {statuses}{peak}"
    return [
        Figure(AREA, f"{oversize.JSON_MB} MB JSON without the key: time to refusal",
               oversize.REFUSAL_GOAL_MS, "ms", statistics.median(j.refusal_ms),
               [round(x, 1) for x in j.refusal_ms], CMD, note),
        Figure(AREA, "/health latency meanwhile (worst)", oversize.HEALTH_GOAL_MS, "ms",
               max(j.health_ms), [round(x, 1) for x in j.health_ms], CMD,
               "GET /health every 10 ms while the body is sent"),
    ]  # fmt: skip


def figures(out: Outcome) -> list[Figure]:
    """Return the probe's figures: totals by severity, then the issue's three measurements."""
    rows = tally(out.verdicts)
    total = rows.get("total", {"tried": 0, "handled": 0, **dict.fromkeys(SEVERITIES, 0)})
    n, categories = total["tried"], len(rows) - 1
    where = "every verdict in bench/results/probe.json" if not out.quick else "quick run"
    share = f"{total['handled'] / n:.0%} of the inputs" if n else ""
    return [
        Figure(AREA, "abusive inputs tried", None, "inputs", n, [], CMD,
               f"{categories} categories; {where}"),
        Figure(AREA, "handled safely", None, "inputs", total["handled"], [], CMD, share, True),
        Figure(AREA, "problems, high severity", 0, "problems", total["high"], [], CMD,
               _problems_note(out, "high")),
        Figure(AREA, "problems, medium severity", 0, "problems", total["medium"], [], CMD,
               _problems_note(out, "medium")),
        Figure(AREA, "problems, low severity", None, "problems", total["low"], [], CMD,
               _problems_note(out, "low")),
        _uploads_figure(out),
        *_pdf_figures(out),
        *_json_figures(out),
    ]  # fmt: skip


def print_tables(out: Outcome, console: Console | None = None) -> None:
    """Print the categories table and every problem (to stderr unless a console is given)."""
    console = console or Console(stderr=True)
    table = Table(title=f"probe: {'quick, ' if out.quick else ''}{out.seconds:.0f} s")
    for column in ("category", "tried", "handled", *SEVERITIES):
        table.add_column(column, justify="left" if column == "category" else "right")
    rows = tally(out.verdicts)
    for category, row in rows.items():
        style = "bold" if category == "total" else None
        table.add_row(category, *(str(row[k]) for k in ("tried", "handled", *SEVERITIES)),
                      style=style)  # fmt: skip
    console.print(table)
    problems = Table(title="problems, most severe first")
    for column in ("severity", "category", "input", "reason"):
        problems.add_column(column, overflow="fold")
    order = {s: i for i, s in enumerate(SEVERITIES)}
    for v in sorted((v for v in out.verdicts if not v.handled), key=lambda v: order[v.severity]):
        problems.add_row(v.severity, v.category, v.name, v.reason)
    console.print(problems)


def to_json(out: Outcome) -> dict:
    """Return the run as plain data: totals, per category, every verdict, every measurement."""
    rows = tally(out.verdicts)
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "quick": out.quick,
        "repo": out.repo,
        "took_s": round(out.seconds),
        "totals": rows.get("total", {}),
        "categories": {k: v for k, v in rows.items() if k != "total"},
        "figures": [f.to_dict() for f in figures(out)],
        "verdicts": [v.to_dict() for v in out.verdicts],
        "crafted_pdfs": [asdict(c) for c in out.pdf_costs],
        "uploads": asdict(out.uploads),
        "json_refusal": asdict(out.json),
    }
