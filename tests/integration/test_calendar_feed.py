"""A department's iCalendar feed: opened only by its token, cached by ETag, and the same
calendar as the API's listing once a calendar app expands it."""

from datetime import date, datetime
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import icalendar
import pytest
import recurring_ical_events  # type: ignore[import-untyped]

from tests.integration.test_calendar import listing, weekly_series


@pytest.fixture
def department(api):
    return api.department(name="인사팀")


def feed_path(api, department_id: str) -> str:
    reply = api.post(f"/api/departments/{department_id}/feed-token")
    assert reply.status == 200, reply.body
    url = urlsplit(reply.json["url"])
    assert url.scheme in ("http", "https")
    assert url.netloc
    return f"{url.path}?{url.query}"


def test_the_feed_opens_with_its_token_and_a_rotated_token_makes_the_old_link_404(api, department):
    # Given a department with an event, and its feed link
    api.event(department["id"], event_date="2026-04-01", title="채용 설명회")
    first = feed_path(api, department["id"])
    # When a calendar app reads it
    reply = api.get(first)
    # Then it is an iCalendar named after the department, with the event
    assert reply.status == 200
    assert reply.headers["Content-Type"].startswith("text/calendar")
    calendar = icalendar.Calendar.from_ical(reply.body)
    assert str(calendar["X-WR-CALNAME"]).encode() == "인사팀".encode()
    assert [str(e["SUMMARY"]) for e in calendar.walk("VEVENT")] == ["채용 설명회"]
    # And after the token is rotated, the old link is a 404 and the new one works
    second = feed_path(api, department["id"])
    assert api.get(first).status == 404
    assert api.get(second).status == 200
    # And a guess, or no token at all, is a 404 too
    assert api.get(f"/api/departments/{department['id']}/calendar.ics?token=guess").status == 404
    assert api.get(f"/api/departments/{department['id']}/calendar.ics").status == 404


def test_an_unchanged_feed_answers_304_to_its_etag(api, department):
    api.event(department["id"], event_date="2026-04-01", title="면접")
    path = feed_path(api, department["id"])
    tag = api.get(path).headers["ETag"]
    again = api.get(path, headers={"If-None-Match": tag})
    assert again.status == 304
    assert again.body == b""
    # A change makes a new ETag
    api.event(department["id"], event_date="2026-04-02", title="면접 2")
    assert api.get(path, headers={"If-None-Match": tag}).status == 200


def test_the_feed_expanded_gives_exactly_the_occurrences_the_api_lists(api, department):
    # Given a weekly series with an exdate and a moved occurrence, a single timed event, a
    # three-day all-day event and a daily series that ends by COUNT
    series = weekly_series(api, department["id"])
    moved = api.patch(
        f"/api/events/{department['id']}/{series['id']}/occurrences/2026-03-10",
        {"event_date": "2026-03-11", "start_time": "14:00", "end_time": "15:00"},
    )
    assert moved.status == 200, moved.body
    api.event(department["id"], event_date="2026-05-20", title="보고", start_time="09:00")
    api.event(department["id"], event_date="2026-08-03", end_date="2026-08-05", title="연수")
    api.event(
        department["id"],
        event_date="2026-10-01",
        title="점검",
        recurrence="FREQ=DAILY;COUNT=5",
    )
    # When the feed is expanded over 2026 by recurring-ical-events, as calendar apps do
    calendar = icalendar.Calendar.from_ical(api.get(feed_path(api, department["id"])).body)
    expanded = recurring_ical_events.of(calendar).between(date(2026, 1, 1), date(2027, 1, 1))
    from_feed = sorted((str(e["SUMMARY"]), _start(e["DTSTART"].dt)) for e in expanded)
    # Then it is the API's listing of 2026, occurrence for occurrence
    from_api = sorted(
        (item["title"], item["start"] or item["event_date"])
        for item in listing(api, department["id"], "from=2026-01-01&to=2026-12-31")
    )
    assert from_feed == from_api
    assert len(from_api) == 51 + 1 + 1 + 5  # Tuesdays less the exdate, the moved one stays


def _start(value: date | datetime) -> str:
    if isinstance(value, datetime):
        return value.astimezone(ZoneInfo("Asia/Seoul")).isoformat(timespec="seconds")
    return value.isoformat()
