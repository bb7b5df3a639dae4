"""Reminders before events, and each morning's digest, put in the department inbox once.

Every 5 minutes the reminder sweep lists, per department, what starts within the longest lead a
reminder may have, and for each reminder whose moment has come within the last 10 minutes it
puts a `reminder` notification in the inbox. The inbox item's key is the reminder itself (the
moment, the event or occurrence, the lead), written with a condition: two sweeps covering the
same moment write it once. At 09:00 Asia/Seoul the digest does the same with the day's events,
one item per department and day. From the inbox, the deliveries send them to the subscribers
of `reminder` and `digest` like any other notification.
"""

from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from chalicelib.clock import timestamp

if TYPE_CHECKING:
    from chalicelib.models import Department, Event
    from chalicelib.repositories.deliveries import Inbox
    from chalicelib.repositories.departments import DepartmentRepository
    from chalicelib.repositories.event_listing import EventListing

# A reminder whose moment passed longer ago than this is not sent late: two sweeps (5 minutes
# apart) always both see a moment, and a sweep that was missed once still catches up.
GRACE = timedelta(minutes=10)
LONGEST_LEAD = timedelta(minutes=10080)  # the most minutes a reminder may be ahead (a week)
DIGEST_ZONE = ZoneInfo("Asia/Seoul")
_PAGE = 500


class Reminders:
    def __init__(
        self,
        departments: "DepartmentRepository",
        listing: "EventListing",
        inbox: "Inbox",
    ) -> None:
        self._departments = departments
        self._listing = listing
        self._inbox = inbox

    def sweep(self, now: datetime) -> int:
        """Put every reminder due in (now - GRACE, now] in its inbox; how many were new."""
        sent = 0
        first = (now - GRACE - timedelta(days=1)).date()
        last = (now + LONGEST_LEAD + timedelta(days=1)).date()
        for department in self._every_department():
            default = department.reminders
            for event in self._events(department.id, first, last):
                start = _start(event)
                if start is None:
                    continue
                leads = event.reminders if event.reminders is not None else default or []
                for minutes in leads:
                    moment = start - timedelta(minutes=minutes)
                    if now - GRACE < moment <= now:
                        item = reminder_item(event, minutes, moment)
                        sent += self._inbox.put_once(item)
        return sent

    def digest(self, now: datetime) -> int:
        """Put today's (Asia/Seoul) digest in the inbox of each department with events today."""
        today = now.astimezone(DIGEST_ZONE).date()
        sent = 0
        for department in self._every_department():
            events = list(self._events(department.id, today, today))
            if events:
                sent += self._inbox.put_once(digest_item(department.id, today, events, now))
        return sent

    def _every_department(self) -> Iterator["Department"]:
        token = None
        while True:
            page, token = self._departments.list_page(_PAGE, token)
            yield from page
            if token is None:
                return

    def _events(self, department_id: str, first: date, last: date) -> Iterator["Event"]:
        from chalicelib.calendar.instances import Window

        token = None
        while True:
            window = Window(first.isoformat(), last.isoformat())
            page, token = self._listing.instances_page(
                department_id, window, limit=_PAGE, next_token=token
            )
            yield from page
            if token is None:
                return


def reminder_item(event: "Event", minutes: int, moment: datetime) -> dict[str, Any]:
    """The inbox notification of one reminder; its key is the reminder itself."""
    when = f"{event.event_date} {event.start_time}"
    return {
        **_notice(event.department_id, event.id, "reminder", moment),
        "change_key": f"{timestamp(moment)}#reminder#{event.id}#{minutes}",
        "title": event.title,
        "event_date": event.event_date,
        "time": event.time,
        "start_time": event.start_time,
        "end_time": event.end_time,
        "timezone": event.timezone,
        "series_id": event.series_id,
        "occurrence_date": event.occurrence_date,
        "text": f"곧 시작: {event.title} ({_lead(minutes)}, {when})",
    }


def digest_item(
    department_id: str, day: date, events: Sequence["Event"], now: datetime
) -> dict[str, Any]:
    """The inbox notification of a department's day; its key is the department's day."""
    lines = [f"{event.start_time or '종일'} {event.title}" for event in events]
    return {
        **_notice(department_id, "", "digest", now),
        "change_key": f"{day.isoformat()}T00:00:00.000Z#digest",
        "title": "오늘의 일정",
        "event_date": day.isoformat(),
        "time": "",
        "text": f"오늘의 일정 ({day.isoformat()}, {len(events)}건): " + " · ".join(lines),
    }


def _notice(department_id: str, event_id: str, kind: str, at: datetime) -> dict[str, Any]:
    return {
        "department_id": department_id,
        "event_id": event_id,
        "kind": kind,
        "changes": {},
        "actor": "system",
        "at": timestamp(at),
        "sequence_number": "",
    }


def _start(event: "Event") -> datetime | None:
    start = event.start
    return None if start is None else datetime.fromisoformat(start).astimezone(UTC)


def _lead(minutes: int) -> str:
    if minutes == 0:
        return "지금"
    if minutes % 1440 == 0:
        return f"{minutes // 1440}일 후"
    if minutes % 60 == 0:
        return f"{minutes // 60}시간 후"
    return f"{minutes}분 후"
