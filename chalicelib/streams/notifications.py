"""Event change → the notification its department gets. Pure: no I/O, no clock."""

from typing import Any

from chalicelib.models import FieldChange, Notification
from chalicelib.streams.audit import actor_of, field_changes, is_housekeeping
from chalicelib.streams.records import Change

# What people see of an event; a change to anything else (version, timestamps, actor) is silent.
VISIBLE_FIELDS = (
    "event_date",
    "end_date",
    "title",
    "time",
    "start_time",
    "end_time",
    "timezone",
    "recurrence",
    "exdates",
    "description",
)
LABELS = {
    "event_date": "날짜",
    "end_date": "종료일",
    "title": "제목",
    "time": "시간",
    "start_time": "시작 시각",
    "end_time": "종료 시각",
    "timezone": "시간대",
    "recurrence": "반복",
    "exdates": "제외한 날짜",
    "description": "설명",
}
_KIND = {"INSERT": "created", "MODIFY": "updated", "REMOVE": "cancelled"}
_HEADLINE = {"created": "새 일정", "updated": "일정 변경", "cancelled": "일정 취소"}


def notification(change: Change) -> Notification | None:
    if change.entity_type != "event" or is_housekeeping(change):
        return None
    kind = _KIND[change.action]
    changes = {}
    if kind == "updated":
        assert change.old is not None
        assert change.new is not None
        visible = set(change.old) | set(change.new)
        ignore = frozenset(visible - set(VISIBLE_FIELDS))
        changes = field_changes(change.old, change.new, ignore=ignore)
        if not changes:
            return None
    event = change.image
    title, event_date, time = (
        _text(event, "title"),
        _text(event, "event_date"),
        _text(event, "time"),
    )
    cancelled = _cancelled_dates(changes)
    if cancelled:
        # One occurrence of a series was cancelled: that is what the department hears.
        kind, event_date, changes = "cancelled", cancelled[0], {}
    elif kind == "created" and event.get("series_id"):
        # A series' occurrence changed on its own is stored as a new item: for people it is
        # a change of that occurrence, not a new event.
        kind = "updated"
        changes = {"occurrence_date": FieldChange(old=event.get("occurrence_date"), new=None)}
    when = f"{event_date} {time or spoken_time(event.get('start_time'))}".strip()
    text = f"{_HEADLINE[kind]}: {title} ({when})"
    told = {
        name: c
        for name, c in changes.items()
        # The time text says it already; the times read from it would say it twice.
        if not ("time" in changes and name in ("start_time", "end_time"))
    }
    if "occurrence_date" in told:
        text += f" — {told.pop('occurrence_date').old} 회차"
    elif told:
        details = ", ".join(
            f"{LABELS[name]}: {_shown(c.old)} → {_shown(c.new)}" for name, c in told.items()
        )
        text += f" — {details}"
    assert change.department_id is not None
    return Notification(
        department_id=change.department_id,
        event_id=change.entity_id,
        kind=kind,
        title=title,
        event_date=event_date,
        time=time,
        start_time=event.get("start_time"),
        end_time=event.get("end_time"),
        end_date=event.get("end_date"),
        timezone=event.get("timezone"),
        recurrence=event.get("recurrence"),
        series_id=event.get("series_id"),
        occurrence_date=event.get("occurrence_date"),
        changes=changes,
        text=text,
        actor=actor_of(change),
        at=change.at,
        sequence_number=change.sequence_number,
    )


def _cancelled_dates(changes: dict[str, FieldChange]) -> list[str]:
    """The dates a change of only `exdates` added: occurrences cancelled one by one."""
    if set(changes) != {"exdates"}:
        return []
    old, new = changes["exdates"].old or [], changes["exdates"].new or []
    return sorted(set(new) - set(old))


def spoken_time(clock: Any) -> str:
    """ "15:00" as Koreans write it: "오후 3:00"; "" for no time."""
    if not isinstance(clock, str) or len(clock) != 5:
        return ""
    hours, minutes = int(clock[:2]), clock[3:]
    meridiem = "오전" if hours < 12 else "오후"
    return f"{meridiem} {hours % 12 or 12}:{minutes}"


def _text(image: dict[str, Any], field: str) -> str:
    value = image.get(field)
    return "" if value is None else str(value)


def _shown(value: Any) -> str:
    return "(없음)" if value in (None, "") else str(value)
