"""The department calendar as an iCalendar feed: what calendar apps read, and what they expand."""

from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
import pytest
import recurring_ical_events  # type: ignore[import-untyped]

from chalicelib.calendar.ical import calendar_feed
from chalicelib.models import Event

SEOUL = ZoneInfo("Asia/Seoul")
NEW_YORK = ZoneInfo("America/New_York")
NOW = datetime(2026, 1, 2, 9, 30, tzinfo=SEOUL)
DEPARTMENT = "경영지원팀"


def event(**fields: Any) -> Event:
    stored: dict[str, Any] = {
        "id": "e1",
        "department_id": "d1",
        "event_date": "2026-04-15",
        "title": "분기 보고",
        "time": "",
        "description": "",
        "created_at": "2024-01-20T06:00:00.000Z",
        "updated_at": "2024-01-21T07:30:00.000Z",
        "version": 1,
    }
    return Event.model_validate({**stored, **fields})


def feed(*events: Event, holidays: tuple[tuple[str, str], ...] = ()) -> bytes:
    return calendar_feed(DEPARTMENT, events, holidays=holidays, now=NOW)


def parsed(body: bytes) -> icalendar.Calendar:
    return icalendar.Calendar.from_ical(body)


def vevents(body: bytes) -> dict[str, icalendar.Event]:
    """The VEVENTs by UID; a changed occurrence by "UID YYYY-MM-DD" of the one it replaces."""
    found = {}
    for vevent in parsed(body).events:
        replaced = vevent.RECURRENCE_ID
        key = vevent.uid if replaced is None else f"{vevent.uid} {replaced:%Y-%m-%d}"
        found[key] = vevent
    return found


def zones(body: bytes) -> list[str]:
    return [timezone.tz_name for timezone in parsed(body).timezones]


def test_the_calendar_says_whose_it_is_in_korean_byte_for_byte():
    # Given a department with a Korean name and no events
    # When its feed is written
    body = feed()
    # Then the header names the product, the version, the calendar system, the department and
    # its zone; the name is written as UTF-8 exactly
    calendar = parsed(body)
    assert str(calendar["PRODID"]) == "-//department-calendar//KO"
    assert str(calendar["VERSION"]) == "2.0"
    assert str(calendar["CALSCALE"]) == "GREGORIAN"
    assert str(calendar["X-WR-TIMEZONE"]) == "Asia/Seoul"
    assert "X-WR-CALNAME:경영지원팀\r\n".encode() in body
    assert str(calendar["X-WR-CALNAME"]) == DEPARTMENT
    # and every line ends in CRLF; a calendar without timed events needs no VTIMEZONE
    assert body.count(b"\n") == body.count(b"\r\n")
    assert zones(body) == []


def test_korean_titles_and_long_descriptions_survive_folding_exactly():
    # Given an event whose title is Korean and whose description is longer than a line
    description = (
        "장소: 본관 3층 대회의실\n준비물: 노트북, 분기 실적 자료 (각 팀 취합본) — 회의 전날까지 "
        "공유 바랍니다."
    )
    body = feed(event(title="2026년 1분기 실적 보고 ☕", description=description))
    # When it is read back
    (vevent,) = vevents(body).values()
    # Then SUMMARY and DESCRIPTION are the stored text exactly, though the lines were folded
    assert vevent.summary == "2026년 1분기 실적 보고 ☕"
    assert vevent.description == description
    assert "SUMMARY:2026년 1분기 실적 보고 ☕\r\n".encode() in body
    # and folding kept lines within 75 octets without splitting a character
    lines = body.split(b"\r\n")
    assert any(line.startswith(b" ") for line in lines)
    assert all(len(line) <= 75 and line.decode("utf-8") for line in lines[:-1])


