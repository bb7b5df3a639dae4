"""`manage.py recount`: set each department's event counter to the number of its events.

The counter (see repositories/event_counter.py) is what stops a department with events from
being deleted. It has parts: the department item's own count, of the events that name no
counter item (made before the counter was spread, or by the migration), and the counter items,
each counting the events that name it in `counted_in`. This API and the migration move the
right part with every event they write; a writer that bypasses both (the console, another
service) can make any part drift, or delete a counter item.

The events are counted from the events table itself, with a consistent Scan (the calendar index
may lag), after every part was read, and a part is written only where it is wrong, on
condition that it still holds what was read before the count: an event created or deleted
through the API meanwhile moves it, and that department is counted again. A counter item that
events name but that is gone is made again (with a check that its department exists) first.
"""

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from chalicelib.dynamo import DynamoDBClient
from chalicelib.repositories.departments import DepartmentRepository
from chalicelib.repositories.event_counter import (
    COUNTED_IN,
    EventCounter,
    counted_in,
    counter_key,
)
from chalicelib.settings import Settings
from chalicelib.tables import COUNTER_SHARDS, spread_keys
from ops.export import scan

_ATTEMPTS = 5


@dataclass
class Recounted:
    checked: int = 0  # departments
    fixed: int = 0  # counters written: department items' own counts and counter items
    # Departments whose counter kept moving while they were counted.
    unsettled: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Department:
    name: str
    # Its own count, of the events that name no counter item (None: none yet).
    event_count: int | None
    # Its counter items as read, by number → what each counts (None: no count on it).
    items: dict[int, int | None]


@dataclass(frozen=True)
class _EventCounts:
    """The events table counted per part of the counters: per department, the events that
    name no counter item, and the events naming each counter item."""

    own: Counter[str]
    by_item: dict[str, Counter[int]]  # department id → counter item number → events

    @classmethod
    def of(cls, events: Iterable[Mapping[str, Any]]) -> "_EventCounts":
        own: Counter[str] = Counter()
        by_item: dict[str, Counter[int]] = defaultdict(Counter)
        for event in events:
            department_id = str(event["department_id"])
            item = counted_in(event)
            if item is None:
                own[department_id] += 1
            else:
                by_item[department_id][item] += 1
        return cls(own, by_item)


def recount(
    client: DynamoDBClient, settings: Settings, report: Callable[[str], None] = print
) -> Recounted:
    outcome = Recounted()
    writer = _CounterWriter(client, settings, outcome, report)
    pending: set[str] | None = None  # None: every department
    for _ in range(_ATTEMPTS):
        # Every part of the counters is read before the events are counted: a part that moves
        # after its read refuses the write below, and its department is counted again.
        departments = _departments(client, settings, pending)
        if pending is None:
            outcome.checked = len(departments)
        events = _EventCounts.of(scan(client, settings.events_table, ("department_id", COUNTED_IN)))
        moved = {
            department_id
            for department_id, department in departments.items()
            if not writer.settle(department_id, department, events)
        }
        if not moved:
            return outcome
        pending = moved
    outcome.unsettled = sorted(pending or ())
    return outcome


def _departments(
    client: DynamoDBClient, settings: Settings, only: set[str] | None
) -> dict[str, _Department]:
    """The departments (`only` these, when named) with every part of their counters as
    stored now. Counter items of departments that are gone are left alone."""
    own = {
        str(item["id"]): (str(item.get("name", "")), item.get("event_count"))
        for item in scan(client, settings.departments_table, ("id", "name", "event_count"))
        if only is None or item["id"] in only
    }
    items: dict[str, dict[int, int | None]] = defaultdict(dict)
    counter_items = scan(
        client, settings.counters_table, ("counter_key", "department_id", "event_count")
    )
    for item in counter_items:
        department_id = str(item.get("department_id"))
        if department_id not in own:
            continue
        numbers = {key: n for n, key in enumerate(spread_keys(department_id, COUNTER_SHARDS))}
        number = numbers.get(str(item["counter_key"]))
        if number is not None:
            count = item.get("event_count")
            items[department_id][number] = None if count is None else int(count)
    return {
        department_id: _Department(
            name, None if count is None else int(count), dict(items.get(department_id, {}))
        )
        for department_id, (name, count) in own.items()
    }


class _CounterWriter:
    """Writes the parts of a department's counters that disagree with its events."""

    def __init__(
        self,
        client: DynamoDBClient,
        settings: Settings,
        outcome: Recounted,
        report: Callable[[str], None],
    ) -> None:
        self._departments = DepartmentRepository(client, settings)
        self._counter = EventCounter(client, settings)
        self._outcome = outcome
        self._report = report

    def settle(self, department_id: str, department: _Department, events: _EventCounts) -> bool:
        """Set each wrong part of the department's counters; False if any moved meanwhile
        (the department is then counted again). Every part is tried even so: what is right
        now need not be written on the next pass."""
        named = events.by_item.get(department_id, Counter())
        settled = self._settle_own(department_id, department, events.own[department_id])
        for key in sorted({*department.items, *named}):
            settled &= self._settle_item(department_id, department, key, named[key])
        return settled

    def _settle_own(self, department_id: str, department: _Department, actual: int) -> bool:
        before = department.event_count
        if before == actual:
            return True
        if not self._departments.set_event_count(department_id, actual, before=before):
            return False
        self._fixed(f"{department.name} ({department_id})", before, actual)
        return True

    def _settle_item(
        self, department_id: str, department: _Department, number: int, actual: int
    ) -> bool:
        exists = number in department.items
        before = department.items.get(number)
        if exists and before == actual:
            return True
        if not exists:
            if actual == 0:
                return True  # not there, and nothing to count on it
            # Made as the API makes it, counting nothing, where its department still exists.
            if not self._counter.open(department_id, number):
                return False  # the department was deleted meanwhile
        key = counter_key(department_id, number)
        start = before if exists else 0
        if not self._counter.set_count(key, actual, before=start):
            return False
        self._fixed(f"{department.name} ({department_id}) 카운터 항목 {key}", before, actual)
        return True

    def _fixed(self, counter: str, before: int | None, actual: int) -> None:
        self._outcome.fixed += 1
        shown = "없음" if before is None else f"{before}개"
        self._report(f"✓ {counter}: 일정 수 {shown} → {actual}개")
