"""Legacy records → validated rows, with the same rules as the API; rejects say why."""

import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from chalicelib.calendar.schedule import FIELDS as SCHEDULE_FIELDS
from chalicelib.calendar.schedule import Schedule
from chalicelib.clock import timestamp
from chalicelib.errors import ValidationFailed
from chalicelib.formats import is_calendar_date, is_valid_id
from chalicelib.models import (
    DepartmentCreate,
    EventCreate,
    department_name_key,
    parse,
)
from chalicelib.repositories.events import checked
from ops.migration.legacy import SourceRecord

# Ids made for records that have none: the same content always gets the same id, so a
# second run finds the first run's items instead of writing them again.
ID_NAMESPACE = uuid.UUID("6f1d3c2e-2b9a-5d4e-9c1f-0a7b3e5d8c21")

# What an export adds (manage.py export writes these shapes): kept, so export → migrate into
# empty tables gives back the same items.
HISTORY_FIELDS = frozenset({"updated_at", "version", "created_by", "updated_by"})
DEPARTMENT_FIELDS = (
    frozenset({"id", "name", "description", "reminders", "created_at"}) | HISTORY_FIELDS
)
# The parts of a series that only exist once it was changed through the API (an export keeps
# them, so a changed occurrence comes back as one).
OCCURRENCE_FIELDS = frozenset({"series_id", "occurrence_date", "overrides"})
EVENT_FIELDS = (
    frozenset({"id", "department_id", "title", "time", "description", "reminders", "created_at"})
    | frozenset(SCHEDULE_FIELDS)
    | OCCURRENCE_FIELDS
    | HISTORY_FIELDS
)


@dataclass(frozen=True)
class Reject:
    kind: str  # "department" | "event"
    where: str
    reason: str
    record: Any  # exactly as the file holds it, so it can be fixed there and migrated again

    def as_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "where": self.where,
            "reason": self.reason,
            "record": self.record,
        }


@dataclass(frozen=True)
class History:
    """Timestamps, version and actors a record may carry (an export does; legacy files don't)."""

    updated_at: str | None = None
    version: int | None = None
    created_by: str | None = None
    updated_by: str | None = None


@dataclass(frozen=True)
class DepartmentRow:
    id: str
    name: str
    description: str
    created_at: str | None
    where: str
    history: History = History()
    # The default reminders of its events; None: none.
    reminders: tuple[int, ...] | None = None
    # The record as the file holds it, for a reject decided after validation.
    record: Any = field(default=None, compare=False, repr=False)

    @property
    def name_key(self) -> str:
        return department_name_key(self.name)


@dataclass(frozen=True)
class EventRow:
    id: str
    department_id: str
    event_date: str
    title: str
    time: str
    description: str
    created_at: str | None
    where: str
    history: History = History()
    schedule: Schedule | None = None
    # series_id, occurrence_date, overrides, as an export carries them.
    occurrence: tuple[tuple[str, Any], ...] = ()
    # start_time came from reading the `time` text.
    derived_time: bool = False
    # Its own reminders; None: the department's default.
    reminders: tuple[int, ...] | None = None
    # The record as the file holds it, for a reject decided after validation.
    record: Any = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.schedule is None:
            object.__setattr__(self, "schedule", Schedule(self.event_date))


def _reminders(minutes: list[int] | None) -> tuple[int, ...] | None:
    return None if minutes is None else tuple(minutes)


def validate_departments(
    records: list[SourceRecord],
) -> tuple[list[DepartmentRow], list[Reject]]:
    rows: list[DepartmentRow] = []
    rejects: list[Reject] = []
    ids: dict[str, str] = {}
    names: dict[str, str] = {}
    for source in records:
        try:
            data = _fields(source.data, DEPARTMENT_FIELDS)
            content = parse(DepartmentCreate, _without(data, "id", "created_at", *HISTORY_FIELDS))
            row = DepartmentRow(
                id=_id(data, f"department:{department_name_key(content.name)}"),
                name=content.name,
                description=content.description,
                created_at=_timestamp(data),
                where=source.where,
                history=_history(data),
                reminders=_reminders(content.reminders),
                record=source.raw,
            )
            if row.id in ids:
                raise _Invalid(f"id '{row.id}' is used by {ids[row.id]} too")
            if row.name_key in names:
                raise _Invalid(f"name '{row.name}' is used by {names[row.name_key]} too")
        except (_Invalid, ValidationFailed) as problem:
            rejects.append(Reject("department", source.where, _reason(problem), source.raw))
            continue
        ids[row.id] = names[row.name_key] = source.where
        rows.append(row)
    return rows, rejects


