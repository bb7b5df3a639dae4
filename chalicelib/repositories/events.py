"""Calendar events. Keyed by (id, department_id); listed through the department calendar index."""

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from chalicelib.calendar.instances import Window, occurrence_id, occurrence_of
from chalicelib.calendar.schedule import FIELDS, Schedule
from chalicelib.clock import Clock, utc_now
from chalicelib.dynamo import (
    DynamoDBClient,
    failed_conditions,
    from_item,
    storage_errors,
    to_item,
    transact_write,
)
from chalicelib.errors import (
    ConcurrentModification,
    DepartmentNotFound,
    EventNotFound,
    FieldProblem,
    OccurrenceNotFound,
    ValidationFailed,
    VersionMismatch,
)
from chalicelib.formats import is_calendar_date
from chalicelib.models import (
    Conflict,
    Event,
    EventAnswer,
    EventCreate,
    EventUpdate,
    check_reminders_timed,
)
from chalicelib.pagination import MAX_LIMIT
from chalicelib.repositories._common import (
    condition,
    deletion_stamp,
    new_id,
    unchanged_since,
    version_guard,
    with_guard,
)
from chalicelib.repositories.event_counter import COUNTED_IN, EventCounter, counted_in
from chalicelib.repositories.event_listing import EventListing
from chalicelib.repositories.idempotency import Created, IdempotencyRecords, IdempotentRequest
from chalicelib.settings import Settings
from chalicelib.tables import calendar_attributes

# Where the create's department counter and the delete's event stand in their transactions.
_CREATE_COUNTER = 0
_OCCURRENCE_COUNTER = 2
_DELETE_EVENT = 0
# Index keys worked out from the event itself on every write: the calendar index's, and, on
# events that last past their start date, the sparse span index's.
INDEX_ATTRIBUTES = ("calendar_key", "calendar_order", "span_department", "span_until")
# A PATCH without If-Match that meets a concurrent change reads again this many times.
_UPDATE_ATTEMPTS = 3


