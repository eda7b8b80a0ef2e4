"""Probe the service as an attacker and a clumsy user would: about 200 abusive inputs.

Each input is judged handled safely or a problem (high, medium, low, with the reason), and three
of the issue's figures are measured: memory after 20 maximal uploads, the CPU each crafted PDF
costs, and how fast an oversize JSON body without the key is refused (with /health meanwhile).

`python -m bench.run --only probe` adds the "probe" area to BENCHMARKS.md;
`python -m bench.probe [--quick] [--out FILE] [--repo DIR]` prints the tables and writes JSON.
"""

from __future__ import annotations

import json

from bench.figures import Figure
from bench.probe.campaign import probe
from bench.probe.results import figures, print_tables, to_json
from bench.probe.target import ROOT

RESULTS = ROOT / "bench" / "results" / "probe.json"


def run(quick: bool) -> list[Figure]:
    """Return the probe's figures; a full run also rewrites bench/results/probe.json."""
    out = probe(quick)
    print_tables(out)
    if not quick:  # quick figures never replace the full run's verdicts
        RESULTS.write_text(json.dumps(to_json(out), indent=2) + "\n")
    return figures(out)
