"""`python -m bench.probe`: replay the abusive inputs, print the tables, write the JSON."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from bench.probe import RESULTS, probe
from bench.probe.results import print_tables, to_json
from bench.probe.target import ROOT


def main(argv: list[str] | None = None) -> int:
    """Run the probe; return 0 (problems are findings, not failures of the probe)."""
    parser = argparse.ArgumentParser(prog="python -m bench.probe", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer repetitions, 3 uploads")
    parser.add_argument("--out", type=Path, help=f"JSON path (default {RESULTS.relative_to(ROOT)}"
                        "; quick: build/probe-quick.json)")  # fmt: skip
    parser.add_argument("--repo", type=Path, default=ROOT,
                        help="the checkout whose `python -m service` is probed "
                        "(default: this one)")  # fmt: skip
    args = parser.parse_args(argv)
    if not (args.repo / "service" / "__main__.py").is_file():
        parser.error(f"--repo {args.repo} holds no service/__main__.py")
    out = probe(args.quick, args.repo.resolve())
    print_tables(out)
    path = args.out or (ROOT / "build" / "probe-quick.json" if args.quick else RESULTS)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(to_json(out), indent=2) + "\n")
    print(f"probe: wrote {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