class EventRepository:
    def __init__(self, client: DynamoDBClient, settings: Settings, clock: Clock = utc_now) -> None:
        self._client = client
        self._table = settings.events_table
        self._clock = clock
        self._idempotency = IdempotencyRecords(client, settings.idempotency_table)
        self._counter = EventCounter(client, settings)
        self.listing = EventListing(client, settings.events_table)

    def create(
        self,
        department_id: str,
        data: EventCreate,
        actor: str,
        request: IdempotentRequest | None = None,
    ) -> Created[EventAnswer]:
        now = self._clock()
        schedule = checked(Schedule.of(data.model_dump()))
        timed_reminders(data.reminders, schedule)
        event_id = new_id()
        counted = self._counter.shard_for(event_id)
        item = stored_event(
            {
                "id": event_id,
                "department_id": department_id,
                COUNTED_IN: counted,
                "title": data.title,
                "time": data.time,
                "description": data.description,
                # None (the department's default) is not stored; [] (none) is.
                "reminders": data.reminders,
                "created_at": now,
                "updated_at": now,
                "version": 1,
                "created_by": actor,
                "updated_by": actor,
            },
            schedule,
        )
        answer = EventAnswer.model_validate(
            {**item, "conflicts": self._conflicts(department_id, schedule, str(item["id"]))}
        )
        items = [
            # The department must exist (its counter item stands for it), and the counter
            # moves with this create.
            self._counter.move(department_id, counted, +1),
            _put(self._table, item, condition("attribute_not_exists(id)")),
        ]
        outcome = self._idempotency.create(items, answer, request)
        if isinstance(outcome, list) and self._first_of_its_counter(outcome, counted, answer):
            outcome = self._idempotency.create(items, answer, request)
        if isinstance(outcome, list):
            raise _why_create_refused(failed_conditions(outcome), answer)
        return outcome

    def get(self, department_id: str, event_id: str) -> Event:
        return Event.model_validate(self._read(department_id, event_id))

    def update(
        self,
        department_id: str,
        event_id: str,
        data: EventUpdate,
        actor: str,
        expected_version: int | None = None,
    ) -> EventAnswer:
        """Read, apply the changes, check the whole event, write it back if nobody changed it
        meanwhile: a change of one time must agree with the others (end after start)."""
        for _ in range(_UPDATE_ATTEMPTS):
            current = self._read(department_id, event_id)
            _expect_version(current, expected_version)
            changed = changed_event(current, data.changes(), now=self._clock(), actor=actor)
            answer = self._answer(changed, current)
            if self._put_unless_changed(changed, current):
                return answer
            if expected_version is not None:
                raise self._why_refused(department_id, event_id)
        raise ConcurrentModification(f"Event '{event_id}'")

    def delete(
        self,
        department_id: str,
        event_id: str,
        actor: str,
        expected_version: int | None = None,
    ) -> None:
        key: dict[str, Any] = {"TableName": self._table, "Key": _key(department_id, event_id)}
        delete = {**key, **version_guard(expected_version)}
        stamp = with_guard(deletion_stamp(actor, self._clock()), version_guard(expected_version))
        with storage_errors():
            try:
                stamped = self._client.update_item(**key, **stamp, ReturnValues="ALL_NEW")
            except self._client.exceptions.ConditionalCheckFailedException:
                raise self._why_refused(department_id, event_id) from None
            counted = counted_in(from_item(stamped["Attributes"]))
            codes = transact_write(
                self._client, [{"Delete": delete}, self._counter.move(department_id, counted, -1)]
            )
            if codes is None:
                return
            if _DELETE_EVENT in failed_conditions(codes):
                # Deleted or changed by someone else since the stamp.
                raise self._why_refused(department_id, event_id)
            # Only the counter was refused: the event exists but its department does not
            # (written by another tool). There is no counter to move; the event goes alone.
            try:
                self._client.delete_item(**delete)
            except self._client.exceptions.ConditionalCheckFailedException:
                raise self._why_refused(department_id, event_id) from None

    def change_occurrence(
        self,
        department_id: str,
        series_id: str,
        day: str,
        data: EventUpdate,
        actor: str,
        *,
        expected_version: int | None = None,
        following: bool = False,
    ) -> EventAnswer:
        """Change one occurrence of a series (stored as its own event, under the occurrence's
        id), or with `following` this and every later one (the series ends the day before and
        a new series starts on `day` with the changes)."""
        for _ in range(_UPDATE_ATTEMPTS):
            series = self._read(department_id, series_id)
            _check_occurrence(series, day)
            override_id = occurrence_id(series_id, day)
            if following and day == series["event_date"]:
                return self.update(department_id, series_id, data, actor, expected_version)
            if not following and day in (series.get("overrides") or ()):
                return self.update(department_id, override_id, data, actor, expected_version)
            _expect_version(series, expected_version)
            now = self._clock()
            fresh = _new_item(occurrence_of(series, day), now, actor)
            if following:
                fresh["id"] = new_id()
                fresh.update(_following_part(series, day))
                for name in ("series_id", "occurrence_date"):
                    fresh.pop(name, None)
            changed = changed_event(fresh, data.changes(), now=now, actor=actor)
            # A new event: counted on its own counter item, not the series'.
            counted = changed[COUNTED_IN] = self._counter.shard_for(changed["id"])
            answer = self._answer(changed, None)
            if following:
                ending = changed_event(series, _ending_part(series, day), now=now, actor=actor)
                series_write = _put(self._table, ending, unchanged_since(series))
            else:
                series_write = self._note_override(series, day)
            items = [
                series_write,
                _put(self._table, changed, condition("attribute_not_exists(id)")),
                self._counter.move(department_id, counted, +1),
            ]
            with storage_errors():
                codes = transact_write(self._client, items)
            if codes is None:
                return answer
            if _OCCURRENCE_COUNTER in failed_conditions(codes):
                if not self._open_counter(department_id, counted):
                    raise DepartmentNotFound(department_id)
                continue
            if expected_version is not None:
                raise self._why_refused(department_id, series_id)
        raise ConcurrentModification(f"Event '{series_id}'")

    def cancel_occurrence(
        self,
        department_id: str,
        series_id: str,
        day: str,
        actor: str,
        expected_version: int | None = None,
        *,
        following: bool = False,
    ) -> None:
        """Cancel one occurrence (an EXDATE on the series; its changed copy goes too), or with
        `following` this and every later one (the series ends the day before)."""
        for _ in range(_UPDATE_ATTEMPTS):
            series = self._read(department_id, series_id)
            _check_occurrence(series, day)
            if following and day == series["event_date"]:
                self.delete(department_id, series_id, actor, expected_version)
                return
            _expect_version(series, expected_version)
            now = self._clock()
            if following:
                changes = _ending_part(series, day)
            else:
                changes = {"exdates": sorted({*(series.get("exdates") or ()), day})}
            changed = changed_event(series, changes, now=now, actor=actor)
            items = [_put(self._table, changed, unchanged_since(series))]
            override_id = occurrence_id(series_id, day)
            if not following and day in (series.get("overrides") or ()):
                stamp = with_guard(deletion_stamp(actor, now), condition("attribute_exists(id)"))
                key = _key(department_id, override_id)
                with storage_errors():
                    try:
                        stamped = self._client.update_item(
                            TableName=self._table, Key=key, **stamp, ReturnValues="ALL_NEW"
                        )
                    except self._client.exceptions.ConditionalCheckFailedException:
                        pass  # already deleted on its own
                    else:
                        counted = counted_in(from_item(stamped["Attributes"]))
                        items.append({"Delete": {"TableName": self._table, "Key": key}})
                        items.append(self._counter.move(department_id, counted, -1))
            with storage_errors():
                codes = transact_write(self._client, items)
            if codes is None:
                return
            if expected_version is not None:
                raise self._why_refused(department_id, series_id)
        raise ConcurrentModification(f"Event '{series_id}'")

    def _note_override(self, series: Mapping[str, Any], day: str) -> dict[str, Any]:
        """The series remembers which occurrences have a changed copy, so that expanding it
        leaves them out. Housekeeping: the series' version does not move."""
        return {
            "Update": {
                "TableName": self._table,
                "Key": _key(str(series["department_id"]), str(series["id"])),
                "UpdateExpression": "SET #o = list_append(if_not_exists(#o, :none), :day)",
                **with_guard(
                    {
                        "ExpressionAttributeNames": {"#o": "overrides"},
                        "ExpressionAttributeValues": to_item({":none": [], ":day": [day]}),
                    },
                    unchanged_since(series),
                ),
            }
        }

    def _read(self, department_id: str, event_id: str) -> dict[str, Any]:
        with storage_errors():
            response = self._client.get_item(
                TableName=self._table, Key=_key(department_id, event_id), ConsistentRead=True
            )
        if "Item" not in response:
            raise EventNotFound(department_id, event_id)
        return from_item(response["Item"])

    def _answer(self, changed: dict[str, Any], current: Mapping[str, Any] | None) -> EventAnswer:
        """The answer to a write: the event, and what it overlaps when its times moved (or it
        is new)."""
        schedule = Schedule.of(changed)
        conflicts: list[Conflict] = []
        if current is None or schedule != Schedule.of(current):
            conflicts = self._conflicts(str(changed["department_id"]), schedule, changed["id"])
        return EventAnswer.model_validate({**changed, "conflicts": conflicts})

    def _put_unless_changed(self, item: dict[str, Any], read: Mapping[str, Any]) -> bool:
        """Write `item` over the version that was `read`; False if it changed since."""
        with storage_errors():
            try:
                self._client.put_item(
                    TableName=self._table, Item=to_item(item), **unchanged_since(read)
                )
            except self._client.exceptions.ConditionalCheckFailedException:
                return False
        return True

    def _conflicts(self, department_id: str, schedule: Schedule, event_id: str) -> list[Conflict]:
        """The department's timed events that overlap this one's first occurrence."""
        start, end = schedule.start(), schedule.end()
        if start is None or end is None:
            return []
        window = Window(schedule.event_date, schedule.last_day)
        found = []
        others, _ = self.listing.instances(department_id, window, MAX_LIMIT)
        for other in others:
            if event_id in (other["id"], other.get("series_id")):
                continue
            other_schedule = Schedule.of(other)
            other_start, other_end = other_schedule.start(), other_schedule.end()
            if other_start is None or other_end is None:
                continue
            if _overlap(start, end, other_start, other_end):
                found.append(
                    Conflict(
                        id=str(other["id"]),
                        title=str(other["title"]),
                        start=other_start.isoformat(timespec="seconds"),
                        end=other_end.isoformat(timespec="seconds"),
                    )
                )
        return found

    def _why_refused(self, department_id: str, event_id: str) -> Exception:
        """A conditional write failed: the event is gone (404), or it is not the version the
        caller named (412, with the version it is now)."""
        response = self._client.get_item(
            TableName=self._table, Key=_key(department_id, event_id), ConsistentRead=True
        )
        if "Item" not in response:
            return EventNotFound(department_id, event_id)
        version = int(from_item(response["Item"]).get("version", 0))
        return VersionMismatch(f"Event '{event_id}'", version)

    def _first_of_its_counter(self, codes: list[str], counted: int, event: Event) -> bool:
        """A create refused by its counter item alone, whose department exists: the item was
        not made yet (a department's first events on it), and is now. True: create again."""
        if _CREATE_COUNTER not in failed_conditions(codes):
            return False
        return self._open_counter(event.department_id, counted)

    def _open_counter(self, department_id: str, counted: int) -> bool:
        with storage_errors():
            return self._counter.open(department_id, counted)


