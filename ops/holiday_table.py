"""`python -m ops.holiday_table`: (re)writes chalicelib/calendar/holidays_kr.json.

GET /api/holidays answers with Korean public holidays, substitute holidays (대체 휴일) included,
as the `holidays` package computes them. The package is ~1.7 MB, too much for the Lambda zip, so
it is a development dependency and the app ships this table instead. tests/unit/test_holidays.py
compares the table with what this module writes, so an upgrade of the package that moves a
holiday fails there until the table is written again.
"""

import json
from importlib.metadata import version
from pathlib import Path

import holidays

TABLE_PATH = Path(__file__).resolve().parent.parent / "chalicelib" / "calendar" / "holidays_kr.json"
FIRST_YEAR = 2000
# The package stops at 2100 for KR (SouthKorea.end_year), as do its lunar tables for 설날, 추석
# and 부처님오신날; after that it returns no holidays at all.
LAST_YEAR = 2100


def table_text() -> str:
    """The table as it is written: sorted keys and one holiday a line, so upgrades diff well."""
    years = range(FIRST_YEAR, LAST_YEAR + 1)
    # "ko" is the package's Korean translation of KR; a date with two holidays comes out as the
    # package joins them, e.g. "부처님오신날; 어린이날".
    days = holidays.country_holidays("KR", years=years, language="ko")
    # A year past the package's lunar tables silently loses 설날 and 추석: refuse to ship that.
    lunar_years = [
        {day.year for day in days.get_named(name, lookup="exact")} for name in ("설날", "추석")
    ]
    if missing := sorted(set(years).difference(*lunar_years)):
        raise ValueError(f"holidays {version('holidays')} has no 설날 or 추석 in {missing}")
    table = {
        "source": f"holidays {version('holidays')}",
        "first_year": FIRST_YEAR,
        "last_year": LAST_YEAR,
        "days": {day.isoformat(): name for day, name in days.items()},
    }
    return json.dumps(table, ensure_ascii=False, sort_keys=True, indent=1) + "\n"


def main() -> None:
    TABLE_PATH.write_text(table_text(), encoding="utf-8", newline="\n")
    print(f"✓ {TABLE_PATH.name}: {FIRST_YEAR}–{LAST_YEAR}, {TABLE_PATH.stat().st_size:,} bytes")


if __name__ == "__main__":
    main()
