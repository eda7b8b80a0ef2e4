"""Settings: the guide's names, defaults, production refusals, secrets kept secret."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from service.config import Settings


def test_defaults_are_the_guides(make_settings):
    s = make_settings()
    assert (s.env, s.port, s.log_level, s.llm_provider) == ("development", 8080, "INFO", "offline")
    assert s.library_dir.name == "notes" or s.library_dir.exists()


def test_environment_variables_are_read(monkeypatch, tmp_path):
    monkeypatch.setenv("PORT", "9000")
    monkeypatch.setenv("LLM_PROVIDER", "GROQ")
    monkeypatch.setenv("GROQ_API_KEY", "gsk_abc")
    monkeypatch.setenv("CORS_ORIGINS", "https://a.example, https://b.example")
    s = Settings(_env_file=None)
    assert s.port == 9000
    assert s.llm_provider == "groq"
    assert s.cors_origins == ["https://a.example", "https://b.example"]
    assert s.groq_api_key.get_secret_value() == "gsk_abc"
    assert "gsk_abc" not in repr(s)


@pytest.mark.parametrize(
    ("provider", "variable"), [("groq", "GROQ_API_KEY"), ("google", "GOOGLE_API_KEY")]
)
def test_production_refuses_a_missing_provider_key(make_settings, provider, variable):
    with pytest.raises(ValidationError, match=variable):
        make_settings(ENV="production", LLM_PROVIDER=provider)


def test_production_refuses_a_placeholder_key(make_settings):
    with pytest.raises(ValidationError, match="GROQ_API_KEY"):
        make_settings(ENV="production", LLM_PROVIDER="groq", GROQ_API_KEY="changeme")


def test_production_accepts_a_real_key_and_offline(make_settings):
    assert make_settings(ENV="production", LLM_PROVIDER="groq", GROQ_API_KEY="gsk_real").env
    assert make_settings(ENV="production").llm_provider == "offline"


def test_development_starts_without_keys(make_settings):
    assert make_settings(LLM_PROVIDER="groq").groq_api_key is None


def test_production_refuses_wildcard_cors(make_settings):
    with pytest.raises(ValidationError, match="CORS_ORIGINS"):
        make_settings(ENV="production", CORS_ORIGINS="*")
    assert make_settings(CORS_ORIGINS="*").cors_origins == ["*"]


def test_summary_hides_secret_values(make_settings):
    s = make_settings(GROQ_API_KEY="gsk_hidden", API_KEY="k-hidden")
    summary = s.summary()
    assert summary["groq_api_key"] == "set"
    assert summary["api_key"] == "set"
    assert "hidden" not in str(summary)
    assert set(s.secret_values()) == {"gsk_hidden", "k-hidden"}


def test_bad_values_are_refused(make_settings):
    with pytest.raises(ValidationError, match="PORT"):
        make_settings(PORT="0")
    with pytest.raises(ValidationError, match="LLM_PROVIDER"):
        make_settings(LLM_PROVIDER="openai")


def test_an_embedder_whose_packages_are_missing_stops_start_up(make_settings):
    with pytest.raises(ValidationError, match="EMBEDDINGS=minilm needs torch"):
        make_settings(EMBEDDINGS="minilm")  # the service extra has no PyTorch
    with pytest.raises(ValidationError, match="EMBEDDINGS"):
        make_settings(EMBEDDINGS="word2vec")
    assert make_settings(EMBEDDINGS=" Hashing ").embeddings == "hashing"
