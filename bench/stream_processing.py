"""Section 2a: event-stream batches through the registered `on_event_change`, next to a naive
handler (one PutItem per audit entry and per notification) on the same records."""

import json
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any
from unittest import mock

import boto3

from bench.harness import REGION, InProcessApi, counting, fresh_dynamodb
from bench.report import Row, median, ratio, verdict

SECTION = "stream processing"
BATCH_SIZE = 100
TARGET_REQUESTS_PER_100 = 10
NAIVE_AUDIT_TABLE = "bench-naive-events-audit"
NAIVE_INBOX_TABLE = "bench-naive-events-notifications"

Handler = Callable[[dict[str, Any]], dict[str, Any]]


def make_event_changes(api: InProcessApi, label: str) -> None:
    """Through the real API, 100 event-stream records: 50 creates (INSERT), 20 time changes
    (MODIFY) and 15 deletes (the deleter's stamp, a housekeeping MODIFY, then the REMOVE)."""
    department = api.created("/api/departments", {"name": f"스트림 벤치 {label}"})
    events_path = f"/api/events/{department['id']}"
    created = [
        api.created(
            events_path, {"event_date": f"2024-03-{day % 28 + 1:02d}", "title": f"회의 {day}"}
        )
        for day in range(50)
    ]
    for event in created[:20]:
        api.call("PATCH", f"{events_path}/{event['id']}", {"time": "오전 9:00"})
    for event in created[20:35]:
        api.call("DELETE", f"{events_path}/{event['id']}")


def recorded_batches(batches: int) -> list[list[dict[str, Any]]]:
    """Batches of about 100 records, as the API's changes put them on a fresh DynamoDB Local's
    stream, one batch of changes after another."""
    from chalicelib.dynamo import make_client
    from chalicelib.settings import get_settings

    recorded = []
    with fresh_dynamodb(tmpfs=True):
        client = make_client(get_settings())
        seen = 0
        for batch in range(batches):
            make_event_changes(InProcessApi(), str(batch))
            records = read_stream(client, get_settings().events_table)
            recorded.append(records[seen:])
            seen = len(records)
    return recorded


def read_stream(dynamodb: Any, table: str) -> list[dict[str, Any]]:
    """Every record of the table's stream, shaped as Lambda delivers them."""
    from ops.stream_consumer import read_all

    streams = boto3.session.Session().client("dynamodbstreams", region_name=REGION)
    return read_all(dynamodb, streams, table, REGION)


class NaiveHandler:
    """The obvious handler: the app's own pure mapping (effects_of), then each audit entry and
    each notification written with its own PutItem. Same items, many more requests."""

    def __init__(self, client: Any) -> None:
        self._client = client

    def __call__(self, event: dict[str, Any]) -> dict[str, Any]:
        from chalicelib.dynamo import to_item
        from chalicelib.streams.effects import effects_of
        from chalicelib.tables import audit_index_keys, inbox_item

        for record in event["Records"]:
            effects = effects_of(record, "event")
            change = effects.change
            if change is None:
                continue
            if effects.audit is not None:
                entry = effects.audit
                audit = {
                    "entity_key": change.entity_key,
                    "change_key": change.change_key,
                    **audit_index_keys(
                        change.entity_key, entry.at, entry.entity_type, entry.department_id
                    ),
                    **entry.model_dump(),
                }
                self._client.put_item(TableName=NAIVE_AUDIT_TABLE, Item=to_item(audit))
            if effects.notification is not None:
                notification = {
                    "change_key": change.change_key,
                    **effects.notification.model_dump(),
                }
                item = inbox_item(notification)
                self._client.put_item(TableName=NAIVE_INBOX_TABLE, Item=to_item(item))
        return {"batchItemFailures": []}


def create_naive_tables(client: Any) -> None:
    """Copies of the audit and inbox tables (same keys), so both handlers' output compares."""
    from chalicelib.settings import get_settings
    from chalicelib.tables import table_definitions

    copies = {"audit": NAIVE_AUDIT_TABLE, "notifications": NAIVE_INBOX_TABLE}
    for definition in table_definitions(get_settings()):
        if definition.role in copies:
            copy = replace(definition, name=copies[definition.role])
            client.create_table(**copy.create_table_request())


