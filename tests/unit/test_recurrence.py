"""Repeating events: RRULE values are checked and written canonically; series expand to dates."""

import re
from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.calendar import recurrence
from chalicelib.calendar.recurrence import (
    FREQUENCIES,
    LAST_DATE,
    MAX_COUNT,
    WEEKDAYS,
    Rule,
    RuleError,
    is_occurrence,
    last_date,
    occurrence_dates,
    parse_rule,
    split_at,
)

EVERYTHING = 10**6  # a limit no test reaches


def dates(*texts: str) -> list[date]:
    return [date.fromisoformat(text) for text in texts]


def all_dates(text: str, start: date, *, after: date | None = None, through: date) -> list[date]:
    rule = parse_rule(text)
    return occurrence_dates(rule, start, after=after, through=through, limit=EVERYTHING)


# Parsing


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("FREQ=DAILY", "FREQ=DAILY"),
        (
            "RRULE:freq=weekly;count=10;byday=we,mo;interval=2",
            "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,WE;COUNT=10",
        ),
        ("FREQ=DAILY;INTERVAL=1", "FREQ=DAILY"),
        ("FREQ=MONTHLY;BYDAY=+2TU", "FREQ=MONTHLY;BYDAY=2TU"),
        ("FREQ=MONTHLY;BYSETPOS=-1;BYDAY=FR,MO", "FREQ=MONTHLY;BYDAY=MO,FR;BYSETPOS=-1"),
        (
            "FREQ=YEARLY;BYMONTH=3,1,3;BYMONTHDAY=15,-1",
            "FREQ=YEARLY;BYMONTHDAY=-1,15;BYMONTH=1,3",
        ),
        ("FREQ=WEEKLY;WKST=MO;BYDAY=TU", "FREQ=WEEKLY;BYDAY=TU"),
        ("WKST=SU;FREQ=WEEKLY;BYDAY=TU", "FREQ=WEEKLY;BYDAY=TU;WKST=SU"),
        ("UNTIL=20261231T235959Z;FREQ=DAILY", "FREQ=DAILY;UNTIL=20261231"),
        ("FREQ=DAILY;UNTIL=20261231T090000", "FREQ=DAILY;UNTIL=20261231"),
        ("  FREQ = DAILY ; COUNT = 3  ", "FREQ=DAILY;COUNT=3"),
    ],
)
def test_a_rule_is_written_in_one_canonical_form(text, canonical):
    # Given an RRULE value as a client may send it
    # When it is parsed
    rule = parse_rule(text)
    # Then its text has the parts in a fixed order, upper-case, defaults left out
    assert rule.text == canonical
    # And the canonical text means the same rule
    assert parse_rule(rule.text) == rule


