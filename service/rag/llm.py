"""Answer with a chat model, from the retrieved context only, with citations."""

from __future__ import annotations

import re

from langchain_core.language_models import BaseChatModel
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate, MessagesPlaceholder

from service.rag.answers import (
    DONT_KNOW,
    Answer,
    Citation,
    History,
    Hit,
    Weight,
    citation_for,
    refusal,
)
from service.rag.history import CONDENSE_SYSTEM, check_history
from service.rag.relevance import worth_asking

ANSWER_SYSTEM = (
    "You answer questions about deploying an LLM service on AWS ECS Fargate. "
    "Use ONLY the numbered context passages below; do not use outside knowledge. "
    "Answer in at most three sentences, the asked-for figure first when the question asks "
    "how long, how many or how much, and end each sentence with the passage it rests on, "
    "as [1], [2], ... The question may use its own words for what the passages name "
    "(slang, a nickname, a description): answer it when a passage does. If no passage "
    f'answers it, reply exactly: "{DONT_KNOW}"\n\nContext:\n{{context}}'
)

ANSWER_PROMPT = ChatPromptTemplate.from_messages(
    [("system", ANSWER_SYSTEM), ("human", "{question}")]
)
CONDENSE_PROMPT = ChatPromptTemplate.from_messages(
    [
        ("system", CONDENSE_SYSTEM),
        MessagesPlaceholder("history"),
        ("human", "{question}"),
    ]
)


def format_context(hits: list[Hit]) -> str:
    """Number the retrieved chunks and label each with its source and page."""
    blocks = []
    for n, (doc, _) in enumerate(hits, start=1):
        page = doc.metadata.get("page")
        where = doc.metadata.get("source", "unknown") + (f", page {page}" if page else "")
        blocks.append(f"[{n}] ({where})\n{doc.page_content}")
    return "\n\n".join(blocks)


# A reply that declines in its own words ("The passages do not mention ...") instead of the
# exact DONT_KNOW it was asked for; one that cites a passage is an answer, however hedged.
_DECLINES = re.compile(
    r"^\W*I (don't|do not) know\b"
    r"|\b(cannot|can ?not|can't|unable to) (answer|tell|find|say)\b"
    r"|\bno (information|mention|answer)\b"
    r"|\b(passages?|context|documents?|notes|sources?)\b[^.]*\b(do|does|did)(n't| not) "
    r"(say|mention|contain|cover|answer|include|address|specify|state|give)\b",
    re.IGNORECASE,
)
_MARKER = re.compile(r"( ?)\[(\d+)\]")  # with the space before it, dropped along with it


def cite(text: str, hits: list[Hit]) -> tuple[str, list[Citation]]:
    """Cite the passages the text's [n] markers name, renumbered in order of first mention.

    Passages from one section of one source share a citation. A marker naming no passage is
    dropped; a text with no marker at all cites every passage it was given.
    """
    numbers: dict[int, int] = {}  # passage number -> citation number
    places: dict[tuple, int] = {}  # (source, page, section) -> citation number
    citations: list[Citation] = []

    def number(n: int) -> int:
        if n not in numbers:
            doc = hits[n - 1][0]
            c = citation_for(doc, doc.page_content)
            if (place := (c.source, c.page, c.section)) not in places:
                citations.append(c)
                places[place] = len(citations)
            numbers[n] = places[place]
        return numbers[n]

    def renumber(match: re.Match[str]) -> str:
        space, n = match.group(1), int(match.group(2))
        return f"{space}[{number(n)}]" if 1 <= n <= len(hits) else ""

    marked = _MARKER.sub(renumber, text)
    if not citations:
        for n in range(1, len(hits) + 1):
            number(n)
    return marked.strip(), citations


def declines(text: str, passages: int) -> bool:
    """Tell whether a reply says the passages do not answer (and cites none of them)."""
    if text.startswith(DONT_KNOW[:12]):
        return True
    cited = any(1 <= int(n) <= passages for _, n in _MARKER.findall(text))
    return not cited and bool(_DECLINES.search(text))


class LLMAnswerer:
    """Answer with a chat model told to use only the retrieved context; cite what it cites."""

    judges_relevance = True  # the model says when the passages do not answer

    def __init__(self, chat_model: BaseChatModel) -> None:
        self.chat_model = chat_model
        self._answer_chain = ANSWER_PROMPT | chat_model | StrOutputParser()
        self._condense_chain = CONDENSE_PROMPT | chat_model | StrOutputParser()

    def condense(self, question: str, history: History) -> str:
        """Ask the model to rewrite a follow-up as a standalone question."""
        check_history(history)
        if not history:
            return question
        messages = [("human" if role == "user" else "ai", text) for role, text in history]
        rewritten = self._condense_chain.invoke({"history": messages, "question": question})
        return rewritten.strip() or question

    def answer(self, question: str, hits: list[Hit], weight: Weight | None = None) -> Answer:
        """Let the model answer from the hits worth reading; with none, refuse without a call."""
        hits = worth_asking(question, hits, weight)
        if not hits:
            return refusal(question)
        text = self._answer_chain.invoke(
            {"context": format_context(hits), "question": question}
        ).strip()
        if not text or declines(text, len(hits)):
            return refusal(question, text or DONT_KNOW)
        text, citations = cite(text, hits)
        return Answer(
            text=text,
            citations=citations,
            grounded=True,
            standalone_question=question,
            sources=[c.source for c in citations],
        )
