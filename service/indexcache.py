"""Keep recently used session indexes in memory, within a budget in bytes (INDEX_CACHE_MB)."""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from service.rag.vectorstore import FaissStore


class IndexCache:
    """An LRU map of session id to (snapshot version, index), sized by estimated bytes."""

    def __init__(self, budget_bytes: int) -> None:
        self.budget = budget_bytes
        self._entries: OrderedDict[str, tuple[str, FaissStore, int]] = OrderedDict()
        self._lock = threading.Lock()
        self.nbytes = 0  # the estimated size of what is kept

    def get(self, session_id: str, version: str) -> FaissStore | None:
        """Return the session's index if snapshot `version` is kept, marking it recently used."""
        with self._lock:
            hit = self._entries.get(session_id)
            if hit is None or hit[0] != version:
                return None
            self._entries.move_to_end(session_id)
            return hit[1]

    def put(self, session_id: str, version: str, store: FaissStore) -> bool:
        """Keep an index, evicting the least recently used; say whether it was kept."""
        size = store.memory_bytes()
        with self._lock:
            self._pop(session_id)  # an older snapshot of the session is never needed again
            if size > self.budget:  # used by the caller, but keeping it would evict everything
                return False
            self._entries[session_id] = (version, store, size)
            self.nbytes += size
            while self.nbytes > self.budget:
                self._pop(next(iter(self._entries)))
            return True

    def drop(self, session_id: str) -> None:
        """Forget a session's index (deleted or expired)."""
        with self._lock:
            self._pop(session_id)

    def __contains__(self, session_id: str) -> bool:
        return session_id in self._entries

    def _pop(self, session_id: str) -> None:
        entry = self._entries.pop(session_id, None)
        if entry is not None:
            self.nbytes -= entry[2]
