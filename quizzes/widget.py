"""Show quiz items in a notebook (ipywidgets); answers go to the same progress DB as the CLI."""

import html
import random

import ipywidgets as w

from quizzes.config import get_settings
from quizzes.errors import GradingError, QuizError
from quizzes.grading import parse_answer
from quizzes.loader import Bank, load_bank
from quizzes.progress import ProgressStore
from quizzes.schema import (
    Item,
    MultipleItem,
    NumericItem,
    OrderingItem,
    SingleItem,
    SpotTheBugItem,
)
from quizzes.session import Session

_COLORS = {"good": "#1a7f37", "partial": "#9a6700", "wrong": "#cf222e"}


class ItemCard(w.VBox):
    """One item: the question, an input, a Check button and the feedback area."""

    def __init__(self, item: Item, session: Session, seed: int = 0) -> None:
        self.item, self.session = item, session
        self.order: list[int] | None = None
        head = f"<b>{html.escape(item.id)}</b> — {html.escape(item.question)}"
        if isinstance(item, SpotTheBugItem):
            head += f"<pre>{html.escape(item.snippet)}</pre>"
        if isinstance(item, OrderingItem):
            self.order = list(range(len(item.steps)))
            random.Random(f"{seed}{item.id}").shuffle(self.order)
            head += (
                "<ol>"
                + "".join(f"<li>{html.escape(item.steps[i])}</li>" for i in self.order)
                + "</ol>"
            )
        self.input = self._input(item)
        self.check = w.Button(description="Check", button_style="primary")
        self.feedback = w.HTML()
        self.check.on_click(lambda _b: self.submit())
        super().__init__([w.HTML(head), self.input, self.check, self.feedback])

    @staticmethod
    def _input(item: Item) -> w.Widget:
        if isinstance(item, SingleItem | SpotTheBugItem):
            return w.RadioButtons(options=[(c, i) for i, c in enumerate(item.choices)], value=None)
        if isinstance(item, MultipleItem):
            return w.VBox([w.Checkbox(description=c, indent=False) for c in item.choices])
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
            return "" if self.input.value is None else str(self.input.value + 1)
        if isinstance(self.item, MultipleItem):
            return ",".join(str(i + 1) for i, cb in enumerate(self.input.children) if cb.value)
        return self.input.value

    def submit(self) -> None:
        """Grade the current input, record it, and show the feedback."""
        try:
            answer = parse_answer(self.item, self._text(), self.order)
            g = self.session.answer(self.item, answer)
        except (GradingError, QuizError) as exc:
            self.feedback.value = (
                f"<span style='color:{_COLORS['wrong']}'>{html.escape(str(exc))}</span>"
            )
            return
        body = html.escape(g.feedback).replace("\n", "<br>")
        self.feedback.value = (
            f"<b style='color:{_COLORS[g.verdict]}'>{g.verdict.upper()}</b> "
            f"score {g.score:.2f}<br>{body}"
        )


def quiz_widget(
    chapter: str | None = None,
    item_ids: list[str] | None = None,
    *,
    bank: Bank | None = None,
    store: ProgressStore | None = None,
) -> w.VBox:
    """Return a widget with a chapter's items (or the given ids) for the end of a notebook."""
    if (chapter is None) == (item_ids is None):
        raise QuizError("pass exactly one of chapter='NN' or item_ids=[...]")
    settings = get_settings()
    bank = bank or load_bank(settings.bank_dir, settings.sections_path)
    if item_ids is not None:
        unknown = [i for i in item_ids if i not in bank.items]
        if unknown:
            raise QuizError(f"unknown item ids: {unknown}")
        items = [bank.items[i] for i in item_ids]
    else:
        items = bank.select(chapter=chapter)
        if not items:
            raise QuizError(f"no quiz items for chapter {chapter!r}")
    session = Session(items=items, store=store or ProgressStore(settings.db_path))
    cards = [ItemCard(it, session) for it in items]
    box = w.VBox([w.HTML(f"<h3>Quiz: {len(items)} questions</h3>"), *cards])
    box.cards, box.session = cards, session  # handles for notebooks and tests
    return box


__all__ = ["ItemCard", "quiz_widget"]
