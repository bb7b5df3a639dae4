"""The shipped Korean holiday table: as the `holidays` package computes it, read back exactly."""

import unicodedata

import holidays
import pytest

from chalicelib.calendar.holidays import (
    Holiday,
    holidays_between,
    holidays_in_year,
    year_range,
)
from ops import holiday_table


def test_the_shipped_table_is_what_the_package_computes_now():
    # Given the table in the repository and the one the installed package would give
    shipped = holiday_table.TABLE_PATH.read_text(encoding="utf-8")
    # When / Then: after an upgrade of `holidays` this fails until the table is written again
    assert shipped == holiday_table.table_text(), "run python -m ops.holiday_table"


def test_a_year_the_package_has_no_lunar_dates_for_is_refused(monkeypatch):
    # Given a range past the package's last year, where 설날 and 추석 silently disappear
    monkeypatch.setattr(holiday_table, "LAST_YEAR", holiday_table.LAST_YEAR + 1)
    # When / Then
    with pytest.raises(ValueError, match=r"설날 or 추석 in \[2101\]"):
        holiday_table.table_text()


def test_the_table_covers_2000_to_2100():
    assert year_range() == (2000, 2100)


def test_a_year_reads_back_as_the_package_gives_it():
    # Given 2026 straight from the package
    expected = holidays.country_holidays("KR", years=2026, language="ko")
    # When / Then
    assert holidays_in_year(2026) == [
        Holiday(day.isoformat(), name) for day, name in sorted(expected.items())
    ]


def test_2026_has_its_substitute_holidays():
    # Given 2026, when 삼일절, 부처님오신날, 광복절 and 개천절 fall on a weekend
    # When
    substitutes = [h for h in holidays_in_year(2026) if "대체" in h.name]
    # Then each is made up on the next weekday
    assert substitutes == [
        Holiday("2026-03-02", "삼일절 대체 휴일"),
        Holiday("2026-05-25", "부처님오신날 대체 휴일"),
        Holiday("2026-08-17", "광복절 대체 휴일"),
        Holiday("2026-10-05", "개천절 대체 휴일"),
    ]


def test_seollal_and_chuseok_2026_are_three_days_each():
    assert holidays_between("2026-02-16", "2026-02-18") == [
        Holiday("2026-02-16", "설날 전날"),
        Holiday("2026-02-17", "설날"),
        Holiday("2026-02-18", "설날 다음날"),
    ]
    assert holidays_between("2026-09-24", "2026-09-26") == [
        Holiday("2026-09-24", "추석 전날"),
        Holiday("2026-09-25", "추석"),
        Holiday("2026-09-26", "추석 다음날"),
    ]


def test_korean_names_are_byte_exact():
    # Given 설날 and a substitute holiday, expected as code points no editor can re-encode
    [seollal] = holidays_between("2026-02-17", "2026-02-17")
    [substitute] = holidays_between("2026-03-02", "2026-03-02")
    # When / Then
    assert seollal.name.encode("utf-8") == "\uc124\ub0a0".encode()
    assert substitute.name.encode("utf-8") == (
        "\uc0bc\uc77c\uc808 \ub300\uccb4 \ud734\uc77c".encode()  # 삼일절 대체 휴일
    )


def test_every_name_is_nfc_so_clients_compare_it_as_typed():
    first, last = year_range()
    names = {h.name for h in holidays_between(f"{first}-01-01", f"{last}-12-31")}
    assert all(unicodedata.is_normalized("NFC", name) for name in names)


def test_between_includes_both_ends_and_keeps_date_order():
    # Given a span across New Year with a holiday on each end
    # When
    found = holidays_between("2025-12-25", "2026-01-01")
    # Then
    assert found == [Holiday("2025-12-25", "기독탄신일"), Holiday("2026-01-01", "신정연휴")]
    assert holidays_between("2026-01-01", "2026-01-01") == [found[1]]


def test_between_is_in_date_order_over_many_years():
    found = holidays_between("2000-01-01", "2100-12-31")
    assert [h.date for h in found] == sorted(h.date for h in found)
    assert len({h.date for h in found}) == len(found)


def test_a_day_with_two_holidays_has_both_names_joined_as_the_package_does():
    assert holidays_between("2025-05-05", "2025-05-05") == [
        Holiday("2025-05-05", "부처님오신날; 어린이날")
    ]


def test_days_outside_the_table_simply_have_no_holidays():
    assert holidays_in_year(1999) == []
    assert holidays_in_year(2101) == []
    assert holidays_between("1990-01-01", "1999-12-31") == []
    assert holidays_between("2026-12-31", "2026-01-01") == []  # an empty span


def test_between_refuses_text_that_is_not_a_date():
    with pytest.raises(ValueError, match=r"month must be in 1\.\.12"):
        holidays_between("2026-13-01", "2026-12-31")
    with pytest.raises(ValueError, match="Invalid isoformat"):
        holidays_between("2026-01-01", "next week")
