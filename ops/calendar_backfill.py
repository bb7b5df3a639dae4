"""Give every event its `calendar_key` and `calendar_order`: what lists it in its department's
spread calendar index.

Every event is written with its keys (repositories/events.py `stored_event`); events written
before they existed have none, and an index lists only items that carry its key. The write
that adds them must be seen by stream handlers that take it for housekeeping (no audit entry, no
notification): a handler from before would record it as a change by the event's last editor.
So it runs only where those handlers are in: after `chalice deploy` (`make deploy`), when the
local stack starts, and by `manage.py calendar-backfill`.

The calendar is read from the new index only by the version after the one that brought the
key, so a stack is upgraded through that one: its deploy gave every event its key while the
calendar still read `department-date-index` (check_upgrade_order refuses a stack that skipped
it). Here, the events table still having that index means a stack being upgraded: its events
are filed again (to catch any written without a key), then the index is retired.

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
from chalicelib.tables import EVENT_CALENDAR_INDEX, RETIRED_EVENT_DATE_INDEX, calendar_attributes
from ops.create_tables import index_names
from ops.export import scan

# Events written per round of parallel updates.
_ROUND = 64


class UpgradeOrderError(Exception):
    """The stack runs a version this one cannot replace directly."""


def check_upgrade_order(client: DynamoDBClient, settings: Settings) -> None:
    """Refuse a stack whose events table has no calendar index (a new stack has no table): its
    events have no key, and its stream handlers would take giving them one for a change."""
    indexes = index_names(client, settings.events_table)
    if indexes is not None and EVENT_CALENDAR_INDEX not in indexes:
        raise UpgradeOrderError(
            f"{settings.events_table}에 {EVENT_CALENDAR_INDEX}가 없습니다: 달력 인덱스를 더한 "
            "버전을 먼저 배포하세요 (docs/deploy.md, Upgrading a stack from before the "
            "calendar index)."
        )


def file_events_while_upgrading(client: DynamoDBClient, settings: Settings) -> int:
    """Give every event without one its key while the events table still has the index the
    calendar read before; return how many were given one (0, without reading, once it is
    gone)."""
    if RETIRED_EVENT_DATE_INDEX.name not in (index_names(client, settings.events_table) or ()):
        return 0
    return file_events_in_calendar(client, settings)


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
