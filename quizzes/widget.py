"""Show quiz items and mock interviews in a notebook (ipywidgets), on the CLI's progress DB."""

import html
import time
from collections.abc import Callable
from pathlib import Path

import ipywidgets as w

from quizzes import explain, transcript
from quizzes.config import get_settings
from quizzes.errors import GradingError, QuizError
from quizzes.llmgrade import fallback_note
from quizzes.loader import Bank, load_bank
from quizzes.plan import Level
from quizzes.progress import ProgressStore
from quizzes.question import Answered, Question
from quizzes.schema import (
    FreeTextItem,
    Item,
    MultipleItem,
    NumericItem,
    OrderingItem,
    SingleItem,
    SpotTheBugItem,
)
from quizzes.session import FreeTextGrader, Session
from quizzes.session import mock as make_mock
from quizzes.static import head_html, option_html, quiz_html, stylesheet
from quizzes.timebox import clock_text
from quizzes.verdict import SelfRating

_COLORS = {"good": "#1a7f37", "partial": "#9a6700", "wrong": "#cf222e", "unsure": "#9a6700"}
RATINGS: tuple[SelfRating, ...] = ("again", "hard", "good")


def _esc(text: str) -> str:
    return html.escape(text).replace("\n", "<br>")


def _error(exc: Exception) -> str:
    return f"<span style='color:{_COLORS['wrong']}'>{html.escape(str(exc))}</span>"


def _verdict(a: Answered, *, note: bool = True) -> str:
    """Return an answer's verdict, score and time (and a self-rating) as HTML."""
    g = a.grade
    parts = [f"<b style='color:{_COLORS[g.shown_verdict]}'>{g.shown_verdict.upper()}</b>"]
    parts[0] += f" score {a.score:.2f}"
    if g.machine is not None:
        parts.append(f"self-rated {g.self_rating}; the grader said {g.machine.verdict}")
    if g.grader == "llm" or (g.machine is not None and g.machine.grader == "llm"):
        parts.append("graded by the LLM grader")
    if note and (text := fallback_note(g)):  # _graded shows it with the feedback
        parts.append(f"<i>{html.escape(text)}</i>")
    return "<br>".join(parts + [html.escape(t) for t in (explain.time_text(a),) if t])


def _graded(a: Answered) -> str:
    """Return an answer's verdict, score, time, due date and feedback as HTML."""
    due = explain.due_text(a.due)
    return "<br>".join(
        [_verdict(a, note=False), *([due] if due else []), _esc(explain.feedback(a))]
    )


def _rating_box(a: Answered, done: Callable[[SelfRating], None]) -> w.VBox:
    """Return the key points and Again / Hard / Good buttons for an answer the grader doubts."""
    points = "".join(f"<li>{html.escape(text)}</li>" for _ok, text in explain.points(a))
    buttons = [w.Button(description=r.capitalize()) for r in RATINGS]
    for button, rating in zip(buttons, RATINGS, strict=True):
        button.on_click(lambda _b, r=rating: done(r))
    head = "<b>UNSURE</b>: the grader is not sure. Rate yourself against the key points:"
    box = w.VBox([w.HTML(f"{head}<ul>{points}</ul>"), w.HBox(buttons)])
    box.buttons = dict(zip(RATINGS, buttons, strict=True))  # handles for tests
    return box


def _full() -> w.Layout:
    """Return a fresh full-width layout: long text wraps at the output's width, never clips."""
    return w.Layout(width="100%")


class Choices(w.VBox):
    """Options as rows: a numbered toggle beside the option's text, which wraps (quiz.css)."""

    def __init__(self, q: Question, *, multiple: bool) -> None:
        self.multiple = multiple
        self.order = q.order or list(range(len(q.shown())))
        self.options = list(zip(q.shown(), self.order, strict=True))  # (text, index) as shown
        self.buttons = [
            w.ToggleButton(
                description=str(n),
                tooltip=f"option {n}",
                layout=w.Layout(width="2.8em", min_width="2.8em", flex="0 0 auto"),
            )
            for n in range(1, len(self.order) + 1)
        ]
        rows = []
        for toggle, text in zip(self.buttons, q.shown(), strict=True):
            label = w.HTML(option_html(text), layout=w.Layout(flex="1 1 auto", min_width="0"))
            row = w.HBox([toggle, label], layout=w.Layout(width="100%", align_items="flex-start"))
            row.add_class("wq-row")
            rows.append(row)
        super().__init__(rows, layout=_full())
        self.add_class("wq-options")
        if not multiple:
            for toggle in self.buttons:
                toggle.observe(self._only_one, names="value")

    def _only_one(self, change: dict) -> None:
        if change["new"]:
            for toggle in self.buttons:
                if toggle is not change["owner"]:
                    toggle.value = False

    @property
    def value(self) -> int | list[int] | None:
        """Return the picked authored index (single) or indices (multiple)."""
        picked = [self.order[pos] for pos, t in enumerate(self.buttons) if t.value]
        if self.multiple:
            return picked
        return picked[0] if picked else None

    @value.setter
    def value(self, picked: int | list[int] | None) -> None:
        wanted = set(picked) if isinstance(picked, list | tuple | set) else {picked} - {None}
        if not self.multiple and len(wanted) > 1:
            raise QuizError(f"a single-choice item takes one option, got {sorted(wanted)}")
        unknown = sorted(wanted - set(self.order))
        if unknown:
            raise QuizError(f"no option with index {unknown}; options are {sorted(self.order)}")
        for pos, toggle in enumerate(self.buttons):
            toggle.value = self.order[pos] in wanted