def test_an_event_has_a_stable_uid_its_version_as_sequence_and_its_stamps():
    # Given an event changed twice since it was created (version 3)
    body = feed(event(id="evt-42", version=3))
    # When the feed is read back
    (vevent,) = vevents(body).values()
    # Then its UID is made of its id, SEQUENCE counts its changes from 0 (RFC 5545), DTSTAMP is
    # the given moment in UTC, and CREATED/LAST-MODIFIED are its stored stamps
    assert vevent.uid == "evt-42@department-calendar"
    assert vevent.sequence == 2
    assert b"DTSTAMP:20260102T003000Z\r\n" in body
    assert vevent.stamp == datetime(2026, 1, 2, 0, 30, tzinfo=UTC)
    assert vevent.created == datetime(2024, 1, 20, 6, 0, tzinfo=UTC)
    assert vevent.last_modified == datetime(2024, 1, 21, 7, 30, tzinfo=UTC)
    # and the same event gives the same bytes
    assert feed(event(id="evt-42", version=3)) == body


def test_an_all_day_event_of_three_days_ends_the_day_after_its_last():
    # Given an all-day workshop from 5 to 7 May whose time was written as free text
    body = feed(
        event(
            event_date="2026-05-05",
            end_date="2026-05-07",
            title="부서 워크숍",
            time="오전 중 출발",
            description="제주도",
        )
    )
    # When it is read back
    (vevent,) = vevents(body).values()
    # Then it runs on DATEs, DTEND exclusive (RFC 5545), and the free text is kept in DESCRIPTION
    assert b"DTSTART;VALUE=DATE:20260505\r\n" in body
    assert b"DTEND;VALUE=DATE:20260508\r\n" in body
    assert vevent.start == date(2026, 5, 5)
    assert vevent.end == date(2026, 5, 8)
    assert vevent.description == "제주도\n오전 중 출발"


def test_a_timed_event_keeps_its_zone_and_has_no_dtend_when_it_ends_as_it_starts():
    # Given a meeting from 15:00 to 16:00 and a reminder at 09:00 with no end time
    body = feed(
        event(id="meeting", start_time="15:00", end_time="16:00", time="15:00-16:00"),
        event(id="reminder", start_time="09:00", time="설명 없음"),
    )
    # When they are read back
    found = vevents(body)
    meeting, reminder = found["meeting@department-calendar"], found["reminder@department-calendar"]
    # Then times are zoned DATE-TIMEs (TZID), the meeting ends at 16:00, the reminder lasts no
    # time (a DATE-TIME DTSTART alone), and a timed event's free text is not repeated
    assert b"DTSTART;TZID=Asia/Seoul:20260415T150000\r\n" in body
    assert meeting.start == datetime(2026, 4, 15, 15, tzinfo=SEOUL)
    assert meeting.end == datetime(2026, 4, 15, 16, tzinfo=SEOUL)
    assert "DTEND" not in reminder
    assert "DESCRIPTION" not in reminder
    # and the one zone they use is described once
    assert zones(body) == ["Asia/Seoul"]


def test_a_timed_event_in_new_york_brings_that_zone():
    # Given a call at 09:00 New York time, and an all-day event (which has no zone)
    body = feed(
        event(id="call", start_time="09:00", end_time="09:30", timezone="America/New_York"),
        event(id="day-off", event_date="2026-04-16"),
    )
    # When the feed is read back
    call = vevents(body)["call@department-calendar"]
    # Then it holds exactly the America/New_York VTIMEZONE, which the call's times name
    assert zones(body) == ["America/New_York"]
    assert b"DTSTART;TZID=America/New_York:20260415T090000\r\n" in body
    assert call.start == datetime(2026, 4, 15, 9, tzinfo=NEW_YORK)
    assert call.start == datetime(2026, 4, 15, 13, tzinfo=UTC)


def test_holidays_are_all_day_events_that_leave_people_free():
    # Given the public holiday of 1 March
    body = feed(holidays=(("2026-03-01", "삼일절"),))
    # When it is read back
    (holiday,) = vevents(body).values()
    # Then it is a one-day, transparent event in the HOLIDAY category with a UID of its date
    assert holiday.uid == "holiday-2026-03-01@department-calendar"
    assert holiday.summary == "삼일절"
    assert holiday.start == date(2026, 3, 1)
    assert holiday.end == date(2026, 3, 2)
    assert holiday.transparency == "TRANSPARENT"
    assert holiday.categories == ["HOLIDAY"]


