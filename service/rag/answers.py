"""Define what an answerer returns and the interface every answerer follows."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from service.notes import note_url

if TYPE_CHECKING:  # the stores import Citation: keep langchain off the start-up path
    from langchain_core.documents import Document

DONT_KNOW = "I don't know: nothing in the indexed documents answers that question."

History = list[tuple[str, str]]
Hit = tuple["Document", float]
Weight = Callable[[str], float]


@dataclass(frozen=True)
class Citation:
    """Point at the text an answer relies on (returned by /chat and kept in history)."""

    source: str
    page: int | None
    snippet: str
    section: str | None = None  # the Markdown heading the text is under
    url: str | None = None  # the library note's page at that section; None for an upload

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Citation:
        """Build a citation from its JSON form (as stored with a history message)."""
        return cls(
            source=data["source"],
            page=data.get("page"),
            snippet=data.get("snippet", ""),
            section=data.get("section"),  # absent in history stored before sections
            url=data.get("url"),
        )


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

    # True for an answerer that reads meaning (a chat model): it decides itself whether the
    # chunks answer the question, so the chain does not refuse for it on word evidence alone
    # (a name no document uses may be a near-miss's own word for something they do cover).
    judges_relevance: bool

    def condense(self, question: str, history: History) -> str:
        """Return the question rewritten to stand alone, using earlier turns."""
        ...

    def answer(self, question: str, hits: list[Hit], weight: Weight | None = None) -> Answer:
        """Answer from (chunk, similarity) hits, best first; refuse when none is relevant.

        `weight` gives a term's weight in the indexed text (its IDF); without it every
        question term weighs the same.
        """
        ...


def trim(text: str, limit: int = 300) -> str:
    """Collapse whitespace and cut text to at most `limit` characters."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def citation_for(doc: Document, snippet: str) -> Citation:
    """Build a citation for a chunk with a trimmed snippet, its section and, for a note, a link."""
    meta = doc.metadata
    source = str(meta.get("source", "unknown"))
    page, section = meta.get("page"), meta.get("section")
    section = section if isinstance(section, str) and section else None
    return Citation(
        source=source,
        page=page if isinstance(page, int) else None,
        snippet=trim(snippet),
        section=section,
        # Only the notes library is served: an upload of the same name must not link to it.
        url=note_url(source, section) if meta.get("library") is True else None,
    )


def refusal(question: str, reason: str = DONT_KNOW) -> Answer:
    """Return the plain "I don't know" answer (no citations, not grounded)."""
    return Answer(text=reason, citations=[], grounded=False, standalone_question=question)
