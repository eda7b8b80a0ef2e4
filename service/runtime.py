"""Build the service's parts once per app and load the slow ones in the background."""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING

from service.chat import ChatService
from service.errors import StorageError
from service.library import Library
from service.quota import MB, Quota
from service.sandbox import Sandbox
from service.sessions import SessionStore
from service.storage import Deferred, make_document_store, make_history_store
from service.uploads import Uploads

if TYPE_CHECKING:
    from service.aws import AwsContext
    from service.config import Settings

log = logging.getLogger("service.runtime")
SWEEP_EVERY_S = 3600.0  # how often idle sessions are looked for (more often for short TTLs)


class Runtime:
    """The parts one app serves with: session store, notes library, chat and uploads."""

    def __init__(self, settings: Settings, aws: AwsContext) -> None:
        self.settings = settings
        self.sessions = SessionStore(
            make_document_store(settings, aws),
            make_history_store(settings, aws),
            settings.embeddings,
            quota=Quota.of(settings),
            cache_bytes=int(settings.index_cache_mb * MB),
            idle_ttl_s=settings.session_idle_ttl_hours * 3600,
            staging=settings.data_dir / "staging",
        )
        self.library = Library(
            settings.library_dir,
            settings.data_dir / "library",
            settings.embeddings,
            prebuilt=settings.library_index_dir,
        )
        self.chat = ChatService(settings, self.sessions, self.library)
        self.parser = Sandbox()  # the PDF parser's children, stopped with the app
        self.uploads = Uploads(settings, self.sessions, self.parser)
        self._loaded = threading.Event()
        self._thread: threading.Thread | None = None
        self._stopped = threading.Event()

    def start(self) -> None:
        """Load the stores' clients, the answerer and the library in a background thread.

        With SESSION_IDLE_TTL_HOURS set, that thread then sweeps idle sessions away: once
        loaded, then hourly (four times per TTL when the TTL is under four hours).
        """
        if self._thread is not None:  # idempotent: a second lifespan reuses the first load
            return
        self._thread = threading.Thread(target=self._run, name="runtime-loader", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the idle-session sweep and the PDF parser's spare child (at app shutdown)."""
        self._stopped.set()
        self.parser.close()

    def sweep(self) -> int:
        """Expire idle sessions now; return how many were removed (errors are logged)."""
        try:
            return self.sessions.expire_idle()
        except Exception:  # a store outage: the next sweep tries again
            log.exception("cannot sweep idle sessions")
            return 0

    def _run(self) -> None:
        self._load()
        ttl = self.sessions.idle_ttl_s
        if not ttl:
            return
        every = min(SWEEP_EVERY_S, ttl / 4)
        while not self._stopped.is_set():
            if removed := self.sweep():
                log.info("idle sessions expired", extra={"sessions": removed})
            self._stopped.wait(every)

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
            self.sessions.prune_staging()
            self.parser.warm()  # the PDF parser's first child: the first PDF upload need not wait
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
