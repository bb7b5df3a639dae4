"""Give every event its `calendar_key` and `calendar_order`: what lists it in its department's
spread calendar index.

This version writes the key with every event (repositories/events.py `stored_event`); events
written before it have none, and an index lists only items that carry its key. So once the
index exists, and once the stream handlers that know the key is housekeeping are in (a MODIFY
that only adds it is no change anyone made: no audit entry, no notification), every event
without one gets it here. A deploy runs this after `chalice deploy`, the local stack when it
starts, `manage.py calendar-backfill` on a stack updated through CloudFormation.

Idempotent: the keys follow from the event's own department, date and id, an event that
already has them is left alone (this version writes both with every event, so one that has
its key has its order, for its current date), and one deleted meanwhile is not written again.
"""

from collections.abc import Sequence
from typing import Any

from botocore.exceptions import ClientError

from chalicelib.dynamo import DynamoDBClient, error_code, from_item, to_item
from chalicelib.repositories._common import each_in_parallel
from chalicelib.settings import Settings
from chalicelib.tables import calendar_attributes
from ops.export import scan

# Events written per round of parallel updates.
_ROUND = 64


def file_events_in_calendar(client: DynamoDBClient, settings: Settings) -> int:
    """Give every event that has no `calendar_key` its keys; return how many were given them."""
    unfiled: list[dict[str, Any]] = []
    filed = 0
    attributes = ("id", "department_id", "event_date", "calendar_key")
    for event in scan(client, settings.events_table, attributes):
        if "calendar_key" in event:
            continue
        unfiled.append(event)
        if len(unfiled) == _ROUND:
            filed += file_in_calendar(client, settings.events_table, unfiled)
            unfiled = []
    return filed + file_in_calendar(client, settings.events_table, unfiled)


def file_in_calendar(client: DynamoDBClient, table: str, events: Sequence[dict[str, Any]]) -> int:
    """Give each of `events` (their `id`, `department_id` and `event_date`) its calendar index
    keys, unless it has them or is gone; return how many were given them."""

    def file_one(event: dict[str, Any] | None) -> bool:
        while event is not None and "calendar_key" not in event:
            department_id, event_id = str(event["department_id"]), str(event["id"])
            key = to_item({"id": event_id, "department_id": department_id})
            keys = calendar_attributes(department_id, event_id, str(event["event_date"]))
            try:
                client.update_item(
                    TableName=table,
                    Key=key,
                    UpdateExpression="SET calendar_key = :key, calendar_order = :order",
                    # Only as read: not deleted since (it stays deleted), not given its keys by
                    # a write of its own, and on the date its order is made of.
                    ConditionExpression=(
                        "attribute_exists(id) AND attribute_not_exists(calendar_key) "
                        "AND event_date = :date"
                    ),
                    ExpressionAttributeValues=to_item(
                        {
                            ":key": keys["calendar_key"],
                            ":order": keys["calendar_order"],
                            ":date": event["event_date"],
                        }
                    ),
                )
            except ClientError as error:
                if error_code(error) != "ConditionalCheckFailedException":
                    raise
                found = client.get_item(TableName=table, Key=key, ConsistentRead=True)
                event = from_item(found["Item"]) if "Item" in found else None
                continue
            return True
        return False

    return sum(each_in_parallel(file_one, list(events)))
