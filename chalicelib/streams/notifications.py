"""Event change → the notification its department gets. Pure: no I/O, no clock."""

from typing import Any

from chalicelib.models import Notification
from chalicelib.streams.audit import actor_of, field_changes, is_housekeeping
from chalicelib.streams.records import Change

# What people see of an event; a change to anything else (version, timestamps, actor) is silent.
VISIBLE_FIELDS = ("event_date", "title", "time", "description")
LABELS = {"event_date": "날짜", "title": "제목", "time": "시간", "description": "설명"}
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
    when = f"{event_date} {time}".strip()
    text = f"{_HEADLINE[kind]}: {title} ({when})"
    if changes:
        details = ", ".join(
            f"{LABELS[name]}: {_shown(c.old)} → {_shown(c.new)}" for name, c in changes.items()
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
        changes=changes,
        text=text,
        actor=actor_of(change),
        at=change.at,
        sequence_number=change.sequence_number,
    )


def _text(image: dict[str, Any], field: str) -> str:
    value = image.get(field)
    return "" if value is None else str(value)


def _shown(value: Any) -> str:
    return "(없음)" if value in (None, "") else str(value)
