"""Repeating events: RFC 5545 RRULE values, checked, written canonically and expanded to dates.

A series is one event whose first occurrence, DTSTART, is its `event_date`. Recurrence works on
dates only: the wall-clock start time is applied afterwards in the event's zone, so a weekly 09:00
meeting stays at 09:00 across a daylight-saving change.

DTSTART is always the series' first instance, as RFC 5545 (3.8.5.3) says, even where the rule
would not produce it (FREQ=WEEKLY;BYDAY=TU starting on a Monday); dateutil leaves such a dtstart
out, so it is added here, and COUNT counts it. EXDATE removes instances after COUNT has been
applied, so a cancelled occurrence still uses up one of the COUNT.

Expansion uses dateutil's rrule. It searches period after period (day, week, month or year) and
only stops when it finds a date or reaches the year 9999, so a rule that never matches again
(FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30) would cost a search of every period up to 9999. Hence:
- rules that produce nothing after DTSTART are recognised first (see _recurs);
- without COUNT, the search starts in the period of the window's start, not at DTSTART, so a
  window decades after DTSTART costs no more than one near it (every search starts at the
  beginning of a period: dateutil takes a week started mid-week as beginning on its dtstart,
  which would change what BYSETPOS picks in it);
- nothing is asked of dateutil past the window's end or UNTIL, and COUNT is at most MAX_COUNT.
"""

import calendar
import re
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from functools import lru_cache
from itertools import islice
from math import lcm

# Cheap here: botocore has already imported dateutil, six and calendar; rrule adds about 1.4 ms.
from dateutil import rrule  # type: ignore[import-untyped]

MAX_LENGTH = 500
# COUNT rules are expanded from DTSTART every time (the count must be kept), so their cost grows
# with COUNT. 1000 is about three years of a daily series and 19 of a weekly one; longer series
# end with UNTIL or not at all.
MAX_COUNT = 1000
# Enough for "every 366 days"; larger intervals serve no calendar and only lengthen searches.
MAX_INTERVAL = 366
LAST_DATE = date(9999, 12, 31)

FREQUENCIES = ("DAILY", "WEEKLY", "MONTHLY", "YEARLY")
WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")  # in date.weekday() order
# Also the order of the parts in the canonical text.
PARTS = ("FREQ", "INTERVAL", "BYDAY", "BYMONTHDAY", "BYMONTH", "BYSETPOS", "WKST", "COUNT", "UNTIL")

_INTEGER = re.compile(r"[+-]?[0-9]{1,4}")
_DAY = re.compile(r"([+-]?[0-9]{1,2})?(MO|TU|WE|TH|FR|SA|SU)")
_UNTIL = re.compile(
    r"([0-9]{4})([0-9]{2})([0-9]{2})(T(?:[01][0-9]|2[0-3])[0-5][0-9](?:[0-5][0-9]|60)Z?)?"
)
_DATEUTIL_FREQ: dict[str, int] = {
    "DAILY": rrule.DAILY,
    "WEEKLY": rrule.WEEKLY,
    "MONTHLY": rrule.MONTHLY,
    "YEARLY": rrule.YEARLY,
}


class RuleError(ValueError):
    """A recurrence rule that is malformed or not supported; the message says what to write."""


@dataclass(frozen=True)
class Rule:
    """A parsed RRULE value; `text` is its canonical form, derived from the other fields."""

    text: str = field(init=False)
    freq: str
    interval: int = 1
    byday: tuple[tuple[int, int], ...] = ()  # (ordinal, weekday); ordinal 0 means every such day
    bymonthday: tuple[int, ...] = ()
    bymonth: tuple[int, ...] = ()
    bysetpos: tuple[int, ...] = ()
    wkst: int = 0  # Monday, the RFC 5545 default
    count: int | None = None
    until: date | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "text", _canonical(self))


def _canonical(rule: Rule) -> str:
    parts = [f"FREQ={rule.freq}"]
    if rule.interval != 1:
        parts.append(f"INTERVAL={rule.interval}")
    if rule.byday:
        days = ",".join(f"{ordinal or ''}{WEEKDAYS[day]}" for ordinal, day in rule.byday)
        parts.append(f"BYDAY={days}")
    for name, numbers in (
        ("BYMONTHDAY", rule.bymonthday),
        ("BYMONTH", rule.bymonth),
        ("BYSETPOS", rule.bysetpos),
    ):
        if numbers:
            parts.append(f"{name}={','.join(map(str, numbers))}")
    if rule.wkst != 0:
        parts.append(f"WKST={WEEKDAYS[rule.wkst]}")
    if rule.count is not None:
        parts.append(f"COUNT={rule.count}")
    if rule.until is not None:
        parts.append(f"UNTIL={rule.until:%Y%m%d}")
    return ";".join(parts)


