"""The migration's DynamoDB access: many items, few requests, a bounded number in flight.

Existing items are found with BatchGetItem (100 keys a request, only the attributes asked
for), events are written with BatchWriteItem (25 a request), a few requests at a time;
unprocessed keys and items and throttling are retried with jittered exponential backoff, so a
throttled table slows the run down and never drops an item. Departments go one transaction
each, because each claims its name in the same uniqueness table the API uses. What a
department's events look like after the run is read per department from the calendar index, key,
stamps and counter item only: one range read instead of a lookup per event.
"""

import random
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from chalicelib.dynamo import (
    BATCH_WRITE_LIMIT,
    DynamoDBClient,
    batch_write,
    from_item,
    is_throttling,
    to_item,
    to_value,
    transact_write,
)
from chalicelib.errors import StorageUnavailable
from chalicelib.models import department_name_key
from chalicelib.repositories.departments import DepartmentRepository
from chalicelib.repositories.event_counter import COUNTED_IN
from chalicelib.settings import Settings
from chalicelib.tables import EVENT_CALENDAR_INDEX, calendar_keys

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.type_defs import QueryOutputTypeDef

BATCH_GET_LIMIT = 100
# Throttling never fails the run: this many attempts with pauses up to 5 s is ten minutes.
_ATTEMPTS = 120
_MAX_PAUSE = 5.0

Key = tuple[str, ...]
EventKey = tuple[str, str]  # (id, department_id)


class MigrationError(Exception):
    pass