def _why_create_refused(failed: frozenset[int], event: Event) -> Exception:
    """A create refused by a condition: the department is missing (404; it counts first, as
    an event can never exist without it), or another writer took the new event's id in the
    same moment (409: a retry gets a new id)."""
    if _CREATE_COUNTER in failed:
        return DepartmentNotFound(event.department_id)
    # The other item is the event itself, put under attribute_not_exists(id).
    return ConcurrentModification(f"Event '{event.id}'")


def _key(department_id: str, event_id: str) -> dict[str, Any]:
    return {"id": {"S": event_id}, "department_id": {"S": department_id}}


def checked(schedule: Schedule) -> Schedule:
    problems = schedule.problems()
    if problems:
        fields = ", ".join(problem.field for problem in problems)
        raise ValidationFailed(f"Invalid field(s): {fields}.", fields=tuple(problems))
    return schedule


def timed_reminders(reminders: list[int] | None, schedule: Schedule) -> None:
    """The event as a whole, after its changes: reminders only on a timed one."""
    try:
        check_reminders_timed(schedule.start_time, reminders)
    except ValueError as error:
        problem = FieldProblem("reminders", str(error))
        raise ValidationFailed("Invalid field(s): reminders.", fields=(problem,)) from None


def stored_event(item: Mapping[str, Any], schedule: Schedule) -> dict[str, Any]:
    """The item to store: its fields with the schedule's, its calendar index keys, and the span
    index's key when the event lasts past its start date."""
    stored = {k: v for k, v in item.items() if k not in FIELDS and k not in INDEX_ATTRIBUTES}
    stored.update(schedule.fields())
    stored.update(
        calendar_attributes(
            str(stored["department_id"]), str(stored["id"]), str(stored["event_date"])
        )
    )
    until = schedule.span_until()
    if until is not None:
        stored["span_department"] = stored["department_id"]
        stored["span_until"] = until
    return stored


