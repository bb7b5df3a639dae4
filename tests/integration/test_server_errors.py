"""DynamoDB answering 5xx is DynamoDB failing, whatever error code comes with it.

AWS says InternalServerError; another endpoint may say something else (AWS's generic
InternalFailure), or nothing a parser understands (a proxy's HTML page, which botocore reports
under the status code itself, "500" or "503"). Every one of them reaches the caller as a 503
with Retry-After and the JSON error shape, so the client retries: never as a 500, which says
the app is broken. botocore's Stubber answers in DynamoDB's place; only the answer is replaced.
"""

from typing import Any

import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber

from chalicelib.context import get_context
from chalicelib.dynamo import storage_errors

SERVER_ERRORS = [
    pytest.param(500, "InternalServerError", id="500 InternalServerError"),
    pytest.param(500, "InternalFailure", id="500 with a code DynamoDB does not document"),
    pytest.param(500, "500", id="500 with a body that is not DynamoDB's"),
    pytest.param(503, "503", id="503 with a body that is not DynamoDB's"),
]


def answer_with_error(stub: Stubber, operation: str, status: int, code: str) -> None:
    stub.add_client_error(
        operation,
        service_error_code=code,
        service_message="We encountered an internal error. Please try again.",
        http_status_code=status,
    )


def assert_retry_later(reply: Any) -> None:
    assert reply.status == 503, reply.body
    assert reply.headers["Content-Type"].startswith("application/json")
    assert reply.error_code == "storage_unavailable"
    assert int(reply.headers["Retry-After"]) > 0


@pytest.mark.parametrize(("status", "code"), SERVER_ERRORS)
def test_a_read_answered_with_a_server_error_is_503(api, tables, status, code):
    # Given a department, and DynamoDB failing the next GetItem
    department = api.department()
    with Stubber(get_context().client) as stub:
        answer_with_error(stub, "get_item", status, code)
        # When the department is read
        reply = api.get(f"/api/departments/{department['id']}")
        stub.assert_no_pending_responses()
    # Then the caller is told to come back later
    assert_retry_later(reply)


@pytest.mark.parametrize(("status", "code"), SERVER_ERRORS)
def test_a_listing_answered_with_a_server_error_is_503(api, tables, status, code):
    # Given a department, and DynamoDB failing the next Query
    department = api.department()
    with Stubber(get_context().client) as stub:
        answer_with_error(stub, "query", status, code)
        # When its events are listed
        reply = api.get(f"/api/events/{department['id']}")
        stub.assert_no_pending_responses()
    # Then the caller is told to come back later
    assert_retry_later(reply)


@pytest.mark.parametrize(("status", "code"), SERVER_ERRORS)
@pytest.mark.parametrize(
    "headers",
    [{}, {"Idempotency-Key": "2c9d4e6f-8a0b-4c1d-9e2f-3a4b5c6d7e8f"}],
    ids=["no key", "with a key"],
)
def test_a_create_whose_transaction_gets_a_server_error_is_503_and_writes_nothing(
    api, tables, status, code, headers
):
    # Given a department, and DynamoDB failing the next TransactWriteItems
    department = api.department()
    path = f"/api/events/{department['id']}"
    body = {"event_date": "2024-03-01", "title": "서버 오류"}
    with Stubber(get_context().client) as stub:
        answer_with_error(stub, "transact_write_items", status, code)
        # When an event is created
        reply = api.post(path, body, headers=headers)
        stub.assert_no_pending_responses()
    # Then the caller is told to come back later, and nothing was written
    assert_retry_later(reply)
    assert tables.scan(TableName="events", Select="COUNT")["Count"] == 0
    # And the retry creates the event
    assert api.post(path, body, headers=headers).status == 201


@pytest.mark.parametrize(("status", "code"), SERVER_ERRORS)
def test_a_single_item_write_answered_with_a_server_error_is_503(api, tables, status, code):
    # Given a department, and DynamoDB failing the next UpdateItem (the API's single-item
    # write: creates go through TransactWriteItems, nothing on the API path uses PutItem)
    department = api.department()
    path = f"/api/departments/{department['id']}"
    with Stubber(get_context().client) as stub:
        answer_with_error(stub, "update_item", status, code)
        # When its description is changed
        reply = api.patch(path, {"description": "바뀐 설명"})
        stub.assert_no_pending_responses()
    # Then the caller is told to come back later, and the department is as it was
    assert_retry_later(reply)
    assert api.get(path).json["description"] == ""


@pytest.mark.parametrize(("status", "code"), SERVER_ERRORS)
def test_health_answered_with_a_server_error_is_503(api, tables, status, code):
    # Given DynamoDB failing the next BatchGetItem
    with Stubber(get_context().client) as stub:
        answer_with_error(stub, "batch_get_item", status, code)
        # When health is asked
        reply = api.get("/api/health")
        stub.assert_no_pending_responses()
    # Then it says the database cannot answer now
    assert_retry_later(reply)


def test_a_refusal_below_500_is_not_disguised_as_an_outage():
    # Given DynamoDB refusing a request as malformed (a bug here: retrying would not help)
    answer: Any = {
        "Error": {"Code": "ValidationException", "Message": "bad expression"},
        "ResponseMetadata": {"HTTPStatusCode": 400},
    }
    refusal = ClientError(answer, "GetItem")
    # When it passes through the mapping of storage failures
    # Then it comes out as it went in, not as StorageUnavailable
    with pytest.raises(ClientError) as raised, storage_errors():
        raise refusal
    assert raised.value is refusal