class MigrationStore:
    def __init__(
        self,
        client: DynamoDBClient,
        settings: Settings,
        *,
        in_flight: int = 4,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        self._client = client
        self.settings = settings
        self._departments = DepartmentRepository(client, settings)
        self._in_flight = in_flight
        self._sleep = sleep or time.sleep

    # reads

    def get_many(
        self,
        table: str,
        key_names: Sequence[str],
        keys: Iterable[Key],
        attributes: Sequence[str] | None = None,
    ) -> dict[Key, dict[str, Any]]:
        """The items that exist among `keys` (consistent reads), by key; only `attributes`
        (and the key) when given, which keeps large existence checks cheap: `()` reads the
        key alone."""
        unique = list(dict.fromkeys(keys))
        chunks = [unique[i : i + BATCH_GET_LIMIT] for i in range(0, len(unique), BATCH_GET_LIMIT)]
        projection: dict[str, Any] = {}
        if attributes is not None:
            names = list(dict.fromkeys([*key_names, *attributes]))
            projection = {
                "ProjectionExpression": ", ".join(f"#p{i}" for i in range(len(names))),
                "ExpressionAttributeNames": {f"#p{i}": name for i, name in enumerate(names)},
            }
        found: dict[Key, dict[str, Any]] = {}
        for items in self.each(
            lambda chunk: self._get_chunk(table, key_names, chunk, projection), chunks
        ):
            for item in items:
                found[tuple(str(item[name]) for name in key_names)] = item
        return found

    def _get_chunk(
        self,
        table: str,
        key_names: Sequence[str],
        keys: list[Key],
        projection: dict[str, Any],
    ) -> list[dict[str, Any]]:
        request: dict[str, Any] = {
            table: {
                "Keys": [to_item(dict(zip(key_names, key, strict=True))) for key in keys],
                "ConsistentRead": True,
                **projection,
            }
        }
        items: list[dict[str, Any]] = []
        for attempt in range(_ATTEMPTS):
            try:
                response = self._client.batch_get_item(RequestItems=request)
            except ClientError as error:
                if not is_throttling(error):
                    raise
            else:
                items += [from_item(item) for item in response["Responses"].get(table, [])]
                request = dict(response.get("UnprocessedKeys") or {})
                if not request:
                    return items
            self._pause(attempt)
        raise MigrationError(f"{table}: 읽기가 계속 제한되었습니다 (throttling)")

    def is_empty(self, table: str) -> bool:
        """True when the table holds no item at all (a consistent read of at most one): then
        nothing in it can be found, and a first migration need not look item by item."""
        response = self._client.scan(TableName=table, Limit=1, ConsistentRead=True)
        return not response.get("Items") and "LastEvaluatedKey" not in response

    def events_by_department(
        self, department_ids: Iterable[str], attributes: Sequence[str]
    ) -> dict[str, dict[EventKey, dict[str, Any]]]:
        """Per department, every event the calendar index shows for it, by key (id, department
        id), with only `attributes` besides the key. The index lags the table for a moment
        on DynamoDB: callers confirm with a consistent get_many what they miss here."""
        ids = list(dict.fromkeys(department_ids))
        found = self.each(lambda department_id: self._events_of(department_id, attributes), ids)
        return dict(zip(ids, found, strict=True))

    def _events_of(
        self, department_id: str, attributes: Sequence[str]
    ) -> dict[EventKey, dict[str, Any]]:
        names = list(dict.fromkeys(["id", "department_id", *attributes]))
        events: dict[EventKey, dict[str, Any]] = {}
        for key in calendar_keys(department_id):
            params: dict[str, Any] = {
                "TableName": self.settings.events_table,
                "IndexName": EVENT_CALENDAR_INDEX,
                "KeyConditionExpression": "calendar_key = :key",
                "ExpressionAttributeValues": {":key": {"S": key}},
                "ProjectionExpression": ", ".join(f"#p{i}" for i in range(len(names))),
                "ExpressionAttributeNames": {f"#p{i}": name for i, name in enumerate(names)},
            }
            for response in self._pages(params):
                for item in response.get("Items", []):
                    event = from_item(item)
                    events[(str(event["id"]), str(event["department_id"]))] = event
        return events

    def _pages(self, params: dict[str, Any]) -> Iterator["QueryOutputTypeDef"]:
        """Every page of a Query, each asked again (after a pause) while it is throttled."""
        request = dict(params)
        while True:
            for attempt in range(_ATTEMPTS):
                try:
                    response = self._client.query(**request)
                    break
                except ClientError as error:
                    if not is_throttling(error):
                        raise
                    self._pause(attempt)
            else:
                raise MigrationError(
                    f"{self.settings.events_table}: 읽기가 계속 제한되었습니다 (throttling)"
                )
            yield response
            if "LastEvaluatedKey" not in response:
                return
            request["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    # writes

    def put_many(
        self,
        table: str,
        items: Sequence[dict[str, Any]],
        on_written: Callable[[int], None] = lambda count: None,
    ) -> None:
        requests = [{"PutRequest": {"Item": to_item(item)}} for item in items]
        chunks = [
            requests[i : i + BATCH_WRITE_LIMIT] for i in range(0, len(requests), BATCH_WRITE_LIMIT)
        ]

        def write(chunk: list[Any]) -> None:
            if not batch_write(
                self._client,
                {table: chunk},
                attempts=_ATTEMPTS,
                sleep=self._sleep,
                max_pause=_MAX_PAUSE,
            ):
                raise MigrationError(f"{table}: 쓰기가 계속 제한되었습니다 (throttling)")
            on_written(len(chunk))

        self.each(write, chunks)

    def put_department(self, item: dict[str, Any], existing: dict[str, Any] | None) -> str | None:
        """Write a department with its name claim in one transaction. Returns None when done,
        or the id of the other department that holds the name.

        The claim and its release are the repository's own transaction items, so a name
        taken here is taken for the API too. Where the repository renames without releasing an
        old name another department holds (two departments written under one name by a tool
        that bypassed both), this raises MigrationError instead: a run must not leave it so."""
        department_id = item["id"]
        actions: list[dict[str, Any]] = [self._departments.claim_name(item["name"], department_id)]
        put: dict[str, Any] = {"TableName": self.settings.departments_table, "Item": to_item(item)}
        if existing is None:
            put["ConditionExpression"] = "attribute_not_exists(id)"
        else:
            # The event counter moves without the version: guard it too, or the delete of one
            # of the events it counts, through the API meanwhile, would be lost from it.
            put["ConditionExpression"] = "#version = :version AND " + (
                "event_count = :count"
                if "event_count" in existing
                else "attribute_not_exists(event_count)"
            )
            put["ExpressionAttributeNames"] = {"#version": "version"}
            put["ExpressionAttributeValues"] = {":version": to_value(existing.get("version", 0))}
            if "event_count" in existing:
                put["ExpressionAttributeValues"][":count"] = to_value(existing["event_count"])
            if department_name_key(existing["name"]) != department_name_key(item["name"]):
                actions.append(self._departments.release_name(existing["name"], department_id))
        actions.append({"Put": put})
        for attempt in range(_ATTEMPTS):
            try:
                codes = transact_write(self._client, actions)
            except ClientError as error:
                if not is_throttling(error):
                    raise
                self._pause(attempt)
                continue
            except StorageUnavailable:  # an item was throttled, or conflicts went on: wait
                self._pause(attempt)
                continue
            if codes is None:
                return None
            if codes[0] == "ConditionalCheckFailed":
                return self.name_owner(item["name"]) or "?"
            raise MigrationError(
                f"부서 '{department_id}'가 마이그레이션 도중 바뀌었습니다: 다시 실행하세요"
            )
        raise MigrationError("departments: 쓰기가 계속 제한되었습니다 (throttling)")

    def name_owner(self, name: str) -> str | None:
        return self._departments.name_holder(name)

    def set_event_count(self, department_id: str, count: int, before: int | None) -> bool:
        """The department's event counter set to `count` if it still holds `before` (the
        repository's rule), throttling waited out. False when it moved meanwhile or the
        department is gone: the caller counts again with recount_events."""
        for attempt in range(_ATTEMPTS):
            try:
                return self._departments.set_event_count(department_id, count, before=before)
            except ClientError as error:
                if not is_throttling(error):
                    raise
                self._pause(attempt)
        raise MigrationError("departments: 쓰기가 계속 제한되었습니다 (throttling)")

    def event_count(self, department_id: str) -> int | None:
        """The department item's own event counter as stored now, read consistently (None:
        no counter yet, or no department)."""
        item = self._client.get_item(
            TableName=self.settings.departments_table,
            Key={"id": {"S": department_id}},
            ProjectionExpression="event_count",
            ConsistentRead=True,
        ).get("Item", {})
        return None if "event_count" not in item else int(item["event_count"]["N"])

    def recount_events(self, department_id: str, at_least: int, wait_seconds: float = 60) -> int:
        """Set the department item's own event counter (see repositories/event_counter.py) to
        the number of its events that name no counter item (the others are counted on their
        items). Counted on the calendar index, which lags the table for a moment: wait until it
        shows at least the `at_least` such events this run knows are there."""
        deadline = time.monotonic() + wait_seconds
        while True:
            before = self._client.get_item(
                TableName=self.settings.departments_table,
                Key={"id": {"S": department_id}},
                ConsistentRead=True,
            ).get("Item")
            if before is None:
                return 0
            count = self._count_events(department_id)
            if count < at_least and time.monotonic() < deadline:
                self._sleep(0.5)
                continue
            previous = before.get("event_count")
            known = None if previous is None else int(previous["N"])
            if known == count:
                return count  # already right: a rerun writes nothing
            # An event created through the API meanwhile moves the counter: count again.
            if self.set_event_count(department_id, count, known):
                return count

    def _count_events(self, department_id: str) -> int:
        """The department's events on the calendar index that name no counter item: what its
        own counter counts."""
        count = 0
        for key in calendar_keys(department_id):
            params: dict[str, Any] = {
                "TableName": self.settings.events_table,
                "IndexName": EVENT_CALENDAR_INDEX,
                "KeyConditionExpression": "calendar_key = :key",
                "FilterExpression": "attribute_not_exists(#counted)",
                "ExpressionAttributeNames": {"#counted": COUNTED_IN},
                "ExpressionAttributeValues": {":key": {"S": key}},
                "Select": "COUNT",
            }
            count += sum(response["Count"] for response in self._pages(params))
        return count

    # plumbing

    def each(self, work: Callable[[Any], Any], jobs: Sequence[Any]) -> list[Any]:
        """work(job) for every job, `in_flight` at a time (boto3 clients are thread-safe);
        the results in the order of `jobs`."""
        if len(jobs) <= 1:
            return [work(job) for job in jobs]
        with ThreadPoolExecutor(max_workers=min(self._in_flight, len(jobs))) as pool:
            return list(pool.map(work, jobs))

    def _pause(self, attempt: int) -> None:
        self._sleep(random.uniform(0, min(_MAX_PAUSE, 0.05 * 2**attempt)))
