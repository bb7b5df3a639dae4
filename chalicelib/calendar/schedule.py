"""When an event happens: its dates, wall-clock times, zone and recurrence, checked as a whole.

Every writer (the API's create and update, the migration) builds a Schedule from what the event
will hold and refuses it if `problems()` is not empty, so the rules live here once.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from chalicelib.calendar.moments import DEFAULT_ZONE, moment, rfc3339
from chalicelib.errors import FieldProblem

# The stored fields a schedule is made of; absent (or "") when an event does not use them.
FIELDS = ("event_date", "start_time", "end_time", "end_date", "timezone", "recurrence", "exdates")
# The last day of a series without an end (COUNT or UNTIL); sorts after every real date.
NEVER = "9999-12-31"
# The first day there is: a listing with no lower bound starts here.
FIRST = "0001-01-01"


@dataclass(frozen=True)
class Schedule:
    event_date: str
    start_time: str | None = None
    end_time: str | None = None
    end_date: str | None = None
    timezone: str = DEFAULT_ZONE
    recurrence: str | None = None
    exdates: tuple[str, ...] = ()

    @classmethod
    def of(cls, item: Mapping[str, Any]) -> "Schedule":
        """The schedule of a stored item or a validated body ("" and None mean absent)."""
        return cls(
            event_date=str(item["event_date"]),
            start_time=item.get("start_time") or None,
            end_time=item.get("end_time") or None,
            end_date=item.get("end_date") or None,
            timezone=item.get("timezone") or DEFAULT_ZONE,
            recurrence=item.get("recurrence") or None,
            exdates=tuple(item.get("exdates") or ()),
        )

    def fields(self) -> dict[str, Any]:
        """What to store: absent parts are left out, so a stored item holds only what it uses."""
        stored: dict[str, Any] = {"event_date": self.event_date, "timezone": self.timezone}
        for name in ("start_time", "end_time", "end_date", "recurrence"):
            if getattr(self, name) is not None:
                stored[name] = getattr(self, name)
        if self.exdates:
            stored["exdates"] = list(self.exdates)
        return stored

    @property
    def all_day(self) -> bool:
        return self.start_time is None

    @property
    def last_day(self) -> str:
        """The last date of the event itself (its first occurrence, for a series)."""
        return self.end_date or self.event_date

    def problems(self) -> list[FieldProblem]:
        found = []
        if self.end_time is not None and self.start_time is None:
            found.append(FieldProblem("end_time", "needs a start_time"))
        if self.end_date is not None and self.end_date < self.event_date:
            found.append(FieldProblem("end_date", "must not be before event_date"))
        elif (
            self.start_time is not None
            and self.end_time is not None
            and self.last_day == self.event_date
            and self.end_time <= self.start_time
        ):
            found.append(FieldProblem("end_time", "must be after start_time on the same day"))
        if self.exdates and self.recurrence is None:
            found.append(FieldProblem("exdates", "only a recurring event (recurrence) has them"))
        return found

    def start(self, day: str | None = None) -> datetime | None:
        """When it starts (on `day`, for an occurrence of a series); None if all-day."""
        if self.start_time is None:
            return None
        return moment(day or self.event_date, self.start_time, self.timezone)

    def end(self, day: str | None = None) -> datetime | None:
        """When it ends: end_time on the last day, or the start time there when none is given."""
        if self.start_time is None:
            return None
        last = _shift(self.last_day, day, self.event_date)
        return moment(last, self.end_time or self.start_time, self.timezone)

    def duration_days(self) -> int:
        return (date.fromisoformat(self.last_day) - date.fromisoformat(self.event_date)).days

    def span_until(self) -> str | None:
        """The last date any occurrence touches, for events that span more than their start
        date (multi-day or recurring); None for a one-day event."""
        if self.recurrence is None:
            return self.end_date if self.last_day > self.event_date else None
        from chalicelib.calendar.recurrence import last_date, parse_rule

        last = last_date(parse_rule(self.recurrence), date.fromisoformat(self.event_date))
        if last is None:
            return NEVER
        try:
            return (last + timedelta(days=self.duration_days())).isoformat()
        except OverflowError:  # lasts past the calendar's end
            return NEVER


def _shift(day: str, occurrence: str | None, first: str) -> str:
    """`day` of the first occurrence, moved to the occurrence starting on `occurrence`."""
    if occurrence is None or occurrence == first:
        return day
    offset = date.fromisoformat(occurrence) - date.fromisoformat(first)
    return (date.fromisoformat(day) + offset).isoformat()


def instant_text(instant: datetime | None) -> str | None:
    return None if instant is None else rfc3339(instant)
