"""The delivery log: one item per (target, notification), which is also the work queue.

A target is a subscription (its id) or a channel the stage configures (`config:webhook#<dept>`,
`config:sns#<dept>`). A target's deliveries are spread over several `subscription_id` values by
notification (chalicelib/tables.py: `delivery_partition`), so one busy department's subscription
does not take all its writes on one key; the item also keeps the plain `target`.

The item is created with a condition, so a notification redelivered by its stream is never sent
twice. While it waits for an attempt it carries `due_shard` and `due_at` and so sits on the
sparse due index the sweeper reads; delivered or given up, those go and the item stays as the
log (30 days, then Time to Live removes it).

Every update after the first is conditional on the attempts counted so far: of two workers
that picked up the same delivery, only one records its attempt.
"""

import zlib
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from chalicelib.clock import timestamp
from chalicelib.dynamo import DynamoDBClient, error_code, from_item, storage_errors, to_item
from chalicelib.settings import Settings
from chalicelib.tables import (
    DELIVERIES_DUE_INDEX,
    DUE_SHARDS,
    delivery_partition,
    delivery_partitions,
    inbox_item,
    inbox_partition,
    notification_of,
)

KEPT_FOR = timedelta(days=30)
# How long an attempt may hold a delivery before the sweeper may take it over: the sender's
# deadline, with room to record the outcome.
CLAIM = timedelta(seconds=60)
PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"
# How many of a target's latest deliveries show whether it has answered lately.
RECENT_DELIVERIES = 50


@dataclass(frozen=True)
class Delivery:
    target: str  # a subscription id or a configured channel
    partition: str  # the item's subscription_id: the target, spread by notification
    notification_key: str
    department_id: str
    webhook_id: str
    kind: str
    attempts: int
    created_at: str

    @classmethod
    def from_item(cls, item: Mapping[str, Any]) -> "Delivery":
        partition = str(item["subscription_id"])
        return cls(
            # Kept before the spreading: the partition key was the target itself.
            target=str(item.get("target") or partition),
            partition=partition,
            notification_key=str(item["notification_key"]),
            department_id=str(item["department_id"]),
            webhook_id=str(item["webhook_id"]),
            kind=str(item.get("kind", "")),
            attempts=int(item.get("attempts", 0)),
            created_at=str(item["created_at"]),
        )


@dataclass(frozen=True)
class Outcome:
    status: int | None  # what the receiver answered, if it did
    error: str | None  # None: delivered


class DeliveryLog:
    def __init__(self, client: DynamoDBClient, settings: Settings) -> None:
        self._client = client
        self._table = settings.deliveries_table

    def open(
        self, target: str, notification_key: str, department_id: str, kind: str, now: datetime
    ) -> Delivery | None:
        """A new pending delivery, claimed for an attempt right away; None if this target was
        already given this notification (a redelivered stream record)."""
        delivery = Delivery(
            target=target,
            partition=delivery_partition(target, notification_key),
            notification_key=notification_key,
            department_id=department_id,
            webhook_id=webhook_id(target, notification_key),
            kind=kind,
            attempts=0,
            created_at=timestamp(now),
        )
        item = {
            "subscription_id": delivery.partition,
            "target": target,
            "notification_key": notification_key,
            "department_id": department_id,
            "webhook_id": delivery.webhook_id,
            "kind": kind,
            "status": PENDING,
            "attempts": 0,
            "created_at": delivery.created_at,
            "expires_at": int((now + KEPT_FOR).timestamp()),
            **_due(target, notification_key, now + CLAIM),
        }
        with _unless_condition_fails() as written:
            self._client.put_item(
                TableName=self._table,
                Item=to_item(item),
                ConditionExpression="attribute_not_exists(subscription_id)",
            )
        return delivery if written() else None

    def due(self, now: datetime, limit: int = 50) -> list[Delivery]:
        """Pending deliveries whose next attempt is due, the longest waiting first per shard."""
        found: list[Delivery] = []
        for shard in range(DUE_SHARDS):
            with storage_errors():
                response = self._client.query(
                    TableName=self._table,
                    IndexName=DELIVERIES_DUE_INDEX,
                    KeyConditionExpression="due_shard = :shard AND due_at <= :now",
                    ExpressionAttributeValues={
                        ":shard": {"S": str(shard)},
                        ":now": {"S": timestamp(now)},
                    },
                    Limit=limit,
                )
            found.extend(Delivery.from_item(from_item(item)) for item in response["Items"])
        return found

    def claim(self, delivery: Delivery, now: datetime) -> bool:
        """Take a due delivery for one attempt; False if another worker has it."""
        return self._update(
            delivery,
            "SET due_at = :until, next_attempt_at = :until",
            {":until": timestamp(now + CLAIM)},
        )

    def record(
        self, delivery: Delivery, outcome: Outcome, now: datetime, retry_at: datetime | None
    ) -> bool:
        """Count one attempt: delivered, to be tried again at `retry_at`, or given up."""
        values: dict[str, Any] = {":now": timestamp(now), ":one": 1}
        sets = ["attempts = attempts + :one", "last_attempt_at = :now"]
        removes = ["last_error", "last_status"]
        if outcome.status is not None:
            sets.append("last_status = :code")
            values[":code"] = outcome.status
            removes.remove("last_status")
        if outcome.error is not None:
            sets.append("last_error = :error")
            values[":error"] = outcome.error[:500]
            removes.remove("last_error")
        if outcome.error is None:
            sets += ["#status = :delivered", "delivered_at = :now"]
            values[":delivered"] = DELIVERED
            removes += ["due_shard", "due_at", "next_attempt_at"]
        elif retry_at is not None:
            sets += ["due_at = :next", "next_attempt_at = :next"]
            values[":next"] = timestamp(retry_at)
        else:
            sets.append("#status = :failed")
            values[":failed"] = FAILED
            removes += ["due_shard", "due_at", "next_attempt_at"]
        expression = f"SET {', '.join(sets)}" + (f" REMOVE {', '.join(removes)}" if removes else "")
        return self._update(delivery, expression, values)

    def delivered_since(self, target: str, since: str) -> bool:
        """Whether any of the target's latest deliveries succeeded at or after `since`.

        Asked only before pausing a subscription, so it may cost a Query per partition: the
        newest RECENT_DELIVERIES of each are read (notification keys sort by time)."""
        for partition in delivery_partitions(target):
            with storage_errors():
                response = self._client.query(
                    TableName=self._table,
                    KeyConditionExpression="subscription_id = :partition",
                    FilterExpression="#status = :delivered AND delivered_at >= :since",
                    ExpressionAttributeNames={"#status": "status"},
                    ExpressionAttributeValues=to_item(
                        {":partition": partition, ":delivered": DELIVERED, ":since": since}
                    ),
                    ScanIndexForward=False,
                    Limit=RECENT_DELIVERIES,
                )
            if response.get("Items"):
                return True
        return False

    def give_up(self, delivery: Delivery, reason: str, now: datetime) -> bool:
        """Stop a delivery that can no longer be made (its subscription is gone or paused)."""
        return self.record(delivery, Outcome(None, reason), now, retry_at=None)

    def _update(self, delivery: Delivery, expression: str, values: Mapping[str, Any]) -> bool:
        names = {"#status": "status"}
        with _unless_condition_fails() as written:
            self._client.update_item(
                TableName=self._table,
                Key=to_item(
                    {
                        "subscription_id": delivery.partition,
                        "notification_key": delivery.notification_key,
                    }
                ),
                UpdateExpression=expression,
                ConditionExpression="#status = :pending AND attempts = :seen",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=to_item(
                    {**values, ":pending": PENDING, ":seen": delivery.attempts}
                ),
            )
        return written()


