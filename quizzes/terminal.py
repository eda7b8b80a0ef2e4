"""Run a session at the terminal: show each question and its clock, read the answer, grade it."""

import sys
from collections.abc import Callable

from rich.console import Console
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table

from quizzes import explain
from quizzes.answer_input import edit_answer, read_answer
from quizzes.errors import GradingError
from quizzes.llmgrade import fallback_note, graded_by
from quizzes.question import Answered, Question
from quizzes.schema import FreeTextItem, MultipleItem, NumericItem, OrderingItem, SpotTheBugItem
from quizzes.session import Session
from quizzes.timebox import clock_text
from quizzes.verdict import SelfRating

TRIES = 3  # unreadable answers (or ratings) before moving on
COLORS = {"good": "green", "partial": "yellow", "wrong": "red"}
RATINGS: dict[str, SelfRating] = {
    "a": "again",
    "again": "again",
    "h": "hard",
    "hard": "hard",
    "g": "good",
    "good": "good",
}


_HINTS: dict[type, str] = {
    MultipleItem: "choose all that apply, e.g. 1,3",
    OrderingItem: "type the numbers in the right order, e.g. 2 1 3",
    NumericItem: "type a number",
    FreeTextItem: "answer in sentences; a blank line or Ctrl-D ends the answer",
}


def _show(con: Console, q: Question, session: Session) -> None:
    item = q.item
    body = item.question
    if isinstance(item, SpotTheBugItem):
        body += "\n\n" + item.snippet.rstrip()
    if q.shown():
        body += "\n" + "\n".join(f"  {i}. {c}" for i, c in enumerate(q.shown(), 1))
    # a drill's length is known; a mock's grows with its follow-ups
    n = f"{q.position}" if session.follow_ups else f"{q.position}/{len(session.items)}"
    title = f"[{n}] {item.id} ({item.topic}, chapter {item.chapter})"
    if q.parent:
        title = f"[{n}] follow-up to {q.parent}" + ("" if q.probe else f": {item.id}")
    hint = _HINTS.get(type(item), "type one number")
    con.print(Panel(escape(body), title=escape(title), subtitle=hint))
    if q.box is not None:
        left = session.time_left()
        con.print(
            f"[dim]time box {clock_text(q.box)} · {clock_text(left or 0)} left of "
            f"{session.minutes:g} min[/dim]"
        )


def _prompt(session: Session, q: Question) -> Callable[[int], str]:
    def prompt(n: int) -> str:
        head = "answer (q to quit)" if n == 0 else "..."
        if q.box is None or q.started is None:
            return f"{head}: "
        used = session.clock() - q.started
        over = " [red]OVER TIME[/red]" if used > q.box else ""
        return f"[{clock_text(used)}/{clock_text(q.box)}]{over} {head}: "

    return prompt


def _read(con: Console, session: Session, q: Question, editor: str | None) -> str | None:
    if editor is not None and isinstance(q.item, FreeTextItem):
        con.print(f"[dim]opening {escape(editor)} ...[/dim]")
        return edit_answer(q.item.question, editor)
    return read_answer(
        sys.stdin,
        lambda text: con.print(text, end=""),
        _prompt(session, q),
        multiline=isinstance(q.item, FreeTextItem),
    )


def _self_rate(con: Console, session: Session, a: Answered) -> bool:
    """Ask the learner to rate an answer the grader is unsure of; return False on quit."""
    con.print(
        "[yellow]UNSURE[/]: the grader is not sure about this answer. "
        "Check it against the key points:"
    )
    for _ok, text in explain.points(a):
        con.print(f"  - {escape(text)}")
    for _ in range(TRIES):
        text = read_answer(
            sys.stdin,
            lambda p: con.print(p, end=""),
            lambda _n: "rate yourself: again, hard or good (a/h/g): ",
            multiline=False,
        )
        if text is None:
            session.rate(a, None)  # the grader's grade stands
            return False
        if rating := RATINGS.get(text.strip().lower()):
            session.rate(a, rating)
            return True
        con.print("[red]type a, h or g[/red]")
    session.rate(a, None)
    return True


def _result(con: Console, a: Answered, *, coach: bool, llm: bool) -> None:
    g = a.grade
    con.print(f"[{COLORS[g.verdict]}]{g.verdict.upper()}[/] score {a.score:.2f}")
    if llm and isinstance(a.item, FreeTextItem):  # with the LLM grader on, say who graded
        con.print(f"[dim]graded by {escape(graded_by(g))}[/dim]")
        if (note := fallback_note(g)) and not coach:  # a drill shows it in the feedback
            con.print(f"[yellow]{escape(note)}[/yellow]")
    if g.machine is not None:
        con.print(
            f"[dim]self-rated {g.self_rating}; the grader said {g.machine.verdict} "
            f"{g.machine.score:.2f}[/dim]"
        )
    if timing := explain.time_text(a):
        con.print(("[red]" if a.overtime else "[dim]") + timing + "[/]")
    if coach:  # a drill teaches after each answer; a mock saves it for the report
        con.print(escape(explain.feedback(a)))
    if due := explain.due_text(a.due):
        con.print(f"[dim]{due}[/dim]")


def run(con: Console, session: Session, *, editor: str | None, coach: bool) -> None:
    """Ask every question until the plan, the learner or the clock is done."""
    while (q := session.next_question()) is not None:
        _show(con, q, session)
        for _ in range(TRIES):
            text = _read(con, session, q, editor)
            if text is None:
                return
            try:
                answered = session.submit(q, text)
            except GradingError as exc:
                con.print(f"[red]{escape(str(exc))}[/red]")
                continue
            carry_on = not answered.grade.needs_self_rating or _self_rate(con, session, answered)
            _result(con, answered, coach=coach, llm=session.grader is not None)
            if not carry_on:
                return
            break
        else:
            con.print("[red]skipping this one[/red]")
    if session.expired():
        con.print("[yellow]Time is up.[/yellow]")


def report(con: Console, session: Session, title: str) -> None:
    """Print the scores per topic (after overtime) and overall."""
    table = Table(title=title)
    for col in ("topic", "answered", "score", "over time"):
        table.add_column(col)
    for topic, row in sorted(session.report().items()):
        table.add_row(topic, str(row["answered"]), f"{row['score']:.2f}", str(row["overtime"]))
    con.print(table)
    con.print(f"overall score: {session.overall():.2f} over {len(session.answered)} answers")
