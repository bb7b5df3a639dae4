"""What each operation of the app costs in DynamoDB units, measured on the requests it makes.

The real routes run in-process (chalice.test), against whatever DynamoDB the environment
names (DynamoDB Local in the bench, moto in the tests): nothing here picks an endpoint. The
records those writes put on the tables' streams then go through the registered stream
handlers, and the inbox's records through `on_notification` with one webhook subscription
answering on loopback, so an operation's cost includes the audit entry, the notification and
the delivery it causes.

Every item request of the app's client is seen through botocore's hooks (the code under test
runs unchanged) and charged by bench/capacity_units.py from the items themselves: for a write,
the item before and after is read back around the call (those reads are not charged).
"""

import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager, nullcontext
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal
from unittest import mock

from bench.capacity_units import (
    Charge,
    item_write,
    items_read,
    key_condition_only,
    key_text,
    queried_partition,
    refused_write,
    transact_actions,
    written_keys,
)
from bench.harness import InProcessApi
from chalicelib.tables import TableDefinition
from tests.integration.streams import Webhook

if TYPE_CHECKING:
    from chalicelib.context import Context
    from chalicelib.delivery.dispatcher import Dispatcher

Stage = Literal["api", "stream", "delivery"]
STAGES: tuple[Stage, ...] = ("api", "stream", "delivery")

# The operations measured, by the names the model's traffic mix uses.
DEPARTMENT_CREATE = "department: create"
DEPARTMENT_GET = "department: get"
DEPARTMENT_LIST = "department: list page"
EVENT_CREATE = "event: create"
# A second create in the same department: which keys two different events share tells which
# key values carry the department's traffic rather than one event's.
EVENT_CREATE_AGAIN = "event: create (another event)"
EVENT_GET = "event: get"
EVENT_LIST = "event: list page"
EVENT_UPDATE = "event: update"
EVENT_DELETE = "event: delete"
AUDIT_READ = "audit: read"
NOTIFICATIONS_READ = "notifications: read"
# A calendar page polls its department's change feed once a second. Each poll reads back the
# entries of the look-back window its token remembers, so in a busy department (more changes in
# the window than a token remembers) a poll with nothing new still reads that many entries.
FEED_POLL_BUSY = "feed: poll, busy department, nothing new"

SEEDED_EVENTS = 60  # more than a page of 50, so a listing reads a full page
PAGE = 50
DELIVERY_HANDLER = "on_notification"
_WRITES = frozenset({"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"})
_READS = frozenset({"GetItem", "BatchGetItem", "Query", "Scan", "TransactGetItems"})


@dataclass
class OperationCost:
    """One API request and everything it set off downstream."""

    name: str
    status: int = 0
    charges: dict[Stage, list[Charge]] = field(
        default_factory=lambda: {stage: [] for stage in STAGES}
    )
    requests: dict[Stage, int] = field(default_factory=lambda: dict.fromkeys(STAGES, 0))
    # Records the operation put on each streamed table's stream (by the table's role).
    stream_records: dict[str, int] = field(default_factory=dict)

    def all_charges(self) -> list[Charge]:
        return [charge for stage in STAGES for charge in self.charges[stage]]

    def units(self, kind: str, table: str | None = None, index: str | None = None) -> float:
        """Units of `kind`, on one table or index when named (index None: the table)."""
        return sum(
            charge.units
            for charge in self.all_charges()
            if charge.kind == kind
            and (table is None or (charge.table == table and charge.index == index))
        )


@dataclass(frozen=True)
class SpreadSeen:
    """The partition key values one spread index was seen holding."""

    values: frozenset[str]
    samples: int  # items and index writes looked at


@dataclass
class Profile:
    operations: dict[str, OperationCost]
    # Per "role/index" of every index spread over more than one value.
    spread: dict[str, SpreadSeen] = field(default_factory=dict)

    def operation(self, name: str) -> OperationCost:
        return self.operations[name]


