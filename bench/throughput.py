"""Section 5: requests/second and latency of one events page on the local stack, for 1 and 8
concurrent clients, next to a path the local server answers without the app (its floor), and
next to the page's own Query sent straight to the stack's embedded DynamoDB."""

import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bench.harness import REGION
from bench.http_client import HttpClient
from bench.report import Row, percentile, ratio
from chalicelib.tables import EVENT_DATE_INDEX

SECTION = "local stack throughput"
SEEDED_EVENTS = 60
PAGE = 50
# Chalice's local gateway answers an unknown route with 403 before any app code or DynamoDB:
# what the server alone costs per request.
FLOOR_PATH = "/api/bench-no-such-route"
_EMBEDDED = re.compile(r"DynamoDB \(embedded\): (http://\S+)")

# Builds, inside each client thread, the function that sends one request (True: as expected).
RequestFactory = Callable[[], Callable[[], bool]]


@dataclass(frozen=True)
class Load:
    requests: int
    seconds: float
    latencies: list[float]
    unexpected: int

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds

    def latency_ms(self, fraction: float) -> float:
        return percentile(self.latencies, fraction) * 1000

    def summary(self) -> str:
        return (
            f"{self.per_second:.0f} req/s, p50 {self.latency_ms(0.5):.1f} / "
            f"p95 {self.latency_ms(0.95):.1f} ms"
        )

    def as_data(self) -> dict[str, float]:
        return {
            "rps": self.per_second,
            "p50_ms": self.latency_ms(0.5),
            "p95_ms": self.latency_ms(0.95),
            "requests": self.requests,
            "unexpected": self.unexpected,
        }


def load(new_sender: RequestFactory, clients: int, seconds: float) -> Load:
    """`clients` threads send requests back to back for `seconds`, all starting together."""
    latencies: list[list[float]] = [[] for _ in range(clients)]
    unexpected = [0] * clients
    start = threading.Barrier(clients + 1)
    deadline = 0.0

    def client_loop(index: int) -> None:
        send = new_sender()
        start.wait()
        while time.perf_counter() < deadline:
            asked = time.perf_counter()
            ok = send()
            latencies[index].append(time.perf_counter() - asked)
            unexpected[index] += not ok

    threads = [threading.Thread(target=client_loop, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    began = time.perf_counter()
    deadline = began + seconds
    start.wait()
    for thread in threads:
        thread.join()
    everything = [latency for per_client in latencies for latency in per_client]
    return Load(len(everything), time.perf_counter() - began, everything, sum(unexpected))


def http_get(base_url: str, path: str, expect: int, keep_alive: bool) -> RequestFactory:
    def new_sender() -> Callable[[], bool]:
        client = HttpClient(base_url, keep_alive=keep_alive)
        return lambda: client.request("GET", path)[0] == expect

    return new_sender


def direct_query(dynamodb_url: str, department_id: str) -> RequestFactory:
    """The Query the events page makes (index, key, Limit 51), with nothing in front of it."""
    import boto3
    from botocore.config import Config

    client: Any = boto3.session.Session().client(
        "dynamodb",
        region_name=REGION,
        endpoint_url=dynamodb_url,
        config=Config(max_pool_connections=16),
    )
    table = events_table(client)

    def new_sender() -> Callable[[], bool]:
        def send() -> bool:
            response = client.query(
                TableName=table,
                IndexName=EVENT_DATE_INDEX,
                KeyConditionExpression="department_id = :d",
                ExpressionAttributeValues={":d": {"S": department_id}},
                Limit=PAGE + 1,
            )
            return len(response["Items"]) == PAGE + 1

        return send

    return new_sender


def events_table(client: Any) -> str:
    """The stack's events table, whatever its stage named it: the one with the date index."""
    for name in client.list_tables()["TableNames"]:
        indexes = client.describe_table(TableName=name)["Table"].get("GlobalSecondaryIndexes", [])
        if any(index["IndexName"] == EVENT_DATE_INDEX for index in indexes):
            return str(name)
    raise LookupError(f"no table with the index {EVENT_DATE_INDEX}")


def run(seconds: float = 5.0) -> list[Row]:
    from tests.e2e.local_stack import LocalStack

    stack = LocalStack()
    rows: list[Row] = []
    try:
        seeder = HttpClient(stack.base_url, keep_alive=False)
        _, department = seeder.json("POST", "/api/departments", {"name": "처리량 측정"})
        page_path = f"/api/events/{department['id']}?limit={PAGE}"
        for n in range(SEEDED_EVENTS):
            body = {"event_date": f"2024-08-{n % 31 + 1:02d}", "title": f"일정 {n}"}
            seeder.json("POST", f"/api/events/{department['id']}", body)
        seeder.close()
        # Let the stream poller finish the seeding's records, so it does not compete below.
        time.sleep(2)
        for keep_alive in (True, False):
            for clients in (1, 8):
                page = http_get(stack.base_url, page_path, 200, keep_alive)
                floor = http_get(stack.base_url, FLOOR_PATH, 403, keep_alive)
                # Page first or floor first, alternately: drift in the machine hits both.
                if clients == 1:
                    page_load, floor_load = load(page, clients, seconds), load(floor, 1, seconds)
                else:
                    floor_load = load(floor, clients, seconds)
                    page_load = load(page, clients, seconds)
                rows.append(_page_row(page_load, floor_load, clients, keep_alive))
        dynamodb_url = next(
            (m[1] for line in stack.startup_lines if (m := _EMBEDDED.search(line))), None
        )
        if dynamodb_url is not None:
            for clients in (1, 8):
                page_load = load(http_get(stack.base_url, page_path, 200, False), clients, seconds)
                query_load = load(direct_query(dynamodb_url, department["id"]), clients, seconds)
                rows.append(_query_row(query_load, page_load, clients))
    finally:
        stack.stop()
    return rows


def _clients(clients: int) -> str:
    return f"{clients} client{'s' if clients > 1 else ''}"


def _page_row(page: Load, floor: Load, clients: int, keep_alive: bool) -> Row:
    connection = "keep-alive" if keep_alive else "new connection per request"
    return Row(
        SECTION,
        f"GET events page of {PAGE}, {_clients(clients)}, {connection}",
        page.summary(),
        baseline=floor.summary(),
        versus=ratio(page.per_second, floor.per_second),
        note=(
            f"{page.seconds:.0f} s each; baseline: an unknown route (the local server alone, "
            f"no app code); unexpected answers {page.unexpected} + {floor.unexpected}"
        ),
        data={
            "clients": clients,
            "keep_alive": keep_alive,
            "page": page.as_data(),
            "floor": floor.as_data(),
        },
    )


def _query_row(query: Load, page: Load, clients: int) -> Row:
    return Row(
        SECTION,
        f"its Query alone, straight to the embedded DynamoDB, {_clients(clients)}",
        query.summary(),
        baseline=page.summary(),
        versus=ratio(query.per_second, page.per_second),
        note=(
            "baseline: the events page again (new connection per request), measured just "
            "before; what the page costs above its one Query is the app and the server"
        ),
        data={"clients": clients, "query": query.as_data(), "page": page.as_data()},
    )
