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

from chalicelib.dynamo import DynamoDBClient
from chalicelib.repositories.departments import DepartmentRepository
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
    departments = DepartmentRepository(client, settings)
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
            if not departments.set_event_count(department_id, actual, before=before):
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
