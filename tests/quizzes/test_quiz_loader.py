"""The bank loads through the schema; bad files fail naming file, line and field."""

import sys
import types

import pytest

from quizzes.coverage import coverage
from quizzes.errors import BankError, ComputeError, DuplicateIdError, UnknownReferenceError
from quizzes.loader import load_bank, load_sections
from quizzes.schema import CHAPTERS, ERRATA
from workbook import coverage as chapters

ITEM = """
topic: iam
items:
  - id: iam-001
    type: single
    chapter: "03"
    difficulty: 1
    guide_section: architecture/overview
    question: "Which role pulls the image?"
    choices: ["execution role", "task role"]
    answer: 0
    explanation: "The execution role is used by the agent."
"""


def load(root):
    return load_bank(root / "bank", root / "sections.yaml")


def test_fixture_bank_loads_every_type(bank):
    assert {it.type for it in bank.items.values()} == {
        "single",
        "multiple",
        "numeric",
        "ordering",
        "spot_the_bug",
        "free_text",
    }
    assert [it.id for it in bank.select(topic="autoscaling")] == [
        "autoscaling-001",
        "autoscaling-002",
    ]
    assert {it.chapter for it in bank.select(chapter="08")} == {"08"}
    assert bank.get("ecs-service-003").answer.value == 3


def test_valid_extra_topic_file_loads(bank_copy, write_topic):
    write_topic("iam", ITEM)
    assert "iam-001" in load(bank_copy).items


def test_missing_field_names_file_line_and_field(bank_copy, write_topic):
    path = write_topic("iam", ITEM.replace('    choices: ["execution role", "task role"]\n', ""))
    with pytest.raises(BankError) as err:
        load(bank_copy)
    e = err.value
    assert e.path == str(path) and e.line == 3 and e.field == "choices"
    assert "iam-001" in str(e) and f"{path}:3" in str(e)


def test_bad_field_value_points_at_its_line(bank_copy, write_topic):
    write_topic("iam", ITEM.replace("difficulty: 1", "difficulty: 7"))
    with pytest.raises(BankError) as err:
        load(bank_copy)
    assert err.value.line == 6 and err.value.field == "difficulty"


def test_misspelt_field_is_refused(bank_copy, write_topic):
    write_topic("iam", ITEM.replace("answer: 0", "anwser: 0"))
    with pytest.raises(BankError) as err:
        load(bank_copy)
    assert err.value.field in {"anwser", "answer"} and err.value.line in {3, 11}


def test_unknown_type_is_refused(bank_copy, write_topic):
    write_topic("iam", ITEM.replace("type: single", "type: essay"))
    with pytest.raises(BankError) as err:
        load(bank_copy)
    assert "essay" in str(err.value) or "type" in str(err.value)
    assert err.value.line in {3, 5}


def test_answer_index_out_of_range(bank_copy, write_topic):
    write_topic("iam", ITEM.replace("answer: 0", "answer: 5"))
    with pytest.raises(BankError, match="out of range") as err:
        load(bank_copy)
    assert err.value.line == 3


def test_invalid_yaml_reports_line(bank_copy, write_topic):
    write_topic(
        "iam", ITEM.replace('question: "Which role pulls the image?"', 'question: "unterminated')
    )
    with pytest.raises(BankError, match="not valid YAML") as err:
        load(bank_copy)
    assert err.value.line is not None and err.value.line >= 8


def test_topic_must_match_file_name(bank_copy, write_topic):
    write_topic("ecr", ITEM.replace("iam-001", "ecr-001"))
    with pytest.raises(BankError, match="does not match the file name") as err:
        load(bank_copy)
    assert err.value.field == "topic" and err.value.line == 1


def test_unknown_topic_is_refused(bank_copy, write_topic):
    write_topic("kubernetes", ITEM.replace("topic: iam", "topic: kubernetes"))
    with pytest.raises(BankError) as err:
        load(bank_copy)
    assert err.value.field == "topic"


def test_duplicate_id_names_both_places(bank_copy, write_topic):
    write_topic("iam", ITEM + ITEM.split("items:\n")[1])
    with pytest.raises(DuplicateIdError) as err:
        load(bank_copy)
    msg = str(err.value)
    assert "iam-001" in msg and "iam.yaml:3" in msg and "iam.yaml:12" in msg


