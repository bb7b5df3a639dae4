"""`manage.py backup --stage STAGE [--list]`: on-demand backups of every project table."""

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from chalicelib.dynamo import DynamoDBClient
from chalicelib.settings import Settings
from chalicelib.tables import table_definitions

Report = Callable[[str], None]


def backup_name(stage: str, table: str, moment: datetime) -> str:
    # Backup names allow [a-zA-Z0-9_.-], up to 255 characters.
    return f"{stage}-{table}-{moment.astimezone(UTC):%Y%m%dT%H%M%SZ}"


def create_backups(
    client: DynamoDBClient,
    settings: Settings,
    stage: str,
    report: Report = print,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> list[str]:
    """One on-demand backup per table, all named with the stage and the same UTC time."""
    moment = now()
    arns = []
    for definition in table_definitions(settings):
        name = backup_name(stage, definition.name, moment)
        details = client.create_backup(TableName=definition.name, BackupName=name)
        arns.append(details["BackupDetails"]["BackupArn"])
        report(f"✓ {definition.name}: 백업 {name}")
    return arns


def list_backups(client: DynamoDBClient, settings: Settings, report: Report = print) -> int:
    """Every backup of the stage's tables, newest first. Returns how many."""
    rows: list[dict[str, Any]] = []
    for definition in table_definitions(settings):
        params: dict[str, Any] = {"TableName": definition.name, "BackupType": "ALL"}
        while True:
            response = client.list_backups(**params)
            rows += [dict(summary) for summary in response.get("BackupSummaries", [])]
            if "LastEvaluatedBackupArn" not in response:
                break
            params["ExclusiveStartBackupArn"] = response["LastEvaluatedBackupArn"]
    rows.sort(key=lambda row: row["BackupCreationDateTime"], reverse=True)
    for row in rows:
        created = row["BackupCreationDateTime"].astimezone(UTC).strftime("%Y-%m-%d %H:%M:%SZ")
        size = row.get("BackupSizeBytes")
        report(
            f"{created}  {row['TableName']:<34} {row['BackupName']}  {row['BackupStatus']}"
            + (f"  {size} bytes" if size is not None else "")
        )
    if not rows:
        report("백업이 없습니다.")
    return len(rows)
