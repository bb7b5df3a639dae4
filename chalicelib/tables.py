"""The project's tables, defined once.

create-tables, the test fixtures and the deployment template all build their tables from these
definitions, so the three cannot drift apart. Everything here is plain data: the CreateTable
request shape is what both boto3 and CloudFormation speak.
"""

import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Literal

from chalicelib.settings import Settings

STREAM_VIEW_TYPE: Final = "NEW_AND_OLD_IMAGES"

# Whose traffic one partition key value carries, which is what bounds it: DynamoDB gives each
# value about 1,000 write and 3,000 read units per second. `item`: one event, one entity's
# history, one request (spread by nature); `department` and `subscription`: one tenant's;
# `day`: everybody's, one day at a time; `global`: everybody's, always. A key that carries more
# than one item's traffic is spread over `shards` values (docs/capacity.md; bench/capacity.py
# reads these to compute the peak per value).
Carries = Literal["item", "department", "subscription", "day", "global"]


@dataclass(frozen=True)
class Index:
    name: str
    partition_key: str
    sort_key: str | None = None
    carries: Carries = "item"
    shards: int = 1

    def key_schema(self) -> list[dict[str, str]]:
        return _key_schema(self.partition_key, self.sort_key)


@dataclass(frozen=True)
class TableDefinition:
    """One table: its role in the app, keys, global secondary indexes and whether it streams."""

    role: str
    name: str
    partition_key: str
    sort_key: str | None = None
    carries: Carries = "item"
    shards: int = 1
    indexes: tuple[Index, ...] = field(default=())
    stream: bool = False
    # Indexes an earlier version had and this one replaced: create-tables leaves them for the
    # version still running, and a deploy deletes them once its code no longer reads them.
    retired_indexes: tuple[Index, ...] = field(default=())
    # Indexes of versions before that: deleted where a table still has them, never declared
    # again (not even by a template that keeps the retired ones).
    dropped_indexes: tuple[str, ...] = field(default=())
    # The app's function (app.py) that consumes the stream: what the deployment wires to it,
    # names its alarms after, and lists in the stage config.
    stream_handler: str | None = None
    # An epoch-seconds attribute after which DynamoDB may delete the item (Time to Live).
    ttl_attribute: str | None = None

    def key_schema(self) -> list[dict[str, str]]:
        return _key_schema(self.partition_key, self.sort_key)

    def attribute_definitions(self, indexes: Sequence[Index] | None = None) -> list[dict[str, str]]:
        names: list[str] = []
        for key in (self.partition_key, self.sort_key):
            if key is not None and key not in names:
                names.append(key)
        for index in self.indexes if indexes is None else indexes:
            for key in (index.partition_key, index.sort_key):
                if key is not None and key not in names:
                    names.append(key)
        # Every key attribute of this project is a string.
        return [{"AttributeName": name, "AttributeType": "S"} for name in names]

    def create_table_request(self, *, with_retired: bool = False) -> dict[str, Any]:
        """The CreateTable parameters for a new, on-demand table (with the retired indexes
        too: what a template that upgrades an earlier version's stack declares)."""
        indexes = [*self.indexes, *(self.retired_indexes if with_retired else ())]
        request: dict[str, Any] = {
            "TableName": self.name,
            "KeySchema": self.key_schema(),
            "AttributeDefinitions": self.attribute_definitions(indexes),
            "BillingMode": "PAY_PER_REQUEST",
        }
        if indexes:
            request["GlobalSecondaryIndexes"] = [
                {
                    "IndexName": index.name,
                    "KeySchema": index.key_schema(),
                    "Projection": {"ProjectionType": "ALL"},
                }
                for index in indexes
            ]
        if self.stream:
            request["StreamSpecification"] = {
                "StreamEnabled": True,
                "StreamViewType": STREAM_VIEW_TYPE,
            }
        return request


def _key_schema(partition_key: str, sort_key: str | None) -> list[dict[str, str]]:
    schema = [{"AttributeName": partition_key, "KeyType": "HASH"}]
    if sort_key is not None:
        schema.append({"AttributeName": sort_key, "KeyType": "RANGE"})
    return schema


