"""docs/guide-cli.md: the guide's AWS CLI commands in tables, with how each went on moto.

    python -m deploy.guide_cli_doc --write docs/guide-cli.md

applies the stack on a fresh embedded moto server, runs every command (deploy.guide_cli) and
writes the page; tests/deploy/test_guide_cli.py checks that the page is what this writes.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from deploy.aws.backend import start_backend
from deploy.aws.cli import Outcome, command_lines
from deploy.aws.names import DEFAULT_NAMES
from deploy.guide.schema import CliCommand, CliCommands
from deploy.guide_cli import Result, apply_and_run, commands, normalise

STATUS_WORDS = {
    "as-written": "works as written",
    "with-fix": "works with the fix",
    "real-aws-only": "needs real AWS",
}
WHEN_WORDS = {"cleanup": " (clean-up, run last)", "after-cleanup": " (after the clean-up)"}
SHORT = 90  # characters of a command shown in the table


def _cell(text: str) -> str:
    """Return prose safe in a table cell: no bare pipes, and <TASK_ARN> shown, not read as HTML."""
    return text.replace("<", "&lt;").replace("|", "\\|").replace("\n", "<br>")


def _code(text: str, limit: int | None = None) -> str:
    flat = normalise(text)
    if limit and len(flat) > limit:
        flat = flat[: limit - 1].rstrip() + "…"
    return "`" + flat.replace("`", "'").replace("|", "\\|") + "`"


def _fix(text: str | None) -> str:
    """Return a fix as code, one command per line of the cell."""
    return "<br>".join(_code(line) for line in command_lines(text)) if text else ""


def _how(outcome: Outcome) -> str:
    if outcome.exit_code is None:
        return "timed out"
    text = f"exit {outcome.exit_code}"
    if outcome.ok and not outcome.stdout.strip():
        return text + " (no output)"
    return text + ("" if not outcome.ok or outcome.useful else " (empty)")


def moto_cell(entry: CliCommand, result: Result) -> str:
    """Return how the entry went on moto: the exit code of what ran, and of the guide's form."""
    if result.outcome is None:
        text = "not run"
    else:
        text = ("fix: " if entry.status == "with-fix" else "ran: ") + _how(result.outcome)
    if result.as_written is not None:
        text += "; as written: " + _how(result.as_written)
    return text + WHEN_WORDS.get(entry.when, "")


def summary(listed: CliCommands) -> str:
    """Return the count line: how many commands of each status."""
    count = {s: sum(1 for e in listed.commands if e.status == s) for s in STATUS_WORDS}
    return (
        f"{len(listed.commands)} distinct commands: {count['as-written']} work as written, "
        f"{count['with-fix']} with the shown fix, {count['real-aws-only']} need real AWS."
    )


INTRO = """\
# The guide's AWS CLI commands, run

Every distinct `aws ...` command of the interview guide, and what it does against the
workbook's stack. A test (`tests/deploy/test_guide_cli.py`) runs each one with AWS CLI v1
against a stack applied on the embedded moto server, and this page is written from that run
(`python -m deploy.guide_cli_doc --write docs/guide-cli.md`); the test fails when the page is
stale. The list, the fixes and the reasons are in `deploy/guide/cli_commands.yaml`.

How to read the tables:

- **real AWS** is the command's status: it works as written, works with the fix, or needs
  something moto does not have. "As written" counts the guide's stand-ins (`<TASK_ARN>`,
  `$TG_ARN`, `ACCOUNT_ID`, `sg-xxxxx`) as filled in with your own values; the runner fills
  them from the stack.
- **moto** is what the run did: the exit code of the command (`ran`) or of its fix (`fix`),
  and, where the guide's form goes wrong in a way a run shows, its exit code too. "no
  output" means it printed nothing, "empty" that it printed only nulls or empty lists. Every
  call has a timeout (20 s; waiters 8 s).
- A **fix** names your stack with `${placeholders}`: `${cluster}`, `${service}`,
  `${revision}` (the service's revision), `${account}`, `${region}`, and so on.
- Before the run, the runner pushes an image manifest and starts one task, which moto does not
  do by itself. The guide's clean-up is destructive, so it runs last; the two "create it if it
  is missing" commands run after it, and the security-group rule the stack already has is
  revoked before the guide's command adds it. Commands marked "not run" cannot run on moto.
- Errata numbers refer to [errata.md](errata.md).

"""


def markdown(listed: CliCommands, results: dict[str, Result]) -> str:
    """Return docs/guide-cli.md: the intro, the summary and one table per guide section."""
    parts = [INTRO, summary(listed), "\n"]
    sections: dict[str, list[CliCommand]] = {}
    for entry in listed.commands:
        sections.setdefault(entry.section, []).append(entry)
    for section, entries in sections.items():
        parts += [
            f"\n## {section}\n\n",
            "| L | Command (as written) | moto | real AWS | Fix | Why |\n",
        ]
        parts.append("|---|---|---|---|---|---|\n")
        for e in entries:
            why = e.why + (f" (errata {e.erratum})" if e.erratum else "")
            row = [str(e.guide_line), _code(e.command, SHORT), moto_cell(e, results[e.id]),
                   STATUS_WORDS[e.status], _fix(e.fix), _cell(why)]  # fmt: skip
            parts.append("| " + " | ".join(row) + " |\n")
    return "".join(parts)


def main(argv: list[str] | None = None) -> int:
    """Apply the stack on a fresh embedded moto server, run every command, print or write the page."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", type=Path, help="write the page here (else print it)")
    args = parser.parse_args(argv)
    listed = commands()
    with start_backend("moto", fresh=True) as backend, tempfile.TemporaryDirectory() as tmp:
        results = apply_and_run(backend.ctx, DEFAULT_NAMES, Path(tmp), listed, progress=_stderr)
    page = markdown(listed, results)
    if args.write:
        args.write.write_text(page)
    else:
        print(page, end="")
    return 0


def _stderr(line: str) -> None:
    print(line, file=sys.stderr)


if __name__ == "__main__":
    raise SystemExit(main())
