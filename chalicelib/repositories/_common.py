"""Pieces every repository uses: ids, update expressions and page slicing."""

import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from chalicelib.dynamo import (
    DynamoDBClient,
    TypedItem,
    from_item,
    storage_errors,
    to_item,
    to_value,
)
from chalicelib.pagination import decode_token, encode_token


def new_id() -> str:
    return str(uuid.uuid4())


def condition(
    expression: str, names: Mapping[str, str] | None = None, values: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """A ConditionExpression with its placeholders, ready to splat into a request."""
    request: dict[str, Any] = {"ConditionExpression": expression}
    if names:
        request["ExpressionAttributeNames"] = dict(names)
    if values:
        request["ExpressionAttributeValues"] = {k: to_value(v) for k, v in values.items()}
    return request


EXISTS = condition("attribute_exists(id)")


def version_guard(expected: int | None) -> dict[str, Any]:
    """The item exists and, when the caller named a version (If-Match), is still that one."""
    if expected is None:
        return EXISTS
    return condition(
        "attribute_exists(id) AND #version = :expected",
        {"#version": "version"},
        {":expected": expected},
    )


def unchanged_since(item: Mapping[str, Any]) -> dict[str, Any]:
    """A condition that holds only while the stored item is still the version that was read."""
    names = {"#version": "version"}
    if "version" not in item:  # written by another tool, never versioned
        return condition("attribute_exists(id) AND attribute_not_exists(#version)", names)
    return condition("#version = :read_version", names, {":read_version": item["version"]})


def update_request(
    changes: Mapping[str, Any], *, now: str, actor: str, guard: Mapping[str, Any]
) -> dict[str, Any]:
    """UpdateItem parameters that set `changes`, stamp time and actor, and bump `version`,
    applied only if `guard` (a `condition(...)`) holds.

    Attribute names always go through placeholders: `name` and `time` are reserved words.
    """
    values = {**changes, "updated_at": now, "updated_by": actor}
    names = {f"#a{i}": field for i, field in enumerate(values)}
    assignments = ", ".join(f"#a{i} = :a{i}" for i in range(len(values)))
    expression_values = {f":a{i}": to_value(value) for i, value in enumerate(values.values())}
    names["#version"] = "version"
    expression_values[":one"] = to_value(1)
    return {
        "UpdateExpression": f"SET {assignments} ADD #version :one",
        "ConditionExpression": guard["ConditionExpression"],
        "ExpressionAttributeNames": {**names, **guard.get("ExpressionAttributeNames", {})},
        "ExpressionAttributeValues": {
            **expression_values,
            **guard.get("ExpressionAttributeValues", {}),
        },
    }


def slice_page(
    response: Mapping[str, Any], limit: int, key_names: Sequence[str]
) -> tuple[list[dict[str, Any]], dict[str, str] | None]:
    """A Query/Scan response read with Limit=limit+1 → (the page, the next page's start key).

    Reading one extra item tells whether another page exists, so the last page never comes
    with a token that leads to an empty page. DynamoDB also stops at 1 MB: then the response
    has fewer items but a LastEvaluatedKey, and the page continues after its last item.
    """
    items: Sequence[TypedItem] = response.get("Items", [])
    page = [from_item(item) for item in items[:limit]]
    cut_short = len(items) <= limit and "LastEvaluatedKey" in response and bool(page)
    if len(items) <= limit and not cut_short:
        return page, None
    last = page[-1]
    return page, {name: str(last[name]) for name in key_names}


def deletion_stamp(actor: str, now: str) -> dict[str, Any]:
    """UpdateItem parts that record who is about to delete an item.

    A delete leaves no new image, so the stream would not know who deleted. The actor is
    written onto the item just before, and the REMOVE record's old image carries it. The stream
    handlers treat this write as housekeeping: it never shows up as a change of its own."""
    return {
        "UpdateExpression": "SET #deleted_by = :deleted_by, #deleted_at = :deleted_at",
        "ExpressionAttributeNames": {"#deleted_by": "deleted_by", "#deleted_at": "deleted_at"},
        "ExpressionAttributeValues": {
            ":deleted_by": to_value(actor),
            ":deleted_at": to_value(now),
        },
    }


def with_guard(update: dict[str, Any], guard: Mapping[str, Any]) -> dict[str, Any]:
    """An update's parts joined with a `condition(...)`, placeholders merged."""
    return {
        **update,
        "ConditionExpression": guard["ConditionExpression"],
        "ExpressionAttributeNames": {
            **update.get("ExpressionAttributeNames", {}),
            **guard.get("ExpressionAttributeNames", {}),
        },
        "ExpressionAttributeValues": {
            **update.get("ExpressionAttributeValues", {}),
            **guard.get("ExpressionAttributeValues", {}),
        },
    }


def query_page(
    client: DynamoDBClient,
    *,
    table: str,
    partition: tuple[str, str],
    key_names: tuple[str, ...],
    scope: str,
    limit: int,
    next_token: str | None,
    index: str | None = None,
    newest_first: bool = True,
    consistent: bool = False,
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of one partition (of the table or of `index`), and the token for the next.
    The token is made for `scope` and pinned to the partition, so one listing's token is a 400
    in another instead of a page of something else."""
    name, value = partition
    params: dict[str, Any] = {
        "TableName": table,
        "KeyConditionExpression": "#partition = :partition",
        "ExpressionAttributeNames": {"#partition": name},
        "ExpressionAttributeValues": {":partition": {"S": value}},
        "ScanIndexForward": not newest_first,
        "Limit": limit + 1,
    }
    if index is not None:
        params["IndexName"] = index
    if consistent:
        params["ConsistentRead"] = True
    if next_token is not None:
        start = decode_token(next_token, scope, frozenset(key_names), fixed={name: value})
        params["ExclusiveStartKey"] = to_item(start)
    with storage_errors():
        response = client.query(**params)
    items, last_key = slice_page(response, limit, key_names)
    return items, None if last_key is None else encode_token(scope, last_key)


# Queries of one listing spread over several keys run side by side: a page waits for the
# slowest of them, not for their sum.
_PARALLEL_QUERIES = 8


def each_in_parallel[T, R](work: Callable[[T], R], items: Sequence[T]) -> list[R]:
    """`work` applied to every item, at most eight at once, results in the items' order."""
    if len(items) <= 1:
        return [work(item) for item in items]
    # Imported here: only the spread listings need threads, not every cold start.
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=min(_PARALLEL_QUERIES, len(items))) as pool:
        return list(pool.map(work, items))
