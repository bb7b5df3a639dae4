"""Idempotent creates: a POST retried with the same Idempotency-Key gets the first answer.

The answer is recorded in the same transaction that creates the item, under a condition that
no live record for the key exists. So the create and its record commit together or not at all:
there is no "in progress" state to clean up after a crash, two simultaneous retries cannot both
create (one transaction wins, the other is cancelled and replays the winner's record), and a
create costs no extra request, only one more item in a transaction it runs anyway.
"""

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from chalicelib.dynamo import (
    DynamoDBClient,
    failed_conditions,
    storage_errors,
    to_item,
    transact_write,
)
from chalicelib.errors import ConcurrentModification, IdempotencyKeyReused
from chalicelib.repositories._common import condition

if TYPE_CHECKING:
    # Only for types: pydantic loads with the models, on the first request that needs one.
    from pydantic import BaseModel

# How long a key keeps its answer; DynamoDB's Time to Live deletes the record some time later.
KEY_LIFETIME_SECONDS = 24 * 60 * 60


@dataclass(frozen=True)
class IdempotentRequest:
    """A create sent with an Idempotency-Key: whose key it is, and what exactly was asked."""

    key: str
    actor: str
    fingerprint: str

    @classmethod
    def of(cls, key: str, actor: str, operation: str, data: "BaseModel") -> "IdempotentRequest":
        """`operation` names the route with its ids (`POST /api/events/d1`) and `data` is the
        validated body, so a retry that differs only in whitespace or key order is the same
        request, while the same key on another route or with another body is not."""
        canonical = json.dumps(
            [operation, data.model_dump(mode="json")],
            sort_keys=True,
            ensure_ascii=False,
            separators=(",", ":"),
        )
        return cls(key, actor, hashlib.sha256(canonical.encode("utf-8")).hexdigest())

    @property
    def record_key(self) -> str:
        # Keys are chosen by clients, so they are scoped to the caller: two callers who happen
        # to pick the same key never see each other's answers.
        return hashlib.sha256(f"{self.actor}\n{self.key}".encode()).hexdigest()


@dataclass(frozen=True)
class Created[M: BaseModel]:
    item: M
    replayed: bool = False


class IdempotencyRecords:
    def __init__(
        self, client: DynamoDBClient, table: str, clock: Callable[[], float] = time.time
    ) -> None:
        self._client = client
        self._table = table
        self._clock = clock

    def create[M: BaseModel](
        self, items: list[dict[str, Any]], created: M, request: IdempotentRequest | None
    ) -> Created[M] | list[str]:
        """Run the transaction that creates `created`, recording it under the request's key.

        Returns what was created; or, when the key already answered this same request, that
        answer (`replayed`); or the cancellation codes of `items` (with at least one failed
        condition among them) for the caller to explain. Raises IdempotencyKeyReused when the
        key answered a different request."""
        if request is not None:
            items = [*items, self._record(request, created)]
        with storage_errors():
            codes = transact_write(self._client, items)
        if codes is None:
            return Created(created)
        if request is None:
            return codes
        # The record goes last: the caller's items keep their positions.
        own_codes, record_position = codes[:-1], len(codes) - 1
        if record_position not in failed_conditions(codes):
            return own_codes  # the key is free: the caller's own items were refused
        answer = self._answer(request)
        if answer is not None:
            # Replayed even if the caller's items failed too: the key's first answer stands.
            return Created(type(created).model_validate_json(answer), replayed=True)
        if not failed_conditions(own_codes):
            # The key's record blocked the write yet has gone since: it expired in between.
            raise ConcurrentModification("This Idempotency-Key")
        return own_codes

    def _record(self, request: IdempotentRequest, created: "BaseModel") -> dict[str, Any]:
        now = int(self._clock())
        item = {
            "idempotency_key": request.record_key,
            "key": request.key,
            "actor": request.actor,
            "fingerprint": request.fingerprint,
            "response": created.model_dump_json(),
            "expires_at": now + KEY_LIFETIME_SECONDS,
        }
        return {
            "Put": {
                "TableName": self._table,
                "Item": to_item(item),
                # An expired record that Time to Live has not deleted yet counts as absent.
                **condition(
                    "attribute_not_exists(idempotency_key) OR expires_at < :now",
                    values={":now": now},
                ),
            }
        }

    def _answer(self, request: IdempotentRequest) -> str | None:
        """The recorded answer for this key if it is live; IdempotencyKeyReused if the key
        answered another request."""
        with storage_errors():
            response = self._client.get_item(
                TableName=self._table,
                Key={"idempotency_key": {"S": request.record_key}},
                ProjectionExpression="fingerprint, #response, expires_at",
                ExpressionAttributeNames={"#response": "response"},
                ConsistentRead=True,
            )
        record = response.get("Item")
        if record is None or int(record["expires_at"]["N"]) < int(self._clock()):
            return None
        if record["fingerprint"]["S"] != request.fingerprint:
            raise IdempotencyKeyReused()
        return record["response"]["S"]
