"""Section 3: the legacy JSON → DynamoDB migration (ops.migration.run.migrate) on 10,000 events
and 50 departments, next to boto3's own `Table.batch_writer()` and a PutItem-per-item loop
writing the same items with no checks at all.

All three run on DynamoDB Local (AWS's own emulator, what `make run` uses), each on its own
fresh server with its data on disk under the system's temporary folder (what users get), with
the project's tables created before the clock starts.

Fairness: DynamoDB Local is a JVM, and a fresh one answers its first requests slowly while it
loads and compiles its request paths. So every contender's server first gets the same small
warm-up, off the clock and in a table of its own (deleted afterwards): a few hundred items
through BatchWriteItem, PutItem, BatchGetItem, Query, Scan, GetItem, TransactWriteItems and
UpdateItem (every request kind any of the three makes on its data). It is kept small because
a large one slows every later write on DynamoDB Local (see WARM_UP_ITEMS); the JIT goes on
warming during each timed run, equally for all three. The contenders then run in the order
batch_writer, migrate, migrate, batch_writer (ABBA), so a machine that gets busier or quieter
during the section favours neither, and each counts its best run; the PutItem loop (minutes
long, the baseline only) runs once, last.
"""

import json
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from bench.harness import DynamoDBCalls, counting, fresh_dynamodb
from bench.report import Row, ratio, verdict

SECTION = "migration"
# migrate(), verification included, against boto3's batch_writer with no checks at all
TARGET_VS_BATCH_WRITER = 1.5
# and against a loop of PutItem calls
TARGET_SPEEDUP = 10.0
DEPARTMENTS = 50
CREATED_AT = "2024-01-01T00:00:00.000Z"
# Small on purpose: on this DynamoDB Local (3.3.1, SQLite underneath), a warm-up of 3,000
# items in a table of its own made every later write to the contenders' tables 2-3x slower
# (kept or deleted), which would blur the very ratios measured here.
WARM_UP_ITEMS = 300
WARM_UP_PUTS = 50
WARM_UP_TABLE = "bench-migration-warm-up"


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


@dataclass
class Measured:
    seconds: float
    calls: DynamoDBCalls
    result: str = ""
    phases: str = ""


@contextmanager
def fresh_dynamodb_local() -> Iterator[Any]:
    """A new DynamoDB Local with its data in a new folder on disk, the project's tables
    created and the JVM warmed up; every client built meanwhile talks to it. Yields a client."""
    from chalicelib.dynamo import make_client
    from chalicelib.settings import get_settings
    from chalicelib.tables import table_definitions

    with fresh_dynamodb():
        settings = get_settings()
        client = make_client(settings)
        # The warm-up table is shaped like the events table (key, calendar index, stream).
        events = next(d for d in table_definitions(settings) if d.name == settings.events_table)
        warm_up(client, replace(events, name=WARM_UP_TABLE))
        yield client


def warm_up(client: Any, definition: Any) -> None:
    """The same small mixed workload on every contender's server, off the clock, in a table
    of its own (deleted afterwards, so the contenders' tables stay as created)."""
    from chalicelib.dynamo import to_item
    from chalicelib.tables import EVENT_CALENDAR_INDEX
    from ops.create_tables import ensure_tables

    ensure_tables(client, [definition], lambda line: None)
    table = definition.name
    _, calendar = legacy_records(WARM_UP_ITEMS)
    items = [to_item({**event, "id": f"warm-{event['id']}"}) for event in calendar]
    for start in range(0, len(items) - WARM_UP_PUTS, 25):
        client.batch_write_item(
            RequestItems={
                table: [{"PutRequest": {"Item": item}} for item in items[start : start + 25]]
            }
        )
    for item in items[-WARM_UP_PUTS:]:
        client.put_item(TableName=table, Item=item)
    keys = [{"id": item["id"], "department_id": item["department_id"]} for item in items]
    for start in range(0, len(keys), 100):
        client.batch_get_item(
            RequestItems={
                table: {
                    "Keys": keys[start : start + 100],
                    "ConsistentRead": True,
                    "ProjectionExpression": "id, department_id, version",
                }
            }
        )
    for n in range(DEPARTMENTS):
        client.query(
            TableName=table,
            IndexName=EVENT_CALENDAR_INDEX,
            KeyConditionExpression="calendar_key = :d",
            ExpressionAttributeValues={":d": {"S": f"dept-{n:03d}"}},
            ProjectionExpression="id, department_id, version",
        )
    client.scan(TableName=table, Limit=1, ConsistentRead=True)
    for key in keys[:WARM_UP_PUTS]:
        client.get_item(TableName=table, Key=key, ConsistentRead=True)
        client.transact_write_items(
            TransactItems=[
                {
                    "Update": {
                        "TableName": table,
                        "Key": key,
                        "UpdateExpression": "SET version = :v",
                        "ExpressionAttributeValues": {":v": {"N": "2"}},
                    }
                }
            ]
        )
        client.update_item(
            TableName=table,
            Key=key,
            UpdateExpression="SET version = :v",
            ConditionExpression="attribute_exists(id)",
            ExpressionAttributeValues={":v": {"N": "3"}},
        )
    client.delete_table(TableName=table)


