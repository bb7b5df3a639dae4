"""`make deploy STAGE=…`: tables, stream ARNs, `chalice deploy`, stream mapping settings, then
what this version replaced."""

import os
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import boto3

from chalicelib.dynamo import CLIENT_CONFIG, make_client
from ops.calendar_backfill import check_upgrade_order
from ops.deploy.package_inputs import package_inputs
from ops.deploy.replaced import finish_replacements
from ops.deploy.stage import PROJECT_DIR, load_config, stage_settings
from ops.deploy.steps import (
    Report,
    configure_stream_mappings,
    deployed_stream_mappings,
    ensure_monitoring,
    failure_queue,
    prepare_tables,
    record_stream_arns,
)
from ops.deploy.write_policies import write_policies


def deploy(
    stage: str,
    *,
    run_chalice: bool = True,
    report: Report = print,
    project_dir: Path = PROJECT_DIR,
) -> None:
    config_path = project_dir / ".chalice" / "config.json"
    settings = stage_settings(stage, load_config(config_path))
    session = boto3.session.Session()
    dynamodb = make_client(settings)
    sqs = session.client("sqs", region_name=settings.region, config=CLIENT_CONFIG)
    lambda_client = session.client("lambda", region_name=settings.region, config=CLIENT_CONFIG)
    cloudwatch = session.client("cloudwatch", region_name=settings.region, config=CLIENT_CONFIG)
    sns = session.client("sns", region_name=settings.region, config=CLIENT_CONFIG)

    check_upgrade_order(dynamodb, settings)
    for path in write_policies((stage,)):
        report(f"✓ {path.relative_to(PROJECT_DIR)}: IAM 정책을 갱신했습니다.")
    prepare_tables(dynamodb, settings, stage, report)
    record_stream_arns(dynamodb, settings, stage, report, config_path=config_path)
    queue_arn = failure_queue(sqs, stage, report)
    if run_chalice:
        chalice = shutil.which("chalice", path=str(Path(sys.executable).parent)) or "chalice"
        # botocore reads AWS_DEFAULT_REGION, not AWS_REGION: the functions must land in the
        # region of the tables whose streams they read.
        environment = {**os.environ, "AWS_DEFAULT_REGION": settings.region}
        with package_inputs(project_dir) as build:
            subprocess.run(
                [chalice, "deploy", "--stage", stage], cwd=project_dir, check=True, env=environment
            )
        report(f"✓ 배포한 버전: {build.describe()} (/api/health가 알려 줍니다)")
    if not (project_dir / ".chalice" / "deployed" / f"{stage}.json").exists():
        report(f"⚠ .chalice/deployed/{stage}.json이 없습니다: chalice deploy 뒤에 다시 실행하세요.")
        return
    mappings = deployed_stream_mappings(stage, project_dir)
    configure_stream_mappings(lambda_client, mappings, queue_arn, report)
    finish_replacements(dynamodb, settings, datetime.now(UTC), report)
    ensure_monitoring(
        cloudwatch, sns, settings, stage, report, alarm_email=os.environ.get("ALARM_EMAIL")
    )
