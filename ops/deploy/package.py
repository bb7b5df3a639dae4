"""`make package`: `chalice package` merged with what Chalice cannot express.

The merge template adds the tables (built from the same definitions as create-tables and the
tests), wires each stream handler to its table's stream with Fn::GetAtt, gives the mappings the
same settings `make deploy` sets (ReportBatchItemFailures, bisect, bounded retries and age, an
encrypted on-failure queue), and adds that queue. API Gateway's own error answers (a path no route
has, ...) get the app's JSON error shape (ops/gateway.py).
"""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from chalicelib.delivery import SCHEDULED
from chalicelib.settings import Settings
from chalicelib.tables import TableDefinition, stream_handlers, table_definitions
from ops.deploy.monitoring import DEFAULT_ITERATOR_AGE_MS, Names, alarms, dashboard_body
from ops.deploy.package_inputs import package_inputs
from ops.deploy.policies import APP_NAME, failure_queue_name
from ops.deploy.stage import PROJECT_DIR, load_config, stage_settings, stage_traces
from ops.deploy.steps import FAILURE_QUEUE_RETENTION_SECONDS, mapping_settings
from ops.deploy.write_policies import write_policies
from ops.gateway import gateway_responses

QUEUE = "StreamFailureQueue"


# The functions that read the department inbox, updated before the one that writes it: a
# previous version reading an item of this one's (spread, tables.inbox_item) would take its
# partition for the department.
INBOX_READERS = ("on_notification", "deliver_due")
INBOX_WRITER = "on_event_change"


def table_logical_id(definition: TableDefinition) -> str:
    return "".join(part.capitalize() for part in definition.role.split("_")) + "Table"


def table_resource(
    definition: TableDefinition, stage: str, *, keep_retired: bool = False
) -> dict[str, Any]:
    properties = definition.create_table_request(with_retired=keep_retired)
    if "StreamSpecification" in properties:  # CloudFormation takes only the view type
        properties["StreamSpecification"] = {
            "StreamViewType": properties["StreamSpecification"]["StreamViewType"]
        }
    if definition.ttl_attribute is not None:
        properties["TimeToLiveSpecification"] = {
            "AttributeName": definition.ttl_attribute,
            "Enabled": True,
        }
    properties["PointInTimeRecoverySpecification"] = {"PointInTimeRecoveryEnabled": True}
    properties["DeletionProtectionEnabled"] = stage == "prod"
    return {
        "Type": "AWS::DynamoDB::Table",
        # Data outlives the stack: deleting or replacing it never drops a table.
        "DeletionPolicy": "Retain",
        "UpdateReplacePolicy": "Retain",
        "Properties": properties,
    }


def merge_template(settings: Settings, stage: str, *, keep_retired: bool = False) -> dict[str, Any]:
    """`keep_retired`: the tables keep the indexes this version replaced. CloudFormation
    creates or deletes one index per table and update, so a stack made from an earlier template
    is updated with them kept first (adding the new ones), then without."""
    definitions = {d.role: d for d in table_definitions(settings)}
    resources: dict[str, Any] = {
        table_logical_id(d): table_resource(d, stage, keep_retired=keep_retired)
        for d in definitions.values()
    }
    resources[QUEUE] = {
        "Type": "AWS::SQS::Queue",
        "Properties": {
            "QueueName": failure_queue_name(stage),
            "SqsManagedSseEnabled": True,
            "MessageRetentionPeriod": FAILURE_QUEUE_RETENTION_SECONDS,
        },
    }
    queue_arn = {"Fn::GetAtt": [QUEUE, "Arn"]}
    for handler, streamed in stream_handlers(settings).items():
        function = _camel(handler)  # Chalice's logical id for the handler's function
        settings_for_mapping = mapping_settings("placeholder")
        settings_for_mapping["DestinationConfig"] = {
            "OnFailure": {"Type": "SQS", "Destination": queue_arn}
        }
        table = table_logical_id(streamed)
        resources[function] = {
            "Properties": {
                "Events": {
                    f"{function}DynamodbEventSource": {
                        "Properties": {
                            "Stream": {"Fn::GetAtt": [table, "StreamArn"]},
                            **settings_for_mapping,
                        }
                    }
                }
            }
        }
    # CloudFormation updates resources that depend on nothing side by side: the inbox's writer
    # waits for its readers, as `chalice deploy` has it by their order in app.py.
    resources[_camel(INBOX_WRITER)]["DependsOn"] = [_camel(name) for name in INBOX_READERS]
    resources.update(monitoring_resources(settings, stage))
    # In the API definition, not as AWS::ApiGateway::GatewayResponse resources: the stage only
    # serves what a deployment took along, and SAM deploys when the definition changes, so
    # separate resources would reach the stage with some later deployment, if ever.
    rest_api: dict[str, Any] = {
        "DefinitionBody": {"x-amazon-apigateway-gateway-responses": gateway_responses(settings)}
    }
    if stage_traces(load_config(), stage):
        # Chalice marks the functions Tracing: Active but leaves the API out of the template;
        # with the API stage traced too, a trace starts at API Gateway (as `chalice deploy` has it).
        rest_api["TracingEnabled"] = True
    resources["RestAPI"] = {"Properties": rest_api}
    return {
        "Parameters": {
            "AlarmEmail": {
                "Type": "String",
                "Default": "",
                "Description": "An e-mail address to subscribe to the alarm topic (optional)",
            },
            "IteratorAgeThresholdMs": {
                "Type": "Number",
                "Default": DEFAULT_ITERATOR_AGE_MS,
                "Description": "Alarm when a stream handler's IteratorAge exceeds this (ms)",
            },
        },
        "Conditions": {"HasAlarmEmail": {"Fn::Not": [{"Fn::Equals": [{"Ref": "AlarmEmail"}, ""]}]}},
        "Resources": resources,
    }