def test_a_changed_occurrence_whose_series_is_not_in_the_feed_stands_alone():
    # Given only the changed occurrence of a series
    moved = event(
        id="weekly.20260310",
        event_date="2026-03-11",
        start_time="14:00",
        series_id="weekly",
        occurrence_date="2026-03-10",
    )
    # When the feed is written
    (vevent,) = vevents(feed(moved)).values()
    # Then it is a plain event under its own UID
    assert vevent.uid == "weekly.20260310@department-calendar"
    assert "RECURRENCE-ID" not in vevent


def test_an_all_day_series_cancels_and_replaces_occurrences_by_date():
    # Given a monthly all-day series with a cancelled month and a changed one
    series = event(
        id="monthly",
        event_date="2026-01-05",
        recurrence="FREQ=MONTHLY;COUNT=4",
        exdates=["2026-02-05"],
    )
    changed = event(
        id="monthly.20260305",
        event_date="2026-03-06",
        title="월간 점검 (연기)",
        series_id="monthly",
        occurrence_date="2026-03-05",
    )
    # When the feed is written
    body = feed(series, changed)
    # Then EXDATE and RECURRENCE-ID are DATEs, as the series' DTSTART is
    assert b"EXDATE;VALUE=DATE:20260205\r\n" in body
    assert b"RECURRENCE-ID;VALUE=DATE:20260305\r\n" in body
    days = [
        o.start
        for o in recurring_ical_events.of(parsed(body)).between(date(2026, 1, 1), date(2027, 1, 1))
    ]
    assert sorted(days) == [date(2026, 1, 5), date(2026, 3, 6), date(2026, 4, 5)]


def test_until_in_a_timed_series_still_includes_the_last_day():
    # Given a daily 23:30 series through 10 January
    series = event(
        id="late",
        event_date="2026-01-08",
        start_time="23:30",
        recurrence="FREQ=DAILY;UNTIL=20260110",
    )
    # When the feed is written
    body = feed(series)
    # Then UNTIL is the last occurrence's start in UTC (RFC 5545: UNTIL is UTC when DTSTART has
    # a TZID), so the 10th is still in
    assert b"RRULE:FREQ=DAILY;UNTIL=20260110T143000Z\r\n" in body
    starts = [
        o.start
        for o in recurring_ical_events.of(parsed(body)).between(date(2026, 1, 1), date(2026, 2, 1))
    ]
    assert starts == [datetime(2026, 1, day, 23, 30, tzinfo=SEOUL) for day in (8, 9, 10)]


def seoul(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), SEOUL)


def occurrences(body: bytes, first: date, last: date) -> set[tuple[str, Any, Any]]:
    """What a calendar app shows between the dates: (title, start, end) of each occurrence."""
    expanded = recurring_ical_events.of(parsed(body)).between(first, last)
    return {(o.summary, o.start, o.end) for o in expanded}


