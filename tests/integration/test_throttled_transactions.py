"""A transaction DynamoDB cancels because one of its items was throttled.

On AWS the cancellation then names a reason per item: `ThrottlingError` (on-demand) or
`ProvisionedThroughputExceeded` for the throttled item, `None` for the others. That is DynamoDB
being busy: a 503 with Retry-After and nothing written, never read as a failed condition (a
taken name, an unknown department, or an event whose department is gone).
"""

from typing import Any

import pytest
from botocore.exceptions import ClientError

from chalicelib.context import get_context
from tests.event_counts import COUNTERS, counted_events

KEY = {"Idempotency-Key": "5d0b3a8e-7c1f-4e2a-9b6d-0f1e2d3c4b5a"}
THROTTLED = ["ThrottlingError", "ProvisionedThroughputExceeded"]


def throttle(monkeypatch: pytest.MonkeyPatch, table: str, code: str) -> None:
    """Every transaction that writes to `table` is cancelled with `code` for that item, as
    DynamoDB reports it (the app's client talks to moto; only its answer is replaced)."""
    client = get_context().client
    run = client.transact_write_items

    def transact_write_items(**request: Any) -> Any:
        items = request["TransactItems"]
        tables = [next(iter(item.values()))["TableName"] for item in items]
        if table not in tables:
            return run(**request)
        reasons: list[Any] = [
            {"Code": code, "Message": "Throughput exceeds the current capacity of your table."}
            if name == table
            else {"Code": "None"}
            for name in tables
        ]
        codes = ", ".join(reason["Code"] for reason in reasons)
        raise ClientError(
            {
                "Error": {
                    "Code": "TransactionCanceledException",
                    "Message": f"Transaction cancelled, please refer cancellation reasons for "
                    f"specific reasons [{codes}]",
                },
                "CancellationReasons": reasons,
            },
            "TransactWriteItems",
        )

    monkeypatch.setattr(client, "transact_write_items", transact_write_items)


def assert_busy(reply: Any) -> None:
    assert reply.status == 503, reply.body
    assert reply.error_code == "storage_unavailable"
    assert int(reply.headers["Retry-After"]) > 0


def count(tables: Any, table: str) -> int:
    return int(tables.scan(TableName=table, Select="COUNT")["Count"])


@pytest.mark.parametrize("code", THROTTLED)
@pytest.mark.parametrize("headers", [{}, KEY], ids=["no key", "with a key"])
def test_a_throttled_department_create_is_503_not_a_taken_name(
    api, tables, monkeypatch, code, headers
):
    # Given DynamoDB throttling the names table during a create
    throttle(monkeypatch, "departments-names", code)
    # When a department is created
    reply = api.post("/api/departments", {"name": "혼잡팀"}, headers=headers)
    # Then the caller is told to retry, and nothing was written
    assert_busy(reply)
    assert count(tables, "departments") == count(tables, "departments-names") == 0
    # And once DynamoDB keeps up, the same request creates the department
    monkeypatch.undo()
    again = api.post("/api/departments", {"name": "혼잡팀"}, headers=headers)
    assert again.status == 201
    assert "Idempotent-Replayed" not in again.headers


@pytest.mark.parametrize("code", THROTTLED)
@pytest.mark.parametrize("headers", [{}, KEY], ids=["no key", "with a key"])
def test_a_throttled_event_create_is_503_not_an_unknown_department(
    api, tables, monkeypatch, code, headers
):
    # Given a department whose counter DynamoDB throttles
    department = api.department()
    throttle(monkeypatch, COUNTERS, code)
    # When an event is created in it
    reply = api.post(
        f"/api/events/{department['id']}",
        {"event_date": "2024-03-01", "title": "혼잡한 날"},
        headers=headers,
    )
    # Then it is a 503 (a 404 would tell the client the department does not exist)
    assert_busy(reply)
    assert count(tables, "events") == 0
    assert counted_events(tables, department["id"]) == 0


@pytest.mark.parametrize("code", THROTTLED)
def test_a_throttled_event_delete_is_503_and_leaves_event_and_counter_together(
    api, tables, monkeypatch, code
):
    # Given an event, and DynamoDB throttling its department's counter
    department = api.department()
    event = api.event(department["id"])
    path = f"/api/events/{department['id']}/{event['id']}"
    throttle(monkeypatch, COUNTERS, code)
    # When the event is deleted
    reply = api.delete(path)
    # Then it is a 503, and the event is still there, still counted
    assert_busy(reply)
    assert api.get(path).status == 200
    assert counted_events(tables, department["id"]) == 1
    # And the retry deletes it and moves the counter, so the department can go
    monkeypatch.undo()
    assert api.delete(path).status == 204
    assert counted_events(tables, department["id"]) == 0
    assert api.delete(f"/api/departments/{department['id']}").status == 204


@pytest.mark.parametrize("code", THROTTLED)
def test_a_throttled_rename_is_503_not_a_concurrent_change(api, tables, monkeypatch, code):
    department = api.department("옛이름팀")
    throttle(monkeypatch, "departments-names", code)
    reply = api.patch(f"/api/departments/{department['id']}", {"name": "새이름팀"})
    assert_busy(reply)
    assert api.get(f"/api/departments/{department['id']}").json["name"] == "옛이름팀"
