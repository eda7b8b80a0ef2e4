"""Read an answer at the terminal: a line for choices, lines up to a blank line or EOF for prose."""

from collections.abc import Callable
from typing import TextIO

import click

from quizzes.errors import QuizError

QUIT = "q"
COMMENT = "#"


def read_answer(
    stream: TextIO,
    write: Callable[[str], None],
    prompt: Callable[[int], str],
    *,
    multiline: bool,
) -> str | None:
    """Return the typed answer, or None when the learner quits ('q') or input ends first.

    Prose ends at a blank line or at EOF (Ctrl-D); `prompt(n)` is shown before line n+1.
    """
    lines: list[str] = []
    while True:
        write(prompt(len(lines)))
        raw = stream.readline()
        if raw == "":  # EOF: Ctrl-D, or the end of piped input
            write("\n")
            return "\n".join(lines) if lines else None
        if not raw.endswith("\n"):  # Ctrl-D after text on the same line
            write("\n")
        line = raw.rstrip("\r\n")
        if not lines and line.strip().lower() == QUIT:
            return None
        if not multiline:
            return line
        if not line.strip():
            return "\n".join(lines)
        lines.append(line)
        if not raw.endswith("\n"):  # Ctrl-D after text on the same line
            return "\n".join(lines)


def editor_template(question: str) -> str:
    """Return the text the editor opens with: room to write, the question as comments."""
    body = "\n".join(f"{COMMENT} {line}" for line in question.splitlines())
    return f"\n\n{body}\n{COMMENT} Write your answer above; lines starting with # are ignored.\n"


def strip_comments(text: str) -> str:
    """Return the answer without comment lines and surrounding blank lines."""
    return "\n".join(ln for ln in text.splitlines() if not ln.startswith(COMMENT)).strip()


def edit_answer(question: str, editor: str) -> str:
    """Open `editor` on a temporary file with the question and return what was written."""
    try:
        text = click.edit(
            editor_template(question), editor=editor, extension=".md", require_save=False
        )
    except click.ClickException as exc:
        raise QuizError(f"editor {editor!r} failed: {exc.format_message()}") from exc
    return strip_comments(text or "")
