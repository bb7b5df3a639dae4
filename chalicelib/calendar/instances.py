"""Stored events → the instances a listing shows: one per single event, one per occurrence of
a series, one per holiday, in start order. Pure: the repository reads, this arranges.

An instance's place in a listing is its key (date, start, id): all-day instances sort before
timed ones of the same day ("-" sorts before any "HH:MM"). A page ends after a key, and the next
page starts after it, so pages never repeat or skip an instance, whatever was expanded.
"""

import unicodedata
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from chalicelib.calendar.schedule import Schedule

ALL_DAY = "-"
Key = tuple[str, str, str]


@dataclass(frozen=True)
class Window:
    """Dates first..last, inclusive; instances that overlap it are listed."""

    first: str
    last: str


def instance_key(item: Mapping[str, Any]) -> Key:
    return (str(item["event_date"]), item.get("start_time") or ALL_DAY, str(item["id"]))


def occurrence_id(series_id: str, day: str) -> str:
    """The id of a series' occurrence on `day`; a changed occurrence is stored under it."""
    return f"{series_id}.{day.replace('-', '')}"


def search_key(text: str) -> str:
    return unicodedata.normalize("NFC", unicodedata.normalize("NFC", text).casefold())


def matches(item: Mapping[str, Any], query: str | None) -> bool:
    """Whether the title or description holds `query` (NFC-normalised and case-folded)."""
    if not query:
        return True
    needle = search_key(query)
    return any(needle in search_key(str(item.get(name) or "")) for name in ("title", "description"))


def overlaps(item: Mapping[str, Any], window: Window) -> bool:
    schedule = Schedule.of(item)
    return schedule.event_date <= window.last and schedule.last_day >= window.first


def expand(
    item: Mapping[str, Any], window: Window, after: Key | None, limit: int
) -> Iterator[dict[str, Any]]:
    """The instances of one stored event that overlap the window and sort after `after`: the
    event itself, or at most `limit` occurrences of a series."""
    schedule = Schedule.of(item)
    if schedule.recurrence is None:
        if overlaps(item, window) and (after is None or instance_key(item) > after):
            yield dict(item)
        return
    from chalicelib.calendar.recurrence import occurrence_dates, parse_rule

    length = timedelta(days=schedule.duration_days())
    first = date.fromisoformat(window.first)
    # An occurrence that starts before the window but lasts into it is listed too.
    starts_from = first - length if first - date.min > length else date.min + timedelta(days=1)
    if after is not None:
        starts_from = max(starts_from, date.fromisoformat(after[0]))
    skipped = {*schedule.exdates, *(item.get("overrides") or ())}
    days = occurrence_dates(
        parse_rule(schedule.recurrence),
        date.fromisoformat(schedule.event_date),
        after=starts_from - timedelta(days=1),
        through=date.fromisoformat(window.last),
        exdates={date.fromisoformat(day) for day in skipped},
        # One more than a page, and one for the cursor's own day (a series has at most one
        # occurrence a day: FREQ is DAILY or coarser), whose occurrence may sort before it.
        limit=limit + 2,
    )
    for day in days:
        occurrence = occurrence_of(item, day.isoformat())
        if after is None or instance_key(occurrence) > after:
            yield occurrence


def occurrence_of(series: Mapping[str, Any], day: str) -> dict[str, Any]:
    """The series' occurrence that starts on `day`, as a listing shows it."""
    schedule = Schedule.of(series)
    series_id = str(series["id"])
    occurrence = {
        name: value
        for name, value in series.items()
        if name not in ("recurrence", "exdates", "overrides", "end_date")
    }
    occurrence.update(
        id=occurrence_id(series_id, day),
        series_id=series_id,
        occurrence_date=day,
        event_date=day,
    )
    if schedule.end_date is not None:
        length = timedelta(days=schedule.duration_days())
        occurrence["end_date"] = (date.fromisoformat(day) + length).isoformat()
    return occurrence


def merge_page(
    sources: Iterable[Iterable[dict[str, Any]]], limit: int, complete_before: Key | None
) -> tuple[list[dict[str, Any]], bool]:
    """The first `limit` instances of all sources in key order, and whether more follow.

    `complete_before`: the sources are known complete only for keys before it (the single
    events were read up to there); None when everything was read."""
    everything = sorted((i for source in sources for i in source), key=instance_key)
    if complete_before is not None:
        known = [i for i in everything if instance_key(i) < complete_before]
        return known[:limit], True
    return everything[:limit], len(everything) > limit
