"""A cancelled transaction is explained by the item whose condition failed, not by its kind.

DynamoDB cancels a whole transaction when one item's condition fails and names a reason per
item. An event create holds the department's counter, the event and (with a key) the
idempotency record; a department create holds the name's claim and the department; a rename or
delete holds the department and the names it claims or releases. Each answer says what the
refused item means: a missing department is a 404, a taken name a 409 on `name`, a new id
another writer took a 409 to retry, a replay the first answer. A cancellation that names no
failed condition says nothing about the data: DynamoDB failed, a 503.
"""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from botocore.stub import Stubber

from chalicelib.context import get_context
from chalicelib.models import department_name_key
from tests.event_counts import counted_events

KEY = {"Idempotency-Key": "0f6c2a1e-3b4d-4c5e-8f70-9a1b2c3d4e5f"}
OTHER_TOOL_ID = "7b1e9c52-0d3a-4f6e-9a28-5c4b3d2e1f00"


@contextmanager
def before_next_transaction(act: Callable[[list[dict[str, Any]]], None]) -> Iterator[None]:
    """Run `act` with the items of the app's next TransactWriteItems, just before DynamoDB
    gets it: another writer getting in at that moment (botocore's own hook, no mock)."""
    events = get_context().client.meta.events
    pending = [act]

    def hook(params: dict[str, Any], **_: Any) -> None:
        if pending:
            pending.pop()(params["TransactItems"])

    events.register("before-parameter-build.dynamodb.TransactWriteItems", hook)
    try:
        yield
    finally:
        events.unregister("before-parameter-build.dynamodb.TransactWriteItems", hook)


def put_first(tables: Any, table: str) -> Callable[[list[dict[str, Any]]], None]:
    """Another writer puts the item the transaction is about to put into `table`, first."""

    def act(items: list[dict[str, Any]]) -> None:
        (put,) = [i["Put"] for i in items if i.get("Put", {}).get("TableName") == table]
        tables.put_item(TableName=table, Item=put["Item"])

    return act


def count(tables: Any, table: str) -> int:
    return int(tables.scan(TableName=table, Select="COUNT")["Count"])


def name_owner(tables: Any, name: str) -> str | None:
    key = {"name_key": {"S": department_name_key(name)}}
    item = tables.get_item(TableName="departments-names", Key=key).get("Item")
    return None if item is None else str(item["department_id"]["S"])


def department_from_another_tool(tables: Any, name: str) -> str:
    """A department written straight into the table, as another tool may: no name claim."""
    tables.put_item(
        TableName="departments",
        Item={
            "id": {"S": OTHER_TOOL_ID},
            "name": {"S": name},
            "description": {"S": ""},
            "created_at": {"S": "2024-01-01T00:00:00.000Z"},
            "updated_at": {"S": "2024-01-01T00:00:00.000Z"},
            "version": {"N": "1"},
            "event_count": {"N": "0"},
        },
    )
    return OTHER_TOOL_ID


@pytest.mark.parametrize("headers", [{}, KEY], ids=["no key", "with a key"])
def test_an_event_create_whose_new_id_was_taken_meanwhile_is_409_not_an_unknown_department(
    api, tables, headers
):
    # Given a department, and another writer that puts an event under the very id the create
    # is about to write, just before it does
    department = api.department()
    path = f"/api/events/{department['id']}"
    body = {"event_date": "2024-03-01", "title": "겹친 번호"}
    with before_next_transaction(put_first(tables, "events")):
        # When the event is created
        reply = api.post(path, body, headers=headers)
    # Then it is a conflict to retry (the department exists: a 404 would say it does not),
    # and the counter did not move for an event this create did not write
    assert reply.status == 409, reply.body
    assert reply.error_code == "concurrent_modification"
    assert counted_events(tables, department["id"]) == 0
    assert count(tables, "events-idempotency") == 0
    # And the retry, with the same key if it had one, gets a new id and creates the event
    again = api.post(path, body, headers=headers)
    assert again.status == 201
    assert "Idempotent-Replayed" not in again.headers
    assert counted_events(tables, department["id"]) == 1


def test_an_event_create_in_a_missing_department_is_still_404(api, tables):
    # Given no department with this id
    missing = "00000000-0000-4000-8000-000000000000"
    # When an event is created in it, with a key
    reply = api.post(
        f"/api/events/{missing}", {"event_date": "2024-03-01", "title": "없음"}, headers=KEY
    )
    # Then the counter's failed condition says the department does not exist
    assert reply.status == 404
    assert reply.error_code == "department_not_found"
    assert count(tables, "events") == count(tables, "events-idempotency") == 0


def test_a_department_create_whose_new_id_was_taken_meanwhile_is_409_but_not_a_taken_name(
    api, tables
):
    # Given another writer that puts a department under the very id the create is about to
    # write, just before it does (it claims no name)
    with before_next_transaction(put_first(tables, "departments")):
        # When a department is created
        reply = api.post("/api/departments", {"name": "번호팀"})
    # Then it is a conflict to retry, and it does not blame the name, which is free
    assert reply.status == 409, reply.body
    assert reply.error_code == "concurrent_modification"
    assert reply.error_fields == []
    assert name_owner(tables, "번호팀") is None
    # And the retry creates the department under that name
    assert api.post("/api/departments", {"name": "번호팀"}).status == 201