def parse_rule(text: str) -> Rule:
    """The rule an RRULE value (with or without "RRULE:", in any case, parts in any order) says."""
    values = _parts(text)
    freq = values.get("FREQ")
    if freq is None:
        raise RuleError("FREQ is required, such as FREQ=WEEKLY")
    if freq not in FREQUENCIES:
        raise RuleError(f"FREQ must be one of {', '.join(FREQUENCIES)}")
    _check_combination(freq, values.keys())
    return Rule(
        freq=freq,
        interval=_whole_number("INTERVAL", values.get("INTERVAL", "1"), MAX_INTERVAL),
        byday=_days(values["BYDAY"], freq) if "BYDAY" in values else (),
        bymonthday=_numbers("BYMONTHDAY", values.get("BYMONTHDAY"), 31, signed=True),
        bymonth=_numbers("BYMONTH", values.get("BYMONTH"), 12, signed=False),
        bysetpos=_numbers("BYSETPOS", values.get("BYSETPOS"), 366, signed=True),
        wkst=_weekday(values.get("WKST", "MO")),
        count=_whole_number("COUNT", values["COUNT"], MAX_COUNT) if "COUNT" in values else None,
        until=_until(values["UNTIL"]) if "UNTIL" in values else None,
    )


def _parts(text: str) -> dict[str, str]:
    """The NAME=VALUE parts of a rule, by name, upper-cased."""
    if len(text) > MAX_LENGTH:
        raise RuleError(f"a rule must be at most {MAX_LENGTH} characters")
    body = text.strip().upper().removeprefix("RRULE:")
    if not body:
        raise RuleError("write a rule such as FREQ=WEEKLY;BYDAY=MO")
    values: dict[str, str] = {}
    for part in body.split(";"):
        name, equals, value = (piece.strip() for piece in part.partition("="))
        if not equals or not name:
            raise RuleError(f"write each part as NAME=VALUE, separated by ';' (not {part!r})")
        if name not in PARTS:
            raise RuleError(f"{name} is not supported; use {', '.join(PARTS)}")
        if name in values:
            raise RuleError(f"{name} appears twice; write it once")
        if not value:
            raise RuleError(f"{name} needs a value, such as {name}={_EXAMPLES[name]}")
        values[name] = value
    return values


def _check_combination(freq: str, names: Collection[str]) -> None:
    if "COUNT" in names and "UNTIL" in names:
        raise RuleError("use COUNT or UNTIL, not both")
    if "BYMONTHDAY" in names and freq in ("DAILY", "WEEKLY"):
        # RFC 5545 forbids it with WEEKLY; with DAILY it only says MONTHLY less plainly.
        raise RuleError("BYMONTHDAY needs FREQ=MONTHLY or FREQ=YEARLY")
    if "BYSETPOS" in names:
        if freq == "DAILY":  # a day holds one date: there is nothing to choose from
            raise RuleError("BYSETPOS needs FREQ=WEEKLY, FREQ=MONTHLY or FREQ=YEARLY")
        if not {"BYDAY", "BYMONTHDAY", "BYMONTH"} & set(names):
            raise RuleError("BYSETPOS needs BYDAY, BYMONTHDAY or BYMONTH to choose from")


_EXAMPLES = {
    "FREQ": "WEEKLY",
    "INTERVAL": "2",
    "BYDAY": "MO,WE",
    "BYMONTHDAY": "15",
    "BYMONTH": "3",
    "BYSETPOS": "-1",
    "WKST": "MO",
    "COUNT": "10",
    "UNTIL": "20261231",
}


def _whole_number(name: str, value: str, high: int) -> int:
    if not _INTEGER.fullmatch(value) or not 1 <= int(value) <= high:
        raise RuleError(f"{name} must be a whole number from 1 to {high}")
    return int(value)


def _numbers(name: str, value: str | None, high: int, *, signed: bool) -> tuple[int, ...]:
    """A comma-separated list of whole numbers from 1 to `high` (or -high to -1 when signed)."""
    if value is None:
        return ()
    numbers = set()
    for item in value.split(","):
        number = int(item) if _INTEGER.fullmatch(item) else 0
        if not 1 <= (abs(number) if signed else number) <= high:
            allowed = f"1 to {high}" + (f" or -{high} to -1" if signed else "")
            raise RuleError(f"{name} must list whole numbers from {allowed}")
        numbers.add(number)
    return tuple(sorted(numbers))