def validate_events(records: list[SourceRecord]) -> tuple[list[EventRow], list[Reject]]:
    """Checks each event on its own; whether its department exists is decided by the caller,
    which knows the departments in the file and in the table."""
    rows: list[EventRow] = []
    rejects: list[Reject] = []
    keys: dict[tuple[str, str], str] = {}
    for source in records:
        try:
            data = _fields(source.data, EVENT_FIELDS | {"_filed_under"})
            if "_filed_under" in data:
                raise _Invalid(
                    f"department_id '{data['department_id']}' differs from the department "
                    f"'{data['_filed_under']}' it is filed under"
                )
            department_id = _as_text_id(data.get("department_id"))
            if not isinstance(department_id, str) or not is_valid_id(department_id):
                raise _Invalid("department_id: is required, an id of letters, digits and ._:-")
            content = parse(
                EventCreate,
                _without(
                    data,
                    "id",
                    "department_id",
                    "created_at",
                    *HISTORY_FIELDS,
                    *OCCURRENCE_FIELDS,
                ),
            )
            schedule = checked(Schedule.of(content.model_dump()))
            fingerprint = json.dumps(
                [
                    department_id,
                    content.event_date,
                    content.title,
                    content.time,
                    content.description,
                ],
                ensure_ascii=False,
            )
            row = EventRow(
                id=_id(data, f"event:{fingerprint}"),
                department_id=department_id,
                event_date=content.event_date,
                title=content.title,
                time=content.time,
                description=content.description,
                created_at=_timestamp(data),
                where=source.where,
                history=_history(data),
                schedule=schedule,
                occurrence=_occurrence(data),
                derived_time=bool(content.start_time) and not data.get("start_time"),
                reminders=_reminders(content.reminders),
                record=source.raw,
            )
            key = (row.id, row.department_id)
            if key in keys:
                raise _Invalid(f"id '{row.id}' is used by {keys[key]} too")
        except (_Invalid, ValidationFailed) as problem:
            rejects.append(Reject("event", source.where, _reason(problem), source.raw))
            continue
        keys[key] = source.where
        rows.append(row)
    return rows, rejects


class _Invalid(Exception):
    pass


def _occurrence(data: dict[str, Any]) -> tuple[tuple[str, Any], ...]:
    """What ties a changed occurrence to its series, checked as the API would have written it."""
    found: list[tuple[str, Any]] = []
    for name in ("series_id", "occurrence_date"):
        value = data.get(name)
        if value is None:
            continue
        valid = is_valid_id(value) if name == "series_id" else is_calendar_date(value)
        if not isinstance(value, str) or not valid:
            raise _Invalid(f"{name}: is not what the API writes there")
        found.append((name, value))
    overrides = data.get("overrides")
    if overrides is not None:
        if not isinstance(overrides, list) or not all(
            isinstance(day, str) and is_calendar_date(day) for day in overrides
        ):
            raise _Invalid("overrides: must be a list of dates written YYYY-MM-DD")
        found.append(("overrides", sorted(set(overrides))))
    return tuple(found)


def _fields(data: Any, allowed: frozenset[str]) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise _Invalid("not a JSON object")
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise _Invalid(f"unknown field(s): {', '.join(unknown)}")
    return data


def _without(data: dict[str, Any], *names: str) -> dict[str, Any]:
    return {k: v for k, v in data.items() if k not in names}


def _id(data: dict[str, Any], fingerprint: str) -> str:
    if "id" not in data or data["id"] is None:
        return str(uuid.uuid5(ID_NAMESPACE, fingerprint))
    value = _as_text_id(data["id"])
    if not isinstance(value, str) or not is_valid_id(value):
        raise _Invalid("id: must be 1-128 letters, digits or ._:-")
    return value


def _as_text_id(value: Any) -> Any:
    """Legacy numeric ids keep working as their decimal text, wherever they appear."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


def _timestamp(data: dict[str, Any], name: str = "created_at") -> str | None:
    """The moment in the stored format (chalicelib.clock: UTC, milliseconds, `Z`), so that
    migrated and API-written timestamps compare and sort alike as text. One with an offset is
    converted to UTC; one without is taken to be UTC already."""
    value = data.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise _Invalid(f"{name}: must be an ISO 8601 timestamp")
    try:
        moment = datetime.fromisoformat(value)
        return timestamp(moment if moment.tzinfo else moment.replace(tzinfo=UTC))
    except (ValueError, OverflowError):  # not a timestamp, or out of range once in UTC
        raise _Invalid(f"{name}: must be an ISO 8601 timestamp") from None


def _history(data: dict[str, Any]) -> History:
    version = data.get("version")
    if version is not None and (
        not isinstance(version, int) or isinstance(version, bool) or version < 1
    ):
        raise _Invalid("version: must be a whole number from 1")
    actors = {}
    for name in ("created_by", "updated_by"):
        value = data.get(name)
        if value is not None and (
            not isinstance(value, str) or not value or len(value) > 200 or not value.isprintable()
        ):
            raise _Invalid(f"{name}: must be printable text of at most 200 characters")
        actors[name] = value
    return History(
        updated_at=_timestamp(data, "updated_at"),
        version=version,
        created_by=actors["created_by"],
        updated_by=actors["updated_by"],
    )


def _reason(problem: Exception) -> str:
    if isinstance(problem, ValidationFailed) and problem.fields:
        return "; ".join(f"{p.field}: {p.message}" for p in problem.fields)
    return str(problem)
