"""Where effects go: the audit log and the inbox (BatchWriteItem), and parked records."""

import hashlib
import json
import time
from collections.abc import Callable, Sequence
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.clock import utc_now
from chalicelib.dynamo import BATCH_WRITE_LIMIT, DynamoDBClient, batch_write, error_code, to_item
from chalicelib.settings import Settings
from chalicelib.streams.effects import Effects
from chalicelib.tables import audit_index_keys, inbox_item


class ChangeLog:
    """Writes the audit entries and inbox notifications of a batch, 25 items per request.

    Every item's key comes from its stream record, so writing it again (a redelivered batch)
    leaves the same item: at-least-once in, exactly-once in effect."""

    def __init__(
        self,
        client: DynamoDBClient,
        settings: Settings,
        *,
        attempts: int = 8,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._client = client
        self._audit = settings.audit_table
        self._inbox = settings.notifications_table
        self._attempts = attempts
        self._sleep = sleep
        self.requests = 0
        # Counts this writer's requests (for the batch log line) without wrapping the client.
        client.meta.events.register("before-call.dynamodb.BatchWriteItem", self._count)

    def _count(self, **_: Any) -> None:
        self.requests += 1

    def write(self, effects: Sequence[Effects]) -> int:
        """Write everything; return how many leading effects are completely written."""
        puts: list[tuple[int, str, dict[str, Any]]] = []
        for index, effect in enumerate(effects):
            if effect.change is None:
                continue
            if effect.audit is not None:
                audit = effect.audit
                item = {
                    "entity_key": effect.change.entity_key,
                    "change_key": effect.change.change_key,
                    **audit_index_keys(
                        effect.change.entity_key, audit.at, audit.entity_type, audit.department_id
                    ),
                    **audit.model_dump(),
                }
                puts.append((index, self._audit, _within_item_limit(item)))
            if effect.notification is not None:
                notification = {
                    "change_key": effect.change.change_key,
                    **effect.notification.model_dump(),
                }
                puts.append((index, self._inbox, inbox_item(notification)))
        for start in range(0, len(puts), BATCH_WRITE_LIMIT):
            chunk = puts[start : start + BATCH_WRITE_LIMIT]
            if not self._write_chunk(chunk):
                return chunk[0][0]
        return len(effects)

    def _write_chunk(self, chunk: list[tuple[int, str, dict[str, Any]]]) -> bool:
        requests: dict[str, list[Any]] = {}
        for _, table, item in chunk:
            requests.setdefault(table, []).append({"PutRequest": {"Item": to_item(item)}})
        try:
            return batch_write(self._client, requests, attempts=self._attempts, sleep=self._sleep)
        except (ClientError, BotoCoreError):
            return False  # unreachable, or failing: transient, the records are retried


# DynamoDB refuses items over 400 KB; an entry holding two images of a large item would be
# refused on every retry and block its shard. Measured as UTF-8 JSON, a little above the
# size DynamoDB counts, with room to spare.
_AUDIT_ITEM_LIMIT = 350_000


def _within_item_limit(item: dict[str, Any]) -> dict[str, Any]:
    size = len(json.dumps(item, ensure_ascii=False, default=str).encode("utf-8"))
    if size <= _AUDIT_ITEM_LIMIT:
        return item
    return {**item, "old_image": None, "new_image": None, "images_omitted": True}


class Parking:
    """Records that can never be processed, kept with their error for a person to look at."""

    def __init__(self, client: DynamoDBClient, settings: Settings) -> None:
        self._client = client
        self._table = settings.failed_records_table

    def park(self, record: dict[str, Any], error: Exception) -> None:
        stream = record.get("dynamodb") if isinstance(record, dict) else None
        item = {
            "event_id": str(record.get("eventID") or _fallback_id(record)),
            "event_source_arn": str(record.get("eventSourceARN", "")),
            "sequence_number": str((stream or {}).get("SequenceNumber", "")),
            "record": json.dumps(record, ensure_ascii=False, default=str),
            "error": f"{type(error).__name__}: {error}",
            "failed_at": utc_now(),
        }
        try:
            self._client.put_item(
                TableName=self._table,
                Item=to_item(item),
                ConditionExpression="attribute_not_exists(event_id)",
            )
        except ClientError as failure:
            if error_code(failure) != "ConditionalCheckFailedException":
                raise  # not parked: transient, the record is retried


def _fallback_id(record: Any) -> str:
    raw = json.dumps(record, sort_keys=True, default=str).encode()
    return "sha256:" + hashlib.sha256(raw).hexdigest()
