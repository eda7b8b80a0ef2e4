"""The quizzes package's one Settings class."""

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from service.config import ENV_FILE

PACKAGE_DIR = Path(__file__).resolve().parent
Grader = Literal["offline", "llm"]
GRADERS: tuple[Grader, ...] = ("offline", "llm")


def _default_db() -> Path:
    # The XDG-style user data dir; shared by the CLI and the notebook widget.
    return Path.home() / ".local" / "share" / "ecs-workbook" / "progress.sqlite"


class QuizSettings(BaseSettings):
    """Where the bank lives, where progress is stored, who grades free text (env QUIZ_*)."""

    model_config = SettingsConfigDict(env_file=ENV_FILE, extra="ignore", env_ignore_empty=True)

    db_path: Path = Field(default_factory=_default_db, validation_alias="QUIZ_DB")
    bank_dir: Path = Field(PACKAGE_DIR / "bank", validation_alias="QUIZ_BANK_DIR")
    sections_path: Path = Field(PACKAGE_DIR / "sections.yaml", validation_alias="QUIZ_SECTIONS")
    # Free-text grading: fraction of a phrasing's content words that must appear together.
    match_threshold: float = Field(0.75, validation_alias="QUIZ_MATCH_THRESHOLD")
    # Who grades free-text answers: the offline rubric matcher, or the chat model the
    # service's LLM_PROVIDER / LLM_MODEL name (quizzes/llmgrade.py); the CLI's --grader wins.
    grader: Grader = Field("offline", validation_alias="QUIZ_GRADER")
    # Seconds the LLM grader waits for a reply before grading that answer offline.
    grader_timeout_s: float = Field(60.0, gt=0, validation_alias="QUIZ_GRADER_TIMEOUT_S")

    @field_validator("grader", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value


@lru_cache
def get_settings() -> QuizSettings:
    """Return the process-wide quiz settings."""
    return QuizSettings()
