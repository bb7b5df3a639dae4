"""Wall-clock times read from an event's free-text `time` field, e.g. "오후 3:00" or "3pm-5pm".

Events were written before they had structured times: users typed whatever they liked, mostly
Korean ("오후 3시 반", "오전 11시 ~ 오후 1시"), sometimes 24-hour or English ("15:00", "3 PM").
`read_times` turns such a text into a start and, for a range, an end, and says nothing (None)
about anything else ("종일", "미정", "회의 오후 3시"): a wrong time on a calendar is worse than
none, so the whole text has to be a time expression.
"""

import re
import unicodedata
from dataclasses import dataclass

# Longer texts are notes, not times; the cap also bounds the work the expressions below do.
_MAX_LENGTH = 100

# The part of the day each word names, as (first hour, number of hours) on a 24-hour clock,
# wrapping past midnight. An hour written with the word (1-12) is read as whichever of h and
# h + 12 falls inside: "밤 10시" is 22:00 but "밤 12시" is midnight, "점심 11시" is 11:00.
_PERIODS: dict[str, tuple[int, int]] = {
    "오전": (0, 12),
    "am": (0, 12),
    "오후": (12, 12),
    "pm": (12, 12),
    "새벽": (0, 7),
    "아침": (5, 7),
    "점심": (11, 4),
    "낮": (10, 8),
    "저녁": (17, 7),
    "밤": (19, 10),
}

_CLOCK = re.compile(
    r"""
    (?:(?P<word>오전|오후|새벽|아침|점심|낮|저녁|밤)\ ?)?
    (?P<hour>[0-9]{1,2})
    (?:
        :(?P<minute>[0-9]{2})
      | \ ?(?P<o_clock>시)(?:\ ?(?:(?P<korean_minute>[0-9]{1,2})\ ?분|(?P<half>반)))?
    )?
    (?:\ ?(?P<ampm>[ap])\.?m\.?)?
    """,
    re.VERBOSE,
)

# The start is the shortest text before the first separator; "까지" may close any range.
_RANGE = re.compile(r"(?P<start>.+?) ?(?:-|~|–|〜|부터) ?(?P<end>.+?)(?: ?까지)?")


@dataclass(frozen=True)
class _Clock:
    hour: int  # as written
    minute: int
    period: str | None  # a key of _PERIODS; None for a 24-hour time
    bare: bool  # only an hour, with neither "시" nor ":MM"


_NAMED = {"정오": _Clock(12, 0, "pm", bare=False), "자정": _Clock(12, 0, "am", bare=False)}


def read_times(text: str) -> tuple[str, str | None] | None:
    """(start "HH:MM", end "HH:MM" or None) when the whole text reads as a time or a time range;
    else None."""
    if len(text) > _MAX_LENGTH:
        return None
    # NFKC folds full-width forms ("１５：００") and jamo; any run of whitespace becomes one space.
    text = " ".join(unicodedata.normalize("NFKC", text).lower().split())
    parts = _RANGE.fullmatch(text)
    if parts is None:
        # "오후 3시부터" (from 3 p.m.) gives a start and no end.
        start = _clock(text.removesuffix("부터").rstrip())
        first = None if start is None else _start(start)
        return None if first is None else (_hhmm(first), None)
    start, end = _clock(parts["start"]), _clock(parts["end"])
    first = None if start is None else _start(start)
    if start is None or end is None or first is None:
        return None
    readings = [m for m in _end_readings(start, end) if m is not None]
    if not readings:
        return None
    last = next((m for m in readings if m > first), None)
    return _hhmm(first), None if last is None else _hhmm(last)


def _clock(text: str) -> _Clock | None:
    if text in _NAMED:
        return _NAMED[text]
    match = _CLOCK.fullmatch(text)
    if match is None or (match["word"] and match["ampm"]):
        return None
    minute = 30 if match["half"] else int(match["minute"] or match["korean_minute"] or 0)
    if minute > 59:
        return None
    period = match["word"] or (match["ampm"] and match["ampm"] + "m") or None
    bare = match["minute"] is None and match["o_clock"] is None
    return _Clock(int(match["hour"]), minute, period, bare)


def _start(clock: _Clock) -> int | None:
    # A lone number ("3") is as likely a count or a room as an hour.
    if clock.bare and clock.period is None:
        return None
    return _minutes(clock, clock.period)


def _end_readings(start: _Clock, end: _Clock) -> list[int | None]:
    """The end's readings, most likely first: "오후 3시~5시" means 5 p.m., "오전 9시~17시" 17:00."""
    if end.period is not None:
        return [_minutes(end, end.period)]
    carried = None if start.period is None else _minutes(end, start.period)
    return [carried, None if end.bare else _minutes(end, None)]


def _minutes(clock: _Clock, period: str | None) -> int | None:
    """Minutes after midnight, or None when the hour does not exist in that period."""
    if period is None:
        return clock.hour * 60 + clock.minute if clock.hour < 24 else None
    if not 1 <= clock.hour <= 12:
        return None
    first, length = _PERIODS[period]
    for hour in (clock.hour % 12, clock.hour % 12 + 12):
        if (hour - first) % 24 < length:
            return hour * 60 + clock.minute
    return None


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"
