"""Gather the answerers: the offline extractive default, the LLM one and their factory."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from service.rag.answers import DONT_KNOW, Answer, Answerer, Citation
from service.rag.extractive import ExtractiveAnswerer
from service.rag.providers import KNOWN as PROVIDERS
from service.rag.providers import make_answerer

if TYPE_CHECKING:
    from service.rag.llm import LLMAnswerer

__all__ = [
    "DONT_KNOW",
    "PROVIDERS",
    "Answer",
    "Answerer",
    "Citation",
    "ExtractiveAnswerer",
    "LLMAnswerer",
    "make_answerer",
]


def __getattr__(name: str) -> Any:
    """Import LLMAnswerer on first use (its prompt stack is slow to import)."""
    if name == "LLMAnswerer":
        from service.rag.llm import LLMAnswerer

        return LLMAnswerer
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
