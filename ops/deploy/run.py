"""`make deploy STAGE=…`: tables, stream ARNs, `chalice deploy`, stream mapping settings."""

import shutil
import subprocess
import sys
from pathlib import Path

import boto3

from chalicelib.dynamo import CLIENT_CONFIG, make_client
from ops.deploy.stage import PROJECT_DIR, load_config, stage_settings
from ops.deploy.steps import (
    Report,
    configure_stream_mappings,
    deployed_stream_mappings,
    failure_queue,
    prepare_tables,
    record_stream_arns,
)
from ops.deploy.write_policies import write_policies


def deploy(stage: str, *, run_chalice: bool = True, report: Report = print) -> None:
    settings = stage_settings(stage, load_config())
    session = boto3.session.Session()
    dynamodb = make_client(settings)
    sqs = session.client("sqs", region_name=settings.region, config=CLIENT_CONFIG)
    lambda_client = session.client("lambda", region_name=settings.region, config=CLIENT_CONFIG)

    for path in write_policies((stage,)):
        report(f"✓ {path.relative_to(PROJECT_DIR)}: IAM 정책을 갱신했습니다.")
    prepare_tables(dynamodb, settings, stage, report)
    record_stream_arns(dynamodb, settings, stage, report)
    queue_arn = failure_queue(sqs, stage, report)
    if run_chalice:
        chalice = shutil.which("chalice", path=str(Path(sys.executable).parent)) or "chalice"
        subprocess.run([chalice, "deploy", "--stage", stage], cwd=PROJECT_DIR, check=True)
    configure_stream_mappings(lambda_client, deployed_stream_mappings(stage), queue_arn, report)