def monitoring_resources(settings: Settings, stage: str) -> dict[str, Any]:
    """The alarm topic (and optional e-mail subscription), the alarms and the dashboard."""
    names = Names(
        api_function={"Ref": "APIHandler"},
        stream_functions={h: {"Ref": _camel(h)} for h in stream_handlers(settings)},
        scheduled_functions={name: {"Ref": _camel(name)} for name in SCHEDULED},
        failure_queue={"Fn::GetAtt": [QUEUE, "QueueName"]},
        api_name=APP_NAME,
        api_stage=load_config()["stages"][stage].get("api_gateway_stage", "api"),
        alarm_topic={"Ref": "AlarmTopic"},
        iterator_age_ms={"Ref": "IteratorAgeThresholdMs"},
    )
    resources: dict[str, Any] = {
        "AlarmTopic": {
            "Type": "AWS::SNS::Topic",
            "Properties": {"KmsMasterKeyId": "alias/aws/sns"},
        },
        "AlarmEmailSubscription": {
            "Type": "AWS::SNS::Subscription",
            "Condition": "HasAlarmEmail",
            "Properties": {
                "Protocol": "email",
                "Endpoint": {"Ref": "AlarmEmail"},
                "TopicArn": {"Ref": "AlarmTopic"},
            },
        },
        "Dashboard": {
            "Type": "AWS::CloudWatch::Dashboard",
            "Properties": {
                "DashboardName": f"{APP_NAME}-{stage}",
                "DashboardBody": {
                    "Fn::Join": ["", dashboard_body(settings, names, {"Ref": "AWS::Region"})]
                },
            },
        },
    }
    for key, alarm in alarms(settings, stage, names).items():
        resources[_camel(key.replace("-", "_")) + "Alarm"] = {
            "Type": "AWS::CloudWatch::Alarm",
            "Properties": alarm,
        }
    return resources


def _camel(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_"))


def package(stage: str, out_dir: Path, *, keep_retired: bool = False) -> Path:
    """Write out_dir/sam.json and out_dir/deployment.zip. Returns the template's path."""
    write_policies((stage,))
    settings = stage_settings(stage, load_config())
    out_dir.mkdir(parents=True, exist_ok=True)
    merge_path = out_dir / "merge-template.json"
    template = merge_template(settings, stage, keep_retired=keep_retired)
    merge_path.write_text(json.dumps(template, indent=2), encoding="utf-8")
    chalice = shutil.which("chalice", path=str(Path(sys.executable).parent)) or "chalice"
    with package_inputs():
        subprocess.run(
            [
                chalice,
                "package",
                "--stage",
                stage,
                "--merge-template",
                str(merge_path),
                str(out_dir),
            ],
            cwd=PROJECT_DIR,
            check=True,
            env=_with_region(settings),
        )
    return out_dir / "sam.json"


def _with_region(settings: Settings) -> dict[str, str]:
    return {**os.environ, "AWS_DEFAULT_REGION": settings.region}