class ItemCard(w.VBox):
    """One item: the question, an input, a Check button and the feedback area."""

    def __init__(self, item: Item, session: Session) -> None:
        self.item, self.session = item, session
        self.q = session.question(item)  # choices shuffled when the item repeats
        self.order = self.q.order
        self.input = self._input(self.q)
        self.check = w.Button(description="Check", button_style="primary")
        self.feedback = w.HTML()
        self.rating = w.VBox()  # Again / Hard / Good when the grader is unsure
        self.check.on_click(lambda _b: self.submit())
        head = w.HTML(f'<div class="wq-head">{head_html(self.q)}</div>', layout=_full())
        parts = [head, self.input, self.check, self.rating, self.feedback]
        super().__init__(parts, layout=_full())
        self.add_class("wq-item")

    @staticmethod
    def _input(q: Question) -> w.Widget:
        item = q.item
        if isinstance(item, SingleItem | SpotTheBugItem):
            return Choices(q, multiple=False)
        if isinstance(item, MultipleItem):
            return Choices(q, multiple=True)
        if isinstance(item, NumericItem):
            unit = item.answer.unit if item.answer else ""
            return w.Text(placeholder=f"a number{f' ({unit})' if unit else ''}")
        if isinstance(item, OrderingItem):
            return w.Text(placeholder="the numbers in the right order, e.g. 2 1 3")
        return w.Textarea(
            placeholder="answer as you would in an interview",
            layout=w.Layout(width="100%", height="6em"),
        )

    def _text(self) -> str:
        if isinstance(self.item, SingleItem | SpotTheBugItem):
            return "" if self.input.value is None else str(self.q.number(self.input.value))
        if isinstance(self.item, MultipleItem):
            return ",".join(str(n) for n in sorted(self.q.number(i) for i in self.input.value))
        return self.input.value

    def submit(self) -> None:
        """Grade the current input, record it, and show the feedback."""
        try:
            answered = self.session.submit(self.q, self._text())
        except (GradingError, QuizError) as exc:
            self.feedback.value = _error(exc)
            return
        if answered.grade.needs_self_rating:
            self.feedback.value = _verdict(answered)
            self.rating.children = [_rating_box(answered, lambda r: self._rated(answered, r))]
            return
        self.feedback.value = _graded(answered)

    def _rated(self, answered: Answered, rating: SelfRating) -> None:
        self.session.rate(answered, rating)
        self.rating.children = []
        self.feedback.value = _graded(answered)


class Quiz(w.VBox):
    """A quiz: one card per item; a report without a kernel shows its static HTML form."""

    def __init__(self, cards: list[ItemCard], session: Session) -> None:
        self.cards, self.session = cards, session  # handles for notebooks and tests
        title = w.HTML(f"<style>{stylesheet()}</style><h3>Quiz: {len(cards)} questions</h3>")
        super().__init__([title, *cards], layout=_full())
        self.add_class("wq-quiz")

    def _repr_mimebundle_(self, **kwargs) -> dict:
        data = super()._repr_mimebundle_(**kwargs)
        data["text/html"] = quiz_html([card.q for card in self.cards])
        return data


def _load(bank: Bank | None) -> Bank:
    settings = get_settings()
    return bank or load_bank(settings.bank_dir, settings.sections_path)


def quiz_widget(
    chapter: str | None = None,
    item_ids: list[str] | None = None,
    *,
    bank: Bank | None = None,
    store: ProgressStore | None = None,
    grader: FreeTextGrader | None = None,
) -> Quiz:
    """Return a widget with a chapter's items (or the given ids); `grader` grades free text."""
    if (chapter is None) == (item_ids is None):
        raise QuizError("pass exactly one of chapter='NN' or item_ids=[...]")
    bank = _load(bank)
    if item_ids is not None:
        unknown = [i for i in item_ids if i not in bank.items]
        if unknown:
            raise QuizError(f"unknown item ids: {unknown}")
        items = [bank.items[i] for i in item_ids]
    else:
        items = bank.select(chapter=chapter)
        if not items:
            raise QuizError(f"no quiz items for chapter {chapter!r}")
    store = store or ProgressStore(get_settings().db_path)
    session = Session(items=items, store=store, bank=bank, grader=grader)
    return Quiz([ItemCard(it, session) for it in items], session)