def test_a_parsed_rule_holds_its_parts():
    # Given "매월 마지막 금요일 회식" (the last Friday of every month), ten times
    rule = parse_rule("FREQ=MONTHLY;BYDAY=-1FR;COUNT=10")
    # Then its parts are there to read
    assert (rule.freq, rule.interval, rule.byday, rule.count) == ("MONTHLY", 1, ((-1, 4),), 10)
    assert (rule.bymonthday, rule.bymonth, rule.bysetpos, rule.until) == ((), (), (), None)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "write a rule such as FREQ=WEEKLY"),
        ("RRULE:", "write a rule such as FREQ=WEEKLY"),
        ("FREQ=DAILY;" + "COUNT=1;" * 70, "at most 500 characters"),
        ("FREQ=DAILY;COUNT", "NAME=VALUE"),
        ("FREQ=DAILY;;COUNT=2", "NAME=VALUE"),
        ("FREQ=DAILY;COUNT=2;", "NAME=VALUE"),
        ("=DAILY", "NAME=VALUE"),
        ("FREQ=DAILY;BYHOUR=9", "BYHOUR is not supported"),
        ("FREQ=DAILY;DTSTART=20260101", "DTSTART is not supported"),
        ("FREQ=DAILY;FREQ=WEEKLY", "FREQ appears twice"),
        ("FREQ=DAILY;COUNT=", "COUNT needs a value"),
        ("COUNT=3", "FREQ is required"),
        ("FREQ=HOURLY", "FREQ must be one of DAILY, WEEKLY, MONTHLY, YEARLY"),
        ("FREQ=MINUTELY", "FREQ must be one of DAILY, WEEKLY, MONTHLY, YEARLY"),
        ("FREQ=SECONDLY", "FREQ must be one of DAILY, WEEKLY, MONTHLY, YEARLY"),
        ("FREQ=FORTNIGHTLY", "FREQ must be one of DAILY, WEEKLY, MONTHLY, YEARLY"),
        ("FREQ=DAILY;INTERVAL=0", "INTERVAL must be a whole number from 1 to 366"),
        ("FREQ=DAILY;INTERVAL=367", "INTERVAL must be a whole number from 1 to 366"),
        ("FREQ=DAILY;INTERVAL=two", "INTERVAL must be a whole number from 1 to 366"),
        ("FREQ=DAILY;INTERVAL=1.5", "INTERVAL must be a whole number from 1 to 366"),
        ("FREQ=DAILY;INTERVAL=２", "INTERVAL must be a whole number from 1 to 366"),
        ("FREQ=DAILY;INTERVAL=1,2", "INTERVAL must be a whole number from 1 to 366"),
        ("FREQ=DAILY;COUNT=0", f"COUNT must be a whole number from 1 to {MAX_COUNT}"),
        ("FREQ=DAILY;COUNT=1001", f"COUNT must be a whole number from 1 to {MAX_COUNT}"),
        ("FREQ=DAILY;COUNT=5;UNTIL=20261231", "use COUNT or UNTIL, not both"),
        ("FREQ=DAILY;UNTIL=2026-12-31", "UNTIL must be a date such as 20261231"),
        ("FREQ=DAILY;UNTIL=20260230", "UNTIL must be a date such as 20261231"),
        ("FREQ=DAILY;UNTIL=20261231T250000Z", "UNTIL must be a date such as 20261231"),
        ("FREQ=WEEKLY;BYDAY=XX", "BYDAY must list weekdays such as MO,WE"),
        ("FREQ=WEEKLY;BYDAY=MO,,WE", "BYDAY must list weekdays such as MO,WE"),
        ("FREQ=WEEKLY;BYDAY=2TU", "a numbered BYDAY such as 2TU needs FREQ=MONTHLY or FREQ=YEARLY"),
        ("FREQ=DAILY;BYDAY=-1FR", "a numbered BYDAY such as 2TU needs FREQ=MONTHLY"),
        ("FREQ=MONTHLY;BYDAY=6TU", "BYDAY numbers must be from 1 to 5 or -5 to -1"),
        ("FREQ=MONTHLY;BYDAY=0TU", "BYDAY numbers must be from 1 to 5 or -5 to -1"),
        ("FREQ=YEARLY;BYDAY=54MO", "BYDAY numbers must be from 1 to 53 or -53 to -1"),
        ("FREQ=MONTHLY;BYMONTHDAY=0", "BYMONTHDAY must list whole numbers from 1 to 31 or -31"),
        ("FREQ=MONTHLY;BYMONTHDAY=32", "BYMONTHDAY must list whole numbers from 1 to 31 or -31"),
        ("FREQ=MONTHLY;BYMONTHDAY=-32", "BYMONTHDAY must list whole numbers from 1 to 31 or -31"),
        ("FREQ=WEEKLY;BYMONTHDAY=1", "BYMONTHDAY needs FREQ=MONTHLY or FREQ=YEARLY"),
        ("FREQ=DAILY;BYMONTHDAY=1", "BYMONTHDAY needs FREQ=MONTHLY or FREQ=YEARLY"),
        ("FREQ=YEARLY;BYMONTH=13", "BYMONTH must list whole numbers from 1 to 12"),
        ("FREQ=YEARLY;BYMONTH=-1", "BYMONTH must list whole numbers from 1 to 12"),
        ("FREQ=YEARLY;BYMONTH=1,,2", "BYMONTH must list whole numbers from 1 to 12"),
        ("FREQ=MONTHLY;BYDAY=MO;BYSETPOS=0", "BYSETPOS must list whole numbers from 1 to 366"),
        ("FREQ=MONTHLY;BYDAY=MO;BYSETPOS=367", "BYSETPOS must list whole numbers from 1 to 366"),
        ("FREQ=MONTHLY;BYSETPOS=1", "BYSETPOS needs BYDAY, BYMONTHDAY or BYMONTH"),
        (
            "FREQ=DAILY;BYDAY=MO;BYSETPOS=1",
            "BYSETPOS needs FREQ=WEEKLY, FREQ=MONTHLY or FREQ=YEARLY",
        ),
        ("FREQ=WEEKLY;WKST=XX", "WKST must be one of MO, TU, WE, TH, FR, SA, SU"),
    ],
)
def test_a_rule_that_is_malformed_or_not_supported_is_refused_saying_what_to_write(text, message):
    # Given an RRULE value that breaks one rule
    # When it is parsed, Then it is refused with a message that names what to write
    with pytest.raises(RuleError, match=re.escape(message)) as refusal:
        parse_rule(text)
    # And the refusal is a ValueError, which request validation turns into a 400
    assert isinstance(refusal.value, ValueError)