DEPARTMENT_NAME_INDEX = "name-index"
# A department's events by date, spread over this many `calendar_key` values by event: one
# value (the department's id, as the index this one replaced had) took all of a busy
# department's event writes and calendar reads. Shard 0 is the plain id. Sorted by
# `calendar_order`, the event's date and id: unique, so the values merge back into one (date,
# id) order without reading a whole date to sort its events. Every event is written with both;
# events from before get them from ops/calendar_backfill.py.
EVENT_CALENDAR_INDEX = "department-calendar-index"
CALENDAR_SHARDS: Final = 4
# What the calendar read before: all of a department's events on the one value
# `department_id`. Deleted once no running code reads it.
RETIRED_EVENT_DATE_INDEX: Final = Index(
    "department-date-index", partition_key="department_id", sort_key="event_date"
)
# Sparse: only events that last past their start date (multi-day, recurring) carry its key, so
# a listing finds every one that reaches into its dates in one small Query.
EVENT_SPAN_INDEX = "department-span-index"
AUDIT_DATE_INDEX = "date-index"
# A day's changes are spread over this many `date` values by their entity, so no one value
# takes the whole platform's writes (about 2 write units per entry, images included). Shard 0
# keeps the plain date, so entries written before the spreading stay in the day's listing.
AUDIT_DATE_SHARDS: Final = 32
# A department's event changes in the order they happened: what its change feed reads. Only
# event entries carry its key, `feed_key`: the department's id spread over this many values by
# event, as one value would take all of a busy department's changes.
AUDIT_FEED_INDEX = "department-feed-index"
FEED_SHARDS: Final = 4
# What the feed read before: every change of a department, its own included, on the one value
# `department_id`. Deleted by the deploy that brought the feed index; a table that still has
# it loses it, and no template declares it again.
DROPPED_AUDIT_DEPARTMENT_INDEX: Final = "department-changes-index"


# A subscription (or configured channel) gets every notification of its department, and each
# delivery is written twice (opened, then its attempt recorded): one value would take a
# department's traffic alone. Its deliveries are spread over this many `subscription_id` values
# by notification; shard 0 keeps the plain id.
DELIVERY_SHARDS: Final = 8

# Deliveries waiting for an attempt, by when it is due. Every delivery is on it from when it is
# opened until its attempt is recorded (so one whose sender died is retried): two index writes
# per notification and target, the whole platform's, spread over this many values. The sweep
# reads each once a minute. Values written under a smaller count stay among these.
DELIVERIES_DUE_INDEX = "due-index"
DUE_SHARDS: Final = 32


# Each event create and delete moves its department's event counter in its transaction (two
# write units). The counter is spread over this many items by event (repositories/
# event_counter.py); events counted before the spreading stay on the department item.
COUNTER_SHARDS: Final = 4


# A department's inbox takes one notification per visible change of its events: those are
# spread over this many `department_id` values by notification (shard 0 keeps the plain id, so
# what was kept before is where readers look). Reminders, digests and notices are few, and are
# put once under a key of their own: they stay on the plain id, where a second put of the same
# one, by any version, finds it.
INBOX_SHARDS: Final = 4
INBOX_SPREAD_KINDS: Final = frozenset({"created", "updated", "cancelled"})


def spread_key(value: str, by: str, shards: int) -> str:
    """`value` as one of `shards` partition key values, chosen by `by`: the same `by` always
    lands on the same one (a rewrite finds its item). Shard 0 is `value` itself, so what was
    written before a key was spread is still where its readers look."""
    return shard_key(value, spread_shard(by, shards))


def spread_shard(by: str, shards: int) -> int:
    """Which of `shards` values `by` lands on (0 … shards - 1)."""
    return zlib.crc32(by.encode("utf-8")) % shards


def shard_key(value: str, shard: int) -> str:
    """`value`'s partition key value number `shard`: `value` itself for shard 0."""
    return value if shard == 0 else f"{value}#{shard}"


def spread_keys(value: str, shards: int) -> list[str]:
    """Every partition key value `value` is spread over: what a reader of all of it queries."""
    return [shard_key(value, shard) for shard in range(shards)]


def audit_date_key(date: str, entity_key: str, shards: int = AUDIT_DATE_SHARDS) -> str:
    """The `date` value an audit entry of `entity_key` is filed under: the same for every
    change of one entity (a redelivered record rewrites the same item)."""
    return spread_key(date, entity_key, shards)


def audit_date_keys(date: str, shards: int = AUDIT_DATE_SHARDS) -> list[str]:
    """Every `date` value one day's entries are filed under."""
    return spread_keys(date, shards)


