"""Quiz CLI (`workbook quiz ...`): drill, mock interview, stats, export, bank check."""

import random
import time
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.panel import Panel
from rich.table import Table

from quizzes.config import get_settings
from quizzes.coverage import coverage
from quizzes.errors import GradingError, QuizError
from quizzes.grading import parse_answer
from quizzes.loader import Bank, load_bank
from quizzes.progress import ProgressStore
from quizzes.schema import (
    FreeTextItem,
    Item,
    MultipleItem,
    NumericItem,
    OrderingItem,
    SpotTheBugItem,
)
from quizzes.session import Session, follow_up_of
from quizzes.session import drill as make_drill
from quizzes.session import mock as make_mock
from quizzes.stats import next_to_review, topic_stats, weakest

app = typer.Typer(
    help="Drill the question bank, sit a mock interview, see progress.", no_args_is_help=True
)
_COLORS = {"good": "green", "partial": "yellow", "wrong": "red"}


class ExportFormat(StrEnum):
    """Export targets."""

    anki = "anki"
    jupyterquiz = "jupyterquiz"


def _console() -> Console:
    return Console(highlight=False)


def _open() -> tuple[Bank, ProgressStore]:
    settings = get_settings()
    return load_bank(settings.bank_dir, settings.sections_path), ProgressStore(settings.db_path)


def _fail(exc: Exception) -> None:
    _console().print(f"[red]error:[/red] {exc}", soft_wrap=True)  # paths stay whole
    raise typer.Exit(1)


def _show(
    con: Console, n: int, total: int, item: Item, order: list[int] | None, parent: str | None
) -> None:
    body = item.question
    if isinstance(item, SpotTheBugItem):
        body += "\n\n" + item.snippet.rstrip()
    if hasattr(item, "choices"):
        body += "\n" + "\n".join(f"  {i}. {c}" for i, c in enumerate(item.choices, 1))
    if isinstance(item, OrderingItem) and order is not None:
        body += "\n" + "\n".join(f"  {i}. {item.steps[s]}" for i, s in enumerate(order, 1))
    hint = {
        MultipleItem: "choose all that apply, e.g. 1,3",
        OrderingItem: "type the numbers in the right order, e.g. 2 1 3",
        NumericItem: "type a number",
        FreeTextItem: "answer in a few sentences, one line",
    }
    title = f"[{n}/{total}] {item.id} ({item.topic}, chapter {item.chapter})"
    if parent:
        title = f"follow-up to {parent}: {title}"
    con.print(Panel(body, title=title, subtitle=hint.get(type(item), "type one number")))


def _ask(con: Console, session: Session, item: Item, order: list[int] | None) -> bool:
    """Ask one item; return False when the user quits."""
    for _ in range(3):
        text = typer.prompt("answer (q to quit)", default="", show_default=False)
        if text.strip().lower() == "q":
            return False
        try:
            parsed = parse_answer(item, text, order)
            g = session.answer(item, parsed)
        except GradingError as exc:
            con.print(f"[red]{exc}[/red]")
            continue
        con.print(f"[{_COLORS[g.verdict]}]{g.verdict.upper()}[/] score {g.score:.2f}")
        con.print(g.feedback)
        return True
    con.print("[red]skipping this one[/red]")
    return True


def _run(con: Console, session: Session, seed: int | None) -> None:
    rng = random.Random(seed)
    parents = follow_up_of(session.items) if session.deadline is not None else {}
    for n, item in enumerate(session.items, 1):
        if session.expired():
            con.print("[yellow]Time is up.[/yellow]")
            break
        left = session.time_left()
        if left is not None:
            con.print(f"[dim]{int(left // 60)} min {int(left % 60)} s left[/dim]")
        order = None
        if isinstance(item, OrderingItem):
            order = list(range(len(item.steps)))
            while order == sorted(order):
                rng.shuffle(order)
        _show(con, n, len(session.items), item, order, parents.get(item.id))
        if not _ask(con, session, item, order):
            break


