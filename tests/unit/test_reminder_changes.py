"""A change of an event's reminders alone is recorded, but tells the department nothing."""

from chalicelib.streams.audit import audit_entry
from chalicelib.streams.notifications import notification
from chalicelib.streams.records import Change

MEETING = {
    "id": "e1",
    "department_id": "d1",
    "event_date": "2024-01-25",
    "title": "주간 회의",
    "time": "",
    "description": "",
    "start_time": "14:00",
    "timezone": "Asia/Seoul",
    "reminders": [10],
    "version": 1,
    "updated_by": "kim",
}


def test_changing_only_the_reminders_sends_no_notification_but_is_audited():
    # Given an event whose reminders alone changed
    after = {**MEETING, "reminders": [10, 60], "version": 2}
    changed = Change("event", "MODIFY", "record-1", "100", 1_706_140_800.0, MEETING, after)
    # When the stream handlers read the change
    told = notification(changed)
    entry = audit_entry(changed)
    # Then the department's inbox hears nothing ("일정 변경" would have nothing to say)
    assert told is None
    # And the history still records it
    assert entry is not None
    assert entry.changes["reminders"].old == [10]
    assert entry.changes["reminders"].new == [10, 60]
