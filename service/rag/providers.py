"""Build the answerer for an LLM provider name through LangChain's init_chat_model."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple

from service.rag.errors import ProviderError

if TYPE_CHECKING:
    from service.rag.answers import Answerer


class Provider(NamedTuple):
    """How one LLM_PROVIDER value maps onto init_chat_model; its extra has the same name."""

    langchain_name: str  # init_chat_model's model_provider
    package: str  # the integration module init_chat_model imports
    default_model: str


PROVIDERS: dict[str, Provider] = {
    "groq": Provider("groq", "langchain_groq", "llama-3.1-8b-instant"),
    "google": Provider("google_genai", "langchain_google_genai", "gemini-2.5-flash"),
    "bedrock": Provider(
        "bedrock_converse", "langchain_aws", "anthropic.claude-3-haiku-20240307-v1:0"
    ),
    "ollama": Provider("ollama", "langchain_ollama", "llama3.2"),
}
KNOWN = ("offline", *PROVIDERS)


def model_name(provider: str, model: str | None = None) -> str:
    """Return the model a provider runs: LLM_MODEL when set, else the provider's default."""
    return model or PROVIDERS[provider].default_model


def chat_kwargs(
    provider: str, api_key: str | None, base_url: str | None, region: str | None
) -> dict[str, Any]:
    """Map the common settings onto the keyword arguments each chat class takes."""
    kw: dict[str, Any] = {"temperature": 0}
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


def missing_package(provider: str, package: str) -> ProviderError:
    """Return the error that names the package and the extra that installs it."""
    return ProviderError(
        f"LLM_PROVIDER={provider} needs the {package} package: "
        f"pip install 'ecs-workbook[{provider}]'"
    )


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
    spec = PROVIDERS[name]
    kwargs = chat_kwargs(name, api_key, base_url, region)
    try:
        # Here, not at the top: langchain imports the chat-model stack (about a second), which
        # the offline answerer never needs; the provider extras install it, the image does not.
        from langchain.chat_models import init_chat_model
    except ImportError as exc:
        raise missing_package(name, "langchain") from exc
    try:
        chat_model = init_chat_model(
            model_name(name, model), model_provider=spec.langchain_name, **kwargs
        )
    except ImportError as exc:  # init_chat_model imports the integration package by name
        raise missing_package(name, spec.package) from exc
    except Exception as exc:  # each client validates its settings in its own way
        raise ProviderError(f"cannot create the {name} chat model: {exc}") from exc
    from service.rag.llm import LLMAnswerer

    return LLMAnswerer(chat_model)