class Meter:
    """Charges every item request one client makes while a sink is set."""

    def __init__(self, client: Any, definitions: Sequence[TableDefinition]) -> None:
        self._client = client
        self._tables = {definition.name: definition for definition in definitions}
        self._own_reads = threading.local()
        self._lock = threading.Lock()
        self._sink: tuple[list[Charge], OperationCost, Stage] | None = None

    @contextmanager
    def attached(self) -> Iterator["Meter"]:
        events = self._client.meta.events
        events.register("provide-client-params.dynamodb", self._before)
        events.register("after-call.dynamodb", self._after)
        try:
            yield self
        finally:
            events.unregister("provide-client-params.dynamodb", self._before)
            events.unregister("after-call.dynamodb", self._after)

    @contextmanager
    def charging(self, operation: OperationCost, stage: Stage) -> Iterator[None]:
        self._sink = (operation.charges[stage], operation, stage)
        try:
            yield
        finally:
            self._sink = None

    def read_item(self, table: str, key: Mapping[str, Any]) -> dict[str, Any] | None:
        """The item as it is now, read consistently and charged to nobody."""
        self._own_reads.active = True
        try:
            response = self._client.get_item(TableName=table, Key=key, ConsistentRead=True)
        finally:
            self._own_reads.active = False
        item = response.get("Item")
        return None if item is None else dict(item)

    def scan_items(self, table: str) -> list[dict[str, Any]]:
        """Every item of a table, charged to nobody."""
        items: list[dict[str, Any]] = []
        params: dict[str, Any] = {"TableName": table}
        self._own_reads.active = True
        try:
            while True:
                response = self._client.scan(**params)
                items += response["Items"]
                if "LastEvaluatedKey" not in response:
                    return items
                params["ExclusiveStartKey"] = response["LastEvaluatedKey"]
        finally:
            self._own_reads.active = False

    def _reading_for_myself(self) -> bool:
        return bool(getattr(self._own_reads, "active", False))

    def _before(
        self, params: dict[str, Any], model: Any, context: dict[str, Any], **_: Any
    ) -> None:
        sink = self._sink
        if sink is None or self._reading_for_myself() or model.name not in _WRITES | _READS:
            return
        # Kept on the request's own context: the dispatcher writes from several threads.
        context["capacity"] = (sink, params, self._befores(model.name, params))

    def _after(
        self,
        http_response: Any,
        parsed: dict[str, Any],
        model: Any,
        context: dict[str, Any],
        **_: Any,
    ) -> None:
        seen = context.pop("capacity", None)
        if seen is None:
            return
        (charges, operation, stage), params, befores = seen
        failed = http_response.status_code >= 300
        found = self._charges(model.name, params, parsed, befores, failed)
        with self._lock:
            charges.extend(found)
            operation.requests[stage] += 1

    def _befores(self, operation: str, params: Mapping[str, Any]) -> list[dict[str, Any] | None]:
        keys = written_keys(self._tables, operation, params) if operation in _WRITES else []
        return [self.read_item(table, key) for table, key in keys]

    def _charges(
        self,
        operation: str,
        params: Mapping[str, Any],
        parsed: Mapping[str, Any],
        befores: list[dict[str, Any] | None],
        failed: bool,
    ) -> list[Charge]:
        if operation in ("PutItem", "UpdateItem", "DeleteItem"):
            return self._single_write(operation, params, befores[0], failed)
        if operation == "BatchWriteItem":
            return self._batch_write(params, parsed, befores)
        if operation == "TransactWriteItems":
            return self._transact_write(params, befores, failed)
        if failed:
            return []  # a refused read returns nothing and is not charged
        if operation == "GetItem":
            return [self._get(params, parsed)]
        if operation in ("Query", "Scan"):
            return [self._query(operation, params, parsed)]
        if operation == "BatchGetItem":
            return self._batch_get(params, parsed)
        return self._transact_get(params)

    def _single_write(
        self,
        operation: str,
        params: Mapping[str, Any],
        before: dict[str, Any] | None,
        failed: bool,
    ) -> list[Charge]:
        definition = self._tables[params["TableName"]]
        key = written_keys(self._tables, operation, params)[0][1]
        if failed:
            return refused_write(definition, before, key)
        return item_write(definition, before, self._after_write(operation, params, key))

    def _after_write(
        self, operation: str, params: Mapping[str, Any], key: Mapping[str, Any]
    ) -> dict[str, Any] | None:
        if operation == "PutItem":
            return dict(params["Item"])
        if operation == "DeleteItem":
            return None
        return self.read_item(params["TableName"], key)

    def _batch_write(
        self,
        params: Mapping[str, Any],
        parsed: Mapping[str, Any],
        befores: list[dict[str, Any] | None],
    ) -> list[Charge]:
        left = parsed.get("UnprocessedItems") or {}
        charges: list[Charge] = []
        keys = written_keys(self._tables, "BatchWriteItem", params)
        requests = [r for requests in params["RequestItems"].values() for r in requests]
        for (table, _key), request, before in zip(keys, requests, befores, strict=True):
            if request in left.get(table, []):
                continue  # not written: sent again in a later request, charged there
            after = dict(request["PutRequest"]["Item"]) if "PutRequest" in request else None
            charges += item_write(self._tables[table], before, after)
        return charges

    def _transact_write(
        self, params: Mapping[str, Any], befores: list[dict[str, Any] | None], failed: bool
    ) -> list[Charge]:
        charges: list[Charge] = []
        keys = written_keys(self._tables, "TransactWriteItems", params)
        actions = transact_actions(params)
        for (table, key), action, entry, before in zip(
            keys, actions, params["TransactItems"], befores, strict=True
        ):
            definition = self._tables[table]
            if failed or action == "ConditionCheck":
                # A check is charged as a transactional write of the item it reads.
                charges += refused_write(definition, before, key, transactional=True)
                continue
            after = self._after_write(_SINGLE[action], entry[action], key)
            charges += item_write(definition, before, after, transactional=True)
        return charges

    def _get(self, params: Mapping[str, Any], parsed: Mapping[str, Any]) -> Charge:
        definition = self._tables[params["TableName"]]
        item = parsed.get("Item")
        if item is not None and "ProjectionExpression" in params:
            item = self.read_item(params["TableName"], params["Key"])  # charged on its size
        key = key_text(params["Key"], definition.partition_key)
        consistent = bool(params.get("ConsistentRead"))
        return items_read(definition.role, None, key, [item], consistent=consistent)

    def _query(
        self, operation: str, params: Mapping[str, Any], parsed: Mapping[str, Any]
    ) -> Charge:
        definition = self._tables[params["TableName"]]
        index_name = params.get("IndexName")
        items = parsed.get("Items", [])
        if {"FilterExpression", "ProjectionExpression", "Select"} & set(params):
            items = self._read_unfiltered(operation, params)
        key = None
        if operation == "Query":
            partition = next(
                (i.partition_key for i in definition.indexes if i.name == index_name),
                definition.partition_key,
            )
            key = queried_partition(params, partition)
        consistent = bool(params.get("ConsistentRead"))
        return items_read(definition.role, index_name, key, items, consistent=consistent)

    def _read_unfiltered(self, operation: str, params: Mapping[str, Any]) -> list[Any]:
        """The page as DynamoDB read it, before the filter or projection thinned it."""
        send = self._client.query if operation == "Query" else self._client.scan
        self._own_reads.active = True
        try:
            return list(send(**key_condition_only(params)).get("Items", []))
        finally:
            self._own_reads.active = False

    def _batch_get(self, params: Mapping[str, Any], parsed: Mapping[str, Any]) -> list[Charge]:
        left = parsed.get("UnprocessedKeys") or {}
        charges = []
        for table, request in params["RequestItems"].items():
            definition = self._tables[table]
            skipped = left.get(table, {}).get("Keys", [])
            for key in request["Keys"]:
                if key in skipped:
                    continue
                item = self.read_item(table, key)
                charges.append(
                    items_read(
                        definition.role,
                        None,
                        key_text(key, definition.partition_key),
                        [item],
                        consistent=bool(request.get("ConsistentRead")),
                    )
                )
        return charges

    def _transact_get(self, params: Mapping[str, Any]) -> list[Charge]:
        charges = []
        for entry in params.get("TransactItems", []):
            request = entry["Get"]
            definition = self._tables[request["TableName"]]
            item = self.read_item(request["TableName"], request["Key"])
            key = key_text(request["Key"], definition.partition_key)
            charges.append(
                items_read(definition.role, None, key, [item], consistent=True, transactional=True)
            )
        return charges


