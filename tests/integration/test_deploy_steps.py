"""The steps `make deploy` runs around `chalice deploy`, against an emulated account (moto)."""

import dataclasses
import io
import json
import shutil
import zipfile
from pathlib import Path
from typing import Any

import boto3
import pytest

from chalicelib.dynamo import from_item, to_item
from chalicelib.tables import calendar_key, table_definitions
from ops.calendar_backfill import UpgradeOrderError
from ops.deploy.stage import CONFIG_PATH, load_config, stage_settings
from ops.deploy.steps import (
    MAXIMUM_RETRY_ATTEMPTS,
    PARALLELIZATION_FACTOR,
    configure_stream_mappings,
    deployed_stream_mappings,
    failure_queue,
    mapping_settings,
    prepare_tables,
    record_stream_arns,
)
from tests.integration.streams import REGION


def run_tables(dynamodb: Any, stage: str) -> list[str]:
    lines: list[str] = []
    prepare_tables(dynamodb, stage_settings(stage), stage, lines.append)
    return lines


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_tables_get_point_in_time_recovery_and_prod_deletion_protection(dynamodb, stage):
    lines = run_tables(dynamodb, stage)
    settings = stage_settings(stage)
    for definition in table_definitions(settings):
        backups = dynamodb.describe_continuous_backups(TableName=definition.name)
        recovery = backups["ContinuousBackupsDescription"]["PointInTimeRecoveryDescription"]
        assert recovery["PointInTimeRecoveryStatus"] == "ENABLED"
        table = dynamodb.describe_table(TableName=definition.name)["Table"]
        assert table.get("DeletionProtectionEnabled", False) is (stage == "prod")
    assert any("PITR" in line for line in lines)
    # Stage names: prod uses the guide's tables, dev a suffixed set
    assert settings.events_table == ("events" if stage == "prod" else "events-dev")
    # Again: nothing to change
    again = run_tables(dynamodb, stage)
    assert all(line.endswith("이미 존재합니다.") for line in again)


def test_stream_arns_are_written_into_the_stage_config_once(dynamodb, tmp_path):
    config = tmp_path / "config.json"
    shutil.copy(CONFIG_PATH, config)
    run_tables(dynamodb, "prod")
    settings = stage_settings("prod")
    lines: list[str] = []
    arns = record_stream_arns(dynamodb, settings, "prod", lines.append, config_path=config)
    variables = load_config(config)["stages"]["prod"]["environment_variables"]
    assert variables["EVENTS_STREAM_ARN"] == arns["events"]
    assert variables["DEPARTMENTS_STREAM_ARN"] == arns["departments"]
    assert arns["events"] == dynamodb.describe_table(TableName="events")["Table"]["LatestStreamArn"]
    assert len(lines) == 1
    before = config.read_text("utf-8")
    record_stream_arns(dynamodb, settings, "prod", lines.append, config_path=config)
    assert config.read_text("utf-8") == before
    assert len(lines) == 1
    # The stage's other settings are untouched, Korean-safe JSON
    assert load_config(config)["stages"]["dev"] == load_config(CONFIG_PATH)["stages"]["dev"]


def chalice_like_mapping(dynamodb: Any, tmp_path: Path) -> Path:
    """What `chalice deploy` leaves: a function, a plain event source mapping on the events
    stream, and .chalice/deployed/prod.json recording its UUID."""
    iam = boto3.client("iam", region_name=REGION)
    role = iam.create_role(
        RoleName="department-calendar-prod-on_event_change",
        AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []}),
    )["Role"]["Arn"]
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr("app.py", "def handler(event, context):\n    return {}\n")
    lambda_client = boto3.client("lambda", region_name=REGION)
    function = lambda_client.create_function(
        FunctionName="department-calendar-prod-on_event_change",
        Runtime="python3.12",
        Role=role,
        Handler="app.on_event_change",
        Code={"ZipFile": code.getvalue()},
    )
    stream_arn = dynamodb.describe_table(TableName="events")["Table"]["LatestStreamArn"]
    mapping = lambda_client.create_event_source_mapping(
        EventSourceArn=stream_arn,
        FunctionName=function["FunctionArn"],
        BatchSize=100,
        StartingPosition="LATEST",
    )
    deployed = tmp_path / ".chalice" / "deployed"
    deployed.mkdir(parents=True)
    (deployed / "prod.json").write_text(
        json.dumps(
            {
                "resources": [
                    {"name": "api_handler", "resource_type": "lambda_function"},
                    {
                        "name": "on_event_change-dynamodb-event-source",
                        "resource_type": "dynamodb_event",
                        "stream_arn": stream_arn,
                        "event_uuid": mapping["UUID"],
                        "lambda_arn": function["FunctionArn"],
                    },
                ],
                "schema_version": "2.0",
            }
        )
    )
    return tmp_path