def _report(con: Console, session: Session, title: str) -> None:
    table = Table(title=title)
    for col in ("topic", "answered", "score"):
        table.add_column(col)
    for topic, row in sorted(session.report().items()):
        table.add_row(topic, str(row["answered"]), f"{row['score']:.2f}")
    con.print(table)
    con.print(f"overall score: {session.overall():.2f} over {len(session.answered)} answers")


@app.command()
def drill(
    topic: Annotated[str | None, typer.Option(help="only this topic, e.g. ecs-service")] = None,
    chapter: Annotated[str | None, typer.Option(help="only this chapter, e.g. 08")] = None,
    count: Annotated[int, typer.Option(min=1, help="how many questions")] = 10,
    seed: Annotated[int | None, typer.Option(hidden=True)] = None,
) -> None:
    """Drill due and new questions for a topic or chapter."""
    con = _console()
    try:
        bank, store = _open()
        with store:
            session = make_drill(bank, store, topic=topic, chapter=chapter, count=count, seed=seed)
            if not session.items:
                _fail(QuizError(f"no items for topic={topic} chapter={chapter}"))
            _run(con, session, seed)
            _report(con, session, "Drill")
    except QuizError as exc:
        _fail(exc)


@app.command()
def mock(
    minutes: Annotated[int, typer.Option(min=1, help="interview length")] = 30,
    seed: Annotated[int | None, typer.Option(hidden=True)] = None,
) -> None:
    """Sit a timed mock interview: architecture first, then deep dives and follow-ups."""
    con = _console()
    try:
        bank, store = _open()
        with store:
            session = make_mock(bank, store, minutes=minutes, seed=seed, clock=time.monotonic)
            con.print(f"Mock interview: {len(session.items)} questions, {minutes} minutes.")
            _run(con, session, seed)
            _report(con, session, "Mock interview report")
    except QuizError as exc:
        _fail(exc)


@app.command()
def stats() -> None:
    """Show mastery and retention per topic, the weakest topics and what to review next."""
    con = _console()
    try:
        bank, store = _open()
        with store:
            rows = topic_stats(bank, store)
            table = Table(title="Progress by topic")
            for col in ("topic", "items", "attempted", "mastery", "retention", "due"):
                table.add_column(col)
            for s in rows:
                ret = "-" if s.retention is None else f"{s.retention:.2f}"
                table.add_row(
                    s.topic, str(s.items), str(s.attempted), f"{s.mastery:.2f}", ret, str(s.due)
                )
            con.print(table)
            con.print("weakest topics: " + ", ".join(weakest(rows)))
            nxt = next_to_review(bank, store, n=5)
            con.print("review next: " + ", ".join(it.id for it in nxt))
    except QuizError as exc:
        _fail(exc)


@app.command()
def export(
    format: Annotated[ExportFormat, typer.Option("--format", help="anki or jupyterquiz")],
    out: Annotated[Path, typer.Option(help="output file (.apkg or .json)")],
    topic: Annotated[str | None, typer.Option()] = None,
    chapter: Annotated[str | None, typer.Option()] = None,
) -> None:
    """Export the bank to an Anki deck or a jupyterquiz JSON file."""
    from quizzes import export as exporters

    try:
        bank = load_bank(get_settings().bank_dir, get_settings().sections_path)
        items = bank.select(topic=topic, chapter=chapter)
        if format is ExportFormat.anki:
            path = exporters.to_anki(items, out)
        else:
            path = exporters.write_jupyterquiz(items, out)
    except QuizError as exc:
        _fail(exc)
    _console().print(f"wrote {len(items)} items to {path}")


@app.command()
def check() -> None:
    """Validate the bank and list guide sections and errata with no items."""
    try:
        bank = load_bank(get_settings().bank_dir, get_settings().sections_path)
    except QuizError as exc:
        _fail(exc)
    cov = coverage(bank)
    con = _console()
    con.print(f"{len(bank)} items OK")
    con.print("sections without items: " + (", ".join(cov.missing_sections) or "none"))
    con.print("errata without items: " + (", ".join(map(str, cov.missing_errata)) or "none"))