# Expanding


def test_weekly_on_tuesday_and_thursday_over_a_year_leaves_out_the_cancelled_days():
    # Given "주간 회의" every Tuesday and Thursday of 2026, two of them cancelled
    start = date(2026, 1, 6)  # the year's first Tuesday
    cancelled = {date(2026, 3, 3), date(2026, 10, 8)}
    # When the year is expanded
    found = occurrence_dates(
        parse_rule("FREQ=WEEKLY;BYDAY=TU,TH"),
        start,
        through=date(2026, 12, 31),
        exdates=cancelled,
        limit=EVERYTHING,
    )
    # Then it is every Tuesday and Thursday from the start, counted day by day, less the two
    every_day = (start + timedelta(days=n) for n in range((date(2026, 12, 31) - start).days + 1))
    expected = [day for day in every_day if day.weekday() in (1, 3) and day not in cancelled]
    assert found == expected
    assert len(found) == 52 + 52 - 2  # 1 January, a Thursday, is before the start
    assert (found[0], found[-1]) == (date(2026, 1, 6), date(2026, 12, 31))


def test_monthly_on_the_second_tuesday_gives_the_2026_dates():
    # Given "팀장 회의" on the second Tuesday of every month from January 2026
    # When 2026 is expanded
    found = all_dates("FREQ=MONTHLY;BYDAY=2TU", date(2026, 1, 13), through=date(2026, 12, 31))
    # Then the dates are the second Tuesdays of 2026's calendar
    assert found == dates(
        "2026-01-13",
        "2026-02-10",
        "2026-03-10",
        "2026-04-14",
        "2026-05-12",
        "2026-06-09",
        "2026-07-14",
        "2026-08-11",
        "2026-09-08",
        "2026-10-13",
        "2026-11-10",
        "2026-12-08",
    )


def test_monthly_on_the_last_friday_gives_the_2026_dates():
    # Given "월말 회식" on the last Friday of every month
    found = all_dates("FREQ=MONTHLY;BYDAY=-1FR", date(2026, 1, 30), through=date(2026, 12, 31))
    # Then the dates are the last Fridays of 2026's calendar
    assert found == dates(
        "2026-01-30",
        "2026-02-27",
        "2026-03-27",
        "2026-04-24",
        "2026-05-29",
        "2026-06-26",
        "2026-07-31",
        "2026-08-28",
        "2026-09-25",
        "2026-10-30",
        "2026-11-27",
        "2026-12-25",
    )


@pytest.mark.parametrize("text", ["FREQ=MONTHLY;BYMONTHDAY=31", "FREQ=MONTHLY"])
def test_monthly_on_the_31st_skips_the_months_without_one(text):
    # Given "월말 정산" on the 31st, written out or taken from a first date on 31 January
    found = all_dates(text, date(2026, 1, 31), through=date(2026, 12, 31))
    # Then months of 30 days or fewer have no occurrence (RFC 5545 ignores invalid dates)
    assert found == dates(
        "2026-01-31",
        "2026-03-31",
        "2026-05-31",
        "2026-07-31",
        "2026-08-31",
        "2026-10-31",
        "2026-12-31",
    )


def test_yearly_repeats_the_first_date_every_year():
    # Given "창립 기념일" on 15 May
    found = all_dates("FREQ=YEARLY", date(2026, 5, 15), through=date(2029, 12, 31))
    # Then it is 15 May of each year
    assert found == dates("2026-05-15", "2027-05-15", "2028-05-15", "2029-05-15")


def test_yearly_from_29_february_occurs_in_leap_years_only():
    # Given a yearly event first held on 29 February 2024
    found = all_dates("FREQ=YEARLY", date(2024, 2, 29), through=date(2033, 12, 31))
    # Then common years have no 29 February and no occurrence
    assert found == dates("2024-02-29", "2028-02-29", "2032-02-29")