def changed_event(
    current: Mapping[str, Any], changes: Mapping[str, Any], *, now: str, actor: str
) -> dict[str, Any]:
    """The event after a PATCH: "" removes an optional part, all_day: true removes the times,
    null `reminders` go back to the department's default (the attribute is left out)."""
    changes = dict(changes)
    if changes.pop("all_day", None) is True:
        changes.update(start_time="", end_time="")
    merged = {**current, **changes}
    schedule = checked(Schedule.of(merged))
    timed_reminders(merged.get("reminders"), schedule)
    if merged.get("reminders", ()) is None:
        del merged["reminders"]
    return stored_event(
        {
            **merged,
            "version": int(current.get("version", 0)) + 1,
            "updated_at": now,
            "updated_by": actor,
        },
        schedule,
    )


def _check_occurrence(series: Mapping[str, Any], day: str) -> None:
    schedule = Schedule.of(series)
    if schedule.recurrence is None or not is_calendar_date(day):
        raise OccurrenceNotFound(str(series["id"]), day)
    from chalicelib.calendar.recurrence import is_occurrence, parse_rule

    if day in (series.get("overrides") or ()):
        return
    first = date.fromisoformat(schedule.event_date)
    exdates = {date.fromisoformat(d) for d in schedule.exdates}
    if not is_occurrence(parse_rule(schedule.recurrence), first, date.fromisoformat(day), exdates):
        raise OccurrenceNotFound(str(series["id"]), day)


