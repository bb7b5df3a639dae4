"""Section: what the calendar costs to read. One department with 500 single events over 2026 and
20 weekly series through 2026, written through the real routes in-process on a fresh DynamoDB
Local (tmpfs); then the plain listing, the year's instances and the iCalendar feed are timed and
their DynamoDB requests counted, next to the plain listing's first page in the same run."""

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any
from urllib.parse import quote, urlsplit

from bench.harness import DynamoDBCalls, InProcessApi, counting, fresh_dynamodb
from bench.report import Row, median, ratio

SECTION = "calendar"
SINGLES = 500
PAGE = 100
YEAR = 2026
YEAR_QUERY = f"from={YEAR}-01-01&to={YEAR}-12-31"
UNTIL = date(YEAR, 12, 31)
TITLES = ("팀 회의", "주간 보고", "면접", "신입 교육", "워크숍", "출장", "고객 미팅", "예산 검토")
WEEKDAYS = ("MO", "TU", "WE", "TH", "FR")
# (weekday, start, end): 20 series, each weekday at four different times of day.
SERIES = tuple(
    (WEEKDAYS[n % 5], f"{9 + n // 5 * 2:02d}:{n % 2 * 30:02d}", f"{10 + n // 5 * 2:02d}:00")
    for n in range(20)
)
# Series (by index) with occurrences left out, as weeks after their first one.
EXDATE_WEEKS = {0: (6, 20), 7: (10,), 13: (2, 30, 45)}


@dataclass(frozen=True)
class Timed:
    """Repeated runs of one measurement: milliseconds, DynamoDB requests and what came back."""

    ms: list[float]
    requests: list[int]
    items: int
    pages: int
    detail: dict[str, Any]

    @property
    def median_ms(self) -> float:
        return median(self.ms)

    def req(self) -> str:
        low, high = min(self.requests), max(self.requests)
        return f"{low} req" if low == high else f"{low}-{high} req"

    def as_data(self) -> dict[str, Any]:
        return {
            "median_ms": self.median_ms,
            "runs_ms": self.ms,
            "requests": self.requests,
            "items": self.items,
            "pages": self.pages,
            **self.detail,
        }


def run(runs: int = 5) -> list[Row]:
    from chalicelib.context import get_context

    with fresh_dynamodb(tmpfs=True):
        api = InProcessApi()
        department = api.created("/api/departments", {"name": "일정 비용팀"})
        events = f"/api/events/{department['id']}"
        expected_occurrences = _seed(api, events)
        feed = _feed_path(api, department["id"])
        measurements: dict[str, Callable[[], tuple[int, int, dict[str, Any]]]] = {
            "first": lambda: _walk(api, f"{events}?limit={PAGE}", pages=1),
            "stored": lambda: _walk(api, f"{events}?limit={PAGE}"),
            "year": lambda: _walk(api, f"{events}?{YEAR_QUERY}&limit={PAGE}"),
            "feed": lambda: _get_feed(api, feed, None),
        }
        with counting(get_context().client) as calls:
            # One unrecorded pass first: DynamoDB Local's JIT and the app's lazily imported
            # calendar modules would otherwise land in the first run's numbers.
            for measure in measurements.values():
                measure()
            tag = str(_get_feed(api, feed, None)[2]["etag"])
            measurements["not modified"] = lambda: _get_feed(api, feed, tag)
            measurements["not modified"]()
            # Runs interleave, so a slow moment of the machine falls on every measurement alike.
            results: dict[str, list[tuple[float, int, tuple[int, int, dict[str, Any]]]]] = {
                name: [] for name in measurements
            }
            for _ in range(runs):
                for name, measure in measurements.items():
                    results[name].append(_timed(calls, measure))

    timed = {name: _summary(samples) for name, samples in results.items()}
    return _rows(timed, SINGLES + expected_occurrences, runs)


