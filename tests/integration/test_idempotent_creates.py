"""Idempotency-Key: a POST retried after a timeout gets the first answer and creates nothing."""

import time

import pytest
from botocore.stub import Stubber

from chalicelib.context import get_context
from tests.event_counts import counted_events, open_every_counter_item

KEY = {"Idempotency-Key": "9b2f6c1e-3d7a-4c55-8e0f-1a2b3c4d5e6f"}


def count_items(tables, table: str) -> int:
    return int(tables.scan(TableName=table, Select="COUNT")["Count"])


def test_a_retried_event_create_replays_the_first_answer_and_creates_one_event(api, tables):
    # Given a department, and an event POSTed with an Idempotency-Key
    department = api.department()
    path = f"/api/events/{department['id']}"
    body = {"event_date": "2024-03-01", "title": "주간 회의", "time": "오후 3:00"}
    first = api.post(path, body, headers=KEY)
    assert first.status == 201
    assert "Idempotent-Replayed" not in first.headers
    # When the client, having lost the answer, sends the very same request again
    again = api.post(path, body, headers=KEY)
    # Then it gets the same answer, byte for byte, marked as a replay
    assert again.status == 201
    assert again.body == first.body
    assert again.headers["Location"] == first.headers["Location"]
    assert again.headers["ETag"] == first.headers["ETag"]
    assert again.headers["Idempotent-Replayed"] == "true"
    # And there is one event, counted once
    assert [e["id"] for e in api.get(path).json["items"]] == [first.json["id"]]
    assert counted_events(tables, department["id"]) == 1


def test_a_retried_department_create_is_not_refused_as_a_taken_name(api, tables):
    # Given a department created with a key
    first = api.post("/api/departments", {"name": "재시도팀"}, headers=KEY)
    # When the same request comes again (its name is now taken, by itself)
    again = api.post("/api/departments", {"name": "재시도팀"}, headers=KEY)
    # Then the answer is the first one, not a 409, and only one department and claim exist
    assert (again.status, again.json) == (201, first.json)
    names = [d["name"] for d in api.get("/api/departments").json["items"]]
    assert names.count("재시도팀") == 1
    assert count_items(tables, "departments-names") == 1
    # While without the key the same name is still a conflict, as always
    assert api.post("/api/departments", {"name": "재시도팀"}).status == 409


def test_the_same_request_written_differently_is_still_the_same_request(api):
    department = api.department()
    path = f"/api/events/{department['id']}"
    first = api.post(path, {"title": "회의", "event_date": "2024-03-01"}, headers=KEY)
    again = api.post(
        path,
        raw='{ "event_date" : "2024-03-01",\n  "title": "  회의 " }'.encode(),
        headers=KEY,
    )
    assert again.status == 201
    assert again.json["id"] == first.json["id"]


@pytest.mark.parametrize(
    ("second_path", "second_body"),
    [
        ("same", {"event_date": "2024-03-02", "title": "주간 회의"}),
        ("other department", {"event_date": "2024-03-01", "title": "주간 회의"}),
    ],
)
def test_the_same_key_for_a_different_request_is_422_and_creates_nothing(
    api, second_path, second_body
):
    # Given an event created with a key
    department, other = api.department("A팀"), api.department("B팀")
    path = f"/api/events/{department['id']}"
    assert (
        api.post(path, {"event_date": "2024-03-01", "title": "주간 회의"}, headers=KEY).status
        == 201
    )
    # When the key is sent again with another body, or to another department
    target = path if second_path == "same" else f"/api/events/{other['id']}"
    reply = api.post(target, second_body, headers=KEY)
    # Then it is refused, naming the header, and nothing new exists
    assert reply.status == 422
    assert reply.error_code == "idempotency_key_reused"
    assert reply.error_fields == ["Idempotency-Key"]
    assert len(api.get(path).json["items"]) == 1
    assert api.get(f"/api/events/{other['id']}").json["items"] == []


