"""Reading the legacy JSON files in every shape the old backend may have left them."""

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any


class LegacyFileError(Exception):
    """The file as a whole cannot be read: the run stops before anything is written."""


@dataclass(frozen=True)
class SourceRecord:
    where: str  # e.g. "events.json #3" or "events.json dept-dev[2]": for the report
    data: Any  # what validation reads: an event filed under its department names it
    raw: Any  # the record exactly as the file holds it: what a reject carries


def read_json(path: Path) -> Any:
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise LegacyFileError(f"{path}: 읽을 수 없습니다 ({error.strerror})") from None
    try:
        text = raw.decode("utf-8-sig")  # with or without a byte order mark
    except UnicodeDecodeError as error:
        raise LegacyFileError(
            f"{path}: UTF-8이 아닙니다 (바이트 {error.start}): UTF-8로 저장해 주세요"
        ) from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise LegacyFileError(
            f"{path}:{error.lineno}:{error.colno}: 올바른 JSON이 아닙니다 ({error.msg})"
        ) from None
    except (ValueError, RecursionError) as error:
        raise LegacyFileError(f"{path}: 읽을 수 없는 JSON입니다 ({error})") from None


def department_records(path: Path) -> list[SourceRecord]:
    """A JSON array of departments, or {"departments": [...]}."""
    data = read_json(path)
    if isinstance(data, dict) and isinstance(data.get("departments"), list):
        data = data["departments"]
    if not isinstance(data, list):
        raise LegacyFileError(
            f'{path}: 부서 파일은 배열이거나 {{"departments": [...]}} 이어야 합니다'
        )
    return [SourceRecord(f"{path.name} #{i + 1}", record, record) for i, record in enumerate(data)]


def event_records(path: Path) -> list[SourceRecord]:
    """A JSON array of events (each with department_id), {"events": [...]}, or an object
    mapping department id → its events (how a JSON-file backend often keeps them)."""
    data = read_json(path)
    if isinstance(data, dict) and isinstance(data.get("events"), list):
        data = data["events"]
    if isinstance(data, list):
        return [
            SourceRecord(f"{path.name} #{i + 1}", record, record) for i, record in enumerate(data)
        ]
    if isinstance(data, dict) and data and all(isinstance(v, list) for v in data.values()):
        records = []
        for department_id, events in data.items():
            for i, record in enumerate(events):
                where = f"{path.name} {department_id}[{i}]"
                filed = (
                    _with_department(record, department_id) if isinstance(record, dict) else record
                )
                records.append(SourceRecord(where, filed, record))
        return records
    raise LegacyFileError(
        f'{path}: 일정 파일은 배열, {{"events": [...]}}, 또는 {{"부서 id": [...]}} 이어야 합니다'
    )


def _with_department(record: dict[str, Any], department_id: str) -> dict[str, Any]:
    # A record that names another department than the one it is filed under is kept as it
    # is; validation reports the conflict.
    if "department_id" in record and record["department_id"] != department_id:
        return {**record, "_filed_under": department_id}
    return {**record, "department_id": department_id}
