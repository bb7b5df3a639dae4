"""A department's calendar, read from its events spread over several calendar_key values
(tables.CALENDAR_SHARDS): the values merged back into one listing in (date, id) order, each
event once at any page size, and each value asked only for its share of a page."""

from typing import Any

import pytest

from chalicelib import context
from chalicelib.dynamo import from_item
from chalicelib.tables import EVENT_CALENDAR_INDEX, calendar_key, calendar_keys
from ops.calendar_backfill import file_events_in_calendar
from tests.integration.test_calendar_backfill import as_stored_before
from tests.pages import read_pages

DATES = ("2024-04-01", "2024-04-02", "2024-04-03")


def read_all(api: Any, department_id: str, limit: int, window: str = "") -> list[dict[str, Any]]:
    path = f"/api/events/{department_id}" + (f"?{window}" if window else "")
    return read_pages(api.get, path, limit)


@pytest.fixture
def busy(api: Any) -> tuple[str, list[dict[str, Any]]]:
    """A department with 21 events on three dates, seven on each (ties within every date)."""
    department_id = api.department()["id"]
    created = [
        api.event(department_id, event_date=DATES[n % 3], title=f"일정 {n}") for n in range(21)
    ]
    return department_id, created


def in_calendar_order(events: list[dict[str, Any]]) -> list[str]:
    return [e["id"] for e in sorted(events, key=lambda e: (e["event_date"], e["id"]))]


@pytest.mark.parametrize("limit", [1, 2, 5, 100])
def test_a_busy_calendar_pages_back_whole_in_date_and_id_order(api, busy, limit):
    # Given a department whose events are listed under several calendar_key values
    department_id, created = busy
    keys = {calendar_key(department_id, e["id"]) for e in created}
    assert len(keys) > 1
    # When its events are read a page at a time
    seen = read_all(api, department_id, limit)
    # Then every event came once, in (date, id) order across the values
    assert [e["id"] for e in seen] == in_calendar_order(created)


@pytest.mark.parametrize("limit", [1, 4, 100])
def test_a_window_of_dates_pages_back_whole_from_the_same_values(api, busy, limit):
    # Given the busy department
    department_id, created = busy
    # When a window of its last two dates is read
    seen = read_all(api, department_id, limit, window=f"from={DATES[1]}&to={DATES[2]}")
    # Then exactly the events of those dates came, each once, in start order (all untimed:
    # by date, then id)
    inside = [e for e in created if e["event_date"] >= DATES[1]]
    assert [e["id"] for e in seen] == in_calendar_order(inside)


def test_a_page_asks_each_value_for_its_share_not_for_the_whole_page(api):
    # Given a department with 48 events (12 or so under each value), and every Query of its
    # calendar counted with its Limit and what it returned
    department_id = api.department()["id"]
    for n in range(48):
        api.event(department_id, event_date=DATES[n % 3], title=f"일정 {n}")
    asked: list[int] = []
    fetched: list[int] = []

    def before(params: dict[str, Any], **_: Any) -> None:
        if params.get("IndexName") == EVENT_CALENDAR_INDEX:
            asked.append(params["Limit"])

    def after(parsed: dict[str, Any], model: Any, **_: Any) -> None:
        if len(fetched) < len(asked):
            fetched.append(len(parsed.get("Items", [])))

    events = context.get_context().client.meta.events
    events.register("provide-client-params.dynamodb.Query", before)
    events.register("after-call.dynamodb.Query", after)
    # When a page of 8 is read
    page = api.get(f"/api/events/{department_id}?limit=8").json
    # Then every value was asked, each for about a quarter of the page (and one more to know
    # whether there is a next), not for the whole page
    assert len(page["items"]) == 8
    values = len(calendar_keys(department_id))
    share = -(-9 // values) + 1
    assert len(asked) >= values
    assert max(asked) <= share
    # And all of them together read the page and at most one share more per value: well
    # under the four pages (36 events) one Query per value for the whole page would
    assert 9 <= sum(fetched) <= 9 + values * share < 4 * 9


def test_a_token_resumes_after_its_event_whatever_value_it_is_listed_under(api, busy):
    # Given a page token (which names the last event's department, date and id)
    department_id, created = busy
    first = api.get(f"/api/events/{department_id}?limit=10").json
    # When the next page is asked for with it
    rest = read_pages(api.get, f"/api/events/{department_id}", 6, token=first["next_token"])
    # Then the two pages are the whole calendar, nothing twice
    order = in_calendar_order(created)
    assert [e["id"] for e in first["items"]] == order[:10]
    assert [e["id"] for e in rest] == order[10:]


def test_events_from_before_the_index_are_listed_once_the_backfill_gives_them_their_key(
    api, tables, busy
):
    # Given some of the department's events as a version before the index stored them
    department_id, created = busy
    earlier = created[::4]
    for event in earlier:
        as_stored_before(tables, department_id, event["id"])
    # Then the calendar, which reads only the index, does not list them
    assert len(read_all(api, department_id, 100)) == len(created) - len(earlier)
    # When the backfill runs, then they are listed again, in their places
    assert file_events_in_calendar(tables, context.get_context().settings) == len(earlier)
    assert [e["id"] for e in read_all(api, department_id, 7)] == in_calendar_order(created)
    # And the index holds every one of them under the value its id spreads it to
    listed = tables.scan(TableName="events", IndexName=EVENT_CALENDAR_INDEX)["Items"]
    assert {from_item(i)["calendar_key"] for i in listed} <= set(calendar_keys(department_id))
    assert len(listed) == len(created)
