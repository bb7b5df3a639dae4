"""The table definitions are the single source of truth: check them against the spec."""

from typing import Any

from chalicelib.settings import Settings
from chalicelib.tables import table_definitions


def definitions(**env: str) -> dict[str, dict[str, Any]]:
    settings = Settings.from_environ(env)
    return {d.role: d.create_table_request() for d in table_definitions(settings)}


def test_departments_table_matches_the_guide():
    departments = definitions()["departments"]
    assert departments["TableName"] == "departments"
    assert departments["KeySchema"] == [{"AttributeName": "id", "KeyType": "HASH"}]
    (index,) = departments["GlobalSecondaryIndexes"]
    assert index["IndexName"] == "name-index"
    assert index["KeySchema"] == [{"AttributeName": "name", "KeyType": "HASH"}]
    assert index["Projection"] == {"ProjectionType": "ALL"}
    assert departments["StreamSpecification"]["StreamViewType"] == "NEW_AND_OLD_IMAGES"
    assert departments["BillingMode"] == "PAY_PER_REQUEST"


def test_events_table_matches_the_guide():
    events = definitions()["events"]
    assert events["KeySchema"] == [
        {"AttributeName": "id", "KeyType": "HASH"},
        {"AttributeName": "department_id", "KeyType": "RANGE"},
    ]
    calendar, spans = events["GlobalSecondaryIndexes"]
    # A department's events by date, spread over calendar_key values by event.
    assert calendar["IndexName"] == "department-calendar-index"
    assert calendar["KeySchema"] == [
        {"AttributeName": "calendar_key", "KeyType": "HASH"},
        {"AttributeName": "calendar_order", "KeyType": "RANGE"},
    ]
    # Sparse: only multi-day and recurring events carry span_department.
    assert spans["IndexName"] == "department-span-index"
    assert spans["KeySchema"] == [
        {"AttributeName": "span_department", "KeyType": "HASH"},
        {"AttributeName": "event_date", "KeyType": "RANGE"},
    ]
    assert {a["AttributeName"] for a in events["AttributeDefinitions"]} == {
        "id",
        "department_id",
        "event_date",
        "calendar_key",
        "calendar_order",
        "span_department",
    }
    assert events["StreamSpecification"]["StreamEnabled"] is True


def test_names_come_from_the_environment():
    named = definitions(DEPARTMENTS_TABLE="departments-dev", EVENTS_TABLE="events-dev")
    assert named["departments"]["TableName"] == "departments-dev"
    assert named["events"]["TableName"] == "events-dev"


def test_region_falls_back_from_aws_region_to_default():
    assert Settings.from_environ({"AWS_REGION": "us-east-1"}).region == "us-east-1"
    assert Settings.from_environ({"AWS_DEFAULT_REGION": "eu-west-1"}).region == "eu-west-1"
    assert Settings.from_environ({}).region == "ap-northeast-2"


def test_every_table_stays_under_the_projects_prefixes():
    for request in definitions().values():
        assert request["TableName"].startswith(("departments", "events"))
