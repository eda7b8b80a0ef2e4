"""Settings: the guide's names, defaults, production refusals, secrets kept secret."""

from __future__ import annotations

import re

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
    s = make_settings(ENV="production", LLM_PROVIDER=" Groq ", GROQ_API_KEY="gsk_real")
    assert (s.env, s.llm_provider) == ("production", "groq")
    assert s.groq_api_key.get_secret_value() == "gsk_real"
    offline = make_settings(ENV="production")
    assert (offline.env, offline.llm_provider, offline.groq_api_key) == (
        "production",
        "offline",
        None,
    )


def test_development_starts_without_keys(make_settings):
    assert make_settings(LLM_PROVIDER="groq").groq_api_key is None


@pytest.mark.parametrize("origins", ["*", "https://a.example,*", "*, https://a.example"])
def test_production_refuses_a_wildcard_alone_or_in_a_list(make_settings, origins):
    with pytest.raises(ValidationError, match="CORS_ORIGINS"):
        make_settings(ENV="production", CORS_ORIGINS=origins)


def test_development_accepts_a_wildcard_alone_but_not_beside_origins(make_settings):
    assert make_settings(CORS_ORIGINS=" * ").cors_origins == ["*"]
    with pytest.raises(ValidationError, match="CORS_ORIGINS lists '\\*' beside origins"):
        make_settings(CORS_ORIGINS="https://a.example,*")


@pytest.mark.parametrize(
    "entry",
    [
        "https://a.example/",
        "https://a.example/path",
        "a.example",
        "https://A.example",
        "https://*.example",
        "null",
        "ftp://a.example",
    ],
)
def test_an_entry_that_is_not_an_origin_is_refused(make_settings, entry):
    with pytest.raises(ValidationError, match=f"CORS_ORIGINS entry '{re.escape(entry)}'"):
        make_settings(CORS_ORIGINS=f"https://ok.example,{entry}")


def test_origins_with_ports_and_addresses_are_accepted(make_settings):
    origins = "https://a.example,http://localhost:8888,http://127.0.0.1:8080,http://[::1]:3000"
    s = make_settings(ENV="production", CORS_ORIGINS=origins)
    assert s.cors_origins == origins.split(",")


def test_request_and_connection_limits_have_defaults_and_are_read(make_settings):
    s = make_settings()
    assert (s.max_json_kb, s.max_concurrency, s.keep_alive_s) == (64, 100, 65)
    s = make_settings(MAX_JSON_KB="8", MAX_CONCURRENCY="20", KEEP_ALIVE_S="75")
    assert (s.max_json_kb, s.max_concurrency, s.keep_alive_s) == (8, 20, 75)
    for variable in ("MAX_JSON_KB", "MAX_CONCURRENCY", "KEEP_ALIVE_S"):
        with pytest.raises(ValidationError, match=variable):
            make_settings(**{variable: "0"})


@pytest.mark.parametrize(
    ("env", "enable_docs", "served"),
    [
        ("development", None, True),
        ("staging", None, True),
        ("production", None, False),
        ("production", "true", True),
        ("development", "false", False),
    ],
)
def test_docs_are_off_in_production_unless_enabled(make_settings, env, enable_docs, served):
    extra = {"ENABLE_DOCS": enable_docs} if enable_docs else {}
    assert make_settings(ENV=env, **extra).docs_enabled is served


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
