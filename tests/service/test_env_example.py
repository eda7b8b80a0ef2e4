"""`.env.example` documents every variable of every package's Settings."""

from __future__ import annotations

import re

import pytest

from deploy.aws.settings import DeploySettings
from quizzes.config import QuizSettings
from service.config import REPO_DIR, Settings

EXAMPLE = REPO_DIR / ".env.example"


def documented() -> set[str]:
    text = EXAMPLE.read_text()
    return set(re.findall(r"^(?:# )?([A-Z][A-Z0-9_]*)=", text, flags=re.M))


@pytest.mark.parametrize("settings_class", [Settings, DeploySettings, QuizSettings])
def test_every_variable_is_documented(settings_class):
    names = {f.validation_alias for f in settings_class.model_fields.values()}
    assert names - documented() == set()


def test_the_uncommented_values_are_valid_settings(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text(EXAMPLE.read_text())
    s = Settings(_env_file=env_file)
    assert (s.env, s.port, s.llm_provider) == ("development", 8080, "offline")
    DeploySettings(_env_file=env_file)
    QuizSettings(_env_file=env_file)
