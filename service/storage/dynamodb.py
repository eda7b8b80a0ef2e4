"""Keep chat history in a DynamoDB table shared by every task, expiring by TTL."""

from __future__ import annotations

import contextlib
import json
import secrets
import time
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from service.errors import StorageError
from service.storage.base import Message

# The table's shape. deploy/resources/state.py creates the real table with these names.
PARTITION_KEY = "session_id"  # one partition per chat session
SORT_KEY = "seq"  # zero-padded nanosecond time + random suffix: sorts oldest first, no clashes
TTL_ATTRIBUTE = "expires_at"  # epoch seconds; DynamoDB deletes expired items (within ~days)


def create_table(client: Any, name: str) -> None:
    """Create the history table (on-demand, TTL on) if it is missing: for tests and local use."""
    try:
        client.create_table(
            TableName=name,
            KeySchema=[
                {"AttributeName": PARTITION_KEY, "KeyType": "HASH"},
                {"AttributeName": SORT_KEY, "KeyType": "RANGE"},
            ],
            AttributeDefinitions=[
                {"AttributeName": PARTITION_KEY, "AttributeType": "S"},
                {"AttributeName": SORT_KEY, "AttributeType": "S"},
            ],
            BillingMode="PAY_PER_REQUEST",
        )
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ResourceInUseException":
            raise
        return
    client.get_waiter("table_exists").wait(TableName=name)
    client.update_time_to_live(
        TableName=name,
        TimeToLiveSpecification={"Enabled": True, "AttributeName": TTL_ATTRIBUTE},
    )


class DynamoHistoryStore:
    """Chat history items keyed (session_id, seq) in CHAT_HISTORY_TABLE."""

    def __init__(self, client: Any, table: str, ttl_days: int = 30) -> None:
        self.db = client
        self.table = table
        self.ttl_seconds = ttl_days * 86400

    def _fail(self, what: str, exc: Exception) -> StorageError:
        return StorageError(f"DynamoDB table {self.table!r}: cannot {what}: {exc}")

    def _item(self, session_id: str, message: Message) -> dict[str, Any]:
        seq = f"{time.time_ns():020d}-{secrets.token_hex(3)}"
        return {
            PARTITION_KEY: {"S": session_id},
            SORT_KEY: {"S": seq},
            "role": {"S": message.role},
            "text": {"S": message.text},
            "ts": {"N": repr(message.ts)},
            "citations": {"S": json.dumps(message.to_dict()["citations"])},
            TTL_ATTRIBUTE: {"N": str(int(message.ts) + self.ttl_seconds)},
        }

    def _put(self, item: dict[str, Any]) -> None:
        self.db.put_item(
            TableName=self.table,
            Item=item,
            ConditionExpression="attribute_not_exists(#sk)",
            ExpressionAttributeNames={"#sk": SORT_KEY},
        )

    def append(self, session_id: str, message: Message) -> None:
        """Add a message to the end of a session's history."""
        try:
            self._put(self._item(session_id, message))
        except (ClientError, BotoCoreError) as exc:
            raise self._fail("append a message", exc) from exc

    def append_many(self, session_id: str, messages: list[Message]) -> None:
        """Add messages in order; when one fails, remove the ones this call stored, then raise."""
        # A chat turn is a question and its answer: storing one without the other would leave
        # a history that a follow-up question misreads. TransactWriteItems would make the pair
        # atomic at twice the write cost; a compensating delete keeps the common case cheap.
        stored: list[dict[str, Any]] = []
        try:
            for message in messages:
                item = self._item(session_id, message)
                self._put(item)
                stored.append({PARTITION_KEY: item[PARTITION_KEY], SORT_KEY: item[SORT_KEY]})
        except (ClientError, BotoCoreError) as exc:
            for key in stored:  # best effort: the store is failing; the caller gets `exc`
                with contextlib.suppress(ClientError, BotoCoreError):
                    self.db.delete_item(TableName=self.table, Key=key)
            raise self._fail("append messages", exc) from exc

    def _query(self, session_id: str, newest_first: bool, limit: int | None) -> list[dict]:
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "KeyConditionExpression": "#pk = :sid",
            "ExpressionAttributeNames": {"#pk": PARTITION_KEY},
            "ExpressionAttributeValues": {":sid": {"S": session_id}},
            "ScanIndexForward": not newest_first,
            "ConsistentRead": True,
        }
        items: list[dict] = []
        try:
            while True:
                if limit is not None:
                    kwargs["Limit"] = limit - len(items)
                page = self.db.query(**kwargs)
                items.extend(page.get("Items", []))
                start = page.get("LastEvaluatedKey")
                if not start or (limit is not None and len(items) >= limit):
                    return items
                kwargs["ExclusiveStartKey"] = start
        except (ClientError, BotoCoreError) as exc:
            raise self._fail("read history", exc) from exc

    def messages(self, session_id: str, limit: int | None = None) -> list[Message]:
        """Return the session's messages, oldest first (the last `limit` when given)."""
        if limit == 0:
            return []
        items = self._query(session_id, newest_first=limit is not None, limit=limit)
        if limit is not None:
            items.reverse()
        now = time.time()
        return [
            Message.from_dict(
                {
                    "role": i["role"]["S"],
                    "text": i["text"]["S"],
                    "ts": float(i["ts"]["N"]),
                    "citations": json.loads(i.get("citations", {}).get("S", "[]")),
                }
            )
            for i in items
            # TTL deletion lags (typically within days), so hide expired items ourselves.
            if float(i.get(TTL_ATTRIBUTE, {}).get("N", "inf")) > now
        ]

    def delete(self, session_id: str) -> None:
        """Remove a session's history."""
        keys = [
            {PARTITION_KEY: i[PARTITION_KEY], SORT_KEY: i[SORT_KEY]}
            for i in self._query(session_id, newest_first=False, limit=None)
        ]
        try:
            for start in range(0, len(keys), 25):
                requests = [{"DeleteRequest": {"Key": k}} for k in keys[start : start + 25]]
                pending = {self.table: requests}
                while pending:
                    out = self.db.batch_write_item(RequestItems=pending)
                    pending = out.get("UnprocessedItems") or {}
        except (ClientError, BotoCoreError) as exc:
            raise self._fail("delete history", exc) from exc

    def check(self) -> None:
        """Raise StorageError when the table is unreachable."""
        try:
            self.db.describe_table(TableName=self.table)
        except (ClientError, BotoCoreError) as exc:
            raise self._fail("reach the table", exc) from exc