def test_interval_2_takes_every_other_week():
    # Given "격주 스터디" on Monday and Wednesday of every other week
    found = all_dates(
        "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,WE", date(2026, 1, 5), through=date(2026, 2, 15)
    )
    # Then the weeks in between are skipped
    assert found == dates(
        "2026-01-05", "2026-01-07", "2026-01-19", "2026-01-21", "2026-02-02", "2026-02-04"
    )


@pytest.mark.parametrize(
    ("week_start", "expected"),
    [
        ("MO", dates("1997-08-05", "1997-08-10", "1997-08-19", "1997-08-24")),
        ("SU", dates("1997-08-05", "1997-08-17", "1997-08-19", "1997-08-31")),
    ],
)
def test_wkst_decides_which_weeks_every_other_week_takes(week_start, expected):
    # Given RFC 5545's own example: every other week on Tuesday and Sunday, four times
    rule = f"FREQ=WEEKLY;INTERVAL=2;COUNT=4;BYDAY=TU,SU;WKST={week_start}"
    # Then the week's first day decides which Sundays belong to the taken weeks
    assert all_dates(rule, date(1997, 8, 5), through=LAST_DATE) == expected


def test_bysetpos_picks_from_the_whole_week_even_in_the_week_of_the_first_date():
    # Given the second of Monday, Tuesday and Wednesday each week, first held on a Tuesday
    found = all_dates(
        "FREQ=WEEKLY;BYDAY=MO,TU,WE;BYSETPOS=2", date(2026, 3, 3), through=date(2026, 3, 17)
    )
    # Then it is every Tuesday: the first week counts its Monday too, though it is before the start
    assert found == dates("2026-03-03", "2026-03-10", "2026-03-17")


def test_count_is_applied_before_the_cancelled_dates_are_left_out():
    # Given "신입 교육" for five days, of which the second is cancelled
    found = occurrence_dates(
        parse_rule("FREQ=DAILY;COUNT=5"),
        date(2026, 3, 2),
        through=LAST_DATE,
        exdates={date(2026, 3, 3)},
        limit=EVERYTHING,
    )
    # Then four days remain: the cancelled one still counted as one of the five
    assert found == dates("2026-03-02", "2026-03-04", "2026-03-05", "2026-03-06")


def test_until_is_inclusive():
    # Given a weekly event until 16 March, a Monday it falls on
    found = all_dates("FREQ=WEEKLY;UNTIL=20260316", date(2026, 3, 2), through=LAST_DATE)
    # Then 16 March is its last occurrence
    assert found == dates("2026-03-02", "2026-03-09", "2026-03-16")


def test_the_first_date_is_the_first_occurrence_even_when_the_rule_does_not_match_it():
    # Given "화요 세미나" (Tuesdays, three times) entered with Monday 2 March as its first date
    found = all_dates("FREQ=WEEKLY;BYDAY=TU;COUNT=3", date(2026, 3, 2), through=LAST_DATE)
    # Then Monday is the first occurrence (RFC 5545: DTSTART always is) and counts as one of three
    assert found == dates("2026-03-02", "2026-03-03", "2026-03-10")


def test_only_dates_after_after_and_through_through_are_given():
    # Given a daily series and a window (after, through]
    found = all_dates(
        "FREQ=DAILY", date(2026, 3, 1), after=date(2026, 3, 10), through=date(2026, 3, 12)
    )
    # Then the window's ends are: after excluded, through included
    assert found == dates("2026-03-11", "2026-03-12")


@pytest.mark.parametrize(
    ("text", "start"),
    [
        ("FREQ=DAILY", date(2000, 1, 1)),
        ("FREQ=DAILY;INTERVAL=3;BYDAY=MO,FR;BYMONTH=1,7", date(2000, 1, 1)),
        ("FREQ=WEEKLY;INTERVAL=2;BYDAY=TU,TH;WKST=SU", date(2000, 1, 4)),
        ("FREQ=MONTHLY;BYDAY=2TU", date(2000, 1, 11)),
        ("FREQ=YEARLY;BYMONTH=5;BYMONTHDAY=15", date(2000, 5, 15)),
    ],
)
def test_a_window_far_after_the_first_date_is_found_without_walking_there_from_it(
    monkeypatch, text, start
):
    # Given a series from 2000 and a window in 2090, and a count of every date dateutil produces
    produced = []
    dateutil_dates = recurrence._dateutil_dates

    def counted(rule, dtstart):
        for day in dateutil_dates(rule, dtstart):
            produced.append(day)
            yield day

    monkeypatch.setattr(recurrence, "_dateutil_dates", counted)
    rule = parse_rule(text)
    after, through = date(2090, 1, 1), date(2091, 12, 31)
    # When the window is expanded
    found = occurrence_dates(rule, start, after=after, through=through, limit=EVERYTHING)
    # Then its dates are those of the whole series that fall in it
    monkeypatch.undo()
    whole = occurrence_dates(rule, start, through=through, limit=EVERYTHING)
    assert found == [day for day in whole if day > after]
    # And the search began near the window, not 90 years before it
    assert min(produced) >= date(2089, 1, 1)