def audit_index_keys(
    entity_key: str, at: str, entity_type: str, department_id: str | None
) -> dict[str, str]:
    """The attributes that list an audit entry of `entity_key` made `at`: under its day, and an
    event's change also in its department's feed. The same for every change of one entity, so
    a redelivered record rewrites the same item and one entity's changes stay in order."""
    keys = {"date": audit_date_key(at[:10], entity_key)}
    if entity_type == "event" and department_id:
        keys["feed_key"] = spread_key(department_id, entity_key, FEED_SHARDS)
    return keys


def feed_keys(department_id: str) -> list[str]:
    """Every `feed_key` value one department's event changes are listed under."""
    return spread_keys(department_id, FEED_SHARDS)


def calendar_key(department_id: str, event_id: str) -> str:
    """The `calendar_key` an event of `department_id` is listed under, chosen by its id."""
    return spread_key(department_id, event_id, CALENDAR_SHARDS)


def calendar_order(event_date: str, event_id: str) -> str:
    """Where an event sorts under its `calendar_key`: by date, then id. `#` sorts before every
    character of a date, so a date's events come after the date itself and before the next."""
    return f"{event_date}#{event_id}"


def calendar_orders_between(first: str, last: str) -> tuple[str, str]:
    """The lowest and highest `calendar_order` of events dated first … last: `$` sorts right
    after `#`, so after every order of the last date."""
    return first, f"{last}$"


def calendar_attributes(department_id: str, event_id: str, event_date: str) -> dict[str, str]:
    """The attributes that list an event in its department's calendar index."""
    return {
        "calendar_key": calendar_key(department_id, event_id),
        "calendar_order": calendar_order(event_date, event_id),
    }


def calendar_keys(department_id: str) -> list[str]:
    """Every `calendar_key` value one department's events are listed under."""
    return spread_keys(department_id, CALENDAR_SHARDS)


def inbox_partition(department_id: str, notification_key: str, kind: str) -> str:
    """The `department_id` value (the inbox's partition key) a notification is kept under."""
    if kind not in INBOX_SPREAD_KINDS:
        return department_id
    return spread_key(department_id, notification_key, INBOX_SHARDS)


def inbox_partitions(department_id: str) -> list[str]:
    """Every `department_id` value one department's inbox is kept under."""
    return spread_keys(department_id, INBOX_SHARDS)


def inbox_item(notification: Mapping[str, Any]) -> dict[str, Any]:
    """A notification (its `department_id` the department's, its `change_key` set) as the inbox
    keeps it: under its partition, with the department's own id in `department`."""
    department_id = str(notification["department_id"])
    partition = inbox_partition(
        department_id, str(notification["change_key"]), str(notification["kind"])
    )
    return {**notification, "department_id": partition, "department": department_id}


def notification_of(item: Mapping[str, Any]) -> dict[str, Any]:
    """The notification an inbox item holds, its `department_id` the department's again (an
    item kept before the spreading has no `department`: its partition is the department)."""
    notification = {name: value for name, value in item.items() if name != "department"}
    notification["department_id"] = item.get("department") or item["department_id"]
    return notification


def delivery_partition(target: str, notification_key: str) -> str:
    """The `subscription_id` value a target's delivery of one notification is kept under."""
    return spread_key(target, notification_key, DELIVERY_SHARDS)


def delivery_partitions(target: str) -> list[str]:
    """Every `subscription_id` value one target's deliveries are kept under."""
    return spread_keys(target, DELIVERY_SHARDS)