_SINGLE = {"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem"}


class StreamTap:
    """What the app's streamed tables put on their streams since the last look."""

    def __init__(self, client: Any, region: str) -> None:
        import boto3

        self._client = client
        self._region = region
        self._streams = boto3.session.Session().client("dynamodbstreams", region_name=region)
        self._seen: set[str] = set()

    def new_records(self, table: str) -> list[dict[str, Any]]:
        from ops.stream_consumer import read_all

        records = read_all(self._client, self._streams, table, self._region)
        fresh = [r for r in records if r["eventID"] not in self._seen]
        self._seen.update(r["eventID"] for r in fresh)
        return fresh


class _Run:
    """The app in-process, its streams, and the meter: one operation at a time."""

    def __init__(self, meter: Meter, tap: StreamTap, handlers: Mapping[str, TableDefinition]):
        self.api = InProcessApi()
        self.meter = meter
        self.tap = tap
        self.handlers = handlers  # in creation order: the inbox's handler comes last

    def settle(self, cost: OperationCost | None = None) -> None:
        """Feed every new stream record to its handler, as Lambda would, charging what they do
        to `cost` when given. One pass is enough: the inbox's handler comes last."""
        for handler, definition in self.handlers.items():
            records = self.tap.new_records(definition.name)
            if cost is not None:
                cost.stream_records[definition.role] = len(records)
            if not records:
                continue
            stage: Stage = "delivery" if handler == DELIVERY_HANDLER else "stream"
            with nullcontext() if cost is None else self.meter.charging(cost, stage):
                self._invoke(handler, records)

    def _invoke(self, handler: str, records: list[dict[str, Any]]) -> None:
        response = self.api.client.lambda_.invoke(handler, {"Records": records}).payload
        if (response or {}).get("batchItemFailures"):
            raise RuntimeError(f"{handler} failed records: {response}")

    def measure(
        self, name: str, method: str, path: str, body: Any = None
    ) -> tuple[OperationCost, Any]:
        cost = OperationCost(name)
        with self.meter.charging(cost, "api"):
            cost.status, reply = self.api.call(method, path, body)
        if not 200 <= cost.status < 300:
            raise RuntimeError(f"{name}: {method} {path} answered {cost.status}: {reply}")
        self.settle(cost)
        return cost, reply


