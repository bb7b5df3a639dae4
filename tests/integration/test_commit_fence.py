"""The local stack holds a transaction's answer until DynamoDB Local has committed it: a read of
the same table follows every transaction that succeeded, and nothing follows one that failed."""

from typing import Any

import pytest
from botocore.exceptions import ClientError

from ops.dynamodb_local import hold_answers_until_committed


def calls_of(client: Any) -> list[str]:
    seen: list[str] = []
    client.meta.events.register("before-call.dynamodb", lambda model, **_: seen.append(model.name))
    return seen


def put(table: str, key: str, condition: str | None = None) -> dict[str, Any]:
    request: dict[str, Any] = {"TableName": table, "Item": {"id": {"S": key}}}
    if condition:
        request["ConditionExpression"] = condition
    return {"Put": request}


def test_a_committed_transaction_is_followed_by_a_read_of_its_first_table(tables):
    # Given a client whose transactions are held until committed
    hold_answers_until_committed(tables)
    seen = calls_of(tables)
    # When a transaction succeeds
    tables.transact_write_items(TransactItems=[put("departments", "d1")])
    # Then its answer came after a one-item read of the table it wrote
    assert seen == ["TransactWriteItems", "Scan"]


def test_a_cancelled_transaction_is_answered_at_once(tables):
    hold_answers_until_committed(tables)
    tables.put_item(TableName="departments", Item={"id": {"S": "d1"}})
    seen = calls_of(tables)
    with pytest.raises(ClientError):
        tables.transact_write_items(
            TransactItems=[put("departments", "d1", "attribute_not_exists(id)")]
        )
    assert seen == ["TransactWriteItems"]