def test_a_rename_of_a_department_deleted_meanwhile_is_404_even_if_the_new_name_is_taken(
    api, tables
):
    # Given a department, another one holding the name it is renamed to, and another writer
    # that deletes the first one just before the rename's transaction
    department = api.department("옛팀")
    api.department("새팀")

    def delete_department(_: list[dict[str, Any]]) -> None:
        tables.delete_item(TableName="departments", Key={"id": {"S": department["id"]}})

    with before_next_transaction(delete_department):
        # When it is renamed to the taken name
        reply = api.patch(f"/api/departments/{department['id']}", {"name": "새팀"})
    # Then the department's own refusal comes first: it is gone
    assert reply.status == 404, reply.body
    assert reply.error_code == "department_not_found"


def test_a_department_whose_name_another_department_claims_can_be_renamed(api, tables):
    # Given a department made through the API, and one another tool wrote under the same name
    # (so without a claim of its own)
    claimed = api.department("개발팀")
    unclaimed = department_from_another_tool(tables, "개발팀")
    # When the second one is renamed
    reply = api.patch(f"/api/departments/{unclaimed}", {"name": "플랫폼팀"})
    # Then it is renamed and claims its new name; the first keeps its claim on the old one
    assert reply.status == 200, reply.body
    assert reply.json["name"] == "플랫폼팀"
    assert name_owner(tables, "플랫폼팀") == unclaimed
    assert name_owner(tables, "개발팀") == claimed["id"]


def test_a_department_whose_name_another_department_claims_can_be_deleted(api, tables):
    # Given a department made through the API, and one another tool wrote under the same name
    claimed = api.department("개발팀")
    unclaimed = department_from_another_tool(tables, "개발팀")
    # When the second one is deleted
    reply = api.delete(f"/api/departments/{unclaimed}")
    # Then it is gone, and the first one's claim on the name stays with it
    assert reply.status == 204, reply.body
    assert api.get(f"/api/departments/{unclaimed}").status == 404
    assert name_owner(tables, "개발팀") == claimed["id"]
    assert api.post("/api/departments", {"name": "개발팀"}).error_code == "department_name_taken"


def test_deleting_an_orphan_event_that_goes_meanwhile_is_404_not_500(api, tables):
    # Given an event whose department does not exist (written by another tool), and another
    # writer that deletes the event right after the delete's transaction was refused
    department_id = "11111111-2222-4333-8444-555555555555"
    event = api.event(api.department()["id"])
    item = tables.get_item(
        TableName="events",
        Key={"id": {"S": event["id"]}, "department_id": {"S": event["department_id"]}},
    )["Item"]
    orphan = {**item, "department_id": {"S": department_id}}
    tables.put_item(TableName="events", Item=orphan)
    key = {"id": orphan["id"], "department_id": orphan["department_id"]}

    def delete_event(**_: Any) -> None:
        tables.delete_item(TableName="events", Key=key)

    events = get_context().client.meta.events
    events.register("after-call.dynamodb.TransactWriteItems", delete_event)
    try:
        # When the orphan is deleted
        reply = api.delete(f"/api/events/{department_id}/{event['id']}")
    finally:
        events.unregister("after-call.dynamodb.TransactWriteItems", delete_event)
    # Then it is reported gone, as any event deleted by someone else first
    assert reply.status == 404, reply.body
    assert reply.error_code == "event_not_found"


@pytest.mark.parametrize(
    "reasons",
    [
        None,
        [{"Code": "None"}, {"Code": "None"}],
        [{"Code": "None"}, {"Code": "RuntimeError", "Message": "dictionary changed size"}],
    ],
    ids=["no reasons", "no item refused", "a reason DynamoDB never gives"],
)
def test_a_cancellation_that_names_no_failed_condition_is_503_not_an_unknown_department(
    api, tables, reasons
):
    # Given a department, and a database that cancels the next transaction without saying
    # which condition failed (as emulators may)
    department = api.department()
    fields = {} if reasons is None else {"CancellationReasons": reasons}
    with Stubber(get_context().client) as stub:
        stub.add_client_error(
            "transact_write_items",
            service_error_code="TransactionCanceledException",
            service_message="Transaction cancelled",
            modeled_fields=fields,
        )
        # When an event is created
        reply = api.post(
            f"/api/events/{department['id']}", {"event_date": "2024-03-01", "title": "취소"}
        )
        stub.assert_no_pending_responses()
    # Then the caller is told to retry, not that its department does not exist
    assert reply.status == 503, reply.body
    assert reply.error_code == "storage_unavailable"
    assert int(reply.headers["Retry-After"]) > 0
    # And the retry creates the event
    retry = api.post(
        f"/api/events/{department['id']}", {"event_date": "2024-03-01", "title": "취소"}
    )
    assert retry.status == 201
