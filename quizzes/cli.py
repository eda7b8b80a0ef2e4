"""Quiz CLI (`workbook quiz ...`): drill, mock interview, stats, export, bank check."""

import os
import time
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from quizzes import explain, terminal, transcript
from quizzes.config import QuizSettings, get_settings
from quizzes.coverage import coverage
from quizzes.errors import QuizError
from quizzes.loader import Bank, load_bank
from quizzes.plan import Level
from quizzes.progress import ProgressStore
from quizzes.schema import FreeTextItem, Item
from quizzes.session import FreeTextGrader
from quizzes.session import drill as make_drill
from quizzes.session import mock as make_mock
from quizzes.stats import RECALL_HELP, next_to_review, topic_stats, weakest
from quizzes.timebox import clock_text

app = typer.Typer(
    help="Drill the question bank, sit a mock interview, see progress.", no_args_is_help=True
)
clock: Callable[[], float] = time.monotonic  # the mock's clock; tests swap in a fake one
EditorOpt = Annotated[
    bool, typer.Option("--editor", help="write spoken answers in $EDITOR (or $VISUAL)")
]


class GraderName(StrEnum):
    """Who grades spoken (free-text) answers."""

    offline = "offline"
    llm = "llm"


GraderOpt = Annotated[
    GraderName | None,
    typer.Option(
        "--grader",
        help="who grades spoken answers: offline (rubric phrasings) or llm (LLM_PROVIDER's "
        "chat model, for paraphrases); default QUIZ_GRADER, else offline",
    ),
]


class ExportFormat(StrEnum):
    """Export targets."""

    anki = "anki"
    jupyterquiz = "jupyterquiz"


def _console() -> Console:
    return Console(highlight=False)


def _settings() -> QuizSettings:
    """Return the quiz settings; a bad QUIZ_* value is a QuizError naming the variable."""
    try:
        return get_settings()
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc']))}: {e['msg']} (got {e.get('input')!r})"
            for e in exc.errors()
        )
        raise QuizError(f"bad quiz setting: {problems}") from exc


def _open() -> tuple[Bank, ProgressStore]:
    settings = _settings()
    return load_bank(settings.bank_dir, settings.sections_path), ProgressStore(settings.db_path)


def _fail(exc: Exception) -> None:
    # escaped: rich would eat "[ollama]" in "pip install 'ecs-workbook[ollama]'"
    _console().print(f"[red]error:[/red] {escape(str(exc))}", soft_wrap=True)  # paths stay whole
    raise typer.Exit(1)


def _check_filters(bank: Bank, topic: str | None, chapter: str | None) -> None:
    """Refuse an unknown --topic or --chapter (exit 2), listing the valid values."""
    topics = sorted({it.topic for it in bank.items.values()})
    if topic is not None and topic not in topics:
        raise typer.BadParameter(
            f"unknown topic {topic!r}; valid topics: {', '.join(topics)}", param_hint="'--topic'"
        )
    chapters = sorted({it.chapter for it in bank.items.values()})
    if chapter is not None and chapter not in chapters:
        raise typer.BadParameter(
            f"no items for chapter {chapter!r}; chapters with items: {', '.join(chapters)}",
            param_hint="'--chapter'",
        )


def _grader(choice: GraderName | None, settings: QuizSettings) -> FreeTextGrader | None:
    """Return the free-text grader --grader (else QUIZ_GRADER) names; None is the offline one."""
    if (choice or settings.grader) == "offline":
        return None
    # Imported here: the LLM grader reads the service's provider settings and builds its model
    # through service/rag/providers.py; an offline drill needs neither.
    from quizzes.llmgrade import llm_grader
    from service.config import Settings

    try:
        service_settings = Settings()
    except ValueError as exc:  # pydantic's ValidationError and SettingsError both are
        raise QuizError(f"the llm grader cannot read the provider settings: {exc}") from exc
    return llm_grader(service_settings, settings.grader_timeout_s)


def _editor() -> str:
    """Return the editor command from $VISUAL or $EDITOR (read once, at the edge)."""
    editor = os.environ.get("VISUAL") or os.environ.get("EDITOR")
    if not editor:
        raise QuizError("--editor needs $EDITOR (or $VISUAL) set, e.g. EDITOR=nano")
    return editor


