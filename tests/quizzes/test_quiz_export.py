"""Anki export keeps GUIDs and ids stable (re-import updates); jupyterquiz JSON is well-formed."""

import html
import json
import re
import sqlite3
import zipfile

import genanki

from quizzes.config import PACKAGE_DIR
from quizzes.export import (
    DECK_ID,
    MODEL_ID,
    front_back,
    to_anki,
    to_jupyterquiz,
    write_jupyterquiz,
)
from quizzes.loader import load_bank
from quizzes.schema import FreeTextItem

MAX_BACK = 800  # characters of text on a card's back (a model answer runs to 1,500)


def anki_notes(path, tmp_path):
    with zipfile.ZipFile(path) as z:
        z.extract("collection.anki2", tmp_path)
    con = sqlite3.connect(tmp_path / "collection.anki2")
    try:
        notes = dict(con.execute("SELECT guid, flds FROM notes"))
        models = json.loads(con.execute("SELECT models FROM col").fetchone()[0])
        decks = json.loads(con.execute("SELECT decks FROM col").fetchone()[0])
        return notes, set(map(int, models)), set(map(int, decks))
    finally:
        con.close()


def test_anki_guids_are_stable_across_exports(bank, tmp_path):
    items = list(bank.items.values())
    a = to_anki(items, tmp_path / "a" / "deck.apkg")
    b = to_anki(list(reversed(items)), tmp_path / "b" / "deck.apkg")
    notes_a, models_a, decks_a = anki_notes(a, tmp_path / "a")
    notes_b, models_b, decks_b = anki_notes(b, tmp_path / "b")
    assert set(notes_a) == set(notes_b) == {genanki.guid_for(i) for i in bank.items}
    assert MODEL_ID in models_a and models_a == models_b
    assert DECK_ID in decks_a and decks_a == decks_b
    fields = notes_a[genanki.guid_for("ecs-service-003")]
    assert fields.startswith("ecs-service-003\x1f") and "3 tasks" in fields


def test_anki_back_of_free_text_is_short_key_points_and_a_link(bank, tmp_path):
    item = bank.get("ecs-service-006")
    path = to_anki([item], tmp_path / "deck.apkg")
    notes, _, _ = anki_notes(path, tmp_path)
    (fields,) = notes.values()
    _id, _front, back = fields.split("\x1f")
    assert "<li>it counts failed tasks, not individual health-check probes</li>" in back
    assert item.model_answer not in back and "Guide vs reality" in back
    assert "More: notes/ecs-service.md#deployment-circuit-breaker" in back
    assert "notebooks/08_ecs_deploy.ipynb" in back


def test_anki_choice_backs_name_the_answer_by_number(bank):
    _front, back = front_back(bank.get("ecs-service-001"))
    assert back.startswith("2. A new task starts")
    _front, back = front_back(bank.get("ecs-service-002"))
    assert back.startswith("1. A task that never reaches RUNNING<br>3. A task stopped")


def test_every_anki_back_of_the_real_bank_is_short():
    # the shipped bank: its long model answers must not reach the cards
    bank = load_bank(PACKAGE_DIR / "bank", PACKAGE_DIR / "sections.yaml")
    for item in bank.items.values():
        _front, back = front_back(item)
        text = html.unescape(re.sub(r"<[^>]+>", " ", back))
        assert len(text) <= MAX_BACK, (item.id, len(text))
        assert "More: notes/" in text, item.id
        if isinstance(item, FreeTextItem):
            assert item.model_answer.strip() not in text


def test_jupyterquiz_format(bank, tmp_path):
    qs = {q["question"]: q for q in to_jupyterquiz(list(bank.items.values()))}
    single = qs[bank.get("ecs-service-001").question]
    assert single["type"] == "multiple_choice"
    assert [a["correct"] for a in single["answers"]] == [False, True, False]
    many = qs[bank.get("ecs-service-002").question]
    assert many["type"] == "many_choice" and sum(a["correct"] for a in many["answers"]) == 2
    bug = qs[bank.get("ecs-service-005").question]
    assert "rollback" in bug["code"]
    num = qs[bank.get("ecs-service-003").question + " (tasks)"]
    assert num["type"] == "numeric" and num["answers"][0] == {
        "type": "value",
        "value": 3.0,
        "correct": True,
        "feedback": bank.get("ecs-service-003").explanation,
    }
    assert len(qs) == 5  # ordering and free text have no jupyterquiz type
    out = write_jupyterquiz(list(bank.items.values()), tmp_path / "q" / "quiz.json")
    assert json.loads(out.read_text()) == to_jupyterquiz(list(bank.items.values()))
