"""Build the answerer for an LLM provider name, importing provider packages lazily."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from service.rag.errors import ProviderError

if TYPE_CHECKING:
    from service.rag.answers import Answerer

# provider -> (module, chat class, default model, extra name in pyproject.toml)
PROVIDERS: dict[str, tuple[str, str, str, str]] = {
    "groq": ("langchain_groq", "ChatGroq", "llama-3.1-8b-instant", "groq"),
    "google": ("langchain_google_genai", "ChatGoogleGenerativeAI", "gemini-2.5-flash", "google"),
    "bedrock": (
        "langchain_aws",
        "ChatBedrockConverse",
        "anthropic.claude-3-haiku-20240307-v1:0",
        "bedrock",
    ),
    "ollama": ("langchain_ollama", "ChatOllama", "llama3.2", "ollama"),
}
KNOWN = ("offline", *PROVIDERS)


def _chat_kwargs(
    provider: str,
    model: str,
    api_key: str | None,
    base_url: str | None,
    region: str | None,
) -> dict[str, Any]:
    """Map the common settings onto each chat class's own parameter names."""
    kw: dict[str, Any] = {"model": model, "temperature": 0}
    if provider in ("groq", "google"):
        if not api_key:
            raise ProviderError(f"LLM_PROVIDER={provider} needs an API key")
        kw["api_key"] = api_key
    if provider == "bedrock":
        kw["region_name"] = region or "us-east-1"
        if base_url:
            kw["endpoint_url"] = base_url
    if provider == "ollama" and base_url:
        kw["base_url"] = base_url
    return kw


def make_answerer(
    provider: str = "offline",
    *,
    model: str | None = None,
    api_key: str | None = None,
    base_url: str | None = None,
    region: str | None = None,
) -> Answerer:
    """Return the answerer for provider: offline (extractive) or a chat model's."""
    name = (provider or "offline").strip().lower()
    if name == "offline":
        # Only the extractive stack: the prompt/LLM modules cost seconds to import.
        from service.rag.extractive import ExtractiveAnswerer

        return ExtractiveAnswerer()
    if name not in PROVIDERS:
        raise ProviderError(f"unknown LLM provider {provider!r}; choose one of {', '.join(KNOWN)}")
    module_name, class_name, default_model, extra = PROVIDERS[name]
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ProviderError(
            f"LLM_PROVIDER={name} needs the {module_name} package: "
            f"pip install 'ecs-workbook[{extra}]'"
        ) from exc
    chat_class = getattr(module, class_name)
    kwargs = _chat_kwargs(name, model or default_model, api_key, base_url, region)
    try:
        chat_model = chat_class(**kwargs)
    except Exception as exc:  # each client validates its settings in its own way
        raise ProviderError(f"cannot create the {name} chat model: {exc}") from exc
    from service.rag.llm import LLMAnswerer

    return LLMAnswerer(chat_model)
