"""The held-out scorer: key-fact matching, section ranks, refusals, the strict loader, a real run.

The real run's figures are a baseline that issue 15 moves: only their names and sizes are
checked here, never their values.
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path

import pytest
import yaml
from langchain_core.documents import Document
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from pydantic import Field

from bench import heldout_eval as he
from bench._heldout_set import (
    Heldout,
    HeldoutError,
    KeyFact,
    NearMiss,
    OffTopic,
    Place,
    Question,
    check_places,
    load_set,
)
from bench.run import AREAS, has_run
from service.rag.answers import DONT_KNOW
from service.rag.llm import LLMAnswerer

pytestmark = pytest.mark.independent

ON_TOPIC = {
    "id": "q-01",
    "note": "alb.md",
    "section": "Deregistration delay",
    "kind": "quantity",
    "style": "terse",
    "question": "Default deregistration delay?",
    "key_fact": {"any_of": ["300 seconds", "five minutes"]},
}
OFF = {"id": "off-01", "question": "How do I bake sourdough bread?", "why_off_topic": "cooking"}


def question(qid: str = "q-01", **fields) -> Question:
    return Question.model_validate({**ON_TOPIC, "id": qid, **fields})


def near(qid: str, **fields) -> NearMiss:
    return NearMiss.model_validate({**ON_TOPIC, "id": qid, "how_unusual": "slang", **fields})


def off(qid: str) -> OffTopic:
    return OffTopic.model_validate({**OFF, "id": qid})


def write_set(folder: Path, questions=None, near_miss=None, off_topic=None) -> Path:
    """Write a held-out folder (one valid entry per file unless given)."""
    folder.mkdir(parents=True, exist_ok=True)
    files = {
        "questions.yaml": [ON_TOPIC] if questions is None else questions,
        "near_miss.yaml": (
            [{**ON_TOPIC, "id": "nm-01", "how_unusual": "indirect"}]
            if near_miss is None
            else near_miss
        ),
        "off_topic.yaml": [OFF] if off_topic is None else off_topic,
    }
    for name, entries in files.items():
        (folder / name).write_text(yaml.safe_dump(entries))
    return folder


# ---- key facts: any_of, all_of, normalisation


def test_any_of_matches_ignoring_case_and_runs_of_whitespace():
    fact = KeyFact(any_of=["300  Seconds", "five minutes"])
    assert fact.found_in("It waits 300\n   SECONDS by default.")
    assert fact.found_in("About FIVE\tminutes.")
    assert not fact.found_in("It waits 300s.")  # only the listed surface forms count
    assert not fact.found_in("It waits 30 0 seconds.")


def test_all_of_needs_every_group_and_any_of_too_when_both_are_given():
    fact = KeyFact(all_of=[["min 1", "minimum 1"], ["max 4", "maximum 4"]])
    assert fact.found_in("Scale between minimum 1 and MAX 4 tasks.")
    assert not fact.found_in("Scale from minimum 1 task.")
    both = KeyFact(any_of=["target tracking"], all_of=[["70%"]])
    assert both.found_in("Target tracking at 70% CPU.")
    assert not both.found_in("Step scaling at 70% CPU.")
    assert not both.found_in("Target tracking on CPU.")


def test_the_answer_text_is_scored_without_citation_markers_and_only_when_answered():
    q = question(key_fact={"any_of": ["300 seconds. It"]})
    assert he.correct(q, he.Reply("Default is 300 seconds. [1] It drains. [2]", True))
    refused = he.Reply("300 seconds. It drains.", False)
    assert refused.refused and not he.correct(q, refused)


def test_refusal_is_the_grounded_flag_not_the_wording():
    assert he.Reply(DONT_KNOW, False).refused
    assert he.Reply("Cannot say.", False).refused
    assert not he.Reply("I don't know the history, but it is 300 seconds. [1]", True).refused


# ---- section ranks: dedup by section, also_in, recall and MRR


def hit(note: str, section: str, score: float) -> tuple[Document, float]:
    return Document(page_content="x", metadata={"source": note, "section": section}), score


HITS = [
    hit("alb.md", "Idle timeout", 0.9),
    hit("alb.md", "Idle timeout", 0.85),  # a second chunk of the same section
    hit("ecs.md", "Draining", 0.8),
    hit("alb.md", "Deregistration delay", 0.7),
]


def test_rank_counts_sections_not_chunks_and_also_in_sections():
    main = Place(note="alb.md", section="Deregistration delay")
    also = Place(note="ecs.md", section="Draining")
    assert he.first_rank(HITS, [main]) == 3  # the fourth chunk, the third section
    assert he.first_rank(HITS, [main, also]) == 2
    q = question(
        section="Deregistration delay", also_in=[{"note": "ecs.md", "section": "Draining"}]
    )
    assert he.first_rank(HITS, q.places) == 2
    assert he.first_rank(HITS, [Place(note="alb.md", section="Listeners")]) is None
    assert he.first_rank(HITS, [Place(note="ecs.md", section="Idle timeout")]) is None


def test_recall_and_mrr_arithmetic():
    heldout = Heldout([question(f"q-{i}") for i in range(4)], [], [])
    replies = {f"q-{i}": he.Reply("x", True) for i in range(4)}
    ranks = {"q-0": 1, "q-1": 2, "q-2": None, "q-3": 4}
    s = he.score(heldout, replies, ranks).sections
    assert s["recall@1"] == 0.25
    assert s["recall@3"] == 0.5
    assert s["recall@5"] == 0.75
    assert s["mrr"] == pytest.approx((1 + 1 / 2 + 1 / 4) / 4)


def test_score_counts_accuracy_answered_refused_breakdowns_and_median_words():
    heldout = Heldout(
        [question("q-1"), question("q-2", kind="reason"), question("q-3", style="typo")],
        [near("nm-1"), near("nm-2")],
        [off("off-1"), off("off-2"), off("off-3")],
    )
    replies = {
        "q-1": he.Reply("It is 300 seconds. [1]", True),  # 4 words, correct
        "q-2": he.Reply("It drains connections for a while. [1]", True),  # 6 words, wrong
        "q-3": he.Reply(DONT_KNOW, False),  # refused: not in the median
        "nm-1": he.Reply("Five minutes.", True),
        "nm-2": he.Reply("Something else.", True),
        "off-1": he.Reply(DONT_KNOW, False),
        "off-2": he.Reply(DONT_KNOW, False),
        "off-3": he.Reply("Bread needs flour. [1]", True),
    }
    ranks = dict.fromkeys(["q-1", "q-2", "q-3", "nm-1", "nm-2"], 1)
    s = he.score(heldout, replies, ranks)
    assert (s.accuracy.hits, s.accuracy.n) == (1, 3)
    assert (s.answered.hits, s.answered.n) == (2, 3)
    assert s.by_kind == {"quantity": he.Rate(1, 2), "reason": he.Rate(0, 1)}
    assert s.by_style == {"terse": he.Rate(1, 2), "typo": he.Rate(0, 1)}
    assert (s.near_answered.hits, s.near_accuracy.hits, s.near_answered.n) == (2, 1, 2)
    assert (s.off_refused.hits, s.off_refused.n) == (2, 3)
    assert s.median_words == 5  # of 4 and 6: markers and refusals left out


# ---- the strict loader


@pytest.mark.parametrize(
    ("change", "names"),
    [
        ({"kind": "quantiy"}, "kind"),
        ({"sectoin": "x"}, "sectoin"),
        ({"key_fact": {"any_of": []}}, "key_fact"),
        ({"key_fact": {"any_of": ["  "]}}, "key_fact.any_of.0"),  # blank: would match anything
        ({"key_fact": {"any_of": [300]}}, "key_fact.any_of.0"),
        ({"key_fact": {}}, "needs any_of, all_of or both"),
        ({"key_fact": {"all_of": [["a"], []]}}, "every all_of group"),
        ({"also_in": [{"note": "a.md"}]}, "also_in.0.section"),
    ],
)
def test_a_bad_field_names_the_file_the_id_and_the_field(tmp_path, change, names):
    bad = {**ON_TOPIC, "id": "q-02", **change}
    folder = write_set(tmp_path / "set", questions=[ON_TOPIC, bad])
    with pytest.raises(HeldoutError) as err:
        load_set(folder)
    assert str(folder / "questions.yaml") in str(err.value)
    assert "q-02" in str(err.value) and names in str(err.value)


def test_near_miss_needs_how_unusual_and_entries_without_an_id_are_numbered(tmp_path):
    folder = write_set(tmp_path / "a", near_miss=[ON_TOPIC])
    with pytest.raises(HeldoutError, match=r"near_miss\.yaml: q-01: how_unusual"):
        load_set(folder)
    folder = write_set(tmp_path / "b", off_topic=[OFF, "just a string"])
    with pytest.raises(HeldoutError, match=r"off_topic\.yaml: entry 2"):
        load_set(folder)


def test_an_id_used_twice_across_files_is_refused(tmp_path):
    folder = write_set(tmp_path / "set", off_topic=[{**OFF, "id": "q-01"}])
    with pytest.raises(HeldoutError, match=r"off_topic\.yaml: q-01: id already used in questions"):
        load_set(folder)


def test_a_section_missing_from_the_notes_is_refused(tmp_path):
    renamed = {**ON_TOPIC, "id": "q-09", "also_in": [{"note": "ecs.md", "section": "Gone"}]}
    folder = write_set(tmp_path / "set", questions=[ON_TOPIC, renamed])
    heldout = load_set(folder)
    indexed = {("alb.md", "Deregistration delay")}
    with pytest.raises(HeldoutError, match=r"questions\.yaml: q-09: no section 'Gone' in ecs\.md"):
        check_places(heldout, indexed, folder)


def test_the_cli_names_a_bad_file_and_exits_2(tmp_path, capsys):
    folder = write_set(tmp_path / "set", questions=[{**ON_TOPIC, "style": "shouty"}])
    assert he.main(["--heldout", str(folder)]) == 2
    assert "questions.yaml: q-01: style" in capsys.readouterr().err


# ---- through the service


NOTE = """# Load balancer