def test_stream_mappings_get_what_chalice_cannot_set_and_stay_so(dynamodb, tmp_path):
    # Given tables and a mapping as chalice deploy leaves it
    run_tables(dynamodb, "prod")
    project = chalice_like_mapping(dynamodb, tmp_path)
    sqs = boto3.client("sqs", region_name=REGION)
    lambda_client = boto3.client("lambda", region_name=REGION)
    mappings = deployed_stream_mappings("prod", project)
    assert len(mappings) == 1
    # When the step runs
    lines: list[str] = []
    queue_arn = failure_queue(sqs, "prod", lines.append)
    changed = configure_stream_mappings(lambda_client, mappings, queue_arn, lines.append)
    # Then the mapping reports batch item failures, bisects, retries a bounded number of
    # times, runs several batches of a shard at once and sends what still fails to the
    # encrypted queue
    assert changed == 1
    mapping = lambda_client.get_event_source_mapping(UUID=mappings[0]["event_uuid"])
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["BisectBatchOnFunctionError"] is True
    assert mapping["MaximumRetryAttempts"] == MAXIMUM_RETRY_ATTEMPTS
    assert 0 < mapping["MaximumRecordAgeInSeconds"] <= 24 * 3600
    assert mapping["ParallelizationFactor"] == PARALLELIZATION_FACTOR
    assert mapping["DestinationConfig"]["OnFailure"]["Destination"] == queue_arn
    url = sqs.get_queue_url(QueueName="department-calendar-prod-stream-failures")["QueueUrl"]
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attributes["SqsManagedSseEnabled"] == "true"
    # And a second run changes nothing
    again: list[str] = []
    assert failure_queue(sqs, "prod", again.append) == queue_arn
    assert configure_stream_mappings(lambda_client, mappings, queue_arn, again.append) == 0
    assert again == ["✓ 스트림 매핑 1개: 이미 올바르게 설정되어 있습니다."]


def updated_mappings(lambda_client: Any) -> list[str]:
    """The UUIDs the client is asked to update from now on, in order (botocore's own hook)."""
    updated: list[str] = []
    lambda_client.meta.events.register(
        "provide-client-params.lambda.UpdateEventSourceMapping",
        lambda params, **_: updated.append(params["UUID"]),
    )
    return updated


def test_only_a_mapping_whose_parallelization_factor_differs_is_updated(dynamodb, tmp_path):
    # Given the events mapping configured by an earlier deploy, then set back to one batch
    # per shard at a time (by hand, say), and a departments mapping that has every setting
    run_tables(dynamodb, "prod")
    project = chalice_like_mapping(dynamodb, tmp_path)
    sqs = boto3.client("sqs", region_name=REGION)
    lambda_client = boto3.client("lambda", region_name=REGION)
    queue_arn = failure_queue(sqs, "prod", lambda line: None)
    (events,) = deployed_stream_mappings("prod", project)
    configure_stream_mappings(lambda_client, [events], queue_arn, lambda line: None)
    lambda_client.update_event_source_mapping(UUID=events["event_uuid"], ParallelizationFactor=1)
    departments = {
        "name": "on_department_change-dynamodb-event-source",
        "event_uuid": lambda_client.create_event_source_mapping(
            EventSourceArn=dynamodb.describe_table(TableName="departments")["Table"][
                "LatestStreamArn"
            ],
            FunctionName=events["lambda_arn"],
            StartingPosition="LATEST",
            **mapping_settings(queue_arn),
        )["UUID"],
    }
    updated = updated_mappings(lambda_client)
    # When the step runs over both
    lines: list[str] = []
    changed = configure_stream_mappings(
        lambda_client, [events, departments], queue_arn, lines.append
    )
    # Then only the events mapping was updated, for its parallelization factor alone
    assert changed == 1
    assert updated == [events["event_uuid"]]
    assert lines == ["✓ on_event_change-dynamodb-event-source: ParallelizationFactor 설정"]
    # And both now run the same number of batches of a shard at once
    for mapping in (events, departments):
        current = lambda_client.get_event_source_mapping(UUID=mapping["event_uuid"])
        assert current["ParallelizationFactor"] == PARALLELIZATION_FACTOR


