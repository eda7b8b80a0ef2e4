"""The quiz's static HTML form: what a report shows with no kernel, answers folded away."""

import pytest
from bs4 import BeautifulSoup

from quizzes.errors import QuizError
from quizzes.question import Question
from quizzes.static import quiz_html
from quizzes.widget import quiz_widget

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def _soup(bank, ids, orders=None):
    orders = orders or {}
    questions = [Question(bank.items[i], n, order=orders.get(i)) for n, i in enumerate(ids, 1)]
    return BeautifulSoup(quiz_html(questions), "html.parser")


def _item(soup, item_id):
    return soup.select_one(f'section.wq-item[data-item="{item_id}"]')


def test_every_option_is_shown_numbered_in_the_order_asked(bank):
    # the choices shown in a shuffled order: numbers follow the order shown, not the bank's
    soup = _soup(bank, ["ecs-service-001"], {"ecs-service-001": [2, 0, 1]})
    rows = _item(soup, "ecs-service-001").select(".wq-row")
    assert [r.select_one(".wq-text").get_text() for r in rows] == [
        "The service scales to zero",
        "The old task stops",
        "A new task starts",
    ]
    assert [r.select_one(".wq-mark").get_text(strip=True) for r in rows] == ["1", "2", "3"]
    assert all(r.select_one("input")["type"] == "radio" for r in rows)
    answer = _item(soup, "ecs-service-001").select_one("details.wq-answer")
    assert "Answer: 3. A new task starts" in answer.get_text()


def test_answers_are_folded_in_details_for_every_item_type(bank):
    ids = [
        "ecs-service-002",
        "ecs-service-003",
        "ecs-service-004",
        "ecs-service-005",
        "ecs-service-006",
    ]
    soup = _soup(bank, ids)
    answers = {i: _item(soup, i).select_one("details.wq-answer") for i in ids}
    assert all(a is not None and "open" not in a.attrs for a in answers.values())
    multi = answers["ecs-service-002"].get_text()
    assert "Answers: 1. A task that never reaches RUNNING; 3. A task stopped" in multi
    assert "Answer: 3 tasks" in answers["ecs-service-003"].get_text()
    assert "Right order: 1. Start the new task → 2. Register it" in answers["ecs-service-004"].text
    assert "Answer: 2. rollback is off" in answers["ecs-service-005"].get_text()
    essay = answers["ecs-service-006"].get_text()
    assert bank.items["ecs-service-006"].model_answer.split()[0] in essay
    assert "Key points" in essay
    # the question side never gives the answer away
    for i in ids:
        side = _item(soup, i).select_one(".wq-head").get_text()
        assert "Answer:" not in side and "Right order" not in side
    boxes = _item(soup, "ecs-service-002").select("input")
    assert {b["type"] for b in boxes} == {"checkbox"}
    assert _item(soup, "ecs-service-005").select_one(".wq-head pre") is not None  # the snippet


def test_text_is_escaped_not_interpreted(bank):
    item = bank.items["ecs-service-001"].model_copy(
        update={"choices": ["<script>alert(1)</script>", "b & c", "plain"]}
    )
    soup = BeautifulSoup(quiz_html([Question(item, 1)]), "html.parser")
    assert soup.select("script") == []
    texts = [t.get_text() for t in soup.select(".wq-text")]
    assert texts == ["<script>alert(1)</script>", "b & c", "plain"]


def test_the_static_form_carries_the_layout_rules(bank):
    soup = _soup(bank, ["ecs-service-001"])
    css = soup.select_one(".wq-quiz > style").get_text()
    assert ".wq-text" in css and "white-space: normal" in css


def test_an_empty_quiz_is_refused():
    with pytest.raises(QuizError, match="at least one question"):
        quiz_html([])


def test_the_widget_offers_its_static_form_beside_the_live_view(quiz_env):
    box = quiz_widget(item_ids=["ecs-service-001", "ecs-service-002"])
    bundle = box._repr_mimebundle_()
    assert bundle[WIDGET_VIEW]["model_id"] == box.model_id  # JupyterLab still shows the widget
    soup = BeautifulSoup(bundle["text/html"], "html.parser")
    shown = [c.input.options for c in box.cards]
    for card, options in zip(box.cards, shown, strict=True):
        texts = [t.get_text() for t in _item(soup, card.item.id).select(".wq-text")]
        assert texts == [text for text, _ in options]  # the order the learner is asked in
    box.session.store.close()


def test_live_options_wrap_beside_their_buttons(quiz_env):
    box = quiz_widget(item_ids=["ecs-service-001", "ecs-service-002"])
    single, multi = box.cards
    for card in (single, multi):
        rows = card.input.children
        assert all("wq-row" in row._dom_classes for row in rows)
        assert all(row.layout.width == "100%" for row in rows)
        labels = [row.children[1].value for row in rows]
        assert all(label.startswith('<span class="wq-text">') for label in labels)
    # single choice: picking a second option drops the first
    single.input.buttons[0].value = True
    single.input.buttons[2].value = True
    assert [b.value for b in single.input.buttons] == [False, False, True]
    assert single.input.value == single.input.order[2]
    # multiple choice: options add up
    multi.input.buttons[0].value = multi.input.buttons[2].value = True
    assert sorted(multi.input.value) == sorted([multi.input.order[0], multi.input.order[2]])
    with pytest.raises(QuizError, match="no option with index"):
        single.input.value = 7
    with pytest.raises(QuizError, match="takes one option"):
        single.input.value = [0, 1]
    box.session.store.close()