def stored_items(
    departments: list[dict[str, Any]], events: list[dict[str, Any]]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    """The items migrate writes for these records into empty tables: departments (counters set
    from the file), their name claims, events."""
    from chalicelib.models import department_name_key
    from ops.migration.run import ACTOR

    per_department = Counter(event["department_id"] for event in events)
    stamps = {"version": 1, "created_by": ACTOR, "updated_by": ACTOR}
    department_items = [
        {
            **department,
            "updated_at": department["created_at"],
            **stamps,
            "event_count": per_department[department["id"]],
        }
        for department in departments
    ]
    claims = [
        {"name_key": department_name_key(d["name"]), "department_id": d["id"]} for d in departments
    ]
    event_items = [{**event, "updated_at": event["created_at"], **stamps} for event in events]
    return department_items, claims, event_items


def run_migration(client: Any, departments_path: Path, events_path: Path) -> Measured:
    """migrate(...) as `manage.py migrate` runs it, tables already created."""
    from chalicelib.settings import get_settings
    from ops.migration.run import migrate

    timeline: list[tuple[float, str]] = []  # (seconds since start, line printed)
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
    return Measured(seconds, calls, result, phases(timeline, seconds))


def phases(timeline: list[tuple[float, str]], total: float) -> str:
    """Where the run's time went, from when migrate() printed its progress lines: the events
    tally ends the writing, the verification line starts the read-back and the count."""
    written = next((at for at, line in timeline if "일정 데이터" in line), None)
    verifying = next((at for at, line in timeline if line.startswith("🔍")), None)
    if written is None or verifying is None:
        return "phases unknown (migrate's progress lines changed)"
    return (
        f"phases: read + validate + write {written:.1f} s, verify + count {total - written:.1f} s"
    )


def run_batch_writer(
    client: Any, departments: list[dict[str, Any]], events: list[dict[str, Any]]
) -> Measured:
    """boto3's own Table.batch_writer(): the same items, 25 a request, nothing read or checked."""
    import boto3

    from chalicelib.settings import get_settings

    settings = get_settings()
    department_items, claims, event_items = stored_items(departments, events)
    resource = boto3.resource("dynamodb", region_name=settings.region)
    tables = [
        (resource.Table(settings.departments_table), department_items),
        (resource.Table(settings.department_names_table), claims),
        (resource.Table(settings.events_table), event_items),
    ]
    # All three Table objects share the resource's one client.
    with counting(resource.meta.client) as calls:
        started = time.perf_counter()
        for table, items in tables:
            with table.batch_writer() as writer:
                for item in items:
                    writer.put_item(Item=item)
        seconds = time.perf_counter() - started
    stored = count_items(client, settings.events_table)
    return Measured(seconds, calls, f"{stored} events in the table")


def run_put_loop(
    client: Any, departments: list[dict[str, Any]], events: list[dict[str, Any]]
) -> Measured:
    """What a first script would do: one PutItem per department, per name claim and per event,
    the same items, nothing read back."""
    from chalicelib.dynamo import to_item
    from chalicelib.settings import get_settings

    settings = get_settings()
    department_items, claims, event_items = stored_items(departments, events)
    writes = [
        *((settings.departments_table, item) for item in department_items),
        *((settings.department_names_table, item) for item in claims),
        *((settings.events_table, item) for item in event_items),
    ]
    with counting(client) as calls:
        started = time.perf_counter()
        for table, item in writes:
            client.put_item(TableName=table, Item=to_item(item))
        seconds = time.perf_counter() - started
    stored = count_items(client, settings.events_table)
    return Measured(seconds, calls, f"{stored} events in the table")


def count_items(client: Any, table: str) -> int:
    params: dict[str, Any] = {"TableName": table, "Select": "COUNT"}
    total = 0
    while True:
        response = client.scan(**params)
        total += int(response["Count"])
        if "LastEvaluatedKey" not in response:
            return total
        params["ExclusiveStartKey"] = response["LastEvaluatedKey"]


def on_fresh_server(contender: Callable[[Any], Measured]) -> Measured:
    with fresh_dynamodb_local() as client:
        return contender(client)


def run(events: int = 10_000) -> list[Row]:
    departments, calendar = legacy_records(events)
    with tempfile.TemporaryDirectory(prefix="bench-migration-files-") as directory:
        departments_path = Path(directory, "departments.json")
        events_path = Path(directory, "events.json")
        departments_path.write_text(json.dumps(departments, ensure_ascii=False), encoding="utf-8")
        events_path.write_text(json.dumps(calendar, ensure_ascii=False), encoding="utf-8")

        def migration(client: Any) -> Measured:
            return run_migration(client, departments_path, events_path)

        def batch_writer(client: Any) -> Measured:
            return run_batch_writer(client, departments, calendar)

        # ABBA: see the module's docstring.
        writer_runs = [on_fresh_server(batch_writer)]
        migrate_runs = [on_fresh_server(migration), on_fresh_server(migration)]
        writer_runs.append(on_fresh_server(batch_writer))
    put_loop = on_fresh_server(lambda client: run_put_loop(client, departments, calendar))
    migrated = min(migrate_runs, key=lambda m: m.seconds)
    writer = min(writer_runs, key=lambda m: m.seconds)

    slower = migrated.seconds / writer.seconds
    speedup = put_loop.seconds / migrated.seconds
    ceiling = put_loop.seconds / writer.seconds
    workload = f"{len(calendar):,} events + {len(departments)} departments"
    runs = (
        f"best of 2 each (migrate {', '.join(f'{m.seconds:.1f}' for m in migrate_runs)} s; "
        f"batch_writer {', '.join(f'{m.seconds:.1f}' for m in writer_runs)} s)"
    )
    return [
        Row(
            SECTION,
            f"migrate vs batch_writer: {workload}, seconds",
            f"{migrated.seconds:.1f} s",
            baseline=f"{writer.seconds:.1f} s",
            versus=f"{slower:.2f}x the time",
            target=f"<= {TARGET_VS_BATCH_WRITER}x the time",
            verdict=verdict(slower <= TARGET_VS_BATCH_WRITER),
            note=(
                f"{migrated.result}; {migrated.phases}; baseline: boto3 Table.batch_writer() "
                f"writing the same items, no checks ({writer.result}); DynamoDB Local on disk, "
                f"a fresh warmed-up server each; {runs}"
            ),
            data={
                "migrate_s": [m.seconds for m in migrate_runs],
                "batch_writer_s": [m.seconds for m in writer_runs],
                "events": len(calendar),
            },
        ),
        Row(
            SECTION,
            f"migrate vs PutItem loop: {workload}, seconds",
            f"{migrated.seconds:.1f} s",
            baseline=f"{put_loop.seconds:.1f} s",
            versus=f"{speedup:.1f}x faster",
            target=f">= {TARGET_SPEEDUP:.0f}x faster",
            verdict=verdict(speedup >= TARGET_SPEEDUP),
            note=(
                "baseline: one PutItem per department, name claim and event, the same items, "
                f"nothing read back ({put_loop.result}); one run, on its own fresh server; "
                f"batch_writer itself, with no checks, is only {ceiling:.1f}x faster than this "
                "loop here: on DynamoDB Local the server's own work per item, not the number "
                "of requests, bounds every writer"
            ),
            data={
                "migrate_s": migrated.seconds,
                "put_loop_s": put_loop.seconds,
                "batch_writer_vs_put_loop": ceiling,
            },
        ),
        Row(
            SECTION,
            "DynamoDB requests: migrate vs batch_writer",
            f"{migrated.calls.count:,}",
            baseline=f"{writer.calls.count:,}",
            versus=ratio(migrated.calls.count, writer.calls.count),
            note=(f"migrate: {migrated.calls.summary()}; batch_writer: {writer.calls.summary()}"),
            data={
                "migrate": dict(migrated.calls.operations()),
                "batch_writer": dict(writer.calls.operations()),
            },
        ),
        Row(
            SECTION,
            "DynamoDB requests: migrate vs PutItem loop",
            f"{migrated.calls.count:,}",
            baseline=f"{put_loop.calls.count:,}",
            versus=ratio(migrated.calls.count, put_loop.calls.count),
            note=f"PutItem loop: {put_loop.calls.summary()}",
            data={"put_loop": dict(put_loop.calls.operations())},
        ),
    ]
