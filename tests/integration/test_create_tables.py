"""create-tables: creates what is missing, adopts what exists, waits for CREATING tables."""

import dataclasses
from typing import Any

import pytest

from chalicelib.settings import get_settings
from chalicelib.tables import Index, table_definitions
from ops.create_tables import TableMismatch, ensure_tables, retire_indexes


def names() -> list[str]:
    return [definition.name for definition in table_definitions(get_settings())]


def created(*tables: str) -> list[str]:
    """The report for newly made tables, each table's Time to Live (if it has one) after it."""
    expiring = {d.name: d.ttl_attribute for d in table_definitions(get_settings())}
    lines = []
    for table in tables:
        lines.append(f"✓ {table} 테이블이 생성되었습니다.")
        if expiring.get(table):
            lines.append(f"✓ {table}: Time to Live를 켰습니다 ({expiring[table]}).")
    return lines


def run(client: Any) -> list[str]:
    lines: list[str] = []
    ensure_tables(client, table_definitions(get_settings()), lines.append)
    return lines


def test_creates_every_missing_table_with_streams(dynamodb):
    lines = run(dynamodb)
    assert lines == created(*names())
    assert names()[:3] == ["departments", "events", "departments-names"]
    events = dynamodb.describe_table(TableName="events")["Table"]
    assert events["StreamSpecification"] == {
        "StreamEnabled": True,
        "StreamViewType": "NEW_AND_OLD_IMAGES",
    }
    assert events["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"


def test_a_second_run_changes_nothing(dynamodb):
    run(dynamodb)
    before = {t: dynamodb.describe_table(TableName=t)["Table"] for t in ("departments", "events")}
    lines = run(dynamodb)
    assert all("이미 존재합니다." in line for line in lines)
    assert len(lines) == len(names())
    ttl = dynamodb.describe_time_to_live(TableName="events-idempotency")
    assert ttl["TimeToLiveDescription"] == {
        "TimeToLiveStatus": "ENABLED",
        "AttributeName": "expires_at",
    }
    after = {t: dynamodb.describe_table(TableName=t)["Table"] for t in ("departments", "events")}
    assert {t: a["LatestStreamArn"] for t, a in after.items()} == {
        t: b["LatestStreamArn"] for t, b in before.items()
    }


def guide_made_departments_table(client: Any) -> None:
    """What the original guide's AWS CLI command makes: provisioned throughput, no stream."""
    throughput = {"ReadCapacityUnits": 5, "WriteCapacityUnits": 5}
    client.create_table(
        TableName="departments",
        AttributeDefinitions=[
            {"AttributeName": "id", "AttributeType": "S"},
            {"AttributeName": "name", "AttributeType": "S"},
        ],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "name-index",
                "KeySchema": [{"AttributeName": "name", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "ALL"},
                "ProvisionedThroughput": throughput,
            }
        ],
        ProvisionedThroughput=throughput,
    )


def test_adopts_a_hand_made_table_enabling_its_stream_and_keeping_its_data(dynamodb):
    # Given the guide's table, with data, and no stream
    guide_made_departments_table(dynamodb)
    item = {"id": {"S": "d1"}, "name": {"S": "개발팀"}}
    dynamodb.put_item(TableName="departments", Item=item)
    # When create-tables runs
    lines = run(dynamodb)
    # Then the stream is on, the data is intact, and the rest was created
    assert (
        lines[0]
        == "✓ departments 테이블이 이미 존재합니다: 스트림을 켰습니다 (NEW_AND_OLD_IMAGES)."
    )
    table = dynamodb.describe_table(TableName="departments")["Table"]
    assert table["StreamSpecification"]["StreamEnabled"] is True
    assert table["StreamSpecification"]["StreamViewType"] == "NEW_AND_OLD_IMAGES"
    assert dynamodb.get_item(TableName="departments", Key={"id": {"S": "d1"}})["Item"] == item
    assert lines[1:] == created(*names()[1:])


def test_a_table_with_other_keys_is_refused_naming_the_difference(dynamodb):
    dynamodb.create_table(
        TableName="events",
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )
    with pytest.raises(TableMismatch, match=r"events: key schema is id \(HASH\), this app needs"):
        run(dynamodb)


