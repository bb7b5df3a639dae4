"""Data the local stack loads into a new database: the sample data of `data/`, or, once, the
snapshot an earlier version of the stack saved in its data folder.

A folder in the legacy shape (departments.json, events.json) goes through the migration, so
names are claimed and counters built; a snapshot's audit.jsonl and notifications.jsonl are
written back as they were.
"""

from pathlib import Path

from chalicelib.context import Context
from chalicelib.dynamo import BATCH_WRITE_LIMIT, batch_write, to_item
from ops.export import read_json_lines
from ops.migration.run import migrate

SNAPSHOT_FILES = ("departments.json", "events.json", "audit.jsonl", "notifications.jsonl")
IMPORTED_DIR = "imported-snapshot"


def has_snapshot(folder: Path) -> bool:
    """An earlier version's saved data (it kept the stack's data as files, not a database)."""
    return (folder / "departments.json").exists() and (folder / "events.json").exists()


def load(context: Context, folder: Path) -> tuple[int, int]:
    """Everything in `folder` into the tables. Returns (departments, events) loaded."""
    outcome = migrate(
        context.client,
        context.settings,
        departments_path=folder / "departments.json",
        events_path=folder / "events.json",
        out=lambda line: None,
        progress=False,
    )
    settings = context.settings
    for name, table in (
        ("audit.jsonl", settings.audit_table),
        ("notifications.jsonl", settings.notifications_table),
    ):
        path = folder / name
        if path.exists():
            _put_lines(context, table, path)
    return outcome.departments.migrated, outcome.events.migrated


def set_snapshot_aside(folder: Path) -> Path:
    """Move an imported snapshot's files out of the way, kept, so it is imported only once."""
    aside = folder / IMPORTED_DIR
    aside.mkdir(exist_ok=True)
    for name in SNAPSHOT_FILES:
        if (folder / name).exists():
            (folder / name).replace(aside / name)
    return aside


def _put_lines(context: Context, table: str, path: Path) -> None:
    items = list(read_json_lines(path))
    for start in range(0, len(items), BATCH_WRITE_LIMIT):
        chunk = [
            {"PutRequest": {"Item": to_item(i)}} for i in items[start : start + BATCH_WRITE_LIMIT]
        ]
        if not batch_write(context.client, {table: chunk}):
            raise RuntimeError(f"{table}: could not import {path}")
