"""Fixtures for the quiz engine tests: a small fixture bank, a temp progress DB, settings."""

import shutil
import textwrap
from pathlib import Path

import pytest

from quizzes.config import get_settings
from quizzes.loader import load_bank
from quizzes.progress import ProgressStore

DATA = Path(__file__).parent / "data"


@pytest.fixture
def data_dir() -> Path:
    return DATA


@pytest.fixture
def bank():
    return load_bank(DATA / "bank", DATA / "sections.yaml")


@pytest.fixture
def store(tmp_path):
    with ProgressStore(tmp_path / "progress.sqlite") as s:
        yield s


@pytest.fixture
def bank_copy(tmp_path) -> Path:
    """A writable copy of the fixture bank (bank/ + sections.yaml) in tmp_path."""
    shutil.copytree(DATA / "bank", tmp_path / "bank")
    shutil.copy(DATA / "sections.yaml", tmp_path / "sections.yaml")
    return tmp_path


@pytest.fixture
def write_topic(bank_copy):
    """Write quizzes/bank/<name>.yaml from dedented text and return its path."""

    def write(name: str, text: str) -> Path:
        path = bank_copy / "bank" / f"{name}.yaml"
        path.write_text(textwrap.dedent(text).lstrip("\n"))
        return path

    return write


@pytest.fixture
def quiz_env(monkeypatch, tmp_path):
    """Point QuizSettings at the fixture bank and a temp DB (as a user would via env vars)."""
    db = tmp_path / "share" / "progress.sqlite"
    monkeypatch.setenv("QUIZ_DB", str(db))
    monkeypatch.setenv("QUIZ_BANK_DIR", str(DATA / "bank"))
    monkeypatch.setenv("QUIZ_SECTIONS", str(DATA / "sections.yaml"))
    get_settings.cache_clear()
    yield db
    get_settings.cache_clear()
