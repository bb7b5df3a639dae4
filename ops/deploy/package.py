"""`make package`: `chalice package` merged with what Chalice cannot express.

The merge template adds the tables (built from the same definitions as create-tables and the
tests), wires each stream handler to its table's stream with Fn::GetAtt, gives the mappings the
same settings `make deploy` sets (ReportBatchItemFailures, bisect, bounded retries and age, an
encrypted on-failure queue), and adds that queue.
"""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from chalicelib.settings import Settings
from chalicelib.tables import TableDefinition, table_definitions
from ops.deploy.policies import failure_queue_name
from ops.deploy.stage import PROJECT_DIR, load_config, stage_settings
from ops.deploy.steps import FAILURE_QUEUE_RETENTION_SECONDS, mapping_settings
from ops.deploy.write_policies import write_policies

# Chalice's logical ids for the stream handlers (CamelCase of their names) and their tables.
STREAM_HANDLERS = {"OnEventChange": "events", "OnDepartmentChange": "departments"}
QUEUE = "StreamFailureQueue"


def table_logical_id(definition: TableDefinition) -> str:
    return "".join(part.capitalize() for part in definition.role.split("_")) + "Table"


def table_resource(definition: TableDefinition, stage: str) -> dict[str, Any]:
    properties = definition.create_table_request()
    if "StreamSpecification" in properties:  # CloudFormation takes only the view type
        properties["StreamSpecification"] = {
            "StreamViewType": properties["StreamSpecification"]["StreamViewType"]
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


def merge_template(settings: Settings, stage: str) -> dict[str, Any]:
    definitions = {d.role: d for d in table_definitions(settings)}
    resources: dict[str, Any] = {
        table_logical_id(d): table_resource(d, stage) for d in definitions.values()
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
    for function, role in STREAM_HANDLERS.items():
        settings_for_mapping = mapping_settings("placeholder")
        settings_for_mapping["DestinationConfig"] = {
            "OnFailure": {"Type": "SQS", "Destination": queue_arn}
        }
        table = table_logical_id(definitions[role])
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
    return {"Resources": resources}


def package(stage: str, out_dir: Path) -> Path:
    """Write out_dir/sam.json and out_dir/deployment.zip. Returns the template's path."""
    write_policies((stage,))
    settings = stage_settings(stage, load_config())
    out_dir.mkdir(parents=True, exist_ok=True)
    merge_path = out_dir / "merge-template.json"
    merge_path.write_text(json.dumps(merge_template(settings, stage), indent=2), encoding="utf-8")
    chalice = shutil.which("chalice", path=str(Path(sys.executable).parent)) or "chalice"
    subprocess.run(
        [chalice, "package", "--stage", stage, "--merge-template", str(merge_path), str(out_dir)],
        cwd=PROJECT_DIR,
        check=True,
        env=_with_region(settings),
    )
    return out_dir / "sam.json"


def _with_region(settings: Settings) -> dict[str, str]:
    return {**os.environ, "AWS_DEFAULT_REGION": settings.region}