def test_the_same_key_for_another_department_is_422_and_creates_nothing(api):
    assert api.post("/api/departments", {"name": "첫 부서"}, headers=KEY).status == 201
    reply = api.post("/api/departments", {"name": "둘째 부서"}, headers=KEY)
    assert reply.status == 422
    assert reply.error_code == "idempotency_key_reused"
    assert [d["name"] for d in api.get("/api/departments").json["items"]] == ["첫 부서"]


def test_a_replay_answers_what_happened_even_after_the_item_is_gone(api):
    # Given an event created with a key and then deleted
    department = api.department()
    path = f"/api/events/{department['id']}"
    body = {"event_date": "2024-03-01", "title": "지나간 일"}
    first = api.post(path, body, headers=KEY)
    assert api.delete(first.headers["Location"]).status == 204
    # When the original request is retried
    again = api.post(path, body, headers=KEY)
    # Then it gets the original answer (the retry must not create the event again)
    assert (again.status, again.json) == (201, first.json)
    assert api.get(path).json["items"] == []


def test_keys_belong_to_their_caller(api):
    # Two callers who happen to choose the same key each get their own department
    kim = api.post("/api/departments", {"name": "김팀"}, headers={**KEY, "X-Actor": "kim"})
    lee = api.post("/api/departments", {"name": "이팀"}, headers={**KEY, "X-Actor": "lee"})
    assert (kim.status, lee.status) == (201, 201)
    assert kim.json["id"] != lee.json["id"]


def test_a_failed_create_does_not_use_up_its_key(api):
    # Given a POST that fails validation
    department = api.department()
    path = f"/api/events/{department['id']}"
    assert api.post(path, {"event_date": "2024-02-30", "title": "x"}, headers=KEY).status == 400
    # When the client corrects it and sends it with the same key
    fixed = api.post(path, {"event_date": "2024-02-28", "title": "x"}, headers=KEY)
    # Then it is created: only an answered create binds a key
    assert fixed.status == 201
    assert "Idempotent-Replayed" not in fixed.headers


def test_an_expired_key_may_be_used_again(api, tables):
    # Given a key whose record is past its 24 hours (Time to Live may not have deleted it yet)
    first = api.post("/api/departments", {"name": "만료팀"}, headers=KEY)
    (record,) = tables.scan(TableName="events-idempotency")["Items"]
    assert int(record["expires_at"]["N"]) - time.time() == pytest.approx(24 * 3600, abs=60)
    tables.update_item(
        TableName="events-idempotency",
        Key={"idempotency_key": record["idempotency_key"]},
        UpdateExpression="SET expires_at = :past",
        ExpressionAttributeValues={":past": {"N": str(int(time.time()) - 1)}},
    )
    # When the key comes again with a new request
    reply = api.post("/api/departments", {"name": "새 만료팀"}, headers=KEY)
    # Then it is a new create, and the key now answers with it
    assert reply.status == 201
    assert reply.json["id"] != first.json["id"]
    replay = api.post("/api/departments", {"name": "새 만료팀"}, headers=KEY)
    assert replay.json["id"] == reply.json["id"]


@pytest.mark.parametrize("key", ["x" * 256, "키", "a\tb"])
def test_a_key_that_is_not_printable_ascii_up_to_255_is_400(api, tables, key):
    reply = api.call(
        "POST",
        "/api/departments",
        raw=b'{"name": "x"}',
        headers={"Idempotency-Key": key.encode("utf-8").decode("latin-1")},
    )
    assert reply.status == 400
    assert reply.error_fields == ["Idempotency-Key"]
    assert count_items(tables, "departments") == 0


def test_korean_answers_replay_byte_exact(api, tables):
    body = {"name": "한글팀 🗓", "description": "설명: 가나다\n둘째 줄"}
    first = api.post("/api/departments", body, headers=KEY)
    again = api.post("/api/departments", body, headers=KEY)
    assert again.body == first.body
    assert "한글팀 🗓".encode() in again.body
    (record,) = tables.scan(TableName="events-idempotency")["Items"]
    assert "한글팀 🗓" in record["response"]["S"]


