"""A department's event counter, spread over several items (repositories/event_counter.py):
every event counted exactly once, where it says, and a department deleted only when every part
of its counter counts nothing."""

from typing import Any

from chalicelib.context import get_context
from chalicelib.repositories.event_counter import counter_key
from chalicelib.tables import COUNTER_SHARDS, spread_key
from tests.event_counts import COUNTERS, counted_events, counter_items, own_count


def stored_event(tables: Any, department_id: str, event_id: str) -> dict[str, Any]:
    key = {"id": {"S": event_id}, "department_id": {"S": department_id}}
    return dict(tables.get_item(TableName="events", Key=key)["Item"])


def item_named(tables: Any, department_id: str, event_id: str) -> str:
    """The key of the counter item the stored event names (its number, in `counted_in`)."""
    number = int(stored_event(tables, department_id, event_id)["counted_in"]["N"])
    return counter_key(department_id, number)


def counters_left(tables: Any) -> int:
    return int(tables.scan(TableName=COUNTERS, Select="COUNT")["Count"])


def test_a_departments_events_are_counted_on_several_items_each_where_it_says(api, tables):
    # Given a department
    department_id = api.department()["id"]
    # When it gets twelve events
    events = [api.event(department_id, title=f"회의 {n}") for n in range(12)]
    # Then each names the counter item its id spreads it to, and nothing else counts it
    named = [item_named(tables, department_id, e["id"]) for e in events]
    assert named == [spread_key(department_id, e["id"], COUNTER_SHARDS) for e in events]
    items = counter_items(tables, department_id)
    assert len(items) > 1
    assert items == {key: named.count(key) for key in set(named)}
    assert own_count(tables, department_id) == 0
    # And deleting them all brings every item back to nothing, so the department can go
    for event in events:
        assert api.delete(f"/api/events/{department_id}/{event['id']}").status == 204
    assert set(counter_items(tables, department_id).values()) == {0}
    assert api.delete(f"/api/departments/{department_id}").status == 204
    # And its counter items went with it
    assert counters_left(tables) == 0


def test_a_department_with_events_only_on_its_counter_items_is_not_deleted(api, tables):
    # Given a department whose events are all counted on its counter items
    department_id = api.department()["id"]
    events = [api.event(department_id, title=f"회의 {n}") for n in range(5)]
    assert own_count(tables, department_id) == 0
    # When it is deleted without cascading
    reply = api.delete(f"/api/departments/{department_id}")
    # Then it is refused, and everything is still there and counted
    assert reply.status == 409
    assert reply.error_code == "department_has_events"
    assert counted_events(tables, department_id) == len(events)
    # And a cascading delete removes the events, the department and its counter items
    assert api.delete(f"/api/departments/{department_id}?cascade=true").status == 204
    assert api.get(f"/api/departments/{department_id}").status == 404
    assert int(tables.scan(TableName="events", Select="COUNT")["Count"]) == 0
    assert counters_left(tables) == 0


def test_an_event_made_before_the_spreading_is_taken_off_the_department_items_count(api, tables):
    # Given an event counted on the department item itself, as every event once was
    department_id = api.department()["id"]
    event = api.event(department_id)
    key = {"id": {"S": event["id"]}, "department_id": {"S": department_id}}
    tables.update_item(TableName="events", Key=key, UpdateExpression="REMOVE counted_in")
    item_key = {"counter_key": {"S": spread_key(department_id, event["id"], COUNTER_SHARDS)}}
    tables.update_item(
        TableName=COUNTERS,
        Key=item_key,
        UpdateExpression="SET event_count = :z",
        ExpressionAttributeValues={":z": {"N": "0"}},
    )
    tables.update_item(
        TableName="departments",
        Key={"id": {"S": department_id}},
        UpdateExpression="SET event_count = :one",
        ExpressionAttributeValues={":one": {"N": "1"}},
    )
    # When a new event comes and both are deleted
    newer = api.event(department_id, title="새 일정")
    assert counted_events(tables, department_id) == 2
    for each in (event, newer):
        assert api.delete(f"/api/events/{department_id}/{each['id']}").status == 204
    # Then each left the count that counted it, and the department can go
    assert own_count(tables, department_id) == 0
    assert set(counter_items(tables, department_id).values()) == {0}
    assert api.delete(f"/api/departments/{department_id}").status == 204


def test_an_event_create_in_a_department_deleted_meanwhile_is_404_and_leaves_no_counter(
    api, tables
):
    # Given a department, deleted by another writer right after a create found its counter
    # item not made yet (the create's first transaction)
    department_id = api.department()["id"]

    def delete_department(**_: Any) -> None:
        tables.delete_item(TableName="departments", Key={"id": {"S": department_id}})

    hooks = get_context().client.meta.events
    hooks.register_first("after-call.dynamodb.TransactWriteItems", delete_department)
    try:
        # When an event is created in it
        reply = api.post(
            f"/api/events/{department_id}", {"event_date": "2024-03-01", "title": "늦음"}
        )
    finally:
        hooks.unregister("after-call.dynamodb.TransactWriteItems", delete_department)
    # Then it is a 404, and neither the event nor a counter item was made
    assert reply.status == 404, reply.body
    assert reply.error_code == "department_not_found"
    assert int(tables.scan(TableName="events", Select="COUNT")["Count"]) == 0
    assert counters_left(tables) == 0


def test_a_changed_occurrence_is_counted_on_its_own_item_not_the_series(api, tables):
    # Given a weekly series
    department_id = api.department()["id"]
    series = api.event(
        department_id,
        event_date="2024-01-02",
        title="주간 회의",
        start_time="10:00",
        recurrence="FREQ=WEEKLY;BYDAY=TU;COUNT=4",
    )
    base = f"/api/events/{department_id}/{series['id']}"
    # When one occurrence is changed (stored as an event of its own)
    copy = api.patch(f"{base}/occurrences/2024-01-09", {"title": "바뀐 회의"}).json
    # Then the copy names the counter item of its own id, and both are counted once
    named = item_named(tables, department_id, copy["id"])
    assert named == spread_key(department_id, copy["id"], COUNTER_SHARDS)
    assert counted_events(tables, department_id) == 2
    # And cancelling that occurrence takes the copy off where it was counted
    assert api.delete(f"{base}/occurrences/2024-01-09").status == 204
    assert counted_events(tables, department_id) == 1
    assert api.delete(base).status == 204
    assert api.delete(f"/api/departments/{department_id}").status == 204


def test_the_counter_item_stays_the_apps_own_bookkeeping(api, tables):
    # Given an event made and then changed
    department_id = api.department()["id"]
    event = api.event(department_id)
    changed = api.patch(f"/api/events/{department_id}/{event['id']}", {"title": "바뀐 제목"})
    # Then the change kept its counter item, and the API shows it nowhere
    named = item_named(tables, department_id, event["id"])
    assert named == spread_key(department_id, event["id"], COUNTER_SHARDS)
    assert "counted_in" not in changed.json
    assert "counted_in" not in api.get(f"/api/events/{department_id}/{event['id']}").json
