"""`manage.py export --out DIR`: the tables as files.

departments.json and events.json are in the shape `migrate` reads, with every field (ids,
timestamps, versions, actors), so export → migrate into empty tables gives back the same
items. audit.jsonl and notifications.jsonl hold the audit log and the inboxes, one item per
line. Consistent reads, page by page.

Text is written as it is (UTF-8, Korean readable), except for the characters some readers
take for line breaks — U+2028, U+2029 and U+0085, on which Python's str.splitlines() splits:
they are written as JSON escapes, so a line of a .jsonl file is always one whole item, however
it is read. read_json_lines() reads those files back, split on "\n" only.
"""

import json
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chalicelib.dynamo import DynamoDBClient, from_item
from chalicelib.settings import Settings

# What the API shows of each item, plus who wrote it and which occurrences of a series have a
# changed copy: the counter, the claims, the span index's key and the deletion stamp are the
# app's own bookkeeping and are rebuilt by migrate.
DEPARTMENT_FIELDS = (
    "id",
    "name",
    "description",
    "reminders",
    "created_at",
    "updated_at",
    "version",
    "created_by",
    "updated_by",
)
EVENT_FIELDS = (
    "id",
    "department_id",
    "event_date",
    "title",
    "time",
    "description",
    "start_time",
    "end_time",
    "end_date",
    "timezone",
    "recurrence",
    "exdates",
    "series_id",
    "occurrence_date",
    "overrides",
    "reminders",
    "created_at",
    "updated_at",
    "version",
    "created_by",
    "updated_by",
)


# Characters str.splitlines() (and so many JSON lines readers) splits on that json.dumps
# leaves as they are with ensure_ascii=False (it escapes \n, \r and every other control
# character below U+0020 itself). Inside JSON text they can only stand in strings, where the
# escape means the very same character.
_ESCAPE_LINE_BREAKS = str.maketrans({"\x85": "\\u0085", "\u2028": "\\u2028", "\u2029": "\\u2029"})


def json_line(
    value: Any, *, sort_keys: bool = False, default: Callable[[Any], Any] | None = None
) -> str:
    """One JSON value as one line (with its "\n"), Unicode kept as text, nothing in it that
    any reader could take for a line break."""
    text = json.dumps(value, ensure_ascii=False, sort_keys=sort_keys, default=default)
    return text.translate(_ESCAPE_LINE_BREAKS) + "\n"


def read_json_lines(path: Path) -> Iterator[Any]:
    """The values of a JSON lines file, split on "\n" only: never str.splitlines(), which
    also splits on U+2028, U+2029, U+0085, ... inside a line another tool wrote unescaped."""
    with path.open(encoding="utf-8", newline="\n") as file:
        for line in file:
            if line.strip():
                yield json.loads(line)


@dataclass(frozen=True)
class Exported:
    departments: int
    events: int
    audit_entries: int
    notifications: int


def scan(
    client: DynamoDBClient, table: str, attributes: tuple[str, ...] = ()
) -> Iterator[dict[str, Any]]:
    """Every item of the table (only `attributes` of each, if named), read consistently."""
    params: dict[str, Any] = {"TableName": table, "ConsistentRead": True}
    if attributes:
        # Placeholders for every name: `name` is a reserved word.
        params["ProjectionExpression"] = ", ".join(f"#p{i}" for i in range(len(attributes)))
        params["ExpressionAttributeNames"] = {f"#p{i}": a for i, a in enumerate(attributes)}
    while True:
        response = client.scan(**params)
        for item in response.get("Items", []):
            yield from_item(item)
        if "LastEvaluatedKey" not in response:
            return
        params["ExclusiveStartKey"] = response["LastEvaluatedKey"]


def export(
    client: DynamoDBClient,
    settings: Settings,
    out_dir: Path,
    *,
    progress: bool | None = None,
) -> Exported:
    out_dir.mkdir(parents=True, exist_ok=True)
    tick = _ticker(progress)
    departments = sorted(
        (
            _pick(item, DEPARTMENT_FIELDS)
            for item in tick(scan(client, settings.departments_table), "부서")
        ),
        key=lambda d: str(d["id"]),
    )
    events = sorted(
        (_pick(item, EVENT_FIELDS) for item in tick(scan(client, settings.events_table), "일정")),
        key=lambda e: (str(e["department_id"]), str(e.get("event_date", "")), str(e["id"])),
    )
    _write_json(out_dir / "departments.json", {"departments": departments})
    _write_json(out_dir / "events.json", {"events": events})
    entries = _write_lines(
        out_dir / "audit.jsonl", tick(scan(client, settings.audit_table), "감사 기록")
    )
    inbox = _write_lines(
        out_dir / "notifications.jsonl",
        tick(scan(client, settings.notifications_table), "알림"),
    )
    return Exported(len(departments), len(events), entries, inbox)


def _write_lines(path: Path, items: Iterator[dict[str, Any]]) -> int:
    """One item per line, whole (keys included), so it can be written back as it was."""
    count = 0
    with _replacing(path) as file:
        for item in items:
            file.write(json_line(item, sort_keys=True))
            count += 1
    return count


def _pick(item: dict[str, Any], fields: tuple[str, ...]) -> dict[str, Any]:
    return {name: item[name] for name in fields if name in item}


def _write_json(path: Path, data: Any) -> None:
    # Escaped here too: the file is still read whole, but editors, grep and JavaScript before
    # ES2019 treat these characters as line ends.
    text = json.dumps(data, ensure_ascii=False, indent=1).translate(_ESCAPE_LINE_BREAKS)
    with _replacing(path) as file:
        file.write(text)
        file.write("\n")


class _replacing:
    """Write to a temporary file beside `path` and move it into place when done, so a crash
    never leaves half a file where a good one was."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._temporary = path.with_suffix(path.suffix + ".tmp")

    def __enter__(self) -> Any:
        self._file = self._temporary.open("w", encoding="utf-8")
        return self._file

    def __exit__(self, kind: object, error: object, traceback: object) -> None:
        self._file.close()
        if kind is None:
            self._temporary.replace(self._path)
        else:
            self._temporary.unlink(missing_ok=True)


def _ticker(enabled: bool | None) -> Callable[[Iterator[Any], str], Iterator[Any]]:
    if enabled is None:
        enabled = sys.stderr.isatty()
    if not enabled:
        return lambda items, label: items

    def tick(items: Iterator[Any], label: str) -> Iterator[Any]:
        from tqdm import tqdm

        yield from tqdm(items, desc=label, unit="개", file=sys.stderr)

    return tick