def _event_body(day: int, n: int) -> dict[str, Any]:
    """An ordinary timed event, about the size people write."""
    return {
        "event_date": f"2026-06-{day:02d}",
        "title": f"주간 회의 {n}",
        "start_time": f"{9 + n % 8:02d}:00",
        "end_time": f"{10 + n % 8:02d}:00",
        "time": "",
        "description": "회의실 3층 대회의실. 안건: 지난주 진행 상황 공유와 이번 주 일정 조율.",
    }


def measure_profile() -> Profile:
    """Run the script of operations against the current DynamoDB and charge each one."""
    from chalicelib import context
    from chalicelib.tables import stream_handlers, table_definitions

    app = context.get_context()
    definitions = table_definitions(app.settings)
    meter = Meter(app.client, definitions)
    tap = StreamTap(app.client, app.settings.region)
    with ExitStack() as stack:
        receiver = stack.enter_context(Webhook())  # answers every call 200
        stack.enter_context(meter.attached())
        # The stream pipelines build their own client; hand them the app's, which is metered.
        stack.enter_context(mock.patch.object(context, "make_client", return_value=app.client))
        stack.enter_context(mock.patch.object(context, "dispatcher", return_value=_dispatcher(app)))
        stack.callback(context.stream_pipeline.cache_clear)
        context.stream_pipeline.cache_clear()
        run = _Run(meter, tap, stream_handlers(app.settings))
        operations = _script(run, receiver.url, app)
        spread = _spread(meter, definitions, operations)
    return Profile(operations={cost.name: cost for cost in operations}, spread=spread)


def _dispatcher(app: "Context") -> "Dispatcher":
    """The delivery functions' dispatcher on the app's client, allowed to call loopback."""
    from chalicelib.delivery.dispatcher import Dispatcher
    from chalicelib.repositories.deliveries import DeliveryLog, Inbox
    from chalicelib.repositories.subscriptions import SubscriptionRepository

    settings = replace(app.settings, allow_private_webhooks=True)
    client = app.client
    return Dispatcher(
        DeliveryLog(client, settings),
        Inbox(client, settings),
        SubscriptionRepository(client, settings),
        settings,
        now=lambda: datetime.now(UTC),
    )