def _new_item(base: Mapping[str, Any], now: str, actor: str) -> dict[str, Any]:
    """A copy of `base` as a new event (version 0: changed_event makes it 1)."""
    fresh = {k: v for k, v in base.items() if k not in ("deleted_by", "deleted_at")}
    fresh.update(created_at=now, created_by=actor, version=0)
    return fresh


def _following_part(series: Mapping[str, Any], day: str) -> dict[str, Any]:
    """The new series of "this and the following": the rule from `day` on; occurrences from
    `day` on that were changed alone keep their own copies, so the new series skips them."""
    from chalicelib.calendar.recurrence import parse_rule, split_at

    schedule = Schedule.of(series)
    first = date.fromisoformat(schedule.event_date)
    _, rest = split_at(parse_rule(str(schedule.recurrence)), first, date.fromisoformat(day))
    kept = [d for d in (*schedule.exdates, *(series.get("overrides") or ())) if d >= day]
    return {"recurrence": rest.text, "exdates": sorted(set(kept))}


def _ending_part(series: Mapping[str, Any], day: str) -> dict[str, Any]:
    """The changes that end a series the day before `day`."""
    from chalicelib.calendar.recurrence import parse_rule, split_at

    schedule = Schedule.of(series)
    first = date.fromisoformat(schedule.event_date)
    ending, _ = split_at(parse_rule(str(schedule.recurrence)), first, date.fromisoformat(day))
    assert ending is not None  # `day` is after the first occurrence
    return {"recurrence": ending.text, "exdates": [d for d in schedule.exdates if d < day]}


def _put(table: str, item: Mapping[str, Any], guard: Mapping[str, Any]) -> dict[str, Any]:
    return {"Put": {"TableName": table, "Item": to_item(item), **guard}}


def _expect_version(item: Mapping[str, Any], expected: int | None) -> None:
    if expected is not None and int(item.get("version", 0)) != expected:
        raise VersionMismatch(f"Event '{item['id']}'", int(item.get("version", 0)))


def _overlap(start: datetime, end: datetime, other_start: datetime, other_end: datetime) -> bool:
    """Intervals overlap; an event without an end time is the moment it starts."""
    return start == other_start or (start < other_end and other_start < end)
