"""`manage.py recount`: set each department's event counter to the number of its events.

The counter (see repositories/departments.py) is what stops a department with events from being
deleted. This API and the migration move it with every event they write; a writer that bypasses
both (the console, another service) can make it drift. The events are counted from the events
table itself, with a consistent Scan (the date index may lag), and a counter is written only
where it is wrong, on condition that it still holds what was read before the count: an event
created or deleted through the API meanwhile moves it, and that department is counted again.
"""

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from botocore.exceptions import ClientError

from chalicelib.dynamo import DynamoDBClient, error_code, to_value
from chalicelib.settings import Settings
from ops.export import scan

_ATTEMPTS = 5


@dataclass
class Recounted:
    checked: int = 0
    fixed: int = 0
    # Departments whose counter kept moving while they were counted.
    unsettled: list[str] = field(default_factory=list)


def recount(
    client: DynamoDBClient, settings: Settings, report: Callable[[str], None] = print
) -> Recounted:
    outcome = Recounted()
    pending: set[str] | None = None  # None: every department
    for _ in range(_ATTEMPTS):
        counters = {
            item["id"]: (str(item.get("name", "")), item.get("event_count"))
            for item in scan(client, settings.departments_table, ("id", "name", "event_count"))
            if pending is None or item["id"] in pending
        }
        if pending is None:
            outcome.checked = len(counters)
        events = Counter(
            item["department_id"]
            for item in scan(client, settings.events_table, ("department_id",))
        )
        moved = set()
        for department_id, (name, before) in counters.items():
            actual = events[department_id]
            if before is not None and int(before) == actual:
                continue
            if not _set_counter(client, settings, department_id, before, actual):
                moved.add(department_id)
                continue
            outcome.fixed += 1
            shown = "없음" if before is None else f"{int(before)}개"
            report(f"✓ {name} ({department_id}): 일정 수 {shown} → {actual}개")
        if not moved:
            return outcome
        pending = moved
    outcome.unsettled = sorted(pending or ())
    return outcome


def _set_counter(
    client: DynamoDBClient,
    settings: Settings,
    department_id: str,
    before: object,
    count: int,
) -> bool:
    """False when the counter is no longer what was read (or the department is gone)."""
    guard = "event_count = :before" if before is not None else "attribute_not_exists(event_count)"
    values = {":count": to_value(count)}
    if before is not None:
        values[":before"] = to_value(before)
    try:
        client.update_item(
            TableName=settings.departments_table,
            Key={"id": {"S": department_id}},
            UpdateExpression="SET event_count = :count",
            ConditionExpression=f"attribute_exists(id) AND {guard}",
            ExpressionAttributeValues=values,
        )
    except ClientError as error:
        if error_code(error) == "ConditionalCheckFailedException":
            return False
        raise
    return True