def _script(run: _Run, receiver_url: str, app: "Context") -> list[OperationCost]:
    # Given: a department with a page and more of events, its changes already handled, and
    # one webhook subscription to everything that happens to its events.
    department = run.api.created("/api/departments", {"name": "용량 측정팀"})
    events = f"/api/events/{department['id']}"
    seeded = [run.api.created(events, _event_body(n % 30 + 1, n)) for n in range(SEEDED_EVENTS)]
    run.settle()
    app.subscriptions.create(
        department["id"], receiver_url, ["created", "changed", "cancelled"], "json", "bench"
    )

    # When: each operation once, with what it sets off downstream.
    measured: list[OperationCost] = []

    def measure(name: str, method: str, path: str, body: Any = None) -> Any:
        cost, reply = run.measure(name, method, path, body)
        measured.append(cost)
        return reply

    measure(DEPARTMENT_CREATE, "POST", "/api/departments", {"name": "새로 만든 부서"})
    measure(DEPARTMENT_GET, "GET", f"/api/departments/{department['id']}")
    measure(DEPARTMENT_LIST, "GET", f"/api/departments?limit={PAGE}")
    created = measure(EVENT_CREATE, "POST", events, _event_body(15, SEEDED_EVENTS))
    measure(EVENT_CREATE_AGAIN, "POST", events, _event_body(16, SEEDED_EVENTS + 1))
    measure(EVENT_GET, "GET", f"{events}/{seeded[0]['id']}")
    measure(EVENT_LIST, "GET", f"{events}?limit={PAGE}")
    measure(EVENT_UPDATE, "PATCH", f"{events}/{created['id']}", {"title": "주간 회의 (장소 변경)"})
    measure(EVENT_DELETE, "DELETE", f"{events}/{created['id']}")
    today = datetime.now(UTC).date().isoformat()
    measure(AUDIT_READ, "GET", f"/api/audit?date={today}&limit={PAGE}")
    measure(
        NOTIFICATIONS_READ, "GET", f"/api/departments/{department['id']}/notifications?limit={PAGE}"
    )
    measure(FEED_POLL_BUSY, "GET", _busy_feed(run, department["id"], seeded))
    return measured


def _busy_feed(run: _Run, department_id: str, seeded: list[dict[str, Any]]) -> str:
    """The address of a poll of the department's feed by a client that has read everything,
    after as many changes as a token remembers."""
    from chalicelib.repositories.change_feed import MAX_REMEMBERED

    feed = f"/api/departments/{department_id}/changes"
    token = run.api.call("GET", feed)[1]["sync_token"]
    for n in range(MAX_REMEMBERED):
        event = seeded[n % len(seeded)]
        run.api.call("PATCH", f"/api/events/{department_id}/{event['id']}", {"title": f"회의 {n}"})
    run.settle()
    caught_up = run.api.call("GET", f"{feed}?since={token}")[1]
    assert len(caught_up["changes"]) == len(seeded), "every changed event once"
    return f"{feed}?since={caught_up['sync_token']}"


def _spread(
    meter: Meter, definitions: Sequence[TableDefinition], operations: Sequence[OperationCost]
) -> dict[str, SpreadSeen]:
    """For each table or index spread over several values: the values its items and writes
    carried."""
    spread = {}
    for definition in definitions:
        keys: list[tuple[str | None, str, int]] = [
            (None, definition.partition_key, definition.shards)
        ]
        keys += [(index.name, index.partition_key, index.shards) for index in definition.indexes]
        sharded = [(index, partition_key) for index, partition_key, shards in keys if shards > 1]
        if not sharded:
            continue
        items = meter.scan_items(definition.name)
        for index, partition_key in sharded:
            stored = [key_text(item, partition_key) for item in items]
            written = [
                charge.key
                for cost in operations
                for charge in cost.all_charges()
                if charge.table == definition.role and charge.index == index
            ]
            values = {value for value in (*stored, *written) if value is not None}
            samples = sum(1 for value in (*stored, *written) if value is not None)
            name = definition.role if index is None else f"{definition.role}/{index}"
            spread[name] = SpreadSeen(frozenset(values), samples)
    return spread