@pytest.mark.parametrize(
    ("text", "start"),
    [
        ("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30", date(2026, 1, 1)),
        ("FREQ=MONTHLY;BYMONTH=4,6;BYMONTHDAY=31", date(2026, 1, 1)),
        ("FREQ=MONTHLY;BYDAY=MO;BYSETPOS=6", date(2026, 1, 5)),
        ("FREQ=MONTHLY;INTERVAL=2;BYMONTH=2", date(2026, 1, 15)),
        ("FREQ=YEARLY;INTERVAL=4;BYMONTH=2;BYMONTHDAY=29", date(2025, 1, 1)),
        ("FREQ=WEEKLY;BYDAY=MO,WE;BYSETPOS=3", date(2026, 1, 5)),
        ("FREQ=DAILY;INTERVAL=7;BYDAY=TU", date(2026, 1, 5)),
    ],
)
def test_a_rule_that_never_occurs_gives_only_the_first_date(text, start):
    # Given a rule no date after the first one matches, and an open-ended window
    rule = parse_rule(text)
    # When expanded, Then the first date is the only occurrence, found without searching to 9999
    assert occurrence_dates(rule, start, through=LAST_DATE, limit=101) == [start]
    assert occurrence_dates(rule, start, after=start, through=LAST_DATE, limit=101) == []
    assert last_date(parse_rule(f"{text};UNTIL=99991231"), start) == start


def test_an_endless_series_gives_at_most_limit_dates():
    # Given "아침 조회" every day without end, and the widest window there is
    found = occurrence_dates(
        parse_rule("FREQ=DAILY"), date(2026, 1, 1), through=LAST_DATE, limit=101
    )
    # Then exactly `limit` consecutive days come back
    assert found == [date(2026, 1, 1) + timedelta(days=n) for n in range(101)]


def test_a_series_reaching_the_end_of_the_calendar_stops_there():
    # Given a daily series three days before the calendar's last date
    found = all_dates("FREQ=DAILY", date(9999, 12, 29), through=LAST_DATE)
    # Then it ends with the calendar
    assert found == dates("9999-12-29", "9999-12-30", "9999-12-31")


# Single occurrences


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(2026, 3, 2), True),  # the first date, though the rule names Tuesdays only
        (date(2026, 3, 3), True),
        (date(2026, 3, 4), False),
        (date(2026, 3, 17), False),  # cancelled
        (date(2026, 2, 24), False),  # before the first date
        (date(2026, 12, 29), True),
        (date(2027, 1, 5), False),  # after UNTIL
    ],
)
def test_is_occurrence_tells_whether_the_series_happens_on_a_day(day, expected):
    # Given "화요 세미나" on Tuesdays through 2026 from Monday 2 March, 17 March cancelled
    rule = parse_rule("FREQ=WEEKLY;BYDAY=TU;UNTIL=20261231")
    # When a day is asked about, Then the answer is whether the series happens on it
    assert is_occurrence(rule, date(2026, 3, 2), day, {date(2026, 3, 17)}) is expected


# This and the following


def test_splitting_a_counted_series_shares_the_count():
    # Given "주간 회의" on Monday and Wednesday, ten times
    rule = parse_rule("FREQ=WEEKLY;BYDAY=MO,WE;COUNT=10")
    start = date(2026, 3, 2)
    # When it is split at its fourth occurrence
    earlier, later = split_at(rule, start, date(2026, 3, 11))
    # Then the first part ends the day before with no count, and the second has the other seven
    assert earlier.text == "FREQ=WEEKLY;BYDAY=MO,WE;UNTIL=20260310"
    assert later.text == "FREQ=WEEKLY;BYDAY=MO,WE;COUNT=7"
    # And together they are the original occurrences
    assert_same_occurrences(rule, start, date(2026, 3, 11), earlier, later)