class MockInterview(w.VBox):
    """A mock interview, one question at a time, the clock shown; the same session as the CLI."""

    def __init__(self, session: Session, save_dir: Path) -> None:
        self.session, self.save_dir = session, save_dir
        self.q: Question | None = None
        self.transcript: Path | None = None
        self.status, self.question, self.feedback, self.report = (w.HTML() for _ in range(4))
        self.rating = w.VBox()  # Again / Hard / Good when the grader is unsure
        self.input = w.Textarea(layout=w.Layout(width="100%", height="8em"))
        self.send = w.Button(description="Submit", button_style="primary")
        self.send.on_click(lambda _b: self.submit())
        # The browser advances `ticker` every second, so the clock below runs while you type.
        self.ticker = w.Play(interval=1000, max=10**6, layout=w.Layout(display="none"))
        self.ticker.observe(lambda _c: self.tick(), names="value")
        parts = [self.status, self.question, self.input, self.send, self.rating, self.feedback]
        parts.append(self.report)
        super().__init__([*parts, self.ticker])
        self._next()
        self.ticker.playing = True

    def tick(self) -> None:
        """Show the time used against the question's box and the interview's time left."""
        q, s = self.q, self.session
        if q is None or q.box is None or q.started is None:
            return
        used = s.clock() - q.started
        over = " <b style='color:#cf222e'>OVER TIME</b>" if used > q.box else ""
        self.status.value = (
            f"question {q.position} · {clock_text(used)} of {clock_text(q.box)}{over} · "
            f"{clock_text(s.time_left() or 0)} left of {s.minutes:g} min"
        )

    def _next(self) -> None:
        self.q = self.session.next_question()
        if self.q is None:
            self._finish()
            return
        head = head_html(self.q)
        if self.q.parent:
            head = f"<i>follow-up to {html.escape(self.q.parent)}</i><br>{head}"
        if isinstance(self.q.item, SingleItem | MultipleItem | SpotTheBugItem):
            head += "<ol>" + "".join(f"<li>{html.escape(c)}</li>" for c in self.q.shown()) + "</ol>"
        self.question.value = head
        spoken = isinstance(self.q.item, FreeTextItem)
        self.input.placeholder = "answer as you would out loud" if spoken else "type the number(s)"
        self.input.value = ""
        self.tick()

    def submit(self) -> None:
        """Grade the typed answer, show its verdict and time, then ask the next question."""
        if self.q is None:
            return
        try:
            answered = self.session.submit(self.q, self.input.value)
        except (GradingError, QuizError) as exc:
            self.feedback.value = _error(exc)
            return
        self.feedback.value = _verdict(answered)
        if answered.grade.needs_self_rating:
            self.send.disabled = True
            self.rating.children = [_rating_box(answered, lambda r: self._rated(answered, r))]
            return
        self._next()

    def _rated(self, answered: Answered, rating: SelfRating) -> None:
        self.session.rate(answered, rating)
        self.rating.children = []
        self.send.disabled = False
        self.feedback.value = _verdict(answered)
        self._next()

    def _finish(self) -> None:
        self.ticker.playing = False
        self.send.disabled = True
        self.input.layout.display = "none"
        self.question.value = "<b>Time is up.</b>" if self.session.expired() else "<b>Done.</b>"
        store = self.session.store
        text = transcript.markdown(self.session, upcoming=store.cards() if store else None)
        self.transcript = transcript.save(text, self.save_dir)
        self.report.value = (
            f"<p>Transcript: <code>{html.escape(str(self.transcript))}</code></p>"
            f"<pre style='white-space:pre-wrap'>{html.escape(text)}</pre>"
        )


def mock_widget(
    minutes: float = 30,
    level: Level | str = Level.senior,
    *,
    seed: int | None = None,
    bank: Bank | None = None,
    store: ProgressStore | None = None,
    clock: Callable[[], float] = time.monotonic,
    save_dir: Path | None = None,
    grader: FreeTextGrader | None = None,
) -> MockInterview:
    """Return a timed mock interview widget (the CLI's `workbook quiz mock` in a notebook)."""
    bank, store = _load(bank), store or ProgressStore(get_settings().db_path)
    session = make_mock(
        bank, store, minutes=minutes, level=level, seed=seed, clock=clock, grader=grader
    )
    return MockInterview(session, save_dir or get_settings().db_path.parent / "mocks")


__all__ = ["Choices", "ItemCard", "MockInterview", "Quiz", "mock_widget", "quiz_widget"]
