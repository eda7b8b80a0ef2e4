"""Render quiz questions as static HTML: the quiz in a report, readable with no kernel."""

import html
from functools import cache
from pathlib import Path

from quizzes.errors import QuizError
from quizzes.question import Question, right_indices
from quizzes.schema import (
    FreeTextItem,
    MultipleItem,
    NumericItem,
    OrderingItem,
    SingleItem,
    SpotTheBugItem,
)

STYLESHEET = Path(__file__).with_name("quiz.css")
NOTE = "A static copy of the quiz: run the chapter in JupyterLab to answer and be graded."


@cache
def stylesheet() -> str:
    """Return the quiz layout rules the live widget and the static form share."""
    return STYLESHEET.read_text(encoding="utf-8")


def _esc(text: str) -> str:
    return html.escape(text).replace("\n", "<br>")


def option_html(text: str) -> str:
    """Return one option's text as the wrapping span both forms show."""
    return f'<span class="wq-text">{_esc(text)}</span>'


def head_html(q: Question) -> str:
    """Return a question as HTML: id, text, snippet, steps numbered as shown."""
    item = q.item
    head = f"<b>{html.escape(item.id)}</b> — {_esc(item.question)}"
    if isinstance(item, SpotTheBugItem):
        head += f"<pre>{html.escape(item.snippet)}</pre>"
    if isinstance(item, OrderingItem):
        head += "<ol>" + "".join(f"<li>{html.escape(s)}</li>" for s in q.shown()) + "</ol>"
    return head


def _options(q: Question) -> str:
    item = q.item
    if not isinstance(item, SingleItem | MultipleItem | SpotTheBugItem):
        return ""
    kind, role = (
        ("checkbox", "group") if isinstance(item, MultipleItem) else ("radio", "radiogroup")
    )
    rows = "".join(
        f'<label class="wq-row"><span class="wq-mark">{n} '
        f'<input type="{kind}" name="{html.escape(item.id)}" disabled></span>'
        f"{option_html(text)}</label>"
        for n, text in enumerate(q.shown(), 1)
    )
    return f'<div class="wq-options" role="{role}">{rows}</div>'


def _how(q: Question) -> str:
    item = q.item
    if isinstance(item, NumericItem):
        unit = item.answer.unit if item.answer else ""
        return f"<p><i>Answer with a number{f' ({html.escape(unit)})' if unit else ''}.</i></p>"
    if isinstance(item, OrderingItem):
        return "<p><i>Answer with the step numbers in the right order.</i></p>"
    if isinstance(item, FreeTextItem):
        return "<p><i>Answer in prose, as you would in an interview.</i></p>"
    if isinstance(item, MultipleItem) and "all that apply" not in item.question.lower():
        return "<p><i>Choose all that apply.</i></p>"
    return ""


def answer_html(q: Question) -> str:
    """Return the right answer and the explanation, as the widget's feedback would give them."""
    item = q.item
    if isinstance(item, SingleItem | SpotTheBugItem):
        lines = [f"Answer: {q.label(item.answer)}"]
    elif isinstance(item, MultipleItem):
        right = sorted(right_indices(item), key=q.number)
        lines = [f"Answers: {'; '.join(q.label(i) for i in right)}"]
    elif isinstance(item, NumericItem):
        a = item.answer
        if a is None:  # the loader fills computed answers in; a bare schema item has none
            lines = ["Answer: computed by the bank loader"]
        else:
            within = f" (± {a.tolerance:g})" if a.tolerance else ""
            lines = [f"Answer: {a.value:g}{f' {a.unit}' if a.unit else ''}{within}"]
    elif isinstance(item, OrderingItem):
        lines = ["Right order: " + " → ".join(q.label(i) for i in range(len(item.steps)))]
    else:
        points = "".join(f"<li>{_esc(p.text)}</li>" for p in item.rubric.points)
        return (
            f"<p>{_esc(item.model_answer)}</p><p>Key points:</p><ul>{points}</ul>"
            f"<p>{_esc(item.explanation)}</p>"
        )
    lines.append(item.explanation)
    if item.correction:
        lines.append(f"Note: {item.correction}")
    return "".join(f"<p>{_esc(line)}</p>" for line in lines)


def question_html(q: Question) -> str:
    """Return one question in static form: the question, its options, the answer folded away."""
    return (
        f'<section class="wq-item" data-item="{html.escape(q.item.id)}">'
        f'<div class="wq-head">{head_html(q)}</div>{_options(q)}{_how(q)}'
        f'<details class="wq-answer"><summary>Show the answer</summary>{answer_html(q)}</details>'
        "</section>"
    )


def quiz_html(questions: list[Question]) -> str:
    """Return a whole quiz in static form, with the shared stylesheet."""
    if not questions:
        raise QuizError("a static quiz needs at least one question; got none")
    body = "".join(question_html(q) for q in questions)
    return (
        f'<div class="wq-quiz"><style>{stylesheet()}</style>'
        f"<h3>Quiz: {len(questions)} questions</h3>"
        f'<p class="wq-note">{NOTE}</p>{body}</div>'
    )


__all__ = ["answer_html", "head_html", "option_html", "question_html", "quiz_html", "stylesheet"]