@app.command()
def drill(
    topic: Annotated[str | None, typer.Option(help="only this topic, e.g. ecs-service")] = None,
    chapter: Annotated[str | None, typer.Option(help="only this chapter, e.g. 08")] = None,
    count: Annotated[int, typer.Option(min=1, help="how many questions")] = 10,
    editor: EditorOpt = False,
    grader: GraderOpt = None,
    seed: Annotated[int | None, typer.Option(hidden=True)] = None,
) -> None:
    """Drill due and new questions for a topic or chapter."""
    con = _console()
    try:
        bank, store = _open()
        with store:
            _check_filters(bank, topic, chapter)
            grade_with = _grader(grader, _settings())  # refused before any question
            session = make_drill(
                bank, store, topic=topic, chapter=chapter, count=count, seed=seed, grader=grade_with
            )
            terminal.run(con, session, editor=_editor() if editor else None, coach=True)
            terminal.report(con, session, "Drill")
    except QuizError as exc:
        _fail(exc)


@app.command()
def mock(
    minutes: Annotated[int, typer.Option(min=1, help="interview length")] = 30,
    level: Annotated[
        Level, typer.Option(help="junior: difficulty 1-2; senior: 2-3 and the guide's Q1-Q9")
    ] = Level.senior,
    editor: EditorOpt = False,
    transcript_dir: Annotated[
        Path | None, typer.Option(help="where to save the transcript (default: beside progress)")
    ] = None,
    grader: GraderOpt = None,
    seed: Annotated[int | None, typer.Option(hidden=True)] = None,
) -> None:
    """Sit a timed mock interview: weakest topics first, follow-ups on what you missed."""
    con = _console()
    try:
        settings = _settings()
        bank, store = _open()
        with store:
            grade_with = _grader(grader, settings)  # refused before any question
            session = make_mock(
                bank, store, minutes=minutes, level=level, seed=seed, clock=clock, grader=grade_with
            )
            n, n_free = (
                len(session.items),
                sum(isinstance(it, FreeTextItem) for it in session.items),
            )
            boxes = session.boxes
            con.print(
                f"Mock interview ({level}): {n} question{'s' * (n != 1)} ({n_free} spoken), "
                f"{minutes} minutes, follow-ups on what you miss. Spoken answers get "
                f"{clock_text(boxes.free_text)}, quick checks {clock_text(boxes.other)}, "
                f"follow-ups {clock_text(boxes.follow_up)}; overtime costs points. "
                f"Spoken answers are graded by: {transcript.grader_label(session)}."
            )
            terminal.run(con, session, editor=_editor() if editor else None, coach=False)
            terminal.report(con, session, "Mock interview report")
            text = transcript.markdown(session, upcoming=store.cards())
            out = transcript.save(text, transcript_dir or settings.db_path.parent / "mocks")
            chapters, notes = transcript.revisit(session)
            if chapters:
                con.print("revisit: " + ", ".join([*chapters, *notes]), soft_wrap=True)
            con.print(f"transcript: {out}", soft_wrap=True)
    except QuizError as exc:
        _fail(exc)


@app.command()
def stats() -> None:
    """Show scores and FSRS recall per topic, the weakest topics and what to review next."""
    con = _console()
    try:
        bank, store = _open()
        with store:
            rows = topic_stats(bank, store)
            table = Table(title="Progress by topic", caption=RECALL_HELP)
            for col in ("topic", "items", "attempted", "last score", "mastery", "recall now"):
                table.add_column(col)
            table.add_column("due")
            for s in rows:
                recall = "-" if s.recall is None else f"{s.recall:.2f}"
                table.add_row(
                    s.topic,
                    str(s.items),
                    str(s.attempted),
                    f"{s.accuracy:.2f}" if s.attempted else "-",
                    f"{s.mastery:.2f}",
                    recall,
                    str(s.due),
                )
            con.print(table)
            con.print("weakest topics: " + ", ".join(weakest(rows)))
            nxt = next_to_review(bank, store, n=5)
            con.print("review next: " + ", ".join(it.id for it in nxt))
            upcoming = [s for s in store.cards() if s.item_id in bank.items][:5]
            if upcoming:
                con.print("next due:")
            for s in upcoming:
                con.print(f"  {s.item_id}: {explain.due_text(s.due)}")
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
    # imported here: genanki is only needed by this command, not by drills and mocks
    from quizzes import export as exporters

    try:
        bank = load_bank(_settings().bank_dir, _settings().sections_path)
        _check_filters(bank, topic, chapter)
        items: list[Item] = bank.select(topic=topic, chapter=chapter)
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
        bank = load_bank(_settings().bank_dir, _settings().sections_path)
    except QuizError as exc:
        _fail(exc)
    cov = coverage(bank)
    con = _console()
    con.print(f"{len(bank)} items OK")
    con.print("sections without items: " + (", ".join(cov.missing_sections) or "none"))
    con.print("errata without items: " + (", ".join(map(str, cov.missing_errata)) or "none"))


if __name__ == "__main__":
    app()
