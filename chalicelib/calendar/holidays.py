"""Korean public holidays, substitute holidays (대체 휴일) included, by Korean name.

They come from holidays_kr.json beside this module, which `python -m ops.holiday_table` writes
from the `holidays` package: the package itself is too big for the Lambda zip. The table is read
on first use, not at import, so a cold start that serves no holiday request does not pay for it.
"""

import json
from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path

_TABLE_PATH = Path(__file__).with_name("holidays_kr.json")


@dataclass(frozen=True)
class Holiday:
    date: str  # YYYY-MM-DD
    name: str  # as the package names it; two holidays on one day are joined with "; "


@dataclass(frozen=True)
class _Table:
    first_year: int
    last_year: int
    holidays: tuple[Holiday, ...]  # in date order
    dates: tuple[str, ...]  # the holidays' dates, to bisect


@cache
def _table() -> _Table:
    raw = json.loads(_TABLE_PATH.read_text(encoding="utf-8"))
    holidays = tuple(Holiday(day, name) for day, name in sorted(raw["days"].items()))
    return _Table(
        first_year=int(raw["first_year"]),
        last_year=int(raw["last_year"]),
        holidays=holidays,
        dates=tuple(holiday.date for holiday in holidays),
    )


def year_range() -> tuple[int, int]:
    """The first and last years the table covers; other years simply have no holidays here."""
    table = _table()
    return table.first_year, table.last_year


def holidays_between(first: str, last: str) -> list[Holiday]:
    """The holidays from `first` to `last` (YYYY-MM-DD, both included), in date order.

    Raises ValueError when either is not a date.
    """
    # Round-tripping through date checks the text and makes it the form the table sorts by.
    first, last = date.fromisoformat(first).isoformat(), date.fromisoformat(last).isoformat()
    table = _table()
    start, end = bisect_left(table.dates, first), bisect_right(table.dates, last)
    return list(table.holidays[start:end])


def holidays_in_year(year: int) -> list[Holiday]:
    first_year, last_year = year_range()
    if not first_year <= year <= last_year:
        return []
    return holidays_between(f"{year}-01-01", f"{year}-12-31")
