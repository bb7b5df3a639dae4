"""Per-shard checkpoints and leases in a DynamoDB table, as the Kinesis Client Library keeps them.

One item per shard (`shard_key` = stream ARN + shard id):
- `checkpoint`: the sequence number of the last record of the last batch that succeeded;
  `finished` once the shard is closed and read to its end (its children may start).
- `lease_owner`, `lease_expires` (epoch milliseconds): who may process the shard, and until
  when. An owner renews its lease while it works; anyone may take a lease that has expired.

Every write is conditional on the lease, so two workers never both move a shard forward: a
worker whose lease was taken over finds out on its next renewal or checkpoint and lets go.
"""

import time
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from chalicelib.dynamo import DynamoDBClient, error_code

Clock = Callable[[], float]


@dataclass(frozen=True)
class Lease:
    """A shard as its item says, read when the lease was taken or renewed."""

    checkpoint: str | None
    finished: bool


class LeaseLost(Exception):
    """The shard's lease belongs to another worker now."""


class ShardLeases:
    def __init__(
        self,
        client: DynamoDBClient,
        table: str,
        owner: str,
        *,
        lease_seconds: float = 10.0,
        clock: Clock = time.time,
    ) -> None:
        self._client = client
        self._table = table
        self.owner = owner
        self.lease_seconds = lease_seconds
        self._clock = clock

    def take(self, stream_arn: str, shard_id: str) -> Lease | None:
        """Take or renew the shard's lease: None if another worker holds it and it has not
        expired. Returns where the shard stands."""
        now = self._now_ms()
        try:
            response = self._client.update_item(
                TableName=self._table,
                Key=_key(stream_arn, shard_id),
                UpdateExpression="SET lease_owner = :me, lease_expires = :until, "
                "stream_arn = :arn, shard_id = :shard",
                ConditionExpression="attribute_not_exists(shard_key) OR lease_owner = :me "
                "OR lease_expires < :now",
                ExpressionAttributeValues={
                    ":me": {"S": self.owner},
                    ":until": {"N": str(now + self._lease_ms())},
                    ":now": {"N": str(now)},
                    ":arn": {"S": stream_arn},
                    ":shard": {"S": shard_id},
                },
                ReturnValues="ALL_NEW",
            )
        except ClientError as error:
            if error_code(error) == "ConditionalCheckFailedException":
                return None
            raise
        return _lease(response["Attributes"])

    def checkpoint(
        self, stream_arn: str, shard_id: str, sequence_number: str, *, finished: bool = False
    ) -> None:
        """Record a batch as done (and renew the lease); LeaseLost if it is no longer ours."""
        self._update_own(
            stream_arn,
            shard_id,
            "SET checkpoint = :seq, finished = :finished, lease_expires = :until",
            {
                ":seq": {"S": sequence_number},
                ":finished": {"BOOL": finished},
                ":until": {"N": str(self._now_ms() + self._lease_ms())},
            },
        )

    def finish(self, stream_arn: str, shard_id: str) -> None:
        """A closed shard read to its end with nothing new since the last checkpoint."""
        self._update_own(
            stream_arn, shard_id, "SET finished = :finished", {":finished": {"BOOL": True}}
        )

    def release(self, stream_arn: str, shard_id: str) -> None:
        """Let another worker take the shard at once (a clean stop)."""
        with suppress(LeaseLost):
            self._update_own(
                stream_arn, shard_id, "SET lease_expires = :zero", {":zero": {"N": "0"}}
            )

    def is_finished(self, stream_arn: str, shard_id: str) -> bool:
        item = self._client.get_item(
            TableName=self._table,
            Key=_key(stream_arn, shard_id),
            ConsistentRead=True,
            ProjectionExpression="finished",
        ).get("Item")
        return bool(item and item.get("finished", {}).get("BOOL"))

    def _update_own(
        self, stream_arn: str, shard_id: str, expression: str, values: dict[str, Any]
    ) -> None:
        try:
            self._client.update_item(
                TableName=self._table,
                Key=_key(stream_arn, shard_id),
                UpdateExpression=expression,
                ConditionExpression="lease_owner = :me",
                ExpressionAttributeValues={":me": {"S": self.owner}, **values},
            )
        except ClientError as error:
            if error_code(error) == "ConditionalCheckFailedException":
                raise LeaseLost(shard_id) from error
            raise

    def _now_ms(self) -> int:
        return int(self._clock() * 1000)

    def _lease_ms(self) -> int:
        return int(self.lease_seconds * 1000)


def _key(stream_arn: str, shard_id: str) -> dict[str, Any]:
    return {"shard_key": {"S": f"{stream_arn}|{shard_id}"}}


def _lease(item: dict[str, Any]) -> Lease:
    checkpoint = item.get("checkpoint", {}).get("S")
    return Lease(checkpoint=checkpoint, finished=bool(item.get("finished", {}).get("BOOL")))
