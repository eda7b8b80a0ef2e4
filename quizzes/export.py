"""Export the bank to Anki (stable GUIDs, short backs) and to jupyterquiz JSON."""

import html
import json
import re
import zlib
from pathlib import Path

import genanki

from quizzes.errors import QuizError
from quizzes.revisit import chapter_notebook, note_section
from quizzes.schema import (
    FreeTextItem,
    Item,
    MultipleItem,
    NumericItem,
    OrderingItem,
    SingleItem,
    SpotTheBugItem,
)

SHORT = 180  # characters kept of an explanation or a correction on a card's back
POINT_CHARS = 110  # characters kept of one key point
POINTS_CHARS = 400  # characters of key points on a back; the rest are counted, not shown


def _stable_id(name: str) -> int:
    # A fixed 31-bit id derived from a name: the same deck/model on every export.
    return (zlib.crc32(name.encode()) & 0x3FFFFFFF) | 0x40000000


DECK_ID = _stable_id("ecs-workbook deck")
MODEL_ID = _stable_id("ecs-workbook model v1")
_MODEL = genanki.Model(
    MODEL_ID,
    "ecs-workbook quiz item",
    fields=[{"name": "Id"}, {"name": "Front"}, {"name": "Back"}],
    templates=[
        {"name": "Card 1", "qfmt": "{{Front}}", "afmt": "{{FrontSide}}<hr id=answer>{{Back}}"}
    ],
    sort_field_index=0,
)


def _html(text: str) -> str:
    return html.escape(text).replace("\n", "<br>")


def first_sentence(text: str, limit: int = SHORT) -> str:
    """Return the text's first sentence, cut at `limit` characters."""
    text = " ".join(text.split())
    m = re.search(r"(?<=[.!?])\s", text)
    head = text[: m.start()] if m else text
    return head if len(head) <= limit else head[: limit - 1].rstrip() + "…"


def _more(item: Item) -> str:
    """Return where to read more: the note section and the chapter notebook."""
    section = note_section(item)
    where = [section.link] if section is not None else []
    where.append(chapter_notebook(item.chapter))
    return "More: " + " · ".join(where)


def _key_points(item: FreeTextItem) -> str:
    """Return the heaviest key points that fit POINTS_CHARS, as a list, and how many were left."""
    shown, used = [], 0
    for p in sorted(item.rubric.points, key=lambda p: -p.weight):
        text = first_sentence(p.text, POINT_CHARS)
        if shown and used + len(text) > POINTS_CHARS:
            break
        shown.append(text)
        used += len(text)
    rest = len(item.rubric.points) - len(shown)
    more = f"<li>… {rest} more in the note</li>" if rest else ""
    return "<ul>" + "".join(f"<li>{_html(t)}</li>" for t in shown) + more + "</ul>"


def front_back(item: Item) -> tuple[str, str]:
    """Return a card's (front, back); the back is short: the key facts and where to read more."""
    front = _html(item.question)
    if isinstance(item, SpotTheBugItem):
        front += f"<pre>{_html(item.snippet)}</pre>"
    if isinstance(item, SingleItem | MultipleItem | SpotTheBugItem):
        front += "<ol>" + "".join(f"<li>{_html(c)}</li>" for c in item.choices) + "</ol>"
    if isinstance(item, SingleItem | SpotTheBugItem):
        back = _html(f"{item.answer + 1}. {item.choices[item.answer]}")
    elif isinstance(item, MultipleItem):
        back = "<br>".join(_html(f"{i + 1}. {item.choices[i]}") for i in sorted(item.answer))
    elif isinstance(item, NumericItem):
        ans = item.answer
        if ans is None:
            raise QuizError(f"item {item.id}: computed answer not resolved; load the bank first")
        back = _html(f"{ans.value:g} {ans.unit}".strip())
    elif isinstance(item, OrderingItem):
        back = "<ol>" + "".join(f"<li>{_html(s)}</li>" for s in item.steps) + "</ol>"
    else:  # free text: the key points, not the model answer (minimum information)
        back = _key_points(item)
    if not isinstance(item, FreeTextItem):
        back += f"<p><i>{_html(first_sentence(item.explanation))}</i></p>"
    if item.correction:
        back += f"<p><b>Guide vs reality:</b> {_html(first_sentence(item.correction))}</p>"
    back += f"<p><small>{_html(_more(item))}</small></p>"
    return front, back


def to_anki(items: list[Item], out: Path, deck_name: str = "ECS Fargate workbook") -> Path:
    """Write an .apkg; re-importing updates cards (GUID = genanki.guid_for(item id))."""
    deck = genanki.Deck(DECK_ID, deck_name)
    for item in items:
        front, back = front_back(item)
        deck.add_note(
            genanki.Note(
                model=_MODEL,
                fields=[item.id, front, back],
                guid=genanki.guid_for(item.id),
                tags=[item.topic, f"chapter-{item.chapter}", item.type],
            )
        )
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    genanki.Package(deck).write_to_file(str(out))
    return out


def _jq(item: Item) -> dict | None:
    expl = item.explanation
    if isinstance(item, SingleItem | MultipleItem | SpotTheBugItem):
        right = {item.answer} if isinstance(item.answer, int) else set(item.answer)
        q = {
            "question": item.question,
            "type": "many_choice" if isinstance(item, MultipleItem) else "multiple_choice",
            "answers": [
                {
                    "answer": c,
                    "correct": i in right,
                    "feedback": ("Correct. " if i in right else "Not this one. ") + expl,
                }
                for i, c in enumerate(item.choices)
            ],
        }
        if isinstance(item, SpotTheBugItem):
            q["code"] = item.snippet
        return q
    if isinstance(item, NumericItem) and item.answer is not None:
        a = item.answer
        answers = (
            [
                {
                    "type": "range",
                    "range": [a.value - a.tolerance, a.value + a.tolerance + 1e-9],
                    "correct": True,
                    "feedback": expl,
                }
            ]
            if a.tolerance
            else [{"type": "value", "value": a.value, "correct": True, "feedback": expl}]
        )
        answers.append({"type": "default", "feedback": f"Not quite. {expl}"})
        return {
            "question": f"{item.question} ({a.unit})" if a.unit else item.question,
            "type": "numeric",
            "answers": answers,
        }
    return None  # ordering and free text have no jupyterquiz type


def to_jupyterquiz(items: list[Item]) -> list[dict]:
    """Return jupyterquiz questions (multiple_choice, many_choice, numeric) for the items."""
    return [q for it in items if (q := _jq(it)) is not None]


def write_jupyterquiz(items: list[Item], out: Path) -> Path:
    """Write the jupyterquiz JSON file for `display_quiz(path)`."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(to_jupyterquiz(items), indent=2), encoding="utf-8")
    return out
