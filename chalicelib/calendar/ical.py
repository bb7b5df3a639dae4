"""A department's events as an RFC 5545 iCalendar feed, for calendar apps to subscribe to.

A series is one VEVENT with an RRULE and EXDATEs; a changed occurrence is a VEVENT under the
series' UID with a RECURRENCE-ID, so apps show it in place of the occurrence it replaces. Times
keep their IANA zone (TZID), so a weekly 10:00 meeting stays at 10:00 across daylight saving.

icalendar is imported inside the functions: only the feed route needs it, and importing it
(~80 ms, ~180 ms from the zip, which holds no compiled bytecode for it) would otherwise slow
every cold start of the API.
"""

from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING

from chalicelib.calendar.moments import DEFAULT_ZONE
from chalicelib.calendar.schedule import Schedule
from chalicelib.models import Event

if TYPE_CHECKING:
    from icalendar import Event as VEvent
    from icalendar import vRecur

PRODID = "-//department-calendar//KO"
UID_DOMAIN = "department-calendar"
# Later than anything a feed shows: its zones are written out up to here (icalendar's default).
_ZONES_UNTIL = date(2038, 1, 1)


def calendar_feed(
    name: str,
    events: Iterable[Event],
    *,
    holidays: Iterable[tuple[str, str]] = (),
    now: datetime,
) -> bytes:
    """The VCALENDAR of one department: its stored events and, as all-day transparent
    events, the given public holidays ((YYYY-MM-DD, name)). UTF-8, CRLF line endings."""
    from icalendar import Calendar

    stored = list(events)
    series = {event.id: event for event in stored if event.recurrence}
    stamp = now.astimezone(UTC)
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", name)
    calendar.add("x-wr-timezone", DEFAULT_ZONE)
    for event in stored:
        calendar.add_component(_vevent(event, series.get(event.series_id or ""), stamp))
    for day, holiday in holidays:
        calendar.add_component(_holiday(day, holiday, stamp))
    # One VTIMEZONE per zone the timed events name, covering every stored date and a year past
    # the last (apps that know the IANA name, most of them, use their own rules anyway).
    earliest = min((date.fromisoformat(e.event_date) for e in stored), default=_ZONES_UNTIL)
    latest = max((date.fromisoformat(e.end_date or e.event_date) for e in stored), default=earliest)
    calendar.add_missing_timezones(
        first_date=earliest, last_date=max(_ZONES_UNTIL, latest + timedelta(days=366))
    )
    feed: bytes = calendar.to_ical()
    return feed


def _vevent(event: Event, series: Event | None, stamp: datetime) -> "VEvent":
    """`series` is the stored series `event` is a changed occurrence of (None if it is not
    one, or if that series is not in the feed: then it stands alone under its own UID)."""
    from icalendar import Event as VEvent

    schedule = Schedule.of(vars(event))
    start, end = _span(schedule)
    owner, replaced = event.id, None
    if series is not None and event.occurrence_date is not None:
        # The occurrence's original start, in the series' own terms (DATE or zoned DATE-TIME).
        owner, replaced = series.id, _day_start(Schedule.of(vars(series)), event.occurrence_date)
    vevent = VEvent.new(
        uid=f"{owner}@{UID_DOMAIN}",
        recurrence_id=replaced,
        # version starts at 1 and moves on every change; RFC 5545's SEQUENCE starts at 0.
        sequence=event.version - 1,
        stamp=stamp,
        created=_instant(event.created_at),
        last_modified=_instant(event.updated_at),
        summary=event.title,
        description=_description(event) or None,
        start=start,
        end=end,
    )
    if schedule.recurrence is not None:
        vevent.add("rrule", _rule(schedule))
    if schedule.exdates:
        vevent.add("exdate", [_day_start(schedule, day) for day in schedule.exdates])
    return vevent


def _span(schedule: Schedule) -> tuple[date | datetime, date | datetime | None]:
    """DTSTART and DTEND. All-day: DATEs, DTEND the day after the last (RFC 5545 ends are
    exclusive). Timed: zoned DATE-TIMEs, no DTEND for an event that ends when it starts (a
    DATE-TIME DTSTART alone lasts no time, which is what the event says)."""
    start, end = schedule.start(), schedule.end()
    if start is None or end is None:
        last = date.fromisoformat(schedule.last_day)
        return date.fromisoformat(schedule.event_date), last + timedelta(days=1)
    return start, None if end == start else end


def _day_start(schedule: Schedule, day: str) -> date | datetime:
    """Where an occurrence on `day` starts: the DATE, or the zoned DATE-TIME for a timed one."""
    return schedule.start(day) or date.fromisoformat(day)


def _rule(schedule: Schedule) -> "vRecur":
    """The RRULE. A stored UNTIL is a date; with a zoned DTSTART RFC 5545 wants a UTC
    DATE-TIME, so it becomes the start of that day's occurrence, in UTC."""
    from icalendar import vRecur

    rule: vRecur = vRecur.from_ical(str(schedule.recurrence))
    until = rule.get("UNTIL", [None])[0]
    if isinstance(until, date) and not isinstance(until, datetime):
        start = schedule.start(until.isoformat())
        if start is not None:
            rule["UNTIL"] = [start.astimezone(UTC)]
    return rule


def _description(event: Event) -> str:
    """The description, and for an all-day event the free-text `time` on a line of its own:
    a timed event says its time in DTSTART, an all-day one has nowhere else to keep it."""
    if event.start_time is None and event.time.strip():
        return "\n".join(part for part in (event.description, event.time) if part)
    return event.description


def _instant(text: str) -> datetime | None:
    """A stored ISO 8601 UTC stamp; None where there is none to give (legacy data)."""
    try:
        instant = datetime.fromisoformat(text)
    except ValueError:
        return None
    # Stamps without an offset (legacy data) were written in UTC like the others.
    return instant.replace(tzinfo=UTC) if instant.tzinfo is None else instant.astimezone(UTC)


def _holiday(day: str, name: str, stamp: datetime) -> "VEvent":
    from icalendar import Event as VEvent
    from icalendar.enums import TRANSP

    first = date.fromisoformat(day)
    return VEvent.new(
        uid=f"holiday-{day}@{UID_DOMAIN}",
        stamp=stamp,
        summary=name,
        start=first,
        end=first + timedelta(days=1),
        # A day off does not make anyone busy.
        transparency=TRANSP.TRANSPARENT,
        categories=["HOLIDAY"],
    )
