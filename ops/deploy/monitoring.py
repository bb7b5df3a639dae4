"""Alarms and the dashboard, described once for both paths.

`make package` puts them in the template (names as Ref / Fn::GetAtt); `make deploy` creates or
updates them with PutMetricAlarm / PutDashboard (names resolved). Everything alarms to one SNS
topic, which an operator can subscribe an e-mail address to.
"""

import json
from dataclasses import dataclass, field
from typing import Any

from chalicelib.observability import SERVICE
from chalicelib.settings import Settings
from chalicelib.tables import table_definitions
from ops.deploy.policies import APP_NAME

METRICS_NAMESPACE = "DepartmentCalendar"
DEFAULT_ITERATOR_AGE_MS = 60_000
API_5XX_RATE = 0.05


@dataclass(frozen=True)
class Names:
    """How each resource is named: a literal string (deploy) or a CloudFormation reference."""

    api_function: Any
    stream_functions: dict[str, Any]  # handler name → function name
    failure_queue: Any
    api_name: Any
    api_stage: Any
    alarm_topic: Any
    iterator_age_ms: Any = DEFAULT_ITERATOR_AGE_MS
    # Scheduled functions (the delivery sweeper): errors and throttles are watched like the rest.
    scheduled_functions: dict[str, Any] = field(default_factory=dict)


def alarms(settings: Settings, stage: str, names: Names) -> dict[str, dict[str, Any]]:
    """Alarm id → PutMetricAlarm parameters (the same names CloudFormation uses)."""
    prefix = f"{APP_NAME}-{stage}"
    result: dict[str, dict[str, Any]] = {}

    def alarm(key: str, description: str, **metric: Any) -> None:
        result[key] = {
            "AlarmName": f"{prefix}-{key}",
            "AlarmDescription": description,
            "ComparisonOperator": "GreaterThanThreshold",
            "EvaluationPeriods": 1,
            "TreatMissingData": "notBreaching",
            "AlarmActions": [names.alarm_topic],
            **metric,
        }

    for handler, function in names.stream_functions.items():
        alarm(
            f"{handler}-iterator-age",
            "Stream processing is falling behind",
            Namespace="AWS/Lambda",
            MetricName="IteratorAge",
            Dimensions=[{"Name": "FunctionName", "Value": function}],
            Statistic="Maximum",
            Period=60,
            EvaluationPeriods=5,
            Threshold=names.iterator_age_ms,
        )
    functions = {"api": names.api_function, **names.stream_functions, **names.scheduled_functions}
    for handler, function in functions.items():
        for metric in ("Errors", "Throttles"):
            alarm(
                f"{handler}-{metric.lower()}",
                f"Lambda {metric.lower()} in {handler}",
                Namespace="AWS/Lambda",
                MetricName=metric,
                Dimensions=[{"Name": "FunctionName", "Value": function}],
                Statistic="Sum",
                Period=300,
                Threshold=0,
            )
    alarm(
        "failure-queue",
        "Stream records gave up on and sent to the failure queue",
        Namespace="AWS/SQS",
        MetricName="ApproximateNumberOfMessagesVisible",
        Dimensions=[{"Name": "QueueName", "Value": names.failure_queue}],
        Statistic="Maximum",
        Period=300,
        Threshold=0,
    )
    alarm(
        "parked-records",
        "Stream records that can never be processed were parked (events-failed-records)",
        Namespace=METRICS_NAMESPACE,
        MetricName="RecordsParked",
        Dimensions=[{"Name": "service", "Value": SERVICE}],
        Statistic="Sum",
        Period=300,
        Threshold=0,
    )
    alarm(
        "api-5xx",
        "More than 5% of API requests answered 5xx",
        Namespace="AWS/ApiGateway",
        MetricName="5XXError",
        Dimensions=[
            {"Name": "ApiName", "Value": names.api_name},
            {"Name": "Stage", "Value": names.api_stage},
        ],
        Statistic="Average",
        Period=300,
        Threshold=API_5XX_RATE,
    )
    for definition in table_definitions(settings):
        for metric in ("ReadThrottleEvents", "WriteThrottleEvents"):
            alarm(
                f"{definition.role.replace('_', '-')}-{metric[:-6].lower()}s",
                f"DynamoDB throttled {definition.name}",
                Namespace="AWS/DynamoDB",
                MetricName=metric,
                Dimensions=[{"Name": "TableName", "Value": definition.name}],
                Statistic="Sum",
                Period=300,
                Threshold=0,
            )
    return result


def dashboard_body(settings: Settings, names: Names, region: Any) -> list[Any]:
    """The dashboard's JSON as a list of parts to join (parts may be references)."""

    def metric(namespace: str, name: str, *dimensions: Any, stat: str = "Sum") -> list[Any]:
        return [namespace, name, *dimensions, {"stat": stat}]

    def widget(title: str, metrics: list[list[Any]]) -> dict[str, Any]:
        return {
            "type": "metric",
            "width": 12,
            "height": 6,
            "properties": {"title": title, "metrics": metrics, "region": "REGION", "period": 300},
        }

    api = ["ApiName", "API", "Stage", "STAGE"]
    widgets = [
        widget(
            "API requests, errors",
            [
                metric("AWS/ApiGateway", "Count", *api),
                metric("AWS/ApiGateway", "4XXError", *api),
                metric("AWS/ApiGateway", "5XXError", *api),
            ],
        ),
        widget(
            "API latency (p50, p95)",
            [
                metric("AWS/ApiGateway", "Latency", *api, stat="p50"),
                metric("AWS/ApiGateway", "Latency", *api, stat="p95"),
            ],
        ),
        widget(
            "Stream lag (IteratorAge, ms)",
            [
                metric("AWS/Lambda", "IteratorAge", "FunctionName", f"FN_{h}", stat="Maximum")
                for h in names.stream_functions
            ],
        ),
        widget(
            "Stream records",
            [
                metric(METRICS_NAMESPACE, m, "service", SERVICE)
                for m in ("RecordsProcessed", "RecordsFailed", "RecordsParked")
            ],
        ),
        widget(
            "DynamoDB consumed capacity",
            [
                metric("AWS/DynamoDB", m, "TableName", d.name)
                for d in table_definitions(settings)
                for m in ("ConsumedReadCapacityUnits", "ConsumedWriteCapacityUnits")
            ],
        ),
        widget(
            "DynamoDB throttles",
            [
                metric("AWS/DynamoDB", m, "TableName", d.name)
                for d in table_definitions(settings)
                for m in ("ReadThrottleEvents", "WriteThrottleEvents")
            ],
        ),
    ]
    text = json.dumps({"widgets": widgets})
    # Splice the references in where the placeholders stand.
    parts: list[Any] = [text]
    replacements = {
        '"REGION"': region,
        '"API"': names.api_name,
        '"STAGE"': names.api_stage,
        **{f'"FN_{h}"': f for h, f in names.stream_functions.items()},
    }
    for placeholder, value in replacements.items():
        spliced: list[Any] = []
        for part in parts:
            if not isinstance(part, str):
                spliced.append(part)
                continue
            pieces = part.split(placeholder)
            for i, piece in enumerate(pieces):
                if i:
                    spliced += ['"', value, '"']
                spliced.append(piece)
        parts = spliced
    return parts
