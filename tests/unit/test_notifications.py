"""What a department is told about its events, in Korean: the time is named when there is one."""

from typing import Any

from chalicelib.streams.notifications import notification, spoken_time
from chalicelib.streams.records import Change

MEETING = {
    "id": "e1",
    "department_id": "d1",
    "event_date": "2024-01-25",
    "title": "팀 회의",
    "time": "",
    "description": "",
    "timezone": "Asia/Seoul",
    "version": 1,
    "updated_by": "kim",
}


def change(action: str, old: dict[str, Any] | None, new: dict[str, Any] | None) -> Change:
    return Change("event", action, "record-1", "100", 1_706_140_800.0, old, new)


def test_a_new_timed_event_is_announced_with_its_time_written_in_korean():
    # Given an event with a start time and no time text
    created = change("INSERT", None, {**MEETING, "start_time": "15:00"})
    # When it becomes a notification
    told = notification(created)
    # Then the text names the time as people write it, and the fields carry it
    assert told is not None
    assert told.text == "새 일정: 팀 회의 (2024-01-25 오후 3:00)"
    assert (told.start_time, told.timezone) == ("15:00", "Asia/Seoul")


def test_the_time_text_wins_over_the_start_time_it_gave():
    created = change("INSERT", None, {**MEETING, "time": "오후 3시", "start_time": "15:00"})
    told = notification(created)
    assert told is not None
    assert told.text == "새 일정: 팀 회의 (2024-01-25 오후 3시)"


def test_a_moved_start_time_is_told_with_its_label():
    before = {**MEETING, "start_time": "15:00"}
    after = {**MEETING, "start_time": "16:30", "version": 2}
    told = notification(change("MODIFY", before, after))
    assert told is not None
    assert told.kind == "updated"
    assert told.text == "일정 변경: 팀 회의 (2024-01-25 오후 4:30) — 시작 시각: 15:00 → 16:30"


def test_only_the_series_bookkeeping_changing_tells_nobody():
    # The series notes that an occurrence has its own copy now: nobody changed the series
    before = {**MEETING, "recurrence": "FREQ=WEEKLY;BYDAY=TH"}
    after = {**before, "overrides": ["2024-02-01"]}
    assert notification(change("MODIFY", before, after)) is None


def test_spoken_time():
    assert [spoken_time(t) for t in ("00:05", "09:30", "12:00", "23:59", None, "")] == [
        "오전 12:05",
        "오전 9:30",
        "오후 12:00",
        "오후 11:59",
        "",
        "",
    ]


def test_an_occurrence_cancelled_alone_is_told_as_a_cancellation_on_its_date():
    series = {**MEETING, "start_time": "10:00", "recurrence": "FREQ=WEEKLY;BYDAY=TH"}
    after = {**series, "exdates": ["2024-02-01"], "version": 2}
    told = notification(change("MODIFY", series, after))
    assert told is not None
    assert (told.kind, told.event_date) == ("cancelled", "2024-02-01")
    assert told.text == "일정 취소: 팀 회의 (2024-02-01 오전 10:00)"


def test_an_occurrence_changed_alone_is_told_as_a_change_of_that_occurrence():
    moved = {
        **MEETING,
        "id": "series-1.20240201",
        "event_date": "2024-02-02",
        "start_time": "14:00",
        "series_id": "series-1",
        "occurrence_date": "2024-02-01",
    }
    told = notification(change("INSERT", None, moved))
    assert told is not None
    assert told.kind == "updated"
    assert told.text == "일정 변경: 팀 회의 (2024-02-02 오후 2:00) — 2024-02-01 회차"
    assert (told.series_id, told.occurrence_date) == ("series-1", "2024-02-01")