def _days(value: str, freq: str) -> tuple[tuple[int, int], ...]:
    # The furthest an ordinal reaches: the 5th of a weekday in a month, the 53rd in a year.
    furthest = {"MONTHLY": 5, "YEARLY": 53}.get(freq, 0)
    days = set()
    for item in value.split(","):
        match = _DAY.fullmatch(item)
        if match is None:
            raise RuleError("BYDAY must list weekdays such as MO,WE (or 2TU,-1FR when monthly)")
        ordinal = int(match[1] or 0)
        if match[1] and not furthest:
            raise RuleError("a numbered BYDAY such as 2TU needs FREQ=MONTHLY or FREQ=YEARLY")
        if match[1] and not 1 <= abs(ordinal) <= furthest:
            raise RuleError(
                f"with FREQ={freq}, BYDAY numbers must be from 1 to {furthest} "
                f"or -{furthest} to -1, such as 2TU or -1FR"
            )
        days.add((ordinal, WEEKDAYS.index(match[2])))
    return tuple(sorted(days, key=lambda day: (day[1], day[0])))


def _weekday(value: str) -> int:
    if value not in WEEKDAYS:
        raise RuleError(f"WKST must be one of {', '.join(WEEKDAYS)}")
    return WEEKDAYS.index(value)


def _until(value: str) -> date:
    # Only the date matters: recurrence is computed on dates, the time of day comes afterwards.
    match = _UNTIL.fullmatch(value)
    try:
        if match:
            return date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:  # no such day, such as 20260230
        pass
    raise RuleError("UNTIL must be a date such as 20261231 or 20261231T235959Z")


def occurrence_dates(
    rule: Rule,
    start: date,
    *,
    after: date | None = None,
    through: date,
    exdates: Collection[date] = (),
    limit: int,
) -> list[date]:
    """The series' occurrence dates d with after < d <= through, less `exdates`, in order, at most
    `limit` of them. `start` is the series' first date (DTSTART)."""
    cancelled = set(exdates)
    kept = (day for day in _instances(rule, start, after, through) if day not in cancelled)
    return list(islice(kept, limit))


def last_date(rule: Rule, start: date) -> date | None:
    """The date of the series' last instance (EXDATE aside); None when it never ends."""
    if rule.count is not None:
        return max(_instances(rule, start, None, LAST_DATE))
    if rule.until is None:
        return None
    if rule.until <= start:
        return start
    # Look back from UNTIL in growing windows: an UNTIL centuries away costs only its neighbourhood.
    days = 32
    while timedelta(days=days) < rule.until - start:
        window = list(_instances(rule, start, rule.until - timedelta(days=days), rule.until))
        if window:
            return window[-1]
        days *= 8
    return max(_instances(rule, start, None, rule.until))


def is_occurrence(rule: Rule, start: date, day: date, exdates: Collection[date] = ()) -> bool:
    """Whether the series has an occurrence on `day` that `exdates` does not cancel."""
    if day < start or day in exdates:
        return False
    return day == start or any(_instances(rule, start, day - timedelta(days=1), day))


def split_at(rule: Rule, start: date, day: date) -> tuple[Rule, Rule]:
    """Split a series for "this and the following": the rule of the series from `start`, now
    ending the day before `day`, and the rule of a new series from `day` with the rest.

    `day` must be an occurrence after `start` (EXDATE aside). The earlier part is never empty:
    `start` is always an occurrence of its own series."""
    if day <= start or not is_occurrence(rule, start, day):
        raise RuleError("split the series at one of its occurrences after the first one")
    day_before = day - timedelta(days=1)
    earlier = replace(rule, count=None, until=day_before)
    if rule.count is None:
        return earlier, rule
    used = sum(1 for _ in _instances(rule, start, None, day_before))
    return earlier, replace(rule, count=rule.count - used)


def _instances(rule: Rule, start: date, after: date | None, through: date) -> Iterator[date]:
    """The series' instances d with after < d <= through, in order, cancelled ones included."""
    if (after is None or start > after) and start <= through:
        yield start
    end = through if rule.until is None else min(through, rule.until)
    if end <= start or not _recurs(rule, start):
        return
    later = _later_dates(rule, start, after)
    if rule.count is not None:
        later = islice(later, rule.count - 1)  # DTSTART was the first
    for day in later:
        if day > end:
            return
        if after is None or day > after:
            yield day
        if day == end:  # asking for one more could search far past the window
            return


