"""Section 3: the legacy JSON → DynamoDB migration (ops.migration.run.migrate) on 10,000 events
and 50 departments, next to a naive PutItem-per-item loop; each on a fresh embedded DynamoDB."""

import json
import tempfile
import time
from collections import Counter
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from bench.harness import counting, embedded_dynamodb
from bench.report import Row, ratio, verdict

SECTION = "migration"
TARGET_SPEEDUP = 10.0
DEPARTMENTS = 50
CREATED_AT = "2024-01-01T00:00:00.000Z"


def legacy_records(events: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Departments and events as the old Flask backend kept them (ids included)."""
    departments = [
        {
            "id": f"dept-{n:03d}",
            "name": f"부서 {n:03d}",
            "description": f"벤치마크 부서 {n}",
            "created_at": CREATED_AT,
        }
        for n in range(DEPARTMENTS)
    ]
    first_day = date(2024, 1, 1)
    calendar = [
        {
            "id": f"event-{n:05d}",
            "department_id": departments[n % DEPARTMENTS]["id"],
            "event_date": (first_day + timedelta(days=n % 366)).isoformat(),
            "title": f"일정 {n}",
            "time": "오후 3:00",
            "description": f"주간 회의 {n}",
            "created_at": CREATED_AT,
        }
        for n in range(events)
    ]
    return departments, calendar


def run_migration(departments_path: Path, events_path: Path) -> tuple[float, int, str, str]:
    """migrate(...) as `manage.py migrate` runs it, tables already created."""
    from chalicelib.dynamo import make_client
    from chalicelib.settings import get_settings
    from ops.migration.run import migrate

    timeline: list[tuple[float, str]] = []  # (seconds since start, line printed)
    with embedded_dynamodb():
        client = make_client(get_settings())
        with counting(client) as calls:
            started = time.perf_counter()
            outcome = migrate(
                client,
                get_settings(),
                departments_path=departments_path,
                events_path=events_path,
                out=lambda line: timeline.append((time.perf_counter() - started, line)),
                progress=False,
            )
            seconds = time.perf_counter() - started
        stored = count_items(client, get_settings().events_table)
    result = (
        f"exit {outcome.exit_code}, {outcome.departments.migrated} departments + "
        f"{outcome.events.migrated} events migrated, {stored} in the table"
    )
    return seconds, calls.count, f"{calls.summary()}; {phases(timeline, seconds)}", result


def phases(timeline: list[tuple[float, str]], total: float) -> str:
    """Where the run's time went, from when migrate() printed its progress lines: the events
    tally ends the writing, the verification line starts the read-back."""
    written = next((at for at, line in timeline if "일정 데이터" in line), None)
    verifying = next((at for at, line in timeline if line.startswith("🔍")), None)
    if written is None or verifying is None:
        return "phases unknown (migrate's progress lines changed)"
    return (
        f"phases: read + write {written:.1f} s, recount {verifying - written:.1f} s, "
        f"verify (read back) {total - verifying:.1f} s"
    )


def run_naive(departments: list[dict[str, Any]], events: list[dict[str, Any]]) -> tuple[float, int]:
    """What a first script would do: one PutItem per department, per name claim and per event,
    the same items migrate writes (counters set from the file), nothing read back."""
    from chalicelib.dynamo import make_client, to_item
    from chalicelib.models import department_name_key
    from chalicelib.settings import get_settings
    from ops.migration.run import ACTOR

    settings = get_settings()
    per_department = Counter(event["department_id"] for event in events)
    stamps = {"version": 1, "created_by": ACTOR, "updated_by": ACTOR}
    with embedded_dynamodb():
        client = make_client(settings)
        with counting(client) as calls:
            started = time.perf_counter()
            for department in departments:
                item = {
                    **department,
                    "updated_at": department["created_at"],
                    **stamps,
                    "event_count": per_department[department["id"]],
                }
                client.put_item(TableName=settings.departments_table, Item=to_item(item))
                claim = {
                    "name_key": department_name_key(department["name"]),
                    "department_id": department["id"],
                }
                client.put_item(TableName=settings.department_names_table, Item=to_item(claim))
            for event in events:
                item = {**event, "updated_at": event["created_at"], **stamps}
                client.put_item(TableName=settings.events_table, Item=to_item(item))
            seconds = time.perf_counter() - started
    return seconds, calls.count


def count_items(client: Any, table: str) -> int:
    params: dict[str, Any] = {"TableName": table, "Select": "COUNT"}
    total = 0
    while True:
        response = client.scan(**params)
        total += int(response["Count"])
        if "LastEvaluatedKey" not in response:
            return total
        params["ExclusiveStartKey"] = response["LastEvaluatedKey"]


def run(events: int = 10_000) -> list[Row]:
    departments, calendar = legacy_records(events)
    with tempfile.TemporaryDirectory(prefix="bench-migration-") as directory:
        departments_path = Path(directory, "departments.json")
        events_path = Path(directory, "events.json")
        departments_path.write_text(json.dumps(departments, ensure_ascii=False), encoding="utf-8")
        events_path.write_text(json.dumps(calendar, ensure_ascii=False), encoding="utf-8")
        migrate_seconds, migrate_requests, operations, outcome = run_migration(
            departments_path, events_path
        )
    naive_seconds, naive_requests = run_naive(departments, calendar)
    speedup = naive_seconds / migrate_seconds
    workload = f"{len(calendar):,} events + {len(departments)} departments"
    return [
        Row(
            SECTION,
            f"migrate(): {workload}, seconds",
            f"{migrate_seconds:.1f} s",
            baseline=f"{naive_seconds:.1f} s",
            versus=f"{speedup:.1f}x faster",
            target=f">= {TARGET_SPEEDUP:.0f}x faster",
            verdict=verdict(speedup >= TARGET_SPEEDUP),
            note=(
                f"{outcome}; baseline: PutItem per item (incl. name claims) on its own fresh "
                "embedded DynamoDB, no verification"
            ),
            data={"migrate_s": migrate_seconds, "naive_s": naive_seconds, "events": len(calendar)},
        ),
        Row(
            SECTION,
            "migrate(): DynamoDB requests",
            f"{migrate_requests:,}",
            baseline=f"{naive_requests:,}",
            versus=ratio(migrate_requests, naive_requests),
            note=operations,
            data={"migrate_requests": migrate_requests, "naive_requests": naive_requests},
        ),
    ]