## Deregistration delay

The deregistration delay is how long the load balancer keeps draining in-flight requests
from a target before removing it. The default deregistration delay is 300 seconds.

## Idle timeout

The idle timeout closes a connection that sent no data for 60 seconds.
"""


def test_measure_asks_chat_and_sees_answers_refusals_and_ranks(tmp_path):
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "alb.md").write_text(NOTE)
    heldout = Heldout([question()], [], [off("off-01")])
    check_places(heldout, he.indexed_sections(notes))
    replies, ranks = he.measure(heldout, notes)
    assert not replies["q-01"].refused and he.correct(heldout.questions[0], replies["q-01"])
    assert replies["off-01"].refused
    assert ranks == {"q-01": 1}


class Reader(GenericFakeChatModel):
    """A fake chat model that answers from the context it is sent, or says it does not know."""

    calls: list[str] = Field(default_factory=list)

    def _generate(self, messages, stop=None, run_manager=None, **kwargs):
        system, question = messages[0].content, messages[-1].content
        self.calls.append(question)
        found = "300 seconds" in system and "drain" in question.lower()
        reply = "Five minutes: 300 seconds by default [1]." if found else DONT_KNOW
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=reply))])


def test_provider_runs_score_that_models_answers_and_name_it(tmp_path, monkeypatch):
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "alb.md").write_text(NOTE)
    slang = "How long does the bouncer keep a retiring box draining, out of the box?"
    folder = write_set(
        tmp_path / "set",
        questions=[{**ON_TOPIC, "question": "How long is a target left draining by default?"}],
        near_miss=[{**ON_TOPIC, "id": "nm-01", "how_unusual": "slang", "question": slang}],
    )
    model = Reader(messages=iter(()))
    monkeypatch.setattr("service.chat.answerer_for", lambda settings: LLMAnswerer(model))
    monkeypatch.setattr(he, "answerer_for", lambda settings: LLMAnswerer(model))
    monkeypatch.setenv("GROQ_API_KEY", "test-key")
    out = tmp_path / "out.json"
    argv = ["--provider", "groq", "--heldout", str(folder), "--notes", str(notes)]
    assert he.main([*argv, "--out", str(out)]) == 0
    report = json.loads(out.read_text())
    assert report["answerer"] == "the groq answerer (llama-3.1-8b-instant)"
    assert report["accuracy"]["hits"] == 1 and report["near_answered"]["hits"] == 1
    assert report["off_refused"]["hits"] == 1  # sourdough shares nothing: refused, no call
    assert slang in model.calls and not any("sourdough" in c for c in model.calls)


def test_a_provider_without_its_key_is_named_before_any_question(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("GROQ_API_KEY", raising=False)
    monkeypatch.setattr(he, "ENV_FILE", tmp_path / "no.env")  # a developer's .env is not read
    assert he.main(["--provider", "groq", "--heldout", str(write_set(tmp_path / "set"))]) == 2
    assert "--provider groq: LLM_PROVIDER=groq needs an API key" in capsys.readouterr().err


def test_an_unknown_provider_is_refused_with_the_known_ones(capsys):
    with pytest.raises(SystemExit) as stop:
        he.main(["--provider", "openai"])
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert "invalid choice: 'openai'" in err and "'groq'" in err and "'ollama'" in err


@pytest.fixture(scope="module")
def real() -> he.Scores:
    return he.evaluate()


def test_the_real_set_yields_every_figure_with_its_size(real):
    assert (real.accuracy.n, real.near_answered.n, real.off_refused.n) == (136, 32, 55)
    assert sum(r.n for r in real.by_kind.values()) == 136
    assert sum(r.n for r in real.by_style.values()) == 136
    assert len(real.by_note) == 17
    figs = {f.name: f for f in he.figures(real)}
    sizes = {
        "answer-level accuracy": "n=136",
        "near-miss questions answered (not refused)": "n=32",
        "near-miss answer-level accuracy": "n=32",
        "off-topic questions refused": "n=55",
        "section recall@3": "n=136",
        "section mrr": "n=136",
    }
    for name, n in sizes.items():
        assert figs[name].note.startswith(n) or f"; {n}" in figs[name].note, name
        assert 0 <= figs[name].value <= 1 and figs[name].higher_is_better
    goals = {name: f.goal for name, f in figs.items() if f.goal is not None}
    assert goals == {
        "answer-level accuracy": 0.95,
        "near-miss questions answered (not refused)": 1.0,
        "off-topic questions refused": 1.0,
    }
    assert figs["median answer length"].unit == "words" and figs["median answer length"].value
    assert {f.area for f in figs.values()} == {AREAS["heldout_eval"]}


def test_bench_run_calls_the_area_through_its_run_protocol():
    assert has_run(importlib.import_module("bench.heldout_eval"))
    assert AREAS["heldout_eval"] == he.AREA


def test_each_tuning_set_is_reported_apart_as_tuned_on(tmp_path):
    assert he.HELDOUT not in he.TUNING_SETS  # the retired held-out set is tuning set 2
    assert [d.name for d in he.TUNING_SETS] == ["tuning", "tuning2"]
    folder = write_set(tmp_path / "tuning2")
    refused = he.Reply("I don't know", False)
    replies = {"q-01": he.Reply("It is 300 seconds.", True), "nm-01": refused, "off-01": refused}
    scores = he.score(load_set(folder), replies, {"q-01": 1, "nm-01": None})
    figs = he.tuning_figures(scores, folder)
    assert [f.name for f in figs] == [
        "tuning set 2: answer-level accuracy",
        "tuning set 2: near-miss questions answered",
        "tuning set 2: off-topic questions refused",
    ]
    assert [f.value for f in figs] == [1.0, 0.0, 1.0]
    assert all(f.goal is None and "not a result" in f.note for f in figs)
    assert he.tuning_figures(scores)[0].name == "tuning set: answer-level accuracy"