def test_a_table_made_before_an_index_existed_gets_the_index_added(dynamodb):
    # Given the events table as an earlier version made it: the date index only
    dynamodb.create_table(
        TableName="events",
        AttributeDefinitions=[
            {"AttributeName": name, "AttributeType": "S"}
            for name in ("id", "department_id", "event_date")
        ],
        KeySchema=[
            {"AttributeName": "id", "KeyType": "HASH"},
            {"AttributeName": "department_id", "KeyType": "RANGE"},
        ],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "department-date-index",
                "KeySchema": [
                    {"AttributeName": "department_id", "KeyType": "HASH"},
                    {"AttributeName": "event_date", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )
    # When create-tables adopts it
    lines = run(dynamodb)
    # Then the span index was added, and said so
    assert "✓ events: 인덱스 department-span-index을 추가했습니다." in lines
    table = dynamodb.describe_table(TableName="events")["Table"]
    indexes = {i["IndexName"]: i for i in table["GlobalSecondaryIndexes"]}
    assert indexes["department-span-index"]["KeySchema"] == [
        {"AttributeName": "span_department", "KeyType": "HASH"},
        {"AttributeName": "event_date", "KeyType": "RANGE"},
    ]
    # And a second run has nothing to add
    assert not [line for line in run(dynamodb) if "인덱스" in line]


def test_an_index_this_version_replaced_stays_until_retired_then_goes(dynamodb):
    # Given the events table as an earlier version made it: its calendar read department_id
    (events,) = [d for d in table_definitions(get_settings()) if d.role == "events"]
    earlier = dataclasses.replace(
        events,
        indexes=(*events.retired_indexes, *events.indexes[1:]),
        retired_indexes=(),
    )
    dynamodb.create_table(**earlier.create_table_request())
    # When create-tables adopts it, the calendar index is added and the old one kept for the
    # version still running
    lines = run(dynamodb)
    assert "✓ events: 인덱스 department-calendar-index을 추가했습니다." in lines
    assert indexes_of(dynamodb, "events") == {
        "department-date-index",
        "department-calendar-index",
        "department-span-index",
    }
    # Then retiring deletes the old one, says so, and a second run has nothing to do
    retired: list[str] = []
    retire_indexes(dynamodb, table_definitions(get_settings()), retired.append)
    assert retired == ["✓ events: 더 쓰지 않는 인덱스 department-date-index을 지웠습니다."]
    assert indexes_of(dynamodb, "events") == {"department-calendar-index", "department-span-index"}
    again: list[str] = []
    retire_indexes(dynamodb, table_definitions(get_settings()), again.append)
    assert again == []


def test_an_index_of_a_version_before_the_last_is_deleted_and_never_declared_again(dynamodb):
    # Given the audit table as it was before its feed index: its feed read department_id
    (audit,) = [d for d in table_definitions(get_settings()) if d.role == "audit"]
    (dropped,) = audit.dropped_indexes
    earlier = dataclasses.replace(
        audit,
        indexes=(audit.indexes[0], Index(dropped, "department_id", "change_key")),
        dropped_indexes=(),
    )
    dynamodb.create_table(**earlier.create_table_request())
    run(dynamodb)
    # When the indexes this version no longer reads are retired
    retired: list[str] = []
    retire_indexes(dynamodb, table_definitions(get_settings()), retired.append)
    # Then the old one is gone
    assert retired == [f"✓ events-audit: 더 쓰지 않는 인덱스 {dropped}을 지웠습니다."]
    assert indexes_of(dynamodb, "events-audit") == {"date-index", "department-feed-index"}
    # And not even a template that keeps the retired indexes declares it again
    declared = audit.create_table_request(with_retired=True)["GlobalSecondaryIndexes"]
    assert dropped not in {index["IndexName"] for index in declared}


def indexes_of(client: Any, table: str) -> set[str]:
    described = client.describe_table(TableName=table)["Table"]
    return {i["IndexName"] for i in described["GlobalSecondaryIndexes"]}


class CreatingFirst:
    """The real (moto) client, except that a new table reports CREATING for its first few
    describes, as AWS, DynamoDB Local and other emulators do."""

    def __init__(self, client: Any, polls: int = 3) -> None:
        self._client = client
        self._polls = polls
        self.pending: dict[str, int] = {}

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def create_table(self, **request: Any) -> Any:
        response = self._client.create_table(**request)
        self.pending[request["TableName"]] = self._polls
        return response

    def describe_table(self, TableName: str) -> Any:
        response = self._client.describe_table(TableName=TableName)
        if self.pending.get(TableName, 0) > 0:
            self.pending[TableName] -= 1
            response["Table"]["TableStatus"] = "CREATING"
            for index in response["Table"].get("GlobalSecondaryIndexes", []):
                index["IndexStatus"] = "CREATING"
        return response


def test_waits_until_new_tables_and_their_indexes_are_active(dynamodb, monkeypatch):
    sleeps: list[float] = []
    monkeypatch.setattr("ops.create_tables.time.sleep", sleeps.append)
    client = CreatingFirst(dynamodb)
    lines = run(client)
    assert lines == created(*names())
    assert client.pending == dict.fromkeys(names(), 0)
    assert len(sleeps) == 3 * len(names())  # three CREATING answers per table were waited out


def test_gives_up_waiting_with_a_timeout(dynamodb, monkeypatch):
    monkeypatch.setattr("ops.create_tables.time.sleep", lambda _: None)
    client: Any = CreatingFirst(dynamodb, polls=10_000)
    definitions = table_definitions(get_settings())
    with pytest.raises(TimeoutError, match="departments is still CREATING"):
        ensure_tables(client, definitions[:1], lambda _: None, wait_seconds=0)