def test_a_weekly_series_with_cancelled_and_moved_occurrences_expands_as_people_expect():
    # Given a weekly Tuesday 10:00-11:00 meeting through 2026, two Tuesdays cancelled, and the
    # one of 10 March moved to Wednesday 11 March 14:00-15:00
    weekly = event(
        id="weekly",
        event_date="2026-01-06",
        title="주간 회의",
        start_time="10:00",
        end_time="11:00",
        recurrence="FREQ=WEEKLY;BYDAY=TU;UNTIL=20261231",
        exdates=["2026-02-17", "2026-09-22"],
        version=4,
    )
    moved = event(
        id="weekly.20260310",
        event_date="2026-03-11",
        title="주간 회의 (수요일로 변경)",
        start_time="14:00",
        end_time="15:00",
        series_id="weekly",
        occurrence_date="2026-03-10",
    )
    # and two single events and an all-day event of three days
    report = event(id="report", event_date="2026-04-15", start_time="15:00", end_time="16:30")
    dinner = event(id="dinner", event_date="2026-12-18", title="송년회", start_time="18:30")
    workshop = event(
        id="workshop", event_date="2026-05-05", end_date="2026-05-07", title="부서 워크숍"
    )
    # When the feed is written and a calendar app expands 2026
    body = feed(weekly, moved, report, dinner, workshop)
    shown = occurrences(body, date(2026, 1, 1), date(2027, 1, 1))
    # Then it shows every Tuesday of 2026 from 6 January at 10:00 but the cancelled and moved
    # ones, the moved one on Wednesday at 14:00, and the other events once each
    tuesdays = [date(2026, 1, 6) + timedelta(weeks=n) for n in range(53)]
    gone = {date(2026, 2, 17), date(2026, 9, 22), date(2026, 3, 10)}
    kept = [day for day in tuesdays if day.year == 2026 and day not in gone]
    assert len(kept) == 49  # 52 Tuesdays from 6 January to 29 December, less three
    expected = {("주간 회의", seoul(day, 10), seoul(day, 11)) for day in kept} | {
        ("주간 회의 (수요일로 변경)", seoul(date(2026, 3, 11), 14), seoul(date(2026, 3, 11), 15)),
        ("분기 보고", seoul(date(2026, 4, 15), 15), seoul(date(2026, 4, 15), 16, 30)),
        ("송년회", seoul(date(2026, 12, 18), 18, 30), seoul(date(2026, 12, 18), 18, 30)),
        ("부서 워크숍", date(2026, 5, 5), date(2026, 5, 8)),
    }
    assert shown == expected
    # and the moved occurrence belongs to the series: same UID, RECURRENCE-ID its old start
    changed = vevents(body)["weekly@department-calendar 2026-03-10"]
    assert b"RECURRENCE-ID;TZID=Asia/Seoul:20260310T100000\r\n" in body
    replaced = changed.RECURRENCE_ID
    assert replaced == datetime(2026, 3, 10, 10, tzinfo=SEOUL)
    assert b"EXDATE;TZID=Asia/Seoul:20260217T100000,20260922T100000\r\n" in body
    assert vevents(body)["weekly@department-calendar"].sequence == 3


def test_a_weekly_series_in_new_york_stays_at_nine_across_daylight_saving():
    # Given a Monday 09:00 meeting in New York, weekly across the change of 8 March 2026
    standup = event(
        id="standup",
        event_date="2026-02-23",
        start_time="09:00",
        end_time="09:15",
        timezone="America/New_York",
        recurrence="FREQ=WEEKLY;BYDAY=MO;COUNT=4",
    )
    # When a calendar app expands it
    starts = sorted(
        start for _, start, _ in occurrences(feed(standup), date(2026, 2, 1), date(2026, 4, 1))
    )
    # Then every occurrence is at 09:00 New York time, so 14:00 UTC before the change and
    # 13:00 UTC after it
    assert [s.astimezone(NEW_YORK).time() for s in starts] == [time(9)] * 4
    assert [s.astimezone(UTC).hour for s in starts] == [14, 14, 13, 13]
    assert [s.date() for s in starts] == [date(2026, 2, 23) + timedelta(weeks=n) for n in range(4)]


@pytest.mark.parametrize("created_at", ["", "2024-01-20T06:00:00"])
def test_missing_or_offsetless_stamps_of_legacy_events_do_not_break_the_feed(created_at):
    # Given a legacy event with no creation stamp, or one without an offset (written in UTC)
    body = feed(event(created_at=created_at))
    # When the feed is read back
    (vevent,) = vevents(body).values()
    # Then CREATED is left out or read as UTC
    if created_at:
        assert vevent.created == datetime(2024, 1, 20, 6, tzinfo=UTC)
    else:
        assert "CREATED" not in vevent
