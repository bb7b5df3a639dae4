"""(e) After the new functions are in: what this version replaced is finished off.

The change feed now reads the audit log's `department-feed-index`, which lists only entries
carrying a `feed_key`. While `chalice deploy` swaps the functions one by one, the new API can
hand out feed tokens while a handler of the previous version still writes entries without one:
those changes would never reach such a client. So the last hour's event entries (far longer
than a deploy) get their `feed_key`, and only then is the index the previous version read
deleted. Both are idempotent: a second run finds nothing to do.

While the events table still has the index the calendar read before, every event without a
`calendar_key` gets one here (ops/calendar_backfill.py), once the new stream handlers, which
take that write for housekeeping, are in; then that index goes too.
"""

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from chalicelib.clock import timestamp
from chalicelib.dynamo import DynamoDBClient, query_items, to_item
from chalicelib.settings import Settings
from chalicelib.tables import AUDIT_DATE_INDEX, audit_date_keys, audit_index_keys, table_definitions
from ops.calendar_backfill import file_events_while_upgrading
from ops.create_tables import retire_indexes

Report = Callable[[str], None]

BACKFILL_WINDOW = timedelta(hours=1)


def finish_replacements(
    client: DynamoDBClient, settings: Settings, now: datetime, report: Report = print
) -> None:
    listed = list_recent_changes_in_feed(client, settings, now)
    if listed:
        report(f"✓ {settings.audit_table}: 최근 변경 {listed}건을 부서 피드에 넣었습니다.")
    filed = file_events_while_upgrading(client, settings)
    if filed:
        report(f"✓ {settings.events_table}: 일정 {filed}개를 부서 달력 인덱스에 넣었습니다.")
    retire_indexes(client, table_definitions(settings), report)


def list_recent_changes_in_feed(client: DynamoDBClient, settings: Settings, now: datetime) -> int:
    """Give every event entry of the last BACKFILL_WINDOW that lacks one its `feed_key`; return
    how many were given one."""
    start = timestamp(now - BACKFILL_WINDOW)
    days = sorted({start[:10], timestamp(now)[:10]})
    listed = 0
    for date_key in (key for day in days for key in audit_date_keys(day)):
        for entry in _unlisted_since(client, settings.audit_table, date_key, start):
            keys = audit_index_keys(
                entry["entity_key"], entry["at"], entry["entity_type"], entry.get("department_id")
            )
            if "feed_key" not in keys:
                continue
            client.update_item(
                TableName=settings.audit_table,
                Key=to_item({"entity_key": entry["entity_key"], "change_key": entry["change_key"]}),
                UpdateExpression="SET feed_key = :key",
                ConditionExpression="attribute_exists(entity_key)",
                ExpressionAttributeValues=to_item({":key": keys["feed_key"]}),
            )
            listed += 1
    return listed


def _unlisted_since(
    client: DynamoDBClient, table: str, date_key: str, start: str
) -> list[dict[str, Any]]:
    params: dict[str, Any] = {
        "TableName": table,
        "IndexName": AUDIT_DATE_INDEX,
        "KeyConditionExpression": "#date = :date AND change_key >= :start",
        "FilterExpression": "entity_type = :event AND attribute_not_exists(feed_key)",
        "ExpressionAttributeNames": {"#date": "date"},
        "ExpressionAttributeValues": to_item(
            {":date": date_key, ":start": start, ":event": "event"}
        ),
    }
    return list(query_items(client, params))