def test_splitting_a_series_with_until_keeps_the_until():
    # Given "3월 특강" every day of March
    rule = parse_rule("FREQ=DAILY;UNTIL=20260331")
    # When it is split at 10 March
    earlier, later = split_at(rule, date(2026, 3, 1), date(2026, 3, 10))
    # Then the first part ends on 9 March and the second keeps the end of March
    assert earlier.text == "FREQ=DAILY;UNTIL=20260309"
    assert later == rule
    assert_same_occurrences(rule, date(2026, 3, 1), date(2026, 3, 10), earlier, later)


def test_splitting_an_endless_series_ends_the_first_part():
    # Given "팀장 회의" on the second Tuesday of every month, without end
    rule = parse_rule("FREQ=MONTHLY;BYDAY=2TU")
    # When it is split at June's
    earlier, later = split_at(rule, date(2026, 1, 13), date(2026, 6, 9))
    # Then the first part ends the day before and the second goes on without end
    assert earlier.text == "FREQ=MONTHLY;BYDAY=2TU;UNTIL=20260608"
    assert later == rule
    assert_same_occurrences(rule, date(2026, 1, 13), date(2026, 6, 9), earlier, later)


def test_splitting_after_a_first_date_off_the_rule_counts_it():
    # Given Tuesdays, three times, from Monday 2 March (itself the first occurrence)
    rule = parse_rule("FREQ=WEEKLY;BYDAY=TU;COUNT=3")
    # When it is split at the first Tuesday
    earlier, later = split_at(rule, date(2026, 3, 2), date(2026, 3, 3))
    # Then the first part is the Monday alone and the second has the two Tuesdays
    assert (earlier.text, later.text) == (
        "FREQ=WEEKLY;BYDAY=TU;UNTIL=20260302",
        "FREQ=WEEKLY;BYDAY=TU;COUNT=2",
    )
    assert_same_occurrences(rule, date(2026, 3, 2), date(2026, 3, 3), earlier, later)


@pytest.mark.parametrize("day", [date(2026, 3, 2), date(2026, 3, 1), date(2026, 3, 4)])
def test_a_series_is_split_only_at_a_later_occurrence(day):
    # Given Mondays from 2 March; When split at the first date, before it, or on a Wednesday
    # Then it is refused
    with pytest.raises(RuleError, match="one of its occurrences after the first one"):
        split_at(parse_rule("FREQ=WEEKLY"), date(2026, 3, 2), day)


def assert_same_occurrences(rule: Rule, start: date, day: date, earlier: Rule, later: Rule) -> None:
    """The two parts of a split series have exactly the original's occurrences."""
    through = date(2030, 12, 31)
    before = occurrence_dates(earlier, start, through=through, limit=EVERYTHING)
    from_day = occurrence_dates(later, day, through=through, limit=EVERYTHING)
    assert before + from_day == occurrence_dates(rule, start, through=through, limit=EVERYTHING)


# The last date


@pytest.mark.parametrize(
    ("text", "start", "expected"),
    [
        ("FREQ=WEEKLY;COUNT=10", date(2026, 3, 2), date(2026, 5, 4)),
        ("FREQ=WEEKLY;BYDAY=MO;UNTIL=20261231", date(2026, 1, 5), date(2026, 12, 28)),
        ("FREQ=DAILY;UNTIL=99991231", date(2000, 1, 1), LAST_DATE),
        (
            "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29;UNTIL=99991231",
            date(2000, 2, 29),
            date(9996, 2, 29),
        ),
        ("FREQ=WEEKLY;UNTIL=20250101", date(2026, 3, 2), date(2026, 3, 2)),
        ("FREQ=WEEKLY;BYDAY=TU;COUNT=1", date(2026, 3, 2), date(2026, 3, 2)),
        ("FREQ=WEEKLY", date(2026, 3, 2), None),
    ],
)
def test_last_date_is_the_last_occurrence_or_none_for_a_series_without_end(text, start, expected):
    # Given a series ended by COUNT or UNTIL (even one far off, or before its first date), or not
    # When its last date is asked for, Then it is the last occurrence's, or None without an end
    assert last_date(parse_rule(text), start) == expected


