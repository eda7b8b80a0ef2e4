"""Define what an answerer returns and the interface every answerer follows."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:  # the stores import Citation: keep langchain off the start-up path
    from langchain_core.documents import Document

DONT_KNOW = "I don't know: nothing in the indexed documents answers that question."

History = list[tuple[str, str]]
Hit = tuple["Document", float]


@dataclass(frozen=True)
class Citation:
    """Point at the text an answer relies on (returned by /chat and kept in history)."""

    source: str
    page: int | None
    snippet: str

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Citation:
        """Build a citation from its JSON form (as stored with a history message)."""
        return cls(source=data["source"], page=data.get("page"), snippet=data.get("snippet", ""))


@dataclass
class Answer:
    """Hold an answer, the citations backing it and whether it is grounded in them."""

    text: str
    citations: list[Citation]
    grounded: bool
    # The question as retrieval saw it (after history-aware rewriting).
    standalone_question: str = ""
    sources: list[str] = field(default_factory=list)


class Answerer(Protocol):
    """Answer a question from retrieved chunks; rewrite follow-ups into standalone questions."""

    def condense(self, question: str, history: History) -> str:
        """Return the question rewritten to stand alone, using earlier turns."""
        ...

    def answer(self, question: str, hits: list[Hit]) -> Answer:
        """Answer from (chunk, similarity) hits, best first; refuse when none is relevant."""
        ...


def trim(text: str, limit: int = 300) -> str:
    """Collapse whitespace and cut text to at most `limit` characters."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def citation_for(doc: Document, snippet: str) -> Citation:
    """Build a citation for a chunk with a trimmed snippet."""
    page = doc.metadata.get("page")
    return Citation(
        source=str(doc.metadata.get("source", "unknown")),
        page=page if isinstance(page, int) else None,
        snippet=trim(snippet),
    )


def refusal(question: str, reason: str = DONT_KNOW) -> Answer:
    """Return the plain "I don't know" answer (no citations, not grounded)."""
    return Answer(text=reason, citations=[], grounded=False, standalone_question=question)
