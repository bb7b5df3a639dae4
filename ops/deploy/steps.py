"""The steps `make deploy` runs around `chalice deploy`; each is idempotent.

(a) tables: create or adopt (create-tables), point-in-time recovery on, deletion protection
    on in prod;
(b) stream ARNs into the stage's environment in .chalice/config.json;
(c) `chalice deploy --stage` (run by the caller);
(d) every event source mapping Chalice recorded in .chalice/deployed/<stage>.json configured
    with what Chalice cannot set: ReportBatchItemFailures (without it Lambda ignores the
    handlers' batchItemFailures and drops failed records), bisect on error, bounded retries
    and record age, an encrypted SQS queue as the on-failure destination, and a
    ParallelizationFactor (order is kept per item);
(e) what this version replaced, finished off once its functions are in (ops/deploy/replaced.py).
"""

import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from chalicelib.delivery import SCHEDULED
from chalicelib.dynamo import DynamoDBClient
from chalicelib.settings import Settings
from chalicelib.tables import stream_handlers, table_definitions
from ops.create_tables import ensure_tables, wait_until_active
from ops.deploy.policies import APP_NAME, failure_queue_name
from ops.deploy.stage import PROJECT_DIR, write_stream_arns

if TYPE_CHECKING:
    from mypy_boto3_lambda import LambdaClient
    from mypy_boto3_sqs import SQSClient
else:
    LambdaClient = SQSClient = Any

Report = Callable[[str], None]

MAXIMUM_RETRY_ATTEMPTS = 5
MAXIMUM_RECORD_AGE_SECONDS = 6 * 3600  # streams keep 24 h; give up on a record well before
FAILURE_QUEUE_RETENTION_SECONDS = 14 * 24 * 3600


# Batches of one shard processed at once: the most AWS allows, so a busy shard no longer waits
# batch by batch. Lambda keeps the records of one item (partition and sort key) in order within
# one of these concurrent streams of batches, and nothing the handlers write depends on the
# order of different items: every audit entry, inbox item and delivery is keyed by its own
# stream record or notification and written idempotently or under a condition.
PARALLELIZATION_FACTOR = 10


def mapping_settings(queue_arn: str) -> dict[str, Any]:
    """What every stream mapping must have (also used for the packaged template)."""
    return {
        "FunctionResponseTypes": ["ReportBatchItemFailures"],
        "BisectBatchOnFunctionError": True,
        "MaximumRetryAttempts": MAXIMUM_RETRY_ATTEMPTS,
        "MaximumRecordAgeInSeconds": MAXIMUM_RECORD_AGE_SECONDS,
        "ParallelizationFactor": PARALLELIZATION_FACTOR,
        "DestinationConfig": {"OnFailure": {"Destination": queue_arn}},
    }


def prepare_tables(
    client: DynamoDBClient, settings: Settings, stage: str, report: Report = print
) -> None:
    """(a) Tables exist and stream; point-in-time recovery on; deletion protection in prod."""
    definitions = table_definitions(settings)
    ensure_tables(client, definitions, report)
    for definition in definitions:
        backups = client.describe_continuous_backups(TableName=definition.name)
        recovery = backups["ContinuousBackupsDescription"].get("PointInTimeRecoveryDescription", {})
        if recovery.get("PointInTimeRecoveryStatus") != "ENABLED":
            client.update_continuous_backups(
                TableName=definition.name,
                PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True},
            )
            report(f"✓ {definition.name}: 특정 시점 복구(PITR)를 켰습니다.")
        if stage == "prod":
            table = client.describe_table(TableName=definition.name)["Table"]
            if not table.get("DeletionProtectionEnabled"):
                client.update_table(TableName=definition.name, DeletionProtectionEnabled=True)
                wait_until_active(client, definition.name)
                report(f"✓ {definition.name}: 삭제 방지를 켰습니다.")


def record_stream_arns(
    client: DynamoDBClient,
    settings: Settings,
    stage: str,
    report: Report = print,
    config_path: Path | None = None,
) -> dict[str, str]:
    """(b) The tables' current stream ARNs, written to the stage's environment variables."""
    arns = {}
    for streamed in stream_handlers(settings).values():
        description = client.describe_table(TableName=streamed.name)["Table"]
        arns[streamed.role] = description["LatestStreamArn"]
    kwargs = {} if config_path is None else {"path": config_path}
    if write_stream_arns(stage, arns, **kwargs):
        report(f"✓ .chalice/config.json ({stage}): 스트림 ARN을 기록했습니다.")
    return arns


