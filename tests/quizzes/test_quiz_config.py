"""Settings: the progress DB path comes from QUIZ_DB, else the user's data dir."""

from pathlib import Path

import pytest

from quizzes.config import QuizSettings, get_settings
from quizzes.errors import QuizError
from quizzes.export import front_back
from quizzes.schema import NumericItem


def test_default_db_is_in_the_user_data_dir(monkeypatch):
    monkeypatch.delenv("QUIZ_DB", raising=False)
    s = QuizSettings(_env_file=None)
    assert s.db_path == Path.home() / ".local/share/ecs-workbook/progress.sqlite"
    assert s.bank_dir.name == "bank" and s.bank_dir.parent.name == "quizzes"


def test_quiz_db_env_overrides(monkeypatch, tmp_path):
    monkeypatch.setenv("QUIZ_DB", str(tmp_path / "p.sqlite"))
    get_settings.cache_clear()
    try:
        assert get_settings().db_path == tmp_path / "p.sqlite"
    finally:
        get_settings.cache_clear()


def test_unresolved_computed_answer_cannot_be_exported():
    item = NumericItem.model_validate(
        {
            "id": "costs-900",
            "type": "numeric",
            "chapter": "13",
            "difficulty": 1,
            "guide_section": "x",
            "question": "q",
            "explanation": "e",
            "compute": {"function": "deploy.models.prices.monthly", "kwargs": {"hourly": 1.0}},
        }
    )
    with pytest.raises(QuizError, match="not resolved"):
        front_back(item)
