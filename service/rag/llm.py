"""Answer with a chat model, from the retrieved context only, with citations."""

from __future__ import annotations

from langchain_core.language_models import BaseChatModel
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate, MessagesPlaceholder

from service.rag.answers import DONT_KNOW, Answer, History, Hit, Weight, citation_for, refusal
from service.rag.history import CONDENSE_SYSTEM, check_history
from service.rag.relevance import MIN_SCORE, relevant_hits

ANSWER_SYSTEM = (
    "You answer questions about deploying an LLM service on AWS ECS Fargate. "
    "Use ONLY the numbered context passages below; do not use outside knowledge. "
    "Cite the passages you use as [1], [2], ... If the context does not contain the "
    f'answer, reply exactly: "{DONT_KNOW}"\n\nContext:\n{{context}}'
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


class LLMAnswerer:
    """Answer with a chat model told to use only the retrieved context; cite that context."""

    def __init__(self, chat_model: BaseChatModel, *, min_score: float = MIN_SCORE) -> None:
        self.chat_model = chat_model
        self.min_score = min_score
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
        """Answer from relevant hits only; without any, refuse without calling the model."""
        hits = relevant_hits(question, hits, self.min_score, weight)
        if not hits:
            return refusal(question)
        text = self._answer_chain.invoke(
            {"context": format_context(hits), "question": question}
        ).strip()
        if not text or text.startswith(DONT_KNOW[:12]):
            return refusal(question, text or DONT_KNOW)
        citations = []
        for doc, _ in hits:
            c = citation_for(doc, doc.page_content)
            if all((c.source, c.page) != (o.source, o.page) for o in citations):
                citations.append(c)
        return Answer(
            text=text,
            citations=citations,
            grounded=True,
            standalone_question=question,
            sources=[c.source for c in citations],
        )