def table_definitions(settings: Settings) -> list[TableDefinition]:
    """The tables the app needs wherever it runs (the deployment's), in creation order."""
    return [
        TableDefinition(
            role="departments",
            name=settings.departments_table,
            partition_key="id",
            # The department's item: its renames, and the event counter of events made before
            # the counter was spread (the counters table has the others').
            carries="department",
            indexes=(Index(DEPARTMENT_NAME_INDEX, partition_key="name"),),
            stream=True,
            stream_handler="on_department_change",
        ),
        TableDefinition(
            role="events",
            name=settings.events_table,
            partition_key="id",
            sort_key="department_id",
            indexes=(
                Index(
                    EVENT_CALENDAR_INDEX,
                    partition_key="calendar_key",
                    sort_key="calendar_order",
                    carries="department",
                    shards=CALENDAR_SHARDS,
                ),
                Index(
                    EVENT_SPAN_INDEX,
                    partition_key="span_department",
                    sort_key="event_date",
                    carries="department",
                ),
            ),
            stream=True,
            stream_handler="on_event_change",
            retired_indexes=(RETIRED_EVENT_DATE_INDEX,),
        ),
        # One item per claimed department name (normalised), so uniqueness is enforced by a
        # conditional write inside the same transaction as the department itself.
        TableDefinition(
            role="department_names",
            name=settings.department_names_table,
            partition_key="name_key",
        ),
        # A department's event counter, spread: `<department id>`, `<id>#1` … by event. Each
        # item exists exactly while its department does, from its first event on.
        TableDefinition(
            role="counters",
            name=settings.counters_table,
            partition_key="counter_key",
            carries="department",
            shards=COUNTER_SHARDS,
        ),
        # One entry per change, keyed by the stream record, so a redelivered record rewrites
        # the same item. `change_key` sorts by time, then sequence number.
        TableDefinition(
            role="audit",
            name=settings.audit_table,
            partition_key="entity_key",
            sort_key="change_key",
            indexes=(
                Index(
                    AUDIT_DATE_INDEX,
                    partition_key="date",
                    sort_key="change_key",
                    carries="day",
                    shards=AUDIT_DATE_SHARDS,
                ),
                Index(
                    AUDIT_FEED_INDEX,
                    partition_key="feed_key",
                    sort_key="change_key",
                    carries="department",
                    shards=FEED_SHARDS,
                ),
            ),
            dropped_indexes=(DROPPED_AUDIT_DEPARTMENT_INDEX,),
        ),
        # The department inbox: one notification per visible event change, spread by
        # notification (inbox_item). Its stream feeds the deliveries, so the audit never waits
        # on a receiver.
        TableDefinition(
            role="notifications",
            name=settings.notifications_table,
            partition_key="department_id",
            sort_key="change_key",
            carries="department",
            shards=INBOX_SHARDS,
            stream=True,
            stream_handler="on_notification",
        ),
        # A department's webhook subscriptions, with their signing secrets.
        TableDefinition(
            role="subscriptions",
            name=settings.subscriptions_table,
            partition_key="department_id",
            sort_key="id",
            carries="department",
        ),
        # One item per (subscription or configured channel, notification): created with a
        # condition, so a redelivered inbox record sends nothing twice, and kept as the delivery
        # log. While a delivery waits for its next attempt it is on the sparse due index.
        TableDefinition(
            role="deliveries",
            name=settings.deliveries_table,
            partition_key="subscription_id",
            sort_key="notification_key",
            carries="subscription",
            shards=DELIVERY_SHARDS,
            indexes=(
                Index(
                    DELIVERIES_DUE_INDEX,
                    partition_key="due_shard",
                    sort_key="due_at",
                    carries="global",
                    shards=DUE_SHARDS,
                ),
            ),
            ttl_attribute="expires_at",
        ),
        # Stream records that can never be processed, parked with their error.
        TableDefinition(
            role="failed_records",
            name=settings.failed_records_table,
            partition_key="event_id",
        ),
        # The answer to each POST sent with an Idempotency-Key, written in the same transaction
        # as what the POST created, and kept for a day so a retry gets the same answer.
        TableDefinition(
            role="idempotency",
            name=settings.idempotency_table,
            partition_key="idempotency_key",
            ttl_attribute="expires_at",
        ),
    ]


def stream_handlers(settings: Settings) -> dict[str, TableDefinition]:
    """Each stream handler's name → the table whose stream it consumes, in creation order."""
    return {
        definition.stream_handler: definition
        for definition in table_definitions(settings)
        if definition.stream_handler is not None
    }


def stream_checkpoints_table(settings: Settings) -> TableDefinition:
    """Where a stream consumer outside Lambda (`make run`, `manage.py stream-worker`) keeps,
    per shard, the last sequence number it processed and who holds the shard's lease. Not part
    of the deployment: on AWS the event source mapping keeps its own position."""
    return TableDefinition(
        role="stream_checkpoints",
        name=settings.stream_checkpoints_table,
        partition_key="shard_key",
    )


def local_table_definitions(settings: Settings) -> list[TableDefinition]:
    """Every table of a stack that consumes its own streams: the app's and the checkpoints."""
    return [*table_definitions(settings), stream_checkpoints_table(settings)]
