"""create-tables: make the project's tables, or adopt the ones that already exist.

Adopting means: the key schema and indexes must match the definitions (else a clear error),
and a missing stream or Time to Live is switched on. Data is never touched. Works against AWS,
DynamoDB Local or any emulator; tables that start CREATING are waited for, indexes included.
"""

import time
from collections.abc import Callable, Iterable
from typing import Any

from botocore.exceptions import ClientError

from chalicelib.dynamo import DynamoDBClient, error_code
from chalicelib.tables import STREAM_VIEW_TYPE, TableDefinition

Report = Callable[[str], None]


class TableMismatch(Exception):
    """An existing table cannot serve as the one this app needs."""


def ensure_tables(
    client: DynamoDBClient,
    definitions: Iterable[TableDefinition],
    report: Report = print,
    *,
    wait_seconds: float = 600,
) -> None:
    for definition in definitions:
        ensure_table(client, definition, report, wait_seconds=wait_seconds)
        if definition.ttl_attribute is not None:
            ensure_time_to_live(client, definition.name, definition.ttl_attribute, report)


def ensure_table(
    client: DynamoDBClient,
    definition: TableDefinition,
    report: Report = print,
    *,
    wait_seconds: float = 600,
) -> None:
    name = definition.name
    description = _describe(client, name)
    if description is None:
        try:
            client.create_table(**definition.create_table_request())
        except ClientError as error:
            # Another create-tables got there first: adopt its table like any other.
            if error_code(error) != "ResourceInUseException":
                raise
        else:
            created = wait_until_active(client, name, wait_seconds)
            # Some emulators accept a StreamSpecification and silently have no streams.
            missing = definition.stream and not _stream_of(created).get("StreamEnabled")
            note = " (이 DynamoDB에는 스트림이 없습니다)" if missing else ""
            report(f"✓ {name} 테이블이 생성되었습니다.{note}")
            return
        description = _describe(client, name)
        assert description is not None
    _check_schema(definition, description)
    wait_until_active(client, name, wait_seconds)
    description = _add_missing_indexes(client, definition, description, report, wait_seconds)
    if not definition.stream or _stream_of(description).get("StreamEnabled"):
        _check_stream_view(definition, description)
        report(f"✓ {name} 테이블이 이미 존재합니다.")
        return
    try:
        client.update_table(
            TableName=name,
            StreamSpecification={"StreamEnabled": True, "StreamViewType": STREAM_VIEW_TYPE},
        )
    except ClientError as error:
        if error_code(error) != "ValidationException":
            raise
        message = error.response.get("Error", {}).get("Message", "")
        report(f"⚠ {name} 테이블이 이미 존재합니다. 스트림을 켤 수 없습니다: {message}")
        return
    wait_until_active(client, name, wait_seconds)
    report(f"✓ {name} 테이블이 이미 존재합니다: 스트림을 켰습니다 ({STREAM_VIEW_TYPE}).")


def retire_indexes(
    client: DynamoDBClient,
    definitions: Iterable[TableDefinition],
    report: Report = print,
    *,
    wait_seconds: float = 600,
) -> None:
    """Delete the indexes this version replaced, one at a time, from tables made before it.
    Only once no running code reads them: a deploy calls this after the new functions are in."""
    for definition in definitions:
        names = [index.name for index in definition.retired_indexes]
        for name in [*names, *definition.dropped_indexes]:
            if name not in (index_names(client, definition.name) or ()):
                continue
            client.update_table(
                TableName=definition.name,
                GlobalSecondaryIndexUpdates=[{"Delete": {"IndexName": name}}],
            )
            # A deleted index reports DELETING until it is gone: waiting for every index to
            # be ACTIVE waits for that.
            wait_until_active(client, definition.name, wait_seconds)
            report(f"✓ {definition.name}: 더 쓰지 않는 인덱스 {name}을 지웠습니다.")


def ensure_time_to_live(
    client: DynamoDBClient, name: str, attribute: str, report: Report = print
) -> None:
    """Let DynamoDB delete expired items by `attribute`. The app never relies on it (it checks
    expiry itself); it only keeps the table from growing."""
    try:
        current = client.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
        if current.get("TimeToLiveStatus") in ("ENABLED", "ENABLING"):
            if current.get("AttributeName") != attribute:
                report(
                    f"⚠ {name}: Time to Live는 {current.get('AttributeName')} 속성에 켜져 "
                    f"있습니다 (이 앱은 {attribute}을 씁니다)."
                )
            return
        client.update_time_to_live(
            TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": attribute}
        )
    except ClientError as error:
        message = error.response.get("Error", {}).get("Message", "") or error_code(error)
        report(f"⚠ {name}: Time to Live를 켤 수 없습니다: {message}")
        return
    report(f"✓ {name}: Time to Live를 켰습니다 ({attribute}).")