def test_a_throttled_create_is_503_and_its_retry_creates_exactly_once(api, tables):
    # Given DynamoDB that throttles the first create (botocore's Stubber answers in its place)
    department = api.department()
    path = f"/api/events/{department['id']}"
    body = {"event_date": "2024-03-01", "title": "혼잡한 날"}
    client = get_context().client
    with Stubber(client) as stub:
        stub.add_client_error(
            "transact_write_items",
            service_error_code="ProvisionedThroughputExceededException",
            http_status_code=400,
        )
        throttled = api.post(path, body, headers=KEY)
        stub.assert_no_pending_responses()
    # Then the caller is told to come back later, and nothing was half-written
    assert throttled.status == 503
    assert throttled.headers["Retry-After"] == "2"
    assert throttled.error_code == "storage_unavailable"
    assert count_items(tables, "events") == 0
    assert count_items(tables, "events-idempotency") == 0
    # When it retries with the same key, twice
    replies = [api.post(path, body, headers=KEY) for _ in range(2)]
    # Then one event exists and both answers name it
    assert [r.status for r in replies] == [201, 201]
    assert replies[0].json == replies[1].json
    assert count_items(tables, "events") == 1


def test_a_key_that_expires_while_its_retry_runs_is_a_documented_409_to_try_again(api, tables):
    # Given an event created under a key (in a department with every counter item made)
    department_id = api.department()["id"]
    open_every_counter_item(tables, department_id)
    path = f"/api/events/{department_id}"
    body = {"event_date": "2024-03-01", "title": "경계의 날"}
    first = api.post(path, body, headers=KEY)
    (record,) = tables.scan(TableName="events-idempotency")["Items"]

    # When its retry's transaction is refused by the record, which passes its 24 hours just
    # before the retry reads it (botocore's after-call hook runs between the two requests)
    def expire(**_: object) -> None:
        tables.update_item(
            TableName="events-idempotency",
            Key={"idempotency_key": record["idempotency_key"]},
            UpdateExpression="SET expires_at = :past",
            ExpressionAttributeValues={":past": {"N": str(int(time.time()) - 1)}},
        )

    events = get_context().client.meta.events
    events.register("after-call.dynamodb.TransactWriteItems", expire)
    try:
        reply = api.post(path, body, headers=KEY)
    finally:
        events.unregister("after-call.dynamodb.TransactWriteItems", expire)
    # Then it is a 409 saying to try again, one the document lists for the operation
    assert reply.status == 409
    assert reply.error_code == "concurrent_modification"
    document = api.get("/api/openapi.json").json
    responses = document["paths"]["/api/events/{department_id}"]["post"]["responses"]
    assert "concurrent_modification" in responses["409"]["description"]
    # And trying again, the key (now free) makes a new event
    again = api.post(path, body, headers=KEY)
    assert again.status == 201
    assert "Idempotent-Replayed" not in again.headers
    assert again.json["id"] != first.json["id"]


def test_on_api_gateway_location_includes_the_stage_callers_reach_the_api_under(tables):
    # Given POSTs as API Gateway delivers them for https://…/v1/api/…
    from app import app
    from tests.lambda_events import api_gateway_event, lambda_context

    def post(path: str, body: dict[str, str], key: str) -> dict[str, str]:
        headers = {"Idempotency-Key": key}
        event = api_gateway_event("POST", path, request_id="r-1", body=body, headers=headers)
        answer = app(event, lambda_context("api_handler"))
        assert answer["statusCode"] == 201, answer["body"]
        return dict(answer["headers"])

    # When a department and an event in it are created (and the event's create replayed)
    department = post("/api/departments", {"name": "스테이지팀"}, "k-department")
    department_path = department["Location"]
    department_id = department_path.rsplit("/", 1)[1]
    body = {"event_date": "2024-03-01", "title": "t"}
    event = post(f"/api/events/{department_id}", body, "k-event")
    replay = post(f"/api/events/{department_id}", body, "k-event")
    # Then each Location is the path a caller follows on that domain, stage included
    assert department_path == f"/v1/api/departments/{department_id}"
    assert event["Location"].startswith(f"/v1/api/events/{department_id}/")
    assert replay["Location"] == event["Location"]
