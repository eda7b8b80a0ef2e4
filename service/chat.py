"""Answer chat messages: check the message, load the session once, ask the chain, keep history."""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING

from service.errors import AnswerError, InvalidInputError, NotReadyError
from service.library import LIBRARY_WAIT_S, Library
from service.rag.errors import RagError
from service.sessions import Session, SessionStore

if TYPE_CHECKING:
    from service.config import Settings
    from service.rag.answers import Answer, Answerer, History
    from service.rag.chain import RagChain
    from service.rag.vectorstore import FaissStore

log = logging.getLogger("service.chat")


def check_message(message: str, max_chars: int) -> str:
    """Return the message without surrounding blanks, or raise InvalidInputError saying why."""
    message = message.strip()
    if not message:
        raise InvalidInputError("message: must not be empty")
    if len(message) > max_chars:
        raise InvalidInputError(
            f"message: {len(message)} characters, at most {max_chars} allowed (MAX_MESSAGE_CHARS)"
        )
    return message


def answerer_for(settings: Settings) -> Answerer:
    """Return the answerer LLM_PROVIDER names, with its model, key and endpoint."""
    # The providers module imports a chat model's prompt stack only for a real provider.
    from service.rag.providers import make_answerer as for_provider

    key = {"groq": settings.groq_api_key, "google": settings.google_api_key}.get(
        settings.llm_provider
    )
    return for_provider(
        settings.llm_provider,
        model=settings.llm_model,
        api_key=key.get_secret_value() if key else None,
        base_url=settings.ollama_base_url if settings.llm_provider == "ollama" else None,
        region=settings.aws_region,
    )


class ChatService:
    """Answer a session's questions from its stores with one chain, built once at start-up."""

    def __init__(self, settings: Settings, sessions: SessionStore, library: Library) -> None:
        self.settings = settings
        self.sessions = sessions
        self.library = library
        self.state = "loading"  # then "ok" or "error: ..." (shown by /ready)
        self._chain: RagChain | None = None
        self._loaded = threading.Event()

    def load(self) -> None:
        """Make the answerer and its chain (the start-up loader calls this)."""
        try:
            # The chain imports numpy and FAISS: seconds the start-up path does not pay.
            from service.rag.chain import RagChain

            self._chain = RagChain(answerer_for(self.settings), k=self.settings.retrieval_k)
            self.state = "ok"
        except Exception as exc:  # reported by /ready; the process stays up to say so
            self.state = f"error: {exc}"
            log.exception("cannot make the answerer")
        finally:
            self._loaded.set()

    def answers_without_io(self, session_id: str) -> bool:
        """Say whether answering `session_id` is pure CPU: offline, stateless, all loaded."""
        s = self.settings
        return (
            self.sessions.is_builtin(session_id)
            and s.llm_provider == "offline"
            and s.embeddings == "hashing"
            and self.library.ready
            and self._chain is not None
        )

    def ask(self, session_id: str, message: str) -> Answer:
        """Answer a message from the session's documents (and the notes if it searches them)."""
        question = check_message(message, self.settings.max_message_chars)
        session = self.sessions.get(session_id)
        stores = self._stores(session)
        turns = self.sessions.messages(session, limit=2 * self.settings.history_turns)
        answer = self._answer(session, stores, question, [(m.role, m.text) for m in turns])
        self.sessions.record(session, question, answer)
        return answer

    def _stores(self, session: Session) -> list[FaissStore]:
        index = self.sessions.index(session)
        stores = [index] if index is not None else []
        if session.library:
            stores.append(self.library.store())
        return stores

    def _answer(
        self, session: Session, stores: list[FaissStore], question: str, history: History
    ) -> Answer:
        self._loaded.wait(LIBRARY_WAIT_S)  # the answerer is made by the start-up loader
        if self._chain is None:
            raise NotReadyError("the answerer is not available: see /ready")
        try:
            return self._chain.ask(stores, question, history)
        except RagError as exc:
            raise InvalidInputError(str(exc)) from exc
        except Exception as exc:  # a provider's network or quota error
            log.exception("answerer failed", extra={"session_id": session.id})
            raise AnswerError(f"the {self.settings.llm_provider} model failed to answer") from exc