def scan_all(client: Any, table: str) -> set[str]:
    items: set[str] = set()
    params: dict[str, Any] = {"TableName": table, "ConsistentRead": True}
    while True:
        response = client.scan(**params)
        items |= {
            json.dumps(item, sort_keys=True, ensure_ascii=False) for item in response["Items"]
        }
        if "LastEvaluatedKey" not in response:
            return items
        params["ExclusiveStartKey"] = response["LastEvaluatedKey"]


def _failures(response: dict[str, Any] | None) -> int:
    return len((response or {}).get("batchItemFailures") or [])


def run(batches: int = 5, rounds: int = 3) -> list[Row]:
    from chalicelib import context
    from chalicelib.dynamo import make_client
    from chalicelib.settings import get_settings

    chunks = recorded_batches(batches)
    records = [record for chunk in chunks for record in chunk]
    with fresh_dynamodb(tmpfs=True):
        api = InProcessApi()
        client = make_client(get_settings())
        create_naive_tables(client)

        def registered(event: dict[str, Any]) -> dict[str, Any]:
            return dict(api.client.lambda_.invoke("on_event_change", event).payload)

        candidates: dict[str, Handler] = {"registered": registered, "naive": NaiveHandler(client)}
        seconds: dict[str, list[float]] = {name: [] for name in candidates}
        requests: dict[str, int] = {}
        failed: dict[str, int] = {name: 0 for name in candidates}
        # The pipeline builds its own client; hand it the counted one, as the tests do.
        with (
            counting(client) as calls,
            mock.patch.object(context, "make_client", return_value=client),
        ):
            context.reset()
            for round_number in range(rounds):
                names = list(candidates)
                if round_number % 2:
                    names.reverse()
                for name in names:
                    calls.clear()
                    started = time.perf_counter()
                    for chunk in chunks:
                        failed[name] += _failures(candidates[name]({"Records": chunk}))
                    seconds[name].append(time.perf_counter() - started)
                    requests[name] = calls.count
            context.reset()
        audit = scan_all(client, get_settings().audit_table)
        inbox = scan_all(client, get_settings().notifications_table)
        same_items = audit == scan_all(client, NAIVE_AUDIT_TABLE) and inbox == scan_all(
            client, NAIVE_INBOX_TABLE
        )

    actions = {
        name: sum(1 for r in records if r["eventName"] == name)
        for name in ("INSERT", "MODIFY", "REMOVE")
    }
    mix = ", ".join(f"{n} {action}" for action, n in actions.items())
    rate = {name: len(records) / median(values) for name, values in seconds.items()}
    per_100 = {name: requests[name] * BATCH_SIZE / len(records) for name in candidates}
    same = "same items" if same_items else "ITEMS DIFFER"
    return [
        Row(
            SECTION,
            "on_event_change: records/second",
            f"{rate['registered']:.0f} rec/s",
            baseline=f"{rate['naive']:.0f} rec/s",
            versus=ratio(rate["registered"], rate["naive"]),
            note=(
                f"{len(records)} records ({mix}) in {len(chunks)} batches from real API calls; "
                f"median of {rounds} alternating rounds; embedded DynamoDB; baseline: naive "
                f"PutItem handler; failures reported: {failed['registered']} vs {failed['naive']}"
            ),
            data={"records": len(records), "seconds": seconds, "mix": actions},
        ),
        Row(
            SECTION,
            "on_event_change: DynamoDB requests / 100 records",
            f"{per_100['registered']:.1f}",
            baseline=f"{per_100['naive']:.1f}",
            versus=ratio(per_100["registered"], per_100["naive"]),
            target=f"<= {TARGET_REQUESTS_PER_100}",
            verdict=verdict(per_100["registered"] <= TARGET_REQUESTS_PER_100),
            note=(
                f"{same}: {len(audit)} audit entries, {len(inbox)} notifications "
                "(both handlers' tables compared)"
            ),
            data={"requests": requests, "same_items": same_items},
        ),
    ]
