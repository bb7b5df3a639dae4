"""manage.py backup: on-demand backups of every project table, against moto."""

from datetime import UTC, datetime

from chalicelib.tables import table_definitions
from ops.backup import create_backups, list_backups
from ops.deploy.stage import stage_settings
from ops.deploy.steps import prepare_tables


def test_every_table_of_the_stage_is_backed_up_with_the_stage_and_utc_time(dynamodb):
    settings = stage_settings("prod")
    prepare_tables(dynamodb, settings, "prod", lambda line: None)
    lines: list[str] = []
    moment = datetime(2024, 6, 1, 9, 30, 0, tzinfo=UTC)
    arns = create_backups(dynamodb, settings, "prod", lines.append, now=lambda: moment)
    tables = [d.name for d in table_definitions(settings)]
    assert len(arns) == len(tables)
    assert lines[0] == "✓ departments: 백업 prod-departments-20240601T093000Z"
    names = {
        summary["BackupName"]
        for table in tables
        for summary in dynamodb.list_backups(TableName=table)["BackupSummaries"]
    }
    assert names == {f"prod-{table}-20240601T093000Z" for table in tables}
    listed: list[str] = []
    assert list_backups(dynamodb, settings, listed.append) == len(tables)
    assert any("prod-events-20240601T093000Z" in line for line in listed)


def test_listing_without_backups_says_so(dynamodb):
    settings = stage_settings("dev")
    prepare_tables(dynamodb, settings, "dev", lambda line: None)
    lines: list[str] = []
    assert list_backups(dynamodb, settings, lines.append) == 0
    assert lines == ["백업이 없습니다."]