@pytest.mark.parametrize(
    ("old", "new", "field"),
    [
        (
            "guide_section: architecture/overview",
            "guide_section: resources/nowhere",
            "guide_section",
        ),
        ('chapter: "03"', 'chapter: "99"', "chapter"),
        ("answer: 0\n", "answer: 0\n    follow_ups: [iam-404]\n", "follow_ups"),
        ("id: iam-001", "id: ecr-001", "id"),
    ],
)
def test_unknown_references_are_refused(bank_copy, write_topic, old, new, field):
    write_topic("iam", ITEM.replace(old, new))
    with pytest.raises(UnknownReferenceError) as err:
        load(bank_copy)
    assert err.value.field == field and err.value.line is not None


def test_the_chapters_an_item_may_name_are_the_notebooks():
    notebooks = {chapters.read_metadata(p)["chapter"] for p in chapters.chapter_files()}
    assert set(CHAPTERS) == notebooks and CHAPTERS["08"] == "ecs-deploy"


NUMERIC = """
topic: ecs-cluster
items:
  - id: ecs-cluster-001
    type: numeric
    chapter: "08"
    difficulty: 2
    guide_section: resources/ecs-service
    question: "Desired 1: failed tasks before rollback?"
    compute: {function: FUNC, kwargs: KWARGS, tolerance: 0, unit: tasks}
    explanation: "Floor of 3."
"""


@pytest.fixture
def fake_rollout(monkeypatch):
    calls = []
    mod = types.ModuleType("deploy.models.rollout")

    def circuit_breaker_threshold(desired_count: int, percent: float = 50.0) -> int:
        calls.append(desired_count)
        return min(200, max(3, -(-desired_count * int(percent) // 100)))

    mod.circuit_breaker_threshold = circuit_breaker_threshold
    monkeypatch.setitem(sys.modules, "deploy.models.rollout", mod)
    return calls


def numeric(func="deploy.models.rollout.circuit_breaker_threshold", kwargs="{desired_count: 1}"):
    return NUMERIC.replace("FUNC", func).replace("KWARGS", kwargs)


def test_compute_calls_the_named_function(bank_copy, write_topic, fake_rollout):
    write_topic("ecs-cluster", numeric())
    item = load(bank_copy).get("ecs-cluster-001")
    assert item.answer.value == 3 and item.answer.unit == "tasks" and fake_rollout == [1]


def test_compute_outside_allow_list_is_refused_without_calling(bank_copy, write_topic):
    write_topic("ecs-cluster", numeric(func="os.system", kwargs="{command: 'true'}"))
    with pytest.raises(BankError, match="not in an allowed module") as err:
        load(bank_copy)
    assert err.value.line == 9 and "compute" in err.value.field


def test_compute_with_bad_kwargs_names_them(bank_copy, write_topic, fake_rollout):
    write_topic("ecs-cluster", numeric(kwargs="{tasks: 1}"))
    with pytest.raises(ComputeError, match="bad kwargs") as err:
        load(bank_copy)
    assert err.value.field == "compute.kwargs" and err.value.line == 9 and fake_rollout == []


def test_compute_missing_function(bank_copy, write_topic, fake_rollout):
    write_topic("ecs-cluster", numeric(func="deploy.models.rollout.no_such_rule"))
    with pytest.raises(ComputeError, match="no function 'no_such_rule'"):
        load(bank_copy)


def test_numeric_needs_exactly_one_source(bank_copy, write_topic, fake_rollout):
    text = numeric().replace("    explanation", "    answer: {value: 3}\n    explanation")
    write_topic("ecs-cluster", text)
    with pytest.raises(BankError, match="exactly one of"):
        load(bank_copy)


def test_compute_against_the_real_deploy_model(bank_copy, write_topic):
    write_topic("ecs-cluster", numeric())
    assert load(bank_copy).get("ecs-cluster-001").answer.value == 3


def test_coverage_lists_sections_and_errata_without_items(bank):
    cov = coverage(bank)
    assert cov.missing_sections == ["env-secrets/rotation", "study/key-metrics"]
    assert 1 not in cov.missing_errata and 4 not in cov.missing_errata
    assert cov.missing_errata == [n for n in ERRATA if n not in (1, 4)]
    assert not cov.complete


def test_sections_with_duplicate_ids_are_refused(tmp_path):
    path = tmp_path / "sections.yaml"
    path.write_text("- {id: a, title: A}\n- {id: a, title: B}\n")
    with pytest.raises(BankError, match="repeat"):
        load_sections(path)


def test_missing_bank_dir_and_sections_are_clear(tmp_path, data_dir):
    with pytest.raises(BankError, match="bank directory not found"):
        load_bank(tmp_path / "nope", data_dir / "sections.yaml")
    with pytest.raises(BankError, match="sections file not found"):
        load_bank(data_dir / "bank", tmp_path / "nope.yaml")
