"""Test the provider factory: init_chat_model dispatch, its errors, and the offline import cost."""

from __future__ import annotations

import subprocess
import sys

import pytest
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage

from service.rag.errors import ProviderError, RagError
from service.rag.extractive import ExtractiveAnswerer
from service.rag.llm import LLMAnswerer
from service.rag.providers import make_answerer

# provider, its LangChain integration module, the settings given, the class it must build and
# the attributes that class must end up with (the default model when none is named)
REAL = [
    ("groq", "langchain_groq", {"api_key": "gsk-test"}, "ChatGroq",
     {"model_name": "llama-3.1-8b-instant", "groq_api_key": "gsk-test"}),
    ("google", "langchain_google_genai", {"api_key": "g-test"}, "ChatGoogleGenerativeAI",
     {"model": "gemini-2.5-flash", "google_api_key": "g-test"}),
    ("bedrock", "langchain_aws",
     {"region": "eu-west-1", "base_url": "http://127.0.0.1:4566"}, "ChatBedrockConverse",
     {"model_id": "anthropic.claude-3-haiku-20240307-v1:0", "region_name": "eu-west-1",
      "endpoint_url": "http://127.0.0.1:4566"}),
    ("ollama", "langchain_ollama", {"base_url": "http://127.0.0.1:11434"}, "ChatOllama",
     {"model": "llama3.2", "base_url": "http://127.0.0.1:11434"}),
]  # fmt: skip


def plain(value: object) -> object:
    """Return a SecretStr's value, anything else as it is."""
    reveal = getattr(value, "get_secret_value", None)
    return reveal() if reveal else value


@pytest.fixture
def record_init(monkeypatch) -> list[tuple[tuple, dict]]:
    """Replace init_chat_model with one that records its call and returns a fake chat model."""
    calls: list[tuple[tuple, dict]] = []

    def fake_init(*args, **kwargs):
        calls.append((args, kwargs))
        return GenericFakeChatModel(messages=iter([AIMessage(content="Per second [1].")]))

    monkeypatch.setattr("langchain.chat_models.init_chat_model", fake_init)
    return calls


@pytest.fixture
def forget_imported_chat_classes():
    """Make init_chat_model import the integration again (it caches each provider's class)."""
    from langchain.chat_models import base

    base._get_chat_model_creator.cache_clear()
    yield
    base._get_chat_model_creator.cache_clear()


def test_offline_is_the_extractive_answerer():
    assert isinstance(make_answerer("offline"), ExtractiveAnswerer)
    assert isinstance(make_answerer(" OFFLINE "), ExtractiveAnswerer)


@pytest.mark.parametrize(("provider", "module", "settings", "cls", "attrs"), REAL)
def test_each_provider_builds_its_chat_class_with_the_settings_mapped(
    provider, module, settings, cls, attrs
):
    pytest.importorskip(module)
    answerer = make_answerer(provider, **settings)
    assert isinstance(answerer, LLMAnswerer)
    chat = answerer.chat_model
    assert type(chat).__name__ == cls and type(chat).__module__.startswith(module)
    assert {name: plain(getattr(chat, name)) for name in attrs} == attrs
    assert chat.temperature == pytest.approx(0, abs=1e-6)  # Groq stores 0 as 1e-8


def test_bedrock_defaults_to_us_east_1_and_the_aws_endpoint():
    pytest.importorskip("langchain_aws")
    chat = make_answerer("bedrock").chat_model
    assert (chat.region_name, chat.endpoint_url) == ("us-east-1", None)


def test_the_model_setting_replaces_the_default_model():
    pytest.importorskip("langchain_ollama")
    assert make_answerer("ollama", model="llama3.2:1b").chat_model.model == "llama3.2:1b"


@pytest.mark.parametrize(
    ("provider", "settings", "expected"),
    [
        ("groq", {"api_key": "k"}, ("groq", {"temperature": 0, "api_key": "k"})),
        ("google", {"api_key": "k"}, ("google_genai", {"temperature": 0, "api_key": "k"})),
        ("bedrock", {"region": "eu-west-1"},
         ("bedrock_converse", {"temperature": 0, "region_name": "eu-west-1"})),
        ("ollama", {"base_url": "http://127.0.0.1:11434"},
         ("ollama", {"temperature": 0, "base_url": "http://127.0.0.1:11434"})),
    ],
)  # fmt: skip
def test_a_chat_model_from_init_chat_model_answers_with_citations(
    record_init, store, provider, settings, expected
):
    answerer = make_answerer(provider, model="m1", **settings)
    [(args, kwargs)] = record_init
    langchain_name, chat_settings = expected
    assert args == ("m1",)
    assert kwargs == {"model_provider": langchain_name, **chat_settings}
    question = "How is Fargate billed?"
    answer = answerer.answer(question, store.similarity_search_with_score(question, k=3))
    assert answer.grounded and answer.text == "Per second [1]."
    assert answer.citations[0].source == "fargate.md"


@pytest.mark.parametrize(
    ("provider", "module"),
    [
        ("groq", "langchain_groq"),
        ("google", "langchain_google_genai"),
        ("bedrock", "langchain_aws"),
        ("ollama", "langchain_ollama"),
    ],
)
def test_a_missing_integration_package_names_the_extra(
    monkeypatch, forget_imported_chat_classes, provider, module
):
    monkeypatch.setitem(sys.modules, module, None)  # makes `import module` fail
    with pytest.raises(ProviderError) as info:
        make_answerer(provider, api_key="k")
    assert str(info.value) == (
        f"LLM_PROVIDER={provider} needs the {module} package: pip install 'ecs-workbook[{provider}]'"
    )
    assert isinstance(info.value, RagError)


def test_a_missing_langchain_package_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "langchain.chat_models", None)
    with pytest.raises(
        ProviderError, match=r"needs the langchain package: .*'ecs-workbook\[groq\]'"
    ):
        make_answerer("groq", api_key="k")


def test_a_client_refusing_its_settings_is_a_provider_error(monkeypatch):
    def refuse(*args, **kwargs):
        raise ValueError("bad endpoint")

    monkeypatch.setattr("langchain.chat_models.init_chat_model", refuse)
    with pytest.raises(ProviderError, match="cannot create the ollama chat model: bad endpoint"):
        make_answerer("ollama", base_url="not a url")


def test_an_unknown_provider_lists_the_choices():
    with pytest.raises(ProviderError) as info:
        make_answerer("openai")
    assert str(info.value) == (
        "unknown LLM provider 'openai'; choose one of offline, groq, google, bedrock, ollama"
    )


@pytest.mark.parametrize("provider", ["groq", "google"])
@pytest.mark.parametrize("key", [None, ""])
def test_hosted_providers_need_an_api_key(record_init, provider, key):
    with pytest.raises(ProviderError, match=f"LLM_PROVIDER={provider} needs an API key"):
        make_answerer(provider, api_key=key)
    assert record_init == []  # refused before any client is built


def test_the_offline_answerer_imports_neither_langchain_nor_the_llm_stack():
    heavy = (
        "langchain",
        "langchain.chat_models",
        "langchain_core.prompts",
        "langchain_core.language_models.chat_models",
        "langchain_core.output_parsers",
        "service.rag.llm",
    )
    code = (
        "import sys; from service.rag.providers import make_answerer; make_answerer('offline');"
        f"print(','.join(m for m in {heavy!r} if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert out.stdout.strip() == ""
