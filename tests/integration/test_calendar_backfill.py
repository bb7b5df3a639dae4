"""Every event is listed under its department's spread calendar index: this version writes the
key with each event, and the backfill (ops/calendar_backfill.py) gives one to every event from
before it, once, and to no event that is gone."""

from typing import Any

from chalicelib.dynamo import from_item, to_item
from chalicelib.settings import get_settings
from chalicelib.tables import CALENDAR_SHARDS, calendar_attributes, calendar_key, calendar_keys
from ops.calendar_backfill import file_events_in_calendar, file_in_calendar


def stored(tables: Any, department_id: str, event_id: str) -> dict[str, Any]:
    key = to_item({"id": event_id, "department_id": department_id})
    return from_item(tables.get_item(TableName="events", Key=key, ConsistentRead=True)["Item"])


def key_of(tables: Any, department_id: str, event_id: str) -> str | None:
    """The stored event's `calendar_key` (None: it has none); the event must exist."""
    return stored(tables, department_id, event_id).get("calendar_key")


def listed_as(tables: Any, department_id: str, event_id: str) -> dict[str, Any]:
    """The stored event's calendar index keys, as they are and as its date makes them."""
    event = stored(tables, department_id, event_id)
    return {
        "stored": {k: event.get(k) for k in ("calendar_key", "calendar_order")},
        "expected": calendar_attributes(department_id, event_id, event["event_date"]),
    }


def as_stored_before(tables: Any, department_id: str, event_id: str) -> None:
    """The event as a version before the calendar index stored it: without its keys."""
    tables.update_item(
        TableName="events",
        Key=to_item({"id": event_id, "department_id": department_id}),
        UpdateExpression="REMOVE calendar_key, calendar_order",
    )


def test_every_event_written_carries_the_key_its_id_spreads_it_to(api, tables):
    # Given a department
    department_id = api.department()["id"]
    # When it gets twelve events, one of them moved to another date afterwards
    events = [api.event(department_id, title=f"회의 {n}") for n in range(12)]
    moved = api.patch(
        f"/api/events/{department_id}/{events[0]['id']}", {"event_date": "2024-02-01"}
    )
    assert moved.status == 200
    # Then each is listed under the key its id spreads it to, over more than one value, and
    # sorted there by its current date and its id
    for event in events:
        listing = listed_as(tables, department_id, event["id"])
        assert listing["stored"] == listing["expected"]
    assert listed_as(tables, department_id, events[0]["id"])["stored"]["calendar_order"] == (
        f"2024-02-01#{events[0]['id']}"
    )
    keys = [key_of(tables, department_id, e["id"]) for e in events]
    assert keys == [calendar_key(department_id, e["id"]) for e in events]
    assert set(keys) <= set(calendar_keys(department_id))
    assert len(set(keys)) > 1
    assert len(calendar_keys(department_id)) == CALENDAR_SHARDS


def test_events_from_before_the_index_get_their_key_once(api, tables):
    settings = get_settings()
    # Given two departments' events, five of them as an earlier version stored them
    first, second = api.department()["id"], api.department(name="인사팀")["id"]
    events = [(first, api.event(first)["id"]) for _ in range(4)]
    events += [(second, api.event(second, title="면접")["id"]) for _ in range(3)]
    earlier = events[:3] + events[5:]
    for department_id, event_id in earlier:
        as_stored_before(tables, department_id, event_id)
    assert key_of(tables, *earlier[0]) is None
    # When the backfill runs
    filed = file_events_in_calendar(tables, settings)
    # Then exactly those five were given their keys, each its own department's
    assert filed == len(earlier)
    for department_id, event_id in events:
        listing = listed_as(tables, department_id, event_id)
        assert listing["stored"] == listing["expected"]
    # And a second run finds nothing to do
    assert file_events_in_calendar(tables, settings) == 0


def test_an_event_deleted_after_it_was_read_stays_deleted(api, tables):
    # Given an event from before the index, read by the backfill's scan
    department_id = api.department()["id"]
    event_id = api.event(department_id)["id"]
    as_stored_before(tables, department_id, event_id)
    read = [{"id": event_id, "department_id": department_id, "event_date": "2024-01-20"}]
    # When it is deleted before its key is written
    assert api.delete(f"/api/events/{department_id}/{event_id}").status == 204
    # Then writing the key leaves nothing behind
    assert file_in_calendar(tables, "events", read) == 0
    key = to_item({"id": event_id, "department_id": department_id})
    assert "Item" not in tables.get_item(TableName="events", Key=key)


def test_an_event_moved_after_it_was_read_is_sorted_by_its_new_date(api, tables):
    # Given an event from before the index, read by the backfill's scan on its first date
    department_id = api.department()["id"]
    event_id = api.event(department_id, event_date="2024-01-20")["id"]
    as_stored_before(tables, department_id, event_id)
    read = [{"id": event_id, "department_id": department_id, "event_date": "2024-01-20"}]
    # When a writer that knows nothing of the index moves it before its keys are written
    tables.update_item(
        TableName="events",
        Key=to_item({"id": event_id, "department_id": department_id}),
        UpdateExpression="SET event_date = :date",
        ExpressionAttributeValues=to_item({":date": "2024-03-03"}),
    )
    # Then it is given the order of the date it has now
    assert file_in_calendar(tables, "events", read) == 1
    listing = listed_as(tables, department_id, event_id)
    assert listing["stored"] == listing["expected"]
    assert listing["stored"]["calendar_order"].startswith("2024-03-03#")