def _later_dates(rule: Rule, start: date, after: date | None) -> Iterator[date]:
    """The dates after `start` that the rule produces, in order; without COUNT (which must be
    counted from DTSTART) only those from the period `after` falls in, on."""
    period = _period(rule, start)
    if after is not None and rule.count is None:
        # Whole intervals are skipped, so the series still visits the same periods.
        period += max(0, (_period(rule, after) - period) // rule.interval) * rule.interval
    # dateutil is started at a period's beginning: started mid-week, it would take that week as
    # beginning on its dtstart, and BYSETPOS would pick from part of the week.
    found = _dateutil_dates(_explicit(rule, start), _period_start(rule, period))
    return (day for day in found if day > start)


def _explicit(rule: Rule, start: date) -> Rule:
    """The rule with what RFC 5545 takes from DTSTART written out (e.g. MONTHLY with neither
    BYDAY nor BYMONTHDAY means DTSTART's day of the month), so another dtstart gives the same."""
    if rule.byday or rule.bymonthday:
        return rule
    if rule.freq == "WEEKLY":
        return replace(rule, byday=((0, start.weekday()),))
    if rule.freq == "MONTHLY":
        return replace(rule, bymonthday=(start.day,))
    if rule.freq == "YEARLY":
        return replace(rule, bymonth=rule.bymonth or (start.month,), bymonthday=(start.day,))
    return rule


def _dateutil_dates(rule: Rule, dtstart: date) -> Iterator[date]:
    """What dateutil produces for an _explicit rule from `dtstart` on, COUNT and UNTIL aside."""
    found = rrule.rrule(
        _DATEUTIL_FREQ[rule.freq],
        dtstart=datetime(dtstart.year, dtstart.month, dtstart.day),
        interval=rule.interval,
        wkst=rule.wkst,
        byweekday=[rrule.weekday(day, ordinal or None) for ordinal, day in rule.byday] or None,
        bymonthday=rule.bymonthday or None,
        bymonth=rule.bymonth or None,
        bysetpos=rule.bysetpos or None,
        cache=False,
    )
    for moment in found:
        yield moment.date()


def _period(rule: Rule, day: date) -> int:
    """The number of the day, week (from WKST), month or year, as FREQ says, that `day` is in."""
    match rule.freq:
        case "DAILY":
            return day.toordinal()
        case "WEEKLY":
            return (day.toordinal() - 1 - rule.wkst) // 7  # ordinal 1, 0001-01-01, is a Monday
        case "MONTHLY":
            return day.year * 12 + day.month - 1
        case _:
            return day.year


def _period_start(rule: Rule, period: int) -> date:
    match rule.freq:
        case "DAILY":
            return date.fromordinal(period)
        case "WEEKLY":  # the calendar's first week is cut short at 0001-01-01
            return date.fromordinal(max(1, period * 7 + 1 + rule.wkst))
        case "MONTHLY":
            return date(period // 12, period % 12 + 1, 1)
        case _:
            return date(period, 1, 1)


@lru_cache(maxsize=1024)
def _recurs(rule: Rule, start: date) -> bool:
    """Whether the rule may produce dates after `start`; False means it certainly produces none."""
    if rule.freq == "DAILY":
        # The days a series visits drift through every month, so with BYMONTHDAY and BYSETPOS
        # refused only BYDAY can miss them all: when INTERVAL is a whole number of weeks, they
        # are all DTSTART's weekday.
        weekdays = {day for _, day in rule.byday}
        return not (rule.interval % 7 == 0 and weekdays and start.weekday() not in weekdays)
    if rule.freq == "WEEKLY":
        # BYMONTH leaves some full weeks in every month, so only BYSETPOS can ask for more dates
        # than a week has: as many as BYDAY names (DTSTART's weekday when it names none).
        most = len(rule.byday) or 1
        return not rule.bysetpos or any(abs(position) <= most for position in rule.bysetpos)
    # What a month or year holds depends only on its layout (see _layout), and the layouts of the
    # periods a series visits repeat once the 400-year Gregorian cycle (4800 months) comes round.
    busy = _busy_layouts(replace(_explicit(rule, start), interval=1, count=None, until=None))
    first = _period(rule, start)
    cycle = 4800 if rule.freq == "MONTHLY" else 400
    last = min(_period(rule, LAST_DATE), first + lcm(rule.interval, cycle))
    return any(
        _layout(rule.freq, period) in busy for period in range(first, last + 1, rule.interval)
    )


# The calendar's last 28 years hold every layout of a year and of a month, and dateutil's search
# stops at 9999, so running a rule over them costs at most 28 years or 336 months.
_LAST_YEARS = date(9972, 1, 1)


@lru_cache(maxsize=256)
def _busy_layouts(rule: Rule) -> frozenset[tuple[int, int, int]]:
    """The layouts of the months (MONTHLY) or years (YEARLY) in which an _explicit rule with
    INTERVAL=1 produces dates."""
    return frozenset(
        _layout(rule.freq, _period(rule, day)) for day in _dateutil_dates(rule, _LAST_YEARS)
    )


def _layout(freq: str, period: int) -> tuple[int, int, int]:
    """What decides which dates a month (its number, first weekday and length) or a year (its
    first weekday and length) holds under a rule."""
    if freq == "MONTHLY":
        year, month = divmod(period, 12)
        return (month + 1, *calendar.monthrange(year, month + 1))
    return (0, date(period, 1, 1).weekday(), 366 if calendar.isleap(period) else 365)
