"""Pick the history and document stores: local disk by default, AWS when named."""

from __future__ import annotations

from typing import TYPE_CHECKING

from service.storage.base import (
    DocumentInfo,
    DocumentStore,
    HistoryStore,
    Manifest,
    Message,
    safe_filename,
    valid_session_id,
)
from service.storage.local import LocalDocumentStore, LocalHistoryStore

if TYPE_CHECKING:
    from service.config import Settings

__all__ = [
    "DocumentInfo",
    "DocumentStore",
    "HistoryStore",
    "Manifest",
    "Message",
    "make_document_store",
    "make_history_store",
    "safe_filename",
    "valid_session_id",
]


def make_history_store(settings: Settings) -> HistoryStore:
    """Return DynamoDB history when CHAT_HISTORY_TABLE is set, else files under DATA_DIR."""
    if settings.chat_history_table:
        from service.storage.aws import client
        from service.storage.dynamodb import DynamoHistoryStore

        db = client("dynamodb", settings.aws_region, settings.aws_endpoint_url)
        return DynamoHistoryStore(db, settings.chat_history_table, settings.history_ttl_days)
    return LocalHistoryStore(settings.data_dir)


def make_document_store(settings: Settings) -> DocumentStore:
    """Return S3 documents when DOCUMENT_BUCKET is set, else files under DATA_DIR."""
    if settings.document_bucket:
        from service.storage.aws import client
        from service.storage.s3 import S3DocumentStore

        s3 = client("s3", settings.aws_region, settings.aws_endpoint_url)
        return S3DocumentStore(s3, settings.document_bucket, settings.data_dir / "cache")
    return LocalDocumentStore(settings.data_dir)
