"""Health, and what callers get when DynamoDB cannot serve them: a 503, never a 500."""

import tomllib

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from chalicelib.context import get_context
from chalicelib.version import running_version
from tests.conftest import PROJECT_DIR, head_commit
from tests.event_counts import counted_events


def throttled(code: str):
    def fail(*args, **kwargs):
        raise ClientError({"Error": {"Code": code, "Message": "slow down"}}, "TransactWriteItems")

    return fail


def test_health_is_ok_when_every_table_answers_and_names_the_running_version(api):
    reply = api.get("/api/health")
    assert reply.status == 200
    assert reply.json == {
        "status": "ok",
        "version": running_version(),
        # No authorizer here, as on the local stack: health says who callers are taken to be
        "authentication": "none",
        "actor": "X-Actor header",
    }
    # A checkout: pyproject.toml's version, then the commit git reports
    version, _, revision = reply.json["version"].partition("+")
    assert (
        version == tomllib.loads((PROJECT_DIR / "pyproject.toml").read_text())["project"]["version"]
    )
    assert revision.removesuffix(".dirty") == head_commit()


def test_health_is_503_when_a_table_is_missing(api, tables):
    tables.delete_table(TableName="events")
    reply = api.get("/api/health")
    assert reply.status == 503
    assert reply.error_code == "storage_unavailable"
    assert "create-tables" in reply.json["message"]


@pytest.mark.parametrize(
    "code",
    ["ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded"],
)
def test_throttling_is_503_with_retry_after_and_nothing_half_written(
    api, tables, monkeypatch, code
):
    client = get_context().client
    monkeypatch.setattr(client, "transact_write_items", throttled(code))
    reply = api.post("/api/departments", {"name": "QA팀"})
    assert reply.status == 503
    assert reply.headers["Retry-After"].isdigit()
    assert reply.error_code == "storage_unavailable"
    assert tables.scan(TableName="departments")["Count"] == 0
    assert tables.scan(TableName="departments-names")["Count"] == 0


def test_an_unreachable_database_is_503(api, monkeypatch):
    def unreachable(*args, **kwargs):
        raise EndpointConnectionError(endpoint_url="http://127.0.0.1:9")

    monkeypatch.setattr(get_context().client, "scan", unreachable)
    reply = api.get("/api/departments")
    assert reply.status == 503
    assert reply.json["code"] == "storage_unavailable"


def test_a_dynamodb_without_transactions_is_a_503_that_says_so(api, tables, monkeypatch):
    # Given a DynamoDB that answers TransactWriteItems as an operation it does not know, as
    # dynalite does
    def unknown(*args, **kwargs):
        raise ClientError(
            {"Error": {"Code": "UnknownOperationException", "Message": ""}}, "TransactWriteItems"
        )

    monkeypatch.setattr(get_context().client, "transact_write_items", unknown)
    # When the API writes
    department = api.post("/api/departments", {"name": "QA팀"})
    # Then the answer says which DynamoDB to use instead, never a 500
    assert department.status == 503
    assert department.error_code == "storage_unavailable"
    assert "does not support TransactWriteItems" in department.json["message"]
    assert "DynamoDB Local" in department.json["message"]


def test_every_write_is_stamped_with_its_actor(api, tables):
    reply = api.post("/api/departments", {"name": "QA팀"}, headers={"X-Actor": "kim"})
    department_id = reply.json["id"]
    api.patch(f"/api/departments/{department_id}", {"description": "x"}, headers={"X-Actor": "lee"})
    item = tables.get_item(TableName="departments", Key={"id": {"S": department_id}})["Item"]
    assert item["created_by"] == {"S": "kim"}
    assert item["updated_by"] == {"S": "lee"}
    event = api.post(
        f"/api/events/{department_id}", {"event_date": "2024-01-20", "title": "회의"}
    ).json
    key = {"id": {"S": event["id"]}, "department_id": {"S": department_id}}
    assert tables.get_item(TableName="events", Key=key)["Item"]["updated_by"] == {"S": "anonymous"}


def test_an_unprintable_actor_header_is_400(api):
    reply = api.post("/api/departments", {"name": "QA팀"}, headers={"X-Actor": "a\tb"})
    assert reply.status == 400
    assert reply.error_fields == ["X-Actor"]


def test_the_counter_tracks_events_so_deletes_stay_consistent(api, tables):
    # Event creates and deletes move the department's counter in the same transaction
    department = api.department()
    events = [api.event(department["id"], title=f"{i}") for i in range(3)]
    api.delete(f"/api/events/{department['id']}/{events[0]['id']}")
    assert counted_events(tables, department["id"]) == 2


@pytest.mark.parametrize(
    "sent",
    [
        "김철수".encode().decode("latin-1"),  # UTF-8 bytes, as an HTTP server decodes them
        "김철수",  # already text, as API Gateway hands headers over
    ],
)
def test_a_korean_actor_header_is_stamped_intact(api, tables, sent):
    reply = api.post("/api/departments", {"name": "액터팀"}, headers={"X-Actor": sent})
    assert reply.status == 201
    item = tables.get_item(TableName="departments", Key={"id": {"S": reply.json["id"]}})
    assert item["Item"]["created_by"] == {"S": "김철수"}
