"""Least-privilege IAM policies, derived from the table definitions.

The API role may read and write the department, event and subscription tables, keep the answers
to idempotent creates, and read the audit log, inbox and delivery log; the stream role (the audit
handlers and the delivery functions) may read the streams, write the audit log, inbox and parked
records, keep the delivery log and the subscriptions' health, and send to the failure queue
(Lambda's on-failure destination uses the function's role). Every DynamoDB statement names its
tables: no wildcard action, no "*" resource. The account is left as "*" in the ARNs so one
committed file serves any account; the table names and region pin the resources. On stages
that trace, both roles may also send X-Ray segments: the one "*" resource, as X-Ray's write
actions cannot be scoped.
"""

from typing import Any

from chalicelib.settings import Settings
from chalicelib.tables import TableDefinition, stream_handlers, table_definitions

# Chalice's app_name (app.py, .chalice/config.json): it starts every function's name.
APP_NAME = "department-calendar"
API_ACTIONS = [
    "dynamodb:BatchGetItem",
    "dynamodb:ConditionCheckItem",
    "dynamodb:DeleteItem",
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:Query",
    "dynamodb:Scan",
    "dynamodb:UpdateItem",
]
STREAM_READ_ACTIONS = [
    "dynamodb:DescribeStream",
    "dynamodb:GetRecords",
    "dynamodb:GetShardIterator",
    "dynamodb:ListStreams",
]


TRACING_ACTIONS = ("xray:PutTraceSegments", "xray:PutTelemetryRecords")


def failure_queue_name(stage: str) -> str:
    return f"{APP_NAME}-{stage}-stream-failures"


def _table_arn(settings: Settings, table: str) -> str:
    return f"arn:aws:dynamodb:{settings.region}:*:table/{table}"


def _with_indexes(settings: Settings, definition: TableDefinition) -> list[str]:
    arn = _table_arn(settings, definition.name)
    return [arn] + [f"{arn}/index/{index.name}" for index in definition.indexes]


def _logs(settings: Settings) -> dict[str, Any]:
    return {
        "Sid": "Logs",
        "Effect": "Allow",
        "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
        "Resource": f"arn:aws:logs:{settings.region}:*:log-group:/aws/lambda/{APP_NAME}-*",
    }


def _tracing(enabled: bool) -> list[dict[str, Any]]:
    """Sending trace segments, on stages that trace. X-Ray's write actions have no resource
    types to scope them to, so this is the one statement whose resource is "*"."""
    if not enabled:
        return []
    return [
        {
            "Sid": "Tracing",
            "Effect": "Allow",
            "Action": list(TRACING_ACTIONS),
            "Resource": "*",
        }
    ]


def api_policy(settings: Settings, *, tracing: bool = False) -> dict[str, Any]:
    tables = {d.role: d for d in table_definitions(settings)}
    writable = [
        tables[role]
        for role in ("departments", "events", "department_names", "counters", "subscriptions")
    ]
    readable = [tables[role] for role in ("audit", "notifications", "deliveries")]
    write_resources = []
    for definition in writable:
        arn = _table_arn(settings, definition.name)
        write_resources += [arn] + [f"{arn}/index/{i.name}" for i in definition.indexes]
    read_resources = []
    for definition in readable:
        arn = _table_arn(settings, definition.name)
        read_resources += [arn] + [f"{arn}/index/{i.name}" for i in definition.indexes]
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "CalendarTables",
                "Effect": "Allow",
                "Action": API_ACTIONS,
                "Resource": write_resources,
            },
            {
                # Written inside the create transactions, read back to replay an answer.
                "Sid": "IdempotencyRecords",
                "Effect": "Allow",
                "Action": ["dynamodb:GetItem", "dynamodb:PutItem"],
                "Resource": [_table_arn(settings, tables["idempotency"].name)],
            },
            {
                "Sid": "HistoryAndInbox",
                "Effect": "Allow",
                "Action": ["dynamodb:Query"],
                "Resource": read_resources,
            },
            _logs(settings),
            *_tracing(tracing),
        ],
    }


def schedules_policy(settings: Settings, *, tracing: bool = False) -> dict[str, Any]:
    """The reminder and digest functions: every department (a paged Scan), their events (the
    listing's indexes), and notices put in the inbox."""
    tables = {d.role: d for d in table_definitions(settings)}
    events = tables["events"]
    events_arn = _table_arn(settings, events.name)
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "Departments",
                "Effect": "Allow",
                "Action": ["dynamodb:Scan"],
                "Resource": [_table_arn(settings, tables["departments"].name)],
            },
            {
                "Sid": "Events",
                "Effect": "Allow",
                "Action": ["dynamodb:Query"],
                "Resource": [f"{events_arn}/index/{index.name}" for index in events.indexes],
            },
            {
                "Sid": "Inbox",
                "Effect": "Allow",
                "Action": ["dynamodb:PutItem"],
                "Resource": [_table_arn(settings, tables["notifications"].name)],
            },
            _logs(settings),
            *_tracing(tracing),
        ],
    }


def streams_policy(settings: Settings, stage: str, *, tracing: bool = False) -> dict[str, Any]:
    tables = {d.role: d for d in table_definitions(settings)}
    statements: list[dict[str, Any]] = [
        {
            "Sid": "ReadStreams",
            "Effect": "Allow",
            "Action": STREAM_READ_ACTIONS,
            "Resource": [
                f"{_table_arn(settings, streamed.name)}/stream/*"
                for streamed in stream_handlers(settings).values()
            ],
        },
        {
            "Sid": "WriteAuditAndInbox",
            "Effect": "Allow",
            "Action": ["dynamodb:BatchWriteItem", "dynamodb:PutItem"],
            "Resource": [
                _table_arn(settings, tables[role].name) for role in ("audit", "notifications")
            ],
        },
        {
            "Sid": "ParkedRecords",
            "Effect": "Allow",
            "Action": ["dynamodb:PutItem"],
            "Resource": [_table_arn(settings, tables["failed_records"].name)],
        },
        {
            # The delivery functions: the log (also their work queue, on its due index), the
            # notification each sends, and the subscriptions' health.
            "Sid": "Deliveries",
            "Effect": "Allow",
            "Action": [
                "dynamodb:GetItem",
                "dynamodb:PutItem",
                "dynamodb:Query",
                "dynamodb:UpdateItem",
            ],
            "Resource": [
                arn
                for role in ("deliveries", "subscriptions", "notifications")
                for arn in _with_indexes(settings, tables[role])
            ],
        },
        {
            "Sid": "FailureDestination",
            "Effect": "Allow",
            "Action": ["sqs:SendMessage"],
            "Resource": f"arn:aws:sqs:{settings.region}:*:{failure_queue_name(stage)}",
        },
        _logs(settings),
        *_tracing(tracing),
    ]
    if settings.notify_webhook_secret_parameter:
        name = settings.notify_webhook_secret_parameter
        statements.append(
            {
                # The configured webhook's signing secret (a SecureString under aws/ssm).
                "Sid": "WebhookSecret",
                "Effect": "Allow",
                "Action": ["ssm:GetParameter"],
                "Resource": f"arn:aws:ssm:{settings.region}:*:parameter/{name.lstrip('/')}",
            }
        )
    if settings.notify_sns_topic_arn:
        statements.append(
            {
                "Sid": "Notify",
                "Effect": "Allow",
                "Action": ["sns:Publish"],
                "Resource": settings.notify_sns_topic_arn,
            }
        )
    return {"Version": "2012-10-17", "Statement": statements}
