"""The local stack's data between runs: saved to a folder (default .local/) on a clean stop
and every 30 s after a change, loaded back on the next start through the migration.

Saved with `export` (departments.json, events.json, audit.jsonl, notifications.jsonl), loaded
with `migrate` for the departments and events (so names are claimed and counters rebuilt) and
written back as they were for the audit log and inboxes.
"""

import json
import threading
from collections.abc import Callable
from pathlib import Path

from chalicelib.context import Context
from chalicelib.dynamo import BATCH_WRITE_LIMIT, batch_write, to_item
from ops.export import export
from ops.migration.run import migrate

SNAPSHOT_SECONDS = 30.0


def has_saved_data(folder: Path) -> bool:
    return (folder / "departments.json").exists() and (folder / "events.json").exists()


def load(context: Context, folder: Path) -> tuple[int, int]:
    """Everything saved in `folder` (or the legacy files of `data/`) into the tables, through
    the migration. Returns (departments, events) loaded."""
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


def save(context: Context, folder: Path) -> None:
    export(context.client, context.settings, folder, progress=False)


def _put_lines(context: Context, table: str, path: Path) -> None:
    items = [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]
    for start in range(0, len(items), BATCH_WRITE_LIMIT):
        chunk = [
            {"PutRequest": {"Item": to_item(i)}} for i in items[start : start + BATCH_WRITE_LIMIT]
        ]
        if not batch_write(context.client, {table: chunk}):
            raise RuntimeError(f"{table}: could not restore {path}")


class Snapshots:
    """Saves every SNAPSHOT_SECONDS while `changed()` says something was written since."""

    def __init__(
        self,
        context: Context,
        folder: Path,
        changed: Callable[[], int],
        log: Callable[[str], None],
        seconds: float = SNAPSHOT_SECONDS,
    ) -> None:
        self._context = context
        self._folder = folder
        self._changed = changed
        self._log = log
        self._seconds = seconds
        self._saved_at = changed()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="snapshots", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Stop, and save once more: a clean stop always leaves the latest data behind."""
        self._stop.set()
        self._thread.join(timeout=30)
        save(self._context, self._folder)

    def save_if_changed(self) -> None:
        current = self._changed()
        if current == self._saved_at:
            return
        save(self._context, self._folder)
        self._saved_at = current
        self._log(f"💾 {self._folder}에 저장했습니다")

    def _run(self) -> None:
        while not self._stop.wait(self._seconds):
            try:
                self.save_if_changed()
            except Exception as error:  # a failed snapshot must not stop the stack
                self._log(f"⚠ 저장하지 못했습니다: {error}")
