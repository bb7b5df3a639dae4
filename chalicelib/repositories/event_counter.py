"""A department's event counter, spread over several items so that no one item takes all of a
busy department's creates and deletes (each moves it inside a transaction: two write units).

Each event is counted on one of `COUNTER_SHARDS` items of the counters table, chosen from its
id, and names it in `counted_in` (its number: the attribute is read with every event on every
listing page, so it is kept small), so its delete moves the same item and every item's count is
exactly the events that name it. Events made before the counter was spread, or written by the
migration, name none: they are counted on the department item's own `event_count`, as before.

A counter item stands in for its department: an event is created on condition that its item
exists, and the department is deleted together with every item, on condition that each counts
nothing. An item is made the first time an event needs it, in one transaction with a check
that the department exists, so an item never outlives its department and an event is never
made in a deleted one.
"""

from collections.abc import Iterable, Mapping
from typing import Any

from chalicelib.dynamo import DynamoDBClient, batch_get, failed_conditions, transact_write
from chalicelib.repositories._common import condition
from chalicelib.settings import Settings
from chalicelib.tables import COUNTER_SHARDS, shard_key, spread_keys, spread_shard

# On an event: the number of the counter item that counted it (absent: the department item).
COUNTED_IN = "counted_in"
_COUNT = "event_count"
_KEY = "counter_key"
_COUNTS_NOTHING = condition(
    f"attribute_not_exists({_KEY}) OR {_COUNT} = :zero", values={":zero": 0}
)


class EventCounter:
    def __init__(self, client: DynamoDBClient, settings: Settings) -> None:
        self._client = client
        self._table = settings.counters_table
        self._departments = settings.departments_table

    @staticmethod
    def shard_for(event_id: str) -> int:
        """The counter item a new event is counted on (what its `counted_in` says)."""
        return spread_shard(event_id, COUNTER_SHARDS)

    def move(self, department_id: str, counted_in: int | None, delta: int) -> dict[str, Any]:
        """A transaction item moving the count of counter item `counted_in` (None: the
        department item's) by `delta`, refused by its condition when that item does not exist
        (or is another department's)."""
        if counted_in is None:
            table, key = self._departments, {"id": {"S": department_id}}
            guard = condition("attribute_exists(id)", values={":delta": delta})
        else:
            # Its own department's, too: an event copied into another department by some
            # other tool must not move the first one's count.
            table, key = self._table, {_KEY: {"S": shard_key(department_id, counted_in)}}
            guard = condition(
                "department_id = :department",
                values={":delta": delta, ":department": department_id},
            )
        return {
            "Update": {
                "TableName": table,
                "Key": key,
                "UpdateExpression": f"ADD {_COUNT} :delta",
                **guard,
            }
        }

    def moves(self, department_id: str, counted: Iterable[int | None]) -> list[dict[str, Any]]:
        """Transaction items taking one off the count of each event's `counted_in`."""
        deltas: dict[int | None, int] = {}
        for item in counted:
            deltas[item] = deltas.get(item, 0) - 1
        return [self.move(department_id, item, delta) for item, delta in deltas.items()]

    def open(self, department_id: str, counted_in: int) -> bool:
        """Make counter item `counted_in` (counting nothing) if it is not there yet, on
        condition that the department exists. False if the department does not."""
        codes = transact_write(
            self._client,
            [
                {
                    "ConditionCheck": {
                        "TableName": self._departments,
                        "Key": {"id": {"S": department_id}},
                        **condition("attribute_exists(id)"),
                    }
                },
                {
                    "Put": {
                        "TableName": self._table,
                        "Item": {
                            _KEY: {"S": shard_key(department_id, counted_in)},
                            "department_id": {"S": department_id},
                            _COUNT: {"N": "0"},
                        },
                        **condition(f"attribute_not_exists({_KEY})"),
                    }
                },
            ],
        )
        # Refused on the Put alone: another create made it a moment ago.
        return codes is None or 0 not in failed_conditions(codes)

    def counts(self, department_id: str) -> dict[str, int]:
        """The department's counter items that exist, and what each counts (read
        consistently; the department item's own count is on the department)."""
        keys = [{_KEY: {"S": key}} for key in spread_keys(department_id, COUNTER_SHARDS)]
        return {
            item[_KEY]["S"]: int(item[_COUNT]["N"])
            for item in batch_get(self._client, self._table, keys)
        }

    def removals(self, department_id: str) -> list[dict[str, Any]]:
        """Transaction items deleting each of the department's counter items, each on
        condition that it counts nothing (or is not there): what a department's delete adds."""
        return [
            {"Delete": {"TableName": self._table, "Key": {_KEY: {"S": key}}, **_COUNTS_NOTHING}}
            for key in spread_keys(department_id, COUNTER_SHARDS)
        ]

    def set_count(self, counted_in: str, count: int, *, before: int | None) -> bool:
        """Set what the counter item `counted_in` counts to `count` (for recount, which counts
        the events naming it), on condition that the item exists and still holds `before`
        (None: no count on it). False when it moved meanwhile (an event created or deleted
        through the API) or is gone. DynamoDB's errors are raised as they come."""
        guard = f"attribute_not_exists({_COUNT})" if before is None else f"{_COUNT} = :before"
        values = {":count": count} if before is None else {":count": count, ":before": before}
        try:
            self._client.update_item(
                TableName=self._table,
                Key={_KEY: {"S": counted_in}},
                UpdateExpression=f"SET {_COUNT} = :count",
                **condition(f"attribute_exists({_KEY}) AND {guard}", values=values),
            )
        except self._client.exceptions.ConditionalCheckFailedException:
            return False
        return True


def counted_in(event: Mapping[str, Any]) -> int | None:
    """The number of the counter item that counted this stored event (None: the department
    item's)."""
    value = event.get(COUNTED_IN)
    return None if value is None else int(value)


def counter_key(department_id: str, counted_in: int) -> str:
    """The key of a department's counter item number `counted_in`."""
    return shard_key(department_id, counted_in)
