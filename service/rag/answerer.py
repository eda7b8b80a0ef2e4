"""Gather the answerers: the offline extractive default, the LLM one and their factory."""

from service.rag.answers import DONT_KNOW, Answer, Answerer, Citation
from service.rag.extractive import ExtractiveAnswerer
from service.rag.llm import LLMAnswerer
from service.rag.providers import KNOWN as PROVIDERS
from service.rag.providers import make_answerer

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