def failure_queue(sqs: SQSClient, stage: str, report: Report = print) -> str:
    """The stage's on-failure queue (SSE on), created if missing. Returns its ARN."""
    name = failure_queue_name(stage)
    attributes = {
        "SqsManagedSseEnabled": "true",
        "MessageRetentionPeriod": str(FAILURE_QUEUE_RETENTION_SECONDS),
    }
    try:
        url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
    except sqs.exceptions.QueueDoesNotExist:
        url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]  # type: ignore[arg-type]
        report(f"✓ SQS {name}: 실패한 스트림 레코드를 받을 큐를 만들었습니다.")
    response = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])
    current: dict[str, str] = {str(k): v for k, v in response["Attributes"].items()}
    if any(current.get(key) != value for key, value in attributes.items()):
        sqs.set_queue_attributes(QueueUrl=url, Attributes=attributes)  # type: ignore[arg-type]
        report(f"✓ SQS {name}: 암호화와 보관 기간을 맞췄습니다.")
    return current["QueueArn"]


def deployed_stream_mappings(stage: str, project_dir: Path = PROJECT_DIR) -> list[dict[str, Any]]:
    """The DynamoDB event sources Chalice recorded for the stage."""
    path = project_dir / ".chalice" / "deployed" / f"{stage}.json"
    deployed = json.loads(path.read_text(encoding="utf-8"))
    return [r for r in deployed.get("resources", []) if r.get("resource_type") == "dynamodb_event"]


def configure_stream_mappings(
    lambda_client: LambdaClient,
    mappings: list[dict[str, Any]],
    queue_arn: str,
    report: Report = print,
) -> int:
    """(d) Give each mapping the settings Chalice cannot; returns how many were changed."""
    wanted = mapping_settings(queue_arn)
    changed = 0
    for mapping in mappings:
        uuid = mapping["event_uuid"]
        current = lambda_client.get_event_source_mapping(UUID=uuid)
        differs = {key: value for key, value in wanted.items() if _current(current, key) != value}
        if not differs:
            continue
        lambda_client.update_event_source_mapping(UUID=uuid, **wanted)
        changed += 1
        report(f"✓ {mapping['name']}: {', '.join(sorted(differs))} 설정")
    if not changed:
        report(f"✓ 스트림 매핑 {len(mappings)}개: 이미 올바르게 설정되어 있습니다.")
    return changed


def _current(mapping: Any, key: str) -> Any:
    value = mapping.get(key)
    if key == "DestinationConfig" and value:
        return {"OnFailure": {"Destination": value.get("OnFailure", {}).get("Destination")}}
    return value


def ensure_monitoring(
    cloudwatch: Any,
    sns: Any,
    settings: Settings,
    stage: str,
    report: Report = print,
    *,
    alarm_email: str | None = None,
) -> str:
    """The alarm topic (with an optional e-mail subscription), every alarm and the dashboard,
    created or brought up to date (PutMetricAlarm and PutDashboard replace in place).
    Returns the topic's ARN."""
    from ops.deploy.monitoring import Names, alarms, dashboard_body
    from ops.deploy.stage import load_config

    topic = sns.create_topic(  # returns the existing topic when it is there
        Name=f"{APP_NAME}-{stage}-alarms",
        Attributes={"KmsMasterKeyId": "alias/aws/sns"},
    )["TopicArn"]
    if alarm_email:
        subscribed = sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]
        if not any(s.get("Endpoint") == alarm_email for s in subscribed):
            sns.subscribe(TopicArn=topic, Protocol="email", Endpoint=alarm_email)
            report(f"✓ 경보 메일 구독을 요청했습니다: {alarm_email} (메일에서 확인하세요)")
    functions = f"{APP_NAME}-{stage}"
    names = Names(
        api_function=functions,
        stream_functions={h: f"{functions}-{h}" for h in stream_handlers(settings)},
        scheduled_functions={name: f"{functions}-{name}" for name in SCHEDULED},
        failure_queue=failure_queue_name(stage),
        api_name=APP_NAME,
        api_stage=load_config()["stages"][stage].get("api_gateway_stage", "api"),
        alarm_topic=topic,
    )
    defined = alarms(settings, stage, names)
    for alarm in defined.values():
        cloudwatch.put_metric_alarm(**alarm)
    body = "".join(str(part) for part in dashboard_body(settings, names, settings.region))
    dashboard = f"{APP_NAME}-{stage}"
    cloudwatch.put_dashboard(DashboardName=dashboard, DashboardBody=body)
    report(f"✓ 경보 {len(defined)}개와 대시보드 {dashboard}를 맞췄습니다.")
    return str(topic)