def _seed(api: InProcessApi, events: str) -> int:
    """Writes the singles and the series; returns how many occurrences the series have."""
    day_one = date(YEAR, 1, 1)
    for n in range(SINGLES):
        body: dict[str, Any] = {
            # Spread evenly over the year, so every page of the year listing mixes both kinds.
            "event_date": (day_one + timedelta(days=n * 365 // SINGLES)).isoformat(),
            "title": f"{TITLES[n % len(TITLES)]} {n + 1}",
        }
        if n % 3:
            hour = 8 + n % 10
            body |= {"start_time": f"{hour:02d}:{n % 4 * 15:02d}", "end_time": f"{hour + 1:02d}:00"}
        api.created(events, body)
    occurrences = 0
    for n, (weekday, start, end) in enumerate(SERIES):
        first = day_one + timedelta(days=(WEEKDAYS.index(weekday) - day_one.weekday()) % 7)
        exdates = [(first + timedelta(weeks=w)).isoformat() for w in EXDATE_WEEKS.get(n, ())]
        api.created(
            events,
            {
                "event_date": first.isoformat(),
                "title": f"정기 {TITLES[n % len(TITLES)]} ({weekday})",
                "start_time": start,
                "end_time": end,
                "timezone": "Asia/Seoul",
                "recurrence": f"FREQ=WEEKLY;BYDAY={weekday};UNTIL={UNTIL:%Y%m%d}",
                "exdates": exdates,
            },
        )
        occurrences += (UNTIL - first).days // 7 + 1 - len(exdates)
    return occurrences


def _feed_path(api: InProcessApi, department_id: str) -> str:
    status, reply = api.call("POST", f"/api/departments/{department_id}/feed-token")
    if status != 200:
        raise RuntimeError(f"feed-token answered {status}: {reply}")
    url = urlsplit(reply["url"])
    return f"{url.path}?{url.query}"


def _walk(
    api: InProcessApi, first: str, pages: int | None = None
) -> tuple[int, int, dict[str, Any]]:
    """Follows next_token from `first` to the end (or for `pages` pages): items, pages."""
    items, walked, token = 0, 0, None
    while True:
        path = first if token is None else f"{first}&next_token={quote(token)}"
        status, reply = api.call("GET", path)
        if status != 200:
            raise RuntimeError(f"GET {path} answered {status}: {reply}")
        items, walked, token = items + len(reply["items"]), walked + 1, reply["next_token"]
        if token is None or walked == pages:
            return items, walked, {}


def _get_feed(api: InProcessApi, path: str, tag: str | None) -> tuple[int, int, dict[str, Any]]:
    headers = {} if tag is None else {"If-None-Match": tag}
    response = api.client.http.get(path, headers=headers)
    if response.status_code != (200 if tag is None else 304):
        raise RuntimeError(f"GET {path} answered {response.status_code}")
    etag = next(v for k, v in response.headers.items() if k.lower() == "etag")
    body = bytes(response.body)
    return body.count(b"BEGIN:VEVENT"), 1, {"bytes": len(body), "etag": etag}


def _timed(
    calls: DynamoDBCalls, measure: Callable[[], tuple[int, int, dict[str, Any]]]
) -> tuple[float, int, tuple[int, int, dict[str, Any]]]:
    calls.clear()
    started = time.perf_counter()
    outcome = measure()
    return (time.perf_counter() - started) * 1000, calls.count, outcome


def _summary(samples: list[tuple[float, int, tuple[int, int, dict[str, Any]]]]) -> Timed:
    items, pages, detail = samples[-1][2]
    return Timed([s[0] for s in samples], [s[1] for s in samples], items, pages, detail)


def _rows(timed: dict[str, Timed], expected_year_items: int, runs: int) -> list[Row]:
    first, stored, year = timed["first"], timed["stored"], timed["year"]
    feed, unchanged = timed["feed"], timed["not modified"]
    base_ms = first.median_ms
    baseline = f"{base_ms:.0f} ms, {first.req()}"
    stored_events = SINGLES + len(SERIES)

    def row(measure: str, t: Timed, value: str, note: str) -> Row:
        return Row(
            SECTION,
            measure,
            f"{t.median_ms:.0f} ms median, {t.req()}, {value}",
            baseline=baseline,
            versus=ratio(t.median_ms, base_ms),
            note=note,
            data=t.as_data(),
        )

    def checked(found: int, expected: int) -> str:
        return (
            f"{expected:,} expected" if found == expected else f"{expected:,} expected (MISMATCH)"
        )

    def per_page(t: Timed) -> float:
        return t.median_ms / t.pages

    return [
        row(
            f"plain listing: first page (limit={PAGE})",
            first,
            f"{first.items} items in 1 page",
            f"the baseline of this section: the stored events' first page; {runs} runs",
        ),
        row(
            "plain listing: every page",
            stored,
            f"{stored.items:,} items in {stored.pages} pages",
            f"all {checked(stored.items, stored_events)} stored events (a series once) vs the "
            f"first page; {per_page(stored):.0f} ms per page",
        ),
        row(
            f"year listing ({YEAR_QUERY}): every page",
            year,
            f"{year.items:,} items in {year.pages} pages",
            f"{SINGLES} singles + every occurrence of {len(SERIES)} weekly series "
            f"({checked(year.items, expected_year_items)}) vs the plain first page; "
            f"{per_page(year):.0f} ms per page",
        ),
        Row(
            SECTION,
            "year listing per page vs plain page",
            f"{per_page(year):.1f} ms per page",
            baseline=f"{base_ms:.1f} ms",
            versus=ratio(per_page(year), base_ms),
            note=f"the year walk's median over its {year.pages} pages vs the plain first page "
            f"(both up to {PAGE} items); {sum(year.requests) / runs / year.pages:.1f} req per page",
            data={"year_ms_per_page": per_page(year), "plain_page_ms": base_ms},
        ),
        row(
            "calendar.ics: whole feed",
            feed,
            f"{feed.detail['bytes']:,} bytes, {feed.items} VEVENT",
            f"every stored event ({checked(feed.items, stored_events)}), series as RRULE, "
            "vs the plain first page",
        ),
        row(
            "calendar.ics: If-None-Match (304)",
            unchanged,
            "HTTP 304",
            f"the same GET with the ETag vs the plain first page; "
            f"{ratio(unchanged.median_ms, feed.median_ms)} of the whole feed "
            "(the ETag is a hash of the rendered feed, so it is read and rendered anyway)",
        ),
    ]
