"""The typer app: `serve` exists and bad configuration is reported without a traceback."""

from __future__ import annotations

from typer.testing import CliRunner

from service.cli import app
from service.config import get_settings


def test_serve_is_a_command():
    result = CliRunner().invoke(app, ["serve", "--help"])
    assert result.exit_code == 0
    assert "--port" in result.output


def test_bad_production_config_exits_2_naming_the_variable(monkeypatch):
    monkeypatch.setenv("ENV", "production")
    monkeypatch.setenv("LLM_PROVIDER", "google")
    monkeypatch.delenv("GOOGLE_API_KEY", raising=False)
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["serve"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 2
    assert "GOOGLE_API_KEY" in result.output
