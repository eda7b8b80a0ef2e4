"""Pick the history and document stores: local disk by default, AWS when named."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from service.storage.base import (
    DocumentInfo,
    DocumentStore,
    HistoryStore,
    Manifest,
    ManifestConflict,
    Message,
    safe_filename,
    valid_session_id,
)
from service.storage.local import LocalDocumentStore, LocalHistoryStore

if TYPE_CHECKING:
    from service.aws import AwsContext
    from service.config import Settings

__all__ = [
    "Deferred",
    "DocumentInfo",
    "DocumentStore",
    "HistoryStore",
    "Manifest",
    "ManifestConflict",
    "Message",
    "make_document_store",
    "make_history_store",
    "safe_filename",
    "valid_session_id",
]


class Deferred:
    """Build a store on first use, so importing botocore stays off the start-up path."""

    def __init__(self, build: Callable[[], Any], name: str) -> None:
        self._build = build
        self._name = name
        self._store: Any = None
        self._lock = threading.Lock()

    def resolve(self) -> Any:
        """Return the real store, building it (once, thread-safely) on the first call."""
        if self._store is None:
            with self._lock:
                if self._store is None:
                    self._store = self._build()
        return self._store

    def __getattr__(self, attr: str) -> Any:
        return getattr(self.resolve(), attr)

    def __repr__(self) -> str:
        return f"Deferred({self._name})"


def make_history_store(settings: Settings, aws: AwsContext) -> HistoryStore:
    """Return DynamoDB history when CHAT_HISTORY_TABLE is set, else files under DATA_DIR."""
    if settings.chat_history_table:

        def build() -> HistoryStore:
            from service.storage.dynamodb import DynamoHistoryStore  # botocore: see Deferred

            db = aws.client("dynamodb")
            return DynamoHistoryStore(db, settings.chat_history_table, settings.history_ttl_days)

        return Deferred(build, f"dynamodb:{settings.chat_history_table}")  # type: ignore[return-value]
    return LocalHistoryStore(settings.data_dir)


def make_document_store(settings: Settings, aws: AwsContext) -> DocumentStore:
    """Return S3 documents when DOCUMENT_BUCKET is set, else files under DATA_DIR."""
    if settings.document_bucket:

        def build() -> DocumentStore:
            from service.storage.s3 import S3DocumentStore  # botocore: see Deferred

            s3 = aws.client("s3")
            return S3DocumentStore(s3, settings.document_bucket, settings.data_dir / "cache")

        return Deferred(build, f"s3:{settings.document_bucket}")  # type: ignore[return-value]
    return LocalDocumentStore(settings.data_dir)
