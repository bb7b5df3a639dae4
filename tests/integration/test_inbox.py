"""A department's inbox, spread over several partition key values (tables.inbox_item) and read
as one: newest first, page by page, each notification once, as its department's."""

from typing import Any

from chalicelib.context import get_context
from chalicelib.dynamo import from_item, to_item
from chalicelib.repositories.deliveries import Inbox
from chalicelib.settings import get_settings
from chalicelib.tables import inbox_partition
from tests.integration.streams import scan_all, stream_records
from tests.pages import read_pages

INBOX = "events-notifications"


def changes_reach_the_inbox(api, tables, department_id: str, events: int) -> None:
    for n in range(events):
        body = {"event_date": f"2026-12-{n + 1:02d}", "title": f"회의 {n}"}
        assert api.post(f"/api/events/{department_id}", body).status == 201
    reply = api.client.lambda_.invoke(
        "on_event_change", {"Records": stream_records(tables, "events")}
    ).payload
    assert reply["batchItemFailures"] == []


def read_inbox(api, department_id: str, limit: int) -> list[dict[str, Any]]:
    return read_pages(api.get, f"/api/departments/{department_id}/notifications", limit)


def test_a_departments_inbox_is_spread_and_read_back_newest_first_once_each(api, tables):
    # Given a department whose twelve new events reach the inbox, and one notification the
    # version before the spreading kept under the plain department id
    department_id = api.department()["id"]
    other = api.department(name="다른팀")["id"]
    changes_reach_the_inbox(api, tables, department_id, events=12)
    old = {
        "department_id": department_id,
        "change_key": "2026-11-29T00:00:00.000Z#" + "0" * 40,
        "event_id": "ev-old",
        "kind": "created",
        "title": "예전 일정",
        "event_date": "2026-11-29",
        "time": "",
        "changes": {},
        "text": "새 일정: 예전 일정",
        "actor": "kim",
        "at": "2026-11-29T00:00:00.000Z",
        "sequence_number": "0",
    }
    tables.put_item(TableName=INBOX, Item=to_item(old))
    # Then the new ones are kept under more than one partition key value, each where its key
    # spreads it, naming its department
    new = [from_item(item) for item in scan_all(tables, INBOX) if "department" in item]
    assert len(new) == 12
    assert len({item["department_id"] for item in new}) > 1
    for item in new:
        partition = inbox_partition(department_id, item["change_key"], item["kind"])
        assert (item["department_id"], item["department"]) == (partition, department_id)
    # When the inbox is read a few at a time
    for limit in (1, 5, 100):
        seen = read_inbox(api, department_id, limit)
        # Then every notification comes once, newest first, as its department's
        keys = [(item["at"], item["sequence_number"].zfill(40)) for item in seen]
        assert len(set(keys)) == len(seen) == 13
        assert keys == sorted(keys, reverse=True)
        assert seen[-1]["title"] == "예전 일정"
        assert {item["department_id"] for item in seen} == {department_id}
        assert all("department" not in item for item in seen)
    # And another department's inbox shows none of them
    assert read_inbox(api, other, 100) == []


def test_reminders_and_digests_stay_under_the_plain_department_id_and_are_put_once(tables):
    # Given a reminder whose key would be spread elsewhere, were it an event's change
    inbox = Inbox(get_context().client, get_settings())
    key = next(
        f"2026-12-01T00:00:00.000Z#reminder#ev-{n}#10"
        for n in range(100)
        if inbox_partition("dep-1", f"2026-12-01T00:00:00.000Z#reminder#ev-{n}#10", "created")
        != "dep-1"
    )
    reminder = {
        "department_id": "dep-1",
        "change_key": key,
        "event_id": "ev-1",
        "kind": "reminder",
        "changes": {},
        "actor": "system",
        "at": "2026-12-01T00:00:00.000Z",
        "sequence_number": "",
    }
    # When it is put in the inbox, and put again (the next sweep, or a previous version's)
    first, again = inbox.put_once(reminder), inbox.put_once(reminder)
    # Then there is one, under the plain id, read back as the department's
    assert (first, again) == (True, False)
    (item,) = scan_all(tables, INBOX)
    assert item["department_id"] == {"S": "dep-1"}
    found = inbox.get("dep-1", key, "reminder")
    assert found is not None
    assert found["department_id"] == "dep-1"