def webhook_id(target: str, notification_key: str) -> str:
    """The `webhook-id` receivers deduplicate by: the same on every attempt of one delivery."""
    digest = zlib.crc32(f"{target}|{notification_key}".encode()) & 0xFFFFFFFF
    compact = notification_key.replace(":", "").replace("-", "").replace("#", "_")
    return f"msg_{compact}_{digest:08x}"


def _due(target: str, notification_key: str, at: datetime) -> dict[str, str]:
    shard = zlib.crc32(f"{target}|{notification_key}".encode()) % DUE_SHARDS
    return {"due_shard": str(shard), "due_at": timestamp(at), "next_attempt_at": timestamp(at)}


@contextmanager
def _unless_condition_fails() -> Iterator[Callable[[], bool]]:
    """Runs a conditional write; what it yields tells afterwards whether the write happened
    (False: its condition failed, which these writes expect now and then)."""
    happened = [True]
    try:
        with storage_errors():
            yield lambda: happened[0]
    except ClientError as error:
        if error_code(error) != "ConditionalCheckFailedException":
            raise
        happened[0] = False


PAUSED_NOTICE = "subscription_paused"


class Inbox:
    """What the deliveries read from the department inbox, and the notice they leave there."""

    def __init__(self, client: DynamoDBClient, settings: Settings) -> None:
        self._client = client
        self._table = settings.notifications_table

    def get(self, department_id: str, notification_key: str, kind: str) -> dict[str, Any] | None:
        """The notification, read consistently: it was written a moment ago (its own stream
        record is what asks), and an eventually consistent read could miss it, which would
        count as removed and leave it unsent. One kept before the inbox was spread is under
        the plain department id, read second (only a delivery retried since then asks)."""
        partition = inbox_partition(department_id, notification_key, kind)
        item = self._read(partition, notification_key)
        if item is None and partition != department_id:
            item = self._read(department_id, notification_key)
        return None if item is None else notification_of(item)

    def _read(self, partition: str, notification_key: str) -> dict[str, Any] | None:
        with storage_errors():
            response = self._client.get_item(
                TableName=self._table,
                Key=to_item({"department_id": partition, "change_key": notification_key}),
                ConsistentRead=True,
            )
        item = response.get("Item")
        return None if item is None else from_item(item)

    def put_once(self, item: Mapping[str, Any]) -> bool:
        """Put a notification whose key says what it is (a reminder, a day's digest); False if
        it is there already."""
        with _unless_condition_fails() as written:
            self._client.put_item(
                TableName=self._table,
                Item=to_item(inbox_item(item)),
                ConditionExpression="attribute_not_exists(change_key)",
            )
        return written()

    def notice_paused(
        self, department_id: str, subscription_id: str, url: str, now: datetime
    ) -> None:
        """Tells the department, in its inbox, that a subscription stopped receiving calls."""
        at = timestamp(now)
        text = (
            f"웹훅 구독이 일시 중지되었습니다: {url} 이(가) 하루 동안 응답하지 않았습니다. "
            "구독을 다시 만들면 알림이 재개됩니다."
        )
        item = {
            "department_id": department_id,
            "change_key": f"{at}#{PAUSED_NOTICE}#{subscription_id}",
            "event_id": "",
            "kind": PAUSED_NOTICE,
            "title": "웹훅 구독 일시 중지",
            "event_date": at[:10],
            "time": "",
            "changes": {},
            "text": text,
            "actor": "system",
            "at": at,
            "sequence_number": "",
        }
        with storage_errors():
            self._client.put_item(TableName=self._table, Item=to_item(inbox_item(item)))
