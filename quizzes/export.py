"""Export the bank to Anki (stable GUIDs and ids) and to jupyterquiz JSON."""

import json
import zlib
from pathlib import Path

import genanki

from quizzes.errors import QuizError
from quizzes.schema import Item, MultipleItem, NumericItem, OrderingItem, SingleItem, SpotTheBugItem


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
    import html

    return html.escape(text).replace("\n", "<br>")


def front_back(item: Item) -> tuple[str, str]:
    """Return the (front, back) text of a flashcard for an item."""
    front = _html(item.question)
    if isinstance(item, SpotTheBugItem):
        front += f"<pre>{_html(item.snippet)}</pre>"
    if isinstance(item, SingleItem | MultipleItem | SpotTheBugItem):
        front += "<ol>" + "".join(f"<li>{_html(c)}</li>" for c in item.choices) + "</ol>"
    if isinstance(item, SingleItem | SpotTheBugItem):
        back = _html(item.choices[item.answer])
    elif isinstance(item, MultipleItem):
        back = "<br>".join(_html(item.choices[i]) for i in item.answer)
    elif isinstance(item, NumericItem):
        ans = item.answer
        if ans is None:
            raise QuizError(f"item {item.id}: computed answer not resolved; load the bank first")
        back = _html(f"{ans.value:g} {ans.unit}".strip())
    elif isinstance(item, OrderingItem):
        back = "<ol>" + "".join(f"<li>{_html(s)}</li>" for s in item.steps) + "</ol>"
    else:
        back = _html(item.model_answer)
    back += f"<p><i>{_html(item.explanation)}</i></p>"
    if item.correction:
        back += f"<p><b>Guide vs reality:</b> {_html(item.correction)}</p>"
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