def wait_until_active(
    client: DynamoDBClient, name: str, wait_seconds: float = 600
) -> dict[str, Any]:
    """Poll until the table and every one of its indexes is ACTIVE; return its description."""
    deadline = time.monotonic() + wait_seconds
    delay = 0.2
    while True:
        table = client.describe_table(TableName=name)["Table"]
        statuses = [table.get("TableStatus")] + [
            index.get("IndexStatus") for index in table.get("GlobalSecondaryIndexes", [])
        ]
        if all(status == "ACTIVE" for status in statuses):
            return dict(table)
        if time.monotonic() > deadline:
            raise TimeoutError(f"{name} is still {', '.join(map(str, statuses))}")
        time.sleep(delay)
        delay = min(delay * 2, 1.0)


def index_names(client: DynamoDBClient, table: str) -> set[str] | None:
    """The names of the table's global secondary indexes (None: there is no such table)."""
    described = _describe(client, table)
    if described is None:
        return None
    return {index["IndexName"] for index in described.get("GlobalSecondaryIndexes", [])}


def _describe(client: DynamoDBClient, name: str) -> dict[str, Any] | None:
    try:
        return dict(client.describe_table(TableName=name)["Table"])
    except ClientError as error:
        if error_code(error) == "ResourceNotFoundException":
            return None
        raise


def _check_schema(definition: TableDefinition, table: dict[str, Any]) -> None:
    name = definition.name
    if _keys(table["KeySchema"]) != _keys(definition.key_schema()):
        raise TableMismatch(
            f"{name}: key schema is {_show(table['KeySchema'])}, "
            f"this app needs {_show(definition.key_schema())}"
        )
    types = {a["AttributeName"]: a["AttributeType"] for a in table["AttributeDefinitions"]}
    for wanted in definition.attribute_definitions():
        attribute = wanted["AttributeName"]
        if attribute in types and types[attribute] != wanted["AttributeType"]:
            raise TableMismatch(
                f"{name}: attribute {attribute} has type {types[attribute]}, "
                f"this app needs {wanted['AttributeType']}"
            )
    existing = {i["IndexName"]: i for i in table.get("GlobalSecondaryIndexes", [])}
    for index in definition.indexes:
        if index.name not in existing:
            continue  # added by _add_missing_indexes
        found = existing[index.name]
        if _keys(found["KeySchema"]) != _keys(index.key_schema()):
            raise TableMismatch(
                f"{name}: index {index.name} has keys {_show(found['KeySchema'])}, "
                f"this app needs {_show(index.key_schema())}"
            )
        if found.get("Projection", {}).get("ProjectionType") != "ALL":
            raise TableMismatch(f"{name}: index {index.name} must project ALL attributes")


def _add_missing_indexes(
    client: DynamoDBClient,
    definition: TableDefinition,
    table: dict[str, Any],
    report: Report,
    wait_seconds: float,
) -> dict[str, Any]:
    """A table made by an earlier version lacks the indexes added since: add them, one at a
    time (DynamoDB takes one index creation per UpdateTable), and wait until they are built."""
    existing = {i["IndexName"] for i in table.get("GlobalSecondaryIndexes", [])}
    for index in definition.indexes:
        if index.name in existing:
            continue
        attributes = [
            a
            for a in definition.attribute_definitions()
            if a["AttributeName"] in (index.partition_key, index.sort_key)
        ]
        request: dict[str, Any] = {
            "TableName": definition.name,
            "AttributeDefinitions": attributes,
            "GlobalSecondaryIndexUpdates": [
                {
                    "Create": {
                        "IndexName": index.name,
                        "KeySchema": index.key_schema(),
                        "Projection": {"ProjectionType": "ALL"},
                    }
                }
            ],
        }
        client.update_table(**request)
        table = wait_until_active(client, definition.name, wait_seconds)
        report(f"✓ {definition.name}: 인덱스 {index.name}을 추가했습니다.")
    return table


def _stream_of(table: dict[str, Any]) -> dict[str, Any]:
    return dict(table.get("StreamSpecification") or {})


def _check_stream_view(definition: TableDefinition, table: dict[str, Any]) -> None:
    view = _stream_of(table).get("StreamViewType")
    if definition.stream and view != STREAM_VIEW_TYPE:
        raise TableMismatch(
            f"{definition.name}: stream view type is {view}, this app needs "
            f"{STREAM_VIEW_TYPE} (turn the table's stream off, then run again)"
        )


def _keys(schema: Iterable[Any]) -> list[tuple[str, str]]:
    return sorted((key["KeyType"], key["AttributeName"]) for key in schema)


def _show(schema: Iterable[Any]) -> str:
    keys = sorted(schema, key=lambda key: key["KeyType"])  # HASH before RANGE
    return ", ".join(f"{key['AttributeName']} ({key['KeyType']})" for key in keys)
