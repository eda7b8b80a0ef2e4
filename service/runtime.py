"""Build the service's parts once per app and load the slow ones in the background."""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING

from service.chat import ChatService
from service.errors import StorageError
from service.library import Library
from service.sessions import SessionStore
from service.storage import Deferred, make_document_store, make_history_store
from service.uploads import Uploads

if TYPE_CHECKING:
    from service.aws import AwsContext
    from service.config import Settings

log = logging.getLogger("service.runtime")


class Runtime:
    """The parts one app serves with: session store, notes library, chat and uploads."""

    def __init__(self, settings: Settings, aws: AwsContext) -> None:
        self.settings = settings
        self.sessions = SessionStore(
            make_document_store(settings, aws),
            make_history_store(settings, aws),
            settings.embeddings,
        )
        self.library = Library(
            settings.library_dir, settings.data_dir / "library", settings.embeddings
        )
        self.chat = ChatService(settings, self.sessions, self.library)
        self.uploads = Uploads(settings, self.sessions)
        self._loaded = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Load the stores' clients, the answerer and the library in a background thread."""
        if self._thread is not None:  # idempotent: a second lifespan reuses the first load
            return
        self._thread = threading.Thread(target=self._load, name="library-loader", daemon=True)
        self._thread.start()

    def wait_loaded(self, timeout: float | None = None) -> bool:
        """Block until start-up loading has finished (or failed); say whether it finished."""
        return self._loaded.wait(timeout)

    def _load(self) -> None:
        try:
            # Build deferred AWS stores here, not in a request; a failure shows in /ready.
            for store in (self.sessions.history, self.sessions.documents):
                if isinstance(store, Deferred):
                    try:
                        store.resolve()
                    except Exception:
                        log.exception(
                            "cannot create a storage client", extra={"store": repr(store)}
                        )
            self.chat.load()
            self.library.load()
        finally:
            self._loaded.set()

    def checks(self) -> dict[str, str]:
        """Return each dependency's state; "ok"/"ready" means usable."""
        out = {"library": self.library.state, "answerer": self.chat.state}
        for name, store in (
            ("history", self.sessions.history),
            ("documents", self.sessions.documents),
        ):
            try:
                store.check()
                out[name] = "ok"
            except StorageError as exc:
                out[name] = f"error: {exc}"
        return out

    @staticmethod
    def is_ready(checks: dict[str, str]) -> bool:
        """Say whether every check passed (a missing library directory is allowed)."""
        return all(v in ("ok", "ready") or v.startswith("missing") for v in checks.values())
