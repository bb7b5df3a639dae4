"""What several sections share: an AWS-free environment, a fresh DynamoDB Local with the
project's tables, and a counter of the DynamoDB requests a client makes."""

import json
import os
import shutil
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests import isolation

REGION = isolation.REGION


def isolate_from_aws() -> None:
    """Fake credentials and a fixed region, no setting from the shell (as in the tests):
    nothing here may ever reach real AWS. Powertools is kept quiet as `make run` keeps it (its
    log lines and metric blobs would go to stdout)."""
    isolation.isolate(os.environ, "bench")
    os.environ.update(POWERTOOLS_LOG_LEVEL="WARNING", POWERTOOLS_METRICS_DISABLED="true")


def reset_app_caches() -> None:
    """Settings and clients are cached per process (per Lambda container); forget them so the
    next client is built for the DynamoDB that is current now."""
    from chalicelib import context

    context.reset()


@contextmanager
def fresh_dynamodb(*, tmpfs: bool = False) -> Iterator[str]:
    """A new, empty DynamoDB Local (as `make run` runs it, in a temporary folder; on tmpfs when
    asked, for sections that measure anything but the disk) with the project's tables; every
    client built meanwhile talks to it."""
    from chalicelib.dynamo import make_client
    from chalicelib.settings import get_settings
    from chalicelib.tables import table_definitions
    from ops.create_tables import ensure_tables
    from ops.dynamodb_local import DynamoDBLocal

    root = "/dev/shm" if tmpfs and os.access("/dev/shm", os.W_OK) else None
    folder = Path(tempfile.mkdtemp(prefix="bench-dynamodb-", dir=root))
    server = DynamoDBLocal(folder, port=0)
    try:
        url = server.start()
        os.environ["AWS_ENDPOINT_URL_DYNAMODB"] = url
        os.environ["AWS_ENDPOINT_URL_DYNAMODB_STREAMS"] = url
        reset_app_caches()
        client = make_client(get_settings())
        ensure_tables(client, table_definitions(get_settings()), report=lambda line: None)
        yield url
    finally:
        os.environ.pop("AWS_ENDPOINT_URL_DYNAMODB", None)
        os.environ.pop("AWS_ENDPOINT_URL_DYNAMODB_STREAMS", None)
        reset_app_caches()
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)


# Operations whose request accepts ReturnConsumedCapacity.
_CAPACITY_OPERATIONS = frozenset(
    {
        "GetItem",
        "PutItem",
        "UpdateItem",
        "DeleteItem",
        "Query",
        "Scan",
        "BatchGetItem",
        "BatchWriteItem",
        "TransactGetItems",
        "TransactWriteItems",
    }
)


@dataclass(frozen=True)
class Call:
    operation: str
    table: str | None
    index: str | None


@dataclass
class DynamoDBCalls:
    """Every API call a client makes (one per call; botocore's own retries are not separate
    calls) and, when asked for, the capacity the responses report."""

    calls: list[Call] = field(default_factory=list)
    capacity_units: float = 0.0
    responses_with_capacity: int = 0
    # Per operation, the units each response reported (None: it reported none).
    capacity_by_operation: dict[str, list[float | None]] = field(default_factory=dict)
    # Time from each call's start to its parsed response, summed per operation.
    seconds: Counter[str] = field(default_factory=Counter)

    @property
    def count(self) -> int:
        return len(self.calls)

    def operations(self) -> Counter[str]:
        return Counter(call.operation for call in self.calls)

    def summary(self) -> str:
        """e.g. 'GetItem + 2 Query'."""
        parts = [f"{n} {op}" if n > 1 else op for op, n in self.operations().items()]
        return " + ".join(parts) or "none"

    def slowest(self, top: int = 3) -> str:
        """e.g. 'Query 12.1 s, BatchWriteItem 3.0 s'."""
        return ", ".join(f"{op} {s:.1f} s" for op, s in self.seconds.most_common(top))

    def clear(self) -> None:
        self.calls.clear()
        self.capacity_units = 0.0
        self.responses_with_capacity = 0
        self.capacity_by_operation.clear()
        self.seconds.clear()


@contextmanager
def counting(client: Any, *, capacity: bool = False) -> Iterator[DynamoDBCalls]:
    """Count the client's DynamoDB calls through botocore's event hooks (no wrapping, so the
    code under test runs unchanged). With `capacity`, every call that can asks for
    ReturnConsumedCapacity=TOTAL and the units the responses report are summed."""
    seen = DynamoDBCalls()

    def before(params: dict[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
        seen.calls.append(Call(model.name, params.get("TableName"), params.get("IndexName")))
        context["bench_started"] = time.perf_counter()  # the same dict reaches `after`
        if capacity and model.name in _CAPACITY_OPERATIONS:
            params.setdefault("ReturnConsumedCapacity", "TOTAL")

    def after(parsed: dict[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
        started = context.get("bench_started")
        if started is not None:
            seen.seconds[model.name] += time.perf_counter() - started
        if not capacity:
            return
        consumed = parsed.get("ConsumedCapacity")
        reported = seen.capacity_by_operation.setdefault(model.name, [])
        if not consumed:
            reported.append(None)  # some answers leave it out (or empty)
            return
        entries = consumed if isinstance(consumed, list) else [consumed]
        units = sum(float(entry.get("CapacityUnits", 0)) for entry in entries)
        reported.append(units)
        seen.responses_with_capacity += 1
        seen.capacity_units += units

    events = client.meta.events
    events.register("provide-client-params.dynamodb", before)
    events.register("after-call.dynamodb", after)
    try:
        yield seen
    finally:
        events.unregister("provide-client-params.dynamodb", before)
        events.unregister("after-call.dynamodb", after)


class InProcessApi:
    """JSON calls to the app through chalice.test.Client: the real routes, no HTTP server."""

    def __init__(self) -> None:
        from chalice.test import Client

        from app import app
        from bench.report import PROJECT_DIR

        # The test client lays the stage's environment over each request. "local" is the stage
        # `manage.py serve` runs: the guide's table names, which every section's tables use.
        # (Settings are cached before any request anyway, so both always agree.)
        self.client = Client(app, stage_name="local", project_dir=str(PROJECT_DIR))

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        raw = b"" if body is None else json.dumps(body, ensure_ascii=False).encode("utf-8")
        send = getattr(self.client.http, method.lower())
        response = send(path, headers={"Content-Type": "application/json"}, body=raw)
        return response.status_code, (json.loads(response.body) if response.body else None)

    def created(self, path: str, body: Any) -> dict[str, Any]:
        status, reply = self.call("POST", path, body)
        if status != 201:
            raise RuntimeError(f"POST {path} answered {status}: {reply}")
        return dict(reply)
