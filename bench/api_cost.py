"""Section 4: DynamoDB requests and consumed capacity per API request, counted on the app's own
client (chalicelib.context) with botocore hooks while the real routes run in-process."""

from dataclasses import dataclass
from typing import Any

from bench.harness import Call, DynamoDBCalls, InProcessApi, counting, fresh_dynamodb
from bench.report import Row, ratio, verdict

SECTION = "api cost"
SEEDED_EVENTS = 60  # more than a page of 50, so listing has a second page


@dataclass(frozen=True)
class Measured:
    label: str
    status: int
    calls: list[Call]
    capacity_units: float
    responses_with_capacity: int

    @property
    def requests(self) -> int:
        return len(self.calls)

    def operations(self) -> str:
        return DynamoDBCalls(calls=list(self.calls)).summary()


def run() -> list[Row]:
    from chalicelib.context import get_context

    measured: list[Measured] = []
    reported: dict[str, set[float | None]] = {}
    with fresh_dynamodb(tmpfs=True):
        api = InProcessApi()
        department = api.created("/api/departments", {"name": "비용 측정팀"})
        departments = f"/api/departments/{department['id']}"
        events = f"/api/events/{department['id']}"
        seeded = [
            api.created(events, {"event_date": f"2024-06-{n % 30 + 1:02d}", "title": f"일정 {n}"})
            for n in range(SEEDED_EVENTS)
        ]
        empty = api.created("/api/departments", {"name": "빈 부서"})
        _, first_page = api.call("GET", f"{events}?limit=50")

        with counting(get_context().client, capacity=True) as calls:

            def measure(label: str, method: str, path: str, body: Any = None) -> Any:
                calls.clear()
                status, reply = api.call(method, path, body)
                for operation, units in calls.capacity_by_operation.items():
                    reported.setdefault(operation, set()).update(units)
                measured.append(
                    Measured(
                        label,
                        status,
                        list(calls.calls),
                        calls.capacity_units,
                        calls.responses_with_capacity,
                    )
                )
                return reply

            created = measure("department: create", "POST", "/api/departments", {"name": "새 부서"})
            new_department = f"/api/departments/{created['id']}"
            measure("department: get", "GET", departments)
            measure("department: list page", "GET", "/api/departments?limit=50")
            measure("department: patch description", "PATCH", departments, {"description": "x"})
            measure("department: patch name (rename)", "PATCH", departments, {"name": "개명팀"})
            measure("department: delete (no events)", "DELETE", new_department)
            event = measure(
                "event: create", "POST", events, {"event_date": "2024-07-01", "title": "새 일정"}
            )
            measure("event: get", "GET", f"{events}/{seeded[0]['id']}")
            measure("event: list page 1 (50 of 61)", "GET", f"{events}?limit=50")
            measure(
                "event: list page 2 (next_token)",
                "GET",
                f"{events}?limit=50&next_token={first_page['next_token']}",
            )
            measure("event: list, department without events", "GET", f"/api/events/{empty['id']}")
            measure("event: patch", "PATCH", f"{events}/{event['id']}", {"time": "오후 5:00"})
            measure("event: delete", "DELETE", f"{events}/{event['id']}")
        events_table = get_context().settings.events_table

    rows = [_row(m) for m in measured]
    rows.append(_listing_check(measured, events_table))
    rows.append(
        Row(
            SECTION,
            "capacity units: what DynamoDB Local reports",
            f"{sum(m.responses_with_capacity for m in measured)} of "
            f"{sum(m.requests for m in measured)} responses carried ConsumedCapacity",
            note=(
                "every call asked for ReturnConsumedCapacity=TOTAL; DynamoDB Local's answers "
                f"per call: {_reported(reported)}. They follow item sizes, but are an emulator's "
                "estimate, not a bill (a transactional write costs 2 WCU per KB per item, plus "
                "index writes)"
            ),
        )
    )
    return rows


def _reported(reported: dict[str, set[float | None]]) -> str:
    def shown(values: set[float | None]) -> str:
        return "/".join("none" if v is None else f"{v:g}" for v in sorted(values, key=str))

    return ", ".join(f"{op} {shown(values)}" for op, values in sorted(reported.items()))


def _row(m: Measured) -> Row:
    ok = 200 <= m.status < 300 or m.label.endswith("without events")
    return Row(
        SECTION,
        m.label,
        f"{m.requests} req, {m.capacity_units:g} CU",
        baseline="1 req (least possible)",
        versus=ratio(m.requests, 1),
        note=f"HTTP {m.status}{'' if ok else ' (unexpected)'}; {m.operations()}",
        data={
            "status": m.status,
            "requests": m.requests,
            "operations": [call.operation for call in m.calls],
            "capacity_units": m.capacity_units,
        },
    )


def _listing_check(measured: list[Measured], events_table: str) -> Row:
    """Listing events asks each of the department's calendar values for its share of a page,
    and once more at most when its share ran out; nothing may Scan the events table."""
    from chalicelib.tables import CALENDAR_SHARDS

    pages = [m for m in measured if m.label.startswith("event: list page")]
    queries_per_page = [
        sum(1 for call in m.calls if call.operation == "Query" and call.table == events_table)
        for m in pages
    ]
    queries_only = all({call.operation for call in m.calls} == {"Query"} for m in pages)
    shares = all(CALENDAR_SHARDS <= q <= 2 * CALENDAR_SHARDS for q in queries_per_page)
    scans = sum(
        1
        for m in measured
        for call in m.calls
        if call.operation == "Scan" and call.table == events_table
    )
    met = queries_only and shares and scans == 0
    return Row(
        SECTION,
        "event listing: Queries per page / Scans of events table",
        f"{'/'.join(map(str, queries_per_page))} / {scans}",
        target=f"{CALENDAR_SHARDS}–{2 * CALENDAR_SHARDS} per page (each value, side by side) / 0",
        verdict=verdict(met),
        note=f"pages 1 and 2; Scans counted over every request above; index: "
        f"{', '.join(sorted({str(c.index) for m in pages for c in m.calls}))}",
        data={"queries_per_page": queries_per_page, "events_table_scans": scans},
    )