def test_make_deploy_without_chalice_is_idempotent_end_to_end(dynamodb, tmp_path):
    # Given a project folder with the real stage config and a mapping chalice deploy recorded
    (tmp_path / ".chalice").mkdir()
    shutil.copy(CONFIG_PATH, tmp_path / ".chalice" / "config.json")
    # And the events table of the version that brought the calendar index, the index the
    # calendar read before still beside it, with an event stored without its calendar_key
    (events,) = [d for d in table_definitions(stage_settings("prod")) if d.role == "events"]
    dynamodb.create_table(**events.create_table_request(with_retired=True))
    run_tables(dynamodb, "prod")
    chalice_like_mapping(dynamodb, tmp_path)
    events_table = events.name
    earlier = {"id": "ev-1", "department_id": "dep-1", "event_date": "2024-01-20", "title": "회의"}
    dynamodb.put_item(TableName=events_table, Item=to_item(earlier))
    from ops.deploy.run import deploy

    # When the deploy steps run twice
    first: list[str] = []
    deploy("prod", run_chalice=False, report=first.append, project_dir=tmp_path)
    second: list[str] = []
    deploy("prod", run_chalice=False, report=second.append, project_dir=tmp_path)
    # Then the first run wrote the stream ARNs and configured the mapping; the second changed
    # nothing
    assert any("스트림 ARN을 기록했습니다" in line for line in first)
    assert any(
        line.startswith("✓ on_event_change-dynamodb-event-source:")
        and "FunctionResponseTypes" in line
        for line in first
    )
    assert f"✓ {events_table}: 일정 1개를 부서 달력 인덱스에 넣었습니다." in first
    assert f"✓ {events_table}: 더 쓰지 않는 인덱스 department-date-index을 지웠습니다." in first
    stored = dynamodb.get_item(
        TableName=events_table, Key=to_item({"id": "ev-1", "department_id": "dep-1"})
    )["Item"]
    assert from_item(stored)["calendar_order"] == "2024-01-20#ev-1"
    assert from_item(stored)["calendar_key"] == calendar_key("dep-1", "ev-1")
    assert all(
        line.endswith("이미 존재합니다.")
        or "이미 올바르게 설정되어 있습니다" in line
        or line.startswith("✓ 경보 ")  # alarms and dashboard are put in place every time
        for line in second
    ), second


def test_a_stack_from_before_the_calendar_index_is_refused_before_anything_changes(
    dynamodb, tmp_path
):
    # Given a stack whose events table has no calendar index: its events have no key
    (tmp_path / ".chalice").mkdir()
    shutil.copy(CONFIG_PATH, tmp_path / ".chalice" / "config.json")
    (events,) = [d for d in table_definitions(stage_settings("prod")) if d.role == "events"]
    earlier = dataclasses.replace(events, indexes=events.retired_indexes, retired_indexes=())
    dynamodb.create_table(**earlier.create_table_request())
    from ops.deploy.run import deploy

    # When it is deployed, then the deploy stops, saying what to deploy first
    with pytest.raises(UpgradeOrderError, match="달력 인덱스를 더한 버전을 먼저 배포하세요"):
        deploy("prod", run_chalice=False, report=lambda line: None, project_dir=tmp_path)
    # And nothing was changed: no index added, no other table made
    assert [
        d["IndexName"]
        for d in dynamodb.describe_table(TableName=events.name)["Table"]["GlobalSecondaryIndexes"]
    ] == ["department-date-index"]
    assert dynamodb.list_tables()["TableNames"] == [events.name]


def test_monitoring_is_created_and_stays_the_same_on_a_second_run(dynamodb):
    from ops.deploy.steps import ensure_monitoring

    cloudwatch = boto3.client("cloudwatch", region_name=REGION)
    sns = boto3.client("sns", region_name=REGION)
    settings = stage_settings("prod")
    lines: list[str] = []
    topic = ensure_monitoring(
        cloudwatch, sns, settings, "prod", lines.append, alarm_email="ops@example.com"
    )
    alarms = cloudwatch.describe_alarms()["MetricAlarms"]
    assert len(alarms) >= 20
    assert all(alarm["AlarmActions"] == [topic] for alarm in alarms)
    ages = [a for a in alarms if a["MetricName"] == "IteratorAge"]
    assert {a["Dimensions"][0]["Value"] for a in ages} == {
        "department-calendar-prod-on_event_change",
        "department-calendar-prod-on_department_change",
        "department-calendar-prod-on_notification",
    }
    body = json.loads(
        cloudwatch.get_dashboard(DashboardName="department-calendar-prod")["DashboardBody"]
    )
    assert body["widgets"]
    subscriptions = sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]
    assert [s["Endpoint"] for s in subscriptions] == ["ops@example.com"]
    # A second run: the same topic, the same alarms, no second subscription
    assert (
        ensure_monitoring(
            cloudwatch, sns, settings, "prod", lines.append, alarm_email="ops@example.com"
        )
        == topic
    )
    assert len(cloudwatch.describe_alarms()["MetricAlarms"]) == len(alarms)
    assert len(sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]) == 1
