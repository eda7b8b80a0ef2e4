"""Define the errors the RAG core raises."""

from __future__ import annotations


class RagError(Exception):
    """Signal any failure of the RAG core (ingest, index, answerer, provider)."""


class IngestError(RagError):
    """Signal that an uploaded file could not be turned into documents."""

    def __init__(self, filename: str, problem: str) -> None:
        self.filename = filename
        self.problem = problem
        super().__init__(f"{filename}: {problem}")


class UnsupportedTypeError(IngestError):
    """Signal a file whose type the loaders do not read."""


class EmptyDocumentError(IngestError):
    """Signal a file with no extractable text."""


class CorruptDocumentError(IngestError):
    """Signal a file that cannot be parsed."""


class EncryptedDocumentError(IngestError):
    """Signal a password-protected PDF."""


class IndexLoadError(RagError):
    """Signal a saved index that is missing, corrupt or incompatible."""


class ProviderError(RagError):
    """Signal an unknown LLM provider or a provider whose package is not installed."""