# Properties, for any supported rule


@st.composite
def rule_texts(draw: st.DrawFn) -> str:
    """A supported RRULE value, parts in any order and any case."""
    freq = draw(st.sampled_from(FREQUENCIES))
    parts = [f"FREQ={freq}"]
    if draw(st.booleans()):
        interval = draw(st.sampled_from([1, 2, 3, 7, 12, 52]) | st.integers(1, 366))
        parts.append(f"INTERVAL={interval}")
    days = draw(st.lists(st.sampled_from(WEEKDAYS), max_size=3, unique=True))
    if days:
        numbered = freq in ("MONTHLY", "YEARLY") and draw(st.booleans())
        ordinals = st.sampled_from(["1", "2", "-1", "5", "-5"] if numbered else [""])
        parts.append("BYDAY=" + ",".join(draw(ordinals) + day for day in days))
    if freq in ("MONTHLY", "YEARLY") and draw(st.booleans()):
        monthdays = st.integers(-31, 31).filter(bool)
        parts.append(
            "BYMONTHDAY=" + ",".join(map(str, draw(st.lists(monthdays, min_size=1, max_size=3))))
        )
    if draw(st.booleans()):
        parts.append(
            "BYMONTH="
            + ",".join(map(str, draw(st.lists(st.integers(1, 12), min_size=1, max_size=3))))
        )
    chosen_from = any(part.startswith("BY") for part in parts)
    if freq != "DAILY" and chosen_from and draw(st.booleans()):
        positions = st.sampled_from([1, 2, 3, -1, -2])
        parts.append(
            "BYSETPOS=" + ",".join(map(str, draw(st.lists(positions, min_size=1, max_size=2))))
        )
    if draw(st.booleans()):
        parts.append(f"WKST={draw(st.sampled_from(WEEKDAYS))}")
    end = draw(st.sampled_from(["", "COUNT", "UNTIL"]))
    if end == "COUNT":
        parts.append(f"COUNT={draw(st.integers(1, 40))}")
    elif end == "UNTIL":
        parts.append(f"UNTIL={draw(st.dates(date(2000, 1, 1), date(2110, 12, 31))):%Y%m%d}")
    text = ";".join(draw(st.permutations(parts)))
    return text.lower() if draw(st.booleans()) else text


@settings(deadline=None)
@given(text=rule_texts(), start=st.dates(date(2000, 1, 1), date(2100, 12, 31)), data=st.data())
def test_any_supported_rule_expands_in_order_within_its_window_and_splits_without_loss(
    text, start, data
):
    # Given a supported rule, its first date, a window and some cancelled dates
    rule = parse_rule(text)
    assert parse_rule(rule.text) == rule
    through = start + timedelta(days=data.draw(st.integers(0, 3000)))
    after = data.draw(st.none() | st.dates(start - timedelta(days=10), through))
    whole = occurrence_dates(rule, start, through=through, limit=EVERYTHING)
    cancelled = set(data.draw(st.lists(st.sampled_from(whole), max_size=3)))
    limit = data.draw(st.integers(0, 50))
    # When the window is expanded
    found = occurrence_dates(
        rule, start, after=after, through=through, exdates=cancelled, limit=limit
    )
    # Then the dates are sorted, unique, inside the window, none cancelled, at most `limit`
    assert found == sorted(set(found))
    assert all((after is None or day > after) and day <= through for day in found)
    assert not cancelled & set(found)
    assert len(found) <= limit
    # And they are the first of the whole series' dates in the window
    in_window = [day for day in whole if (after is None or day > after) and day not in cancelled]
    assert found == in_window[:limit]
    # And the first date is always the first occurrence
    assert whole[0] == start
    # And a split at any later occurrence gives exactly the same occurrences, in two series
    if len(whole) > 1:
        day = data.draw(st.sampled_from(whole[1:]))
        earlier, later = split_at(rule, start, day)
        assert (
            occurrence_dates(earlier, start, through=through, limit=EVERYTHING)
            + occurrence_dates(later, day, through=through, limit=EVERYTHING)
            == whole
        )
    # And the last date of a series that ends is an occurrence with none after it
    last = last_date(rule, start)
    if last is None:
        assert (rule.count, rule.until) == (None, None)
    else:
        assert is_occurrence(rule, start, last)
        assert occurrence_dates(rule, start, after=last, through=LAST_DATE, limit=1) == []
