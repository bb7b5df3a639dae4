"""Departments, their unique names and the event counter that guards deletion.

Invariants kept here, in DynamoDB itself rather than by checking first:
- a department's normalised name is claimed by one item in the names table, written in the
  same transaction as the department, so two departments can never share a name;
- the department's event counter (repositories/event_counter.py) moves in the same
  transaction as each event create/delete, and the delete removes the department on condition
  that every part of it counts nothing, so a department with events cannot be deleted (unless
  cascading) even under concurrency.
"""

import hashlib
import hmac
import secrets
import time
from collections.abc import Collection, Mapping
from typing import Any

from chalicelib.clock import Clock, utc_now
from chalicelib.dynamo import (
    BATCH_GET_LIMIT,
    DynamoDBClient,
    batch_get,
    failed_conditions,
    from_item,
    storage_errors,
    to_item,
    to_value,
    transact_write,
)
from chalicelib.errors import (
    ConcurrentModification,
    DepartmentHasEvents,
    DepartmentNameTaken,
    DepartmentNotFound,
    VersionMismatch,
)
from chalicelib.models import Department, DepartmentCreate, DepartmentUpdate, department_name_key
from chalicelib.pagination import decode_token, encode_token
from chalicelib.repositories._common import (
    EXISTS,
    deletion_stamp,
    new_id,
    slice_page,
    unchanged_since,
    update_request,
    version_guard,
    with_guard,
)
from chalicelib.repositories.event_counter import COUNTED_IN, EventCounter, counted_in
from chalicelib.repositories.idempotency import Created, IdempotencyRecords, IdempotentRequest
from chalicelib.settings import Settings
from chalicelib.tables import COUNTER_SHARDS, EVENT_CALENDAR_INDEX, calendar_keys

_FEED_TOKEN_BYTES = 24
_PAGE_SCOPE = "departments"
_PAGE_KEY = frozenset({"id"})
_SOME_SCOPE = "departments-of-caller"
# How often a rename or delete re-reads and tries again when another writer got in between.
_OPTIMISTIC_ATTEMPTS = 5
_CASCADE_ATTEMPTS = 25
# A transaction holds at most 25 items on every DynamoDB implementation we run against
# (AWS allows 100): the counter's items (the department's own and each spread one), the rest
# events.
_CASCADE_CHUNK = 25 - (COUNTER_SHARDS + 1)
# Where the items that callers explain stand in each transaction; an old name's release, when
# there is one, comes after them.
_CREATE_NAME = 0
_RENAME_DEPARTMENT, _RENAME_NEW_NAME = 0, 1


class DepartmentRepository:
    def __init__(
        self,
        client: DynamoDBClient,
        settings: Settings,
        clock: Clock = utc_now,
    ) -> None:
        self._client = client
        self._table = settings.departments_table
        self._names = settings.department_names_table
        self._events = settings.events_table
        self._clock = clock
        self._idempotency = IdempotencyRecords(client, settings.idempotency_table)
        self._counter = EventCounter(client, settings)

    def create(
        self, data: DepartmentCreate, actor: str, request: IdempotentRequest | None = None
    ) -> Created[Department]:
        now = self._clock()
        department = Department(
            id=new_id(),
            name=data.name,
            description=data.description,
            reminders=data.reminders,
            created_at=now,
            updated_at=now,
            version=1,
        )
        item = {
            **department.model_dump(),
            "event_count": 0,
            "created_by": actor,
            "updated_by": actor,
        }
        outcome = self._idempotency.create(
            [
                self.claim_name(department.name, department.id),
                {
                    "Put": {
                        "TableName": self._table,
                        "Item": to_item(item),
                        "ConditionExpression": "attribute_not_exists(id)",
                    }
                },
            ],
            department,
            request,
        )
        if isinstance(outcome, list):
            raise self._why_create_refused(failed_conditions(outcome), department)
        return outcome

    def get(self, department_id: str) -> Department:
        return Department.model_validate(self._read(department_id))

    def rotate_feed_token(self, department_id: str, actor: str) -> str:
        """A new secret for the department's calendar feed; the one before stops working. Only
        its hash is stored, so reading the table (or the audit log) does not give it away."""
        token = secrets.token_urlsafe(_FEED_TOKEN_BYTES)
        self._set(department_id, {"feed_token_hash": feed_token_hash(token)}, actor, EXISTS, None)
        return token

    def with_feed_token(self, department_id: str, token: str) -> Department:
        """The department whose feed `token` opens; DepartmentNotFound for a wrong or old
        token too, so a guess learns nothing."""
        item = self._read(department_id)
        stored = str(item.get("feed_token_hash", ""))
        if not stored or not hmac.compare_digest(stored, feed_token_hash(token)):
            raise DepartmentNotFound(department_id)
        return Department.model_validate(item)

    def exists(self, department_id: str) -> bool:
        with storage_errors():
            response = self._client.get_item(
                TableName=self._table,
                Key=_key(department_id),
                ProjectionExpression="id",
                ConsistentRead=True,
            )
        return "Item" in response

    def list_page(self, limit: int, next_token: str | None) -> tuple[list[Department], str | None]:
        """One page of departments, in the table's (hash) order; every one appears exactly once."""
        params: dict[str, Any] = {
            "TableName": self._table,
            "Limit": limit + 1,
            "ConsistentRead": True,
        }
        if next_token is not None:
            start = decode_token(next_token, _PAGE_SCOPE, _PAGE_KEY)
            params["ExclusiveStartKey"] = to_item(start)
        with storage_errors():
            response = self._client.scan(**params)
        items, last_key = slice_page(response, limit, ["id"])
        token = None if last_key is None else encode_token(_PAGE_SCOPE, last_key)
        return [Department.model_validate(item) for item in items], token

    def list_some(
        self, ids: Collection[str], limit: int, next_token: str | None
    ) -> tuple[list[Department], str | None]:
        """One page of the departments among `ids` (a caller's, from their roles), in id order:
        a BatchGetItem of the next ids rather than a scan of every department. Ids with no
        department (one deleted since the role was given) are skipped."""
        remaining = sorted(ids)
        if next_token is not None:
            after = decode_token(next_token, _SOME_SCOPE, _PAGE_KEY)["id"]
            remaining = [department_id for department_id in remaining if department_id > after]
        found: list[Department] = []
        while remaining and len(found) < limit:
            size = min(limit - len(found), BATCH_GET_LIMIT)
            chunk, remaining = remaining[:size], remaining[size:]
            with storage_errors():
                items = batch_get(self._client, self._table, [_key(i) for i in chunk])
            by_id = {item["id"]["S"]: from_item(item) for item in items}
            found.extend(Department.model_validate(by_id[i]) for i in chunk if i in by_id)
        token = encode_token(_SOME_SCOPE, {"id": found[-1].id}) if remaining and found else None
        return found, token

    def update(
        self,
        department_id: str,
        data: DepartmentUpdate,
        actor: str,
        expected_version: int | None = None,
    ) -> Department:
        changes = data.changes()
        if "name" not in changes:
            guard = version_guard(expected_version)
            return self._set(department_id, changes, actor, guard, expected_version)
        claimed_by_another: str | None = None
        for _ in range(_OPTIMISTIC_ATTEMPTS):
            current = self._read(department_id)
            _check_version(department_id, current, expected_version)
            old_name, new_name = current["name"], changes["name"]
            guard = unchanged_since(current)
            if department_name_key(old_name) == department_name_key(new_name):
                return self._set(department_id, changes, actor, guard, expected_version)
            now = self._clock()
            update = _update_request(changes, now=now, actor=actor, guard=guard)
            items = [
                {"Update": {"TableName": self._table, "Key": _key(department_id), **update}},
                self.claim_name(new_name, department_id),
            ]
            if old_name != claimed_by_another:
                items.append(self.release_name(old_name, department_id))
            with storage_errors():
                codes = transact_write(self._client, items)
            if codes is None:
                renamed = {**current, **changes, "updated_at": now}
                renamed["version"] = current.get("version", 0) + 1
                return Department.model_validate(renamed)
            failed = failed_conditions(codes)
            if _RENAME_DEPARTMENT in failed:
                continue  # someone else changed or deleted it in between: read it again
            if _RENAME_NEW_NAME in failed:
                raise self._name_taken(new_name)
            # Only the old name's release was refused: see release_name.
            claimed_by_another = old_name
        raise ConcurrentModification(f"Department '{department_id}'")

    def delete(
        self,
        department_id: str,
        *,
        cascade: bool,
        actor: str,
        expected_version: int | None = None,
    ) -> None:
        failed_attempts = 0
        # A cascade may wait on the index a few times; each such wait counts as an attempt.
        attempts = _CASCADE_ATTEMPTS if cascade else _OPTIMISTIC_ATTEMPTS
        claimed_by_another: str | None = None
        while failed_attempts < attempts:
            current = self._read(department_id)
            # Checked on every read: the writes below are guarded by the version read here, so
            # a change in between is read again and refused here.
            _check_version(department_id, current, expected_version)
            if self._has_events(department_id, current):
                if not cascade:
                    raise DepartmentHasEvents(department_id)
                if self._delete_events(department_id, actor):
                    continue
            elif self._stamp(department_id, current, actor):
                delete = {"TableName": self._table, "Key": _key(department_id)}
                items = [
                    {"Delete": {**delete, **_unchanged_and_empty(current)}},
                    *self._counter.removals(department_id),
                ]
                release_at = len(items)
                if current["name"] != claimed_by_another:
                    items.append(self.release_name(current["name"], department_id))
                with storage_errors():
                    codes = transact_write(self._client, items)
                if codes is None:
                    return
                if failed_conditions(codes) == {release_at}:
                    # Only the name's release was refused: see release_name.
                    claimed_by_another = current["name"]
                # Otherwise it changed or gained events since it was read: read it again.
            failed_attempts += 1
        raise ConcurrentModification(f"Department '{department_id}'")

    def _has_events(self, department_id: str, current: dict[str, Any]) -> bool:
        """Whether any part of the department's event counter counts events: its own (events
        made before the counter was spread) or one of its counter items (read consistently)."""
        if int(current.get("event_count", 0)) > 0:
            return True
        with storage_errors():
            return any(count > 0 for count in self._counter.counts(department_id).values())

    def _stamp(self, department_id: str, current: dict[str, Any], actor: str) -> bool:
        """Record the deleter on the department (see deletion_stamp). False if it changed
        or gained events since it was read."""
        stamp = with_guard(deletion_stamp(actor, self._clock()), _unchanged_and_empty(current))
        with storage_errors():
            try:
                self._client.update_item(TableName=self._table, Key=_key(department_id), **stamp)
            except self._client.exceptions.ConditionalCheckFailedException:
                return False
        return True

    def _delete_events(self, department_id: str, actor: str) -> bool:
        """Delete one chunk of the department's events, moving its counter in the same step.
        True if that chunk is gone."""
        found: dict[str, int | None] = {}
        for key in calendar_keys(department_id):
            with storage_errors():
                response = self._client.query(
                    TableName=self._events,
                    IndexName=EVENT_CALENDAR_INDEX,
                    KeyConditionExpression="calendar_key = :key",
                    ExpressionAttributeValues={":key": {"S": key}},
                    ProjectionExpression="id, #c",
                    ExpressionAttributeNames={"#c": COUNTED_IN},
                    Limit=_CASCADE_CHUNK - len(found),
                )
            for item in map(from_item, response.get("Items", [])):
                found[item["id"]] = counted_in(item)
            if len(found) == _CASCADE_CHUNK:
                break
        ids = list(found)
        if not ids:
            # The counter says events exist but the index does not show them yet (index
            # updates lag the table by a moment): give it that moment before reading again.
            time.sleep(0.2)
            return False
        with storage_errors():
            # The index lags the table: it may still list events of the chunk just deleted.
            # Those fail the stamp's existence check; leave them out and go on with the rest.
            ids = self._stamp_events(department_id, ids, actor)
            if not ids:
                time.sleep(0.2)
                return False
            deletes: list[dict[str, Any]] = [
                {
                    "Delete": {
                        "TableName": self._events,
                        "Key": {"id": {"S": event_id}, "department_id": {"S": department_id}},
                        "ConditionExpression": "attribute_exists(id)",
                    }
                }
                for event_id in ids
            ]
            counters = self._counter.moves(department_id, (found[i] for i in ids))
            # Cancelled, whichever item was refused, the caller reads the department again:
            # gone (the counters' condition), a 404; or another writer removed one of these
            # events first, and it carries on with what is left.
            return transact_write(self._client, [*counters, *deletes]) is None

    def _stamp_events(self, department_id: str, ids: list[str], actor: str) -> list[str]:
        """Stamp the deleter on these events (one transaction); returns those that exist."""
        stamp = deletion_stamp(actor, self._clock())
        while ids:
            codes = transact_write(
                self._client,
                [
                    {
                        "Update": {
                            "TableName": self._events,
                            "Key": {"id": {"S": event_id}, "department_id": {"S": department_id}},
                            **with_guard(stamp, EXISTS),
                        }
                    }
                    for event_id in ids
                ],
            )
            if codes is None:
                return ids
            gone = failed_conditions(codes)
            ids = [event_id for position, event_id in enumerate(ids) if position not in gone]
        return []

    def set_event_count(self, department_id: str, count: int, *, before: int | None) -> bool:
        """Set the event counter to `count` (for the operations that count events: recount
        and the migration), on condition that it still holds `before` (None: no counter yet)
        and the department exists. False when it moved meanwhile (an event created or deleted
        through the API) or the department is gone. DynamoDB's errors are raised as they come:
        the operations tools wait out throttling themselves."""
        guard = "attribute_not_exists(event_count)" if before is None else "event_count = :before"
        values = {":count": to_value(count)}
        if before is not None:
            values[":before"] = to_value(before)
        try:
            self._client.update_item(
                TableName=self._table,
                Key=_key(department_id),
                UpdateExpression="SET event_count = :count",
                ConditionExpression=f"attribute_exists(id) AND {guard}",
                ExpressionAttributeValues=values,
            )
        except self._client.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def _read(self, department_id: str) -> dict[str, Any]:
        with storage_errors():
            response = self._client.get_item(
                TableName=self._table, Key=_key(department_id), ConsistentRead=True
            )
        if "Item" not in response:
            raise DepartmentNotFound(department_id)
        return from_item(response["Item"])

    def _set(
        self,
        department_id: str,
        changes: dict[str, Any],
        actor: str,
        guard: dict[str, Any],
        expected_version: int | None,
    ) -> Department:
        request = _update_request(changes, now=self._clock(), actor=actor, guard=guard)
        with storage_errors():
            try:
                response = self._client.update_item(
                    TableName=self._table,
                    Key=_key(department_id),
                    ReturnValues="ALL_NEW",
                    **request,
                )
            except self._client.exceptions.ConditionalCheckFailedException:
                current = self._read(department_id)  # DepartmentNotFound if it is gone
                if expected_version is None:
                    raise ConcurrentModification(f"Department '{department_id}'") from None
                raise VersionMismatch(
                    f"Department '{department_id}'", int(current.get("version", 0))
                ) from None
        return Department.model_validate(from_item(response["Attributes"]))

    def claim_name(self, name: str, department_id: str) -> dict[str, Any]:
        """The transaction item that claims `name` for the department: refused while another
        department holds it. A claim the department already holds is claimed again, so a
        rerun of the migration, which writes departments under their own ids, goes through."""
        return {
            "Put": {
                "TableName": self._names,
                "Item": to_item(
                    {"name_key": department_name_key(name), "department_id": department_id}
                ),
                **_unclaimed_or_held_by(department_id),
            }
        }

    def _why_create_refused(self, failed: frozenset[int], department: Department) -> Exception:
        """A create refused by a condition: its name is taken (409 on `name`), or another
        writer took the new department's id in the same moment (409: a retry gets a new id)."""
        if _CREATE_NAME in failed:
            return self._name_taken(department.name)
        # The other item is the department itself, put under attribute_not_exists(id).
        return ConcurrentModification(f"Department '{department.id}'")

    def _name_taken(self, name: str) -> DepartmentNameTaken:
        """The refusal of `name`, quoting the name as the department holding it is called
        (`QA팀` when `qa팀` was asked for). Only a refused write reads this: the claim, then
        its holder's name; if either is gone meanwhile, the name asked for is quoted."""
        holder = self.name_holder(name)
        if holder is None:
            return DepartmentNameTaken(name)
        with storage_errors():
            response = self._client.get_item(
                TableName=self._table,
                Key=_key(holder),
                ProjectionExpression="#name",
                ExpressionAttributeNames={"#name": "name"},
                ConsistentRead=True,
            )
        existing = from_item(response.get("Item", {})).get("name")
        return DepartmentNameTaken(existing if isinstance(existing, str) else name, name)

    def name_holder(self, name: str) -> str | None:
        """The id of the department that holds `name`'s claim, if any (a consistent read)."""
        with storage_errors():
            response = self._client.get_item(
                TableName=self._names,
                Key={"name_key": {"S": department_name_key(name)}},
                ConsistentRead=True,
            )
        item = response.get("Item")
        return None if item is None else str(item["department_id"]["S"])

    def release_name(self, name: str, department_id: str) -> dict[str, Any]:
        """The transaction item that gives up the department's claim on `name`.

        Only its own claim is released. A department written by another tool may have no
        claim; that is not an error either. A claim another department holds (two departments
        written by another tool under one name) makes the item's condition fail: the caller
        decides (a rename or delete runs again without it, leaving that claim to its owner)."""
        return {
            "Delete": {
                "TableName": self._names,
                "Key": {"name_key": {"S": department_name_key(name)}},
                **_unclaimed_or_held_by(department_id),
            }
        }


def _unclaimed_or_held_by(department_id: str) -> dict[str, Any]:
    return {
        "ConditionExpression": "attribute_not_exists(name_key) OR department_id = :owner",
        "ExpressionAttributeValues": {":owner": {"S": department_id}},
    }


def _check_version(department_id: str, current: dict[str, Any], expected: int | None) -> None:
    if expected is not None and int(current.get("version", 0)) != expected:
        raise VersionMismatch(f"Department '{department_id}'", int(current.get("version", 0)))


def _unchanged_and_empty(current: dict[str, Any]) -> dict[str, Any]:
    """Still the version that was read, and still without events. The counter does not move
    the version, so it must be checked itself: an event created since the read fails this."""
    guard = unchanged_since(current)
    guard["ConditionExpression"] = (
        f"({guard['ConditionExpression']}) "
        "AND (attribute_not_exists(event_count) OR event_count = :no_events)"
    )
    guard.setdefault("ExpressionAttributeValues", {})[":no_events"] = to_value(0)
    return guard


def _key(department_id: str) -> dict[str, Any]:
    return {"id": {"S": department_id}}


def _update_request(
    changes: Mapping[str, Any], *, now: str, actor: str, guard: Mapping[str, Any]
) -> dict[str, Any]:
    """update_request, except that a change to null (`reminders`: no default) removes the
    attribute rather than storing a NULL."""
    removed = [name for name, value in changes.items() if value is None]
    kept = {name: value for name, value in changes.items() if value is not None}
    request = update_request(kept, now=now, actor=actor, guard=guard)
    if removed:
        names = {f"#r{i}": name for i, name in enumerate(removed)}
        request["UpdateExpression"] += " REMOVE " + ", ".join(names)
        request["ExpressionAttributeNames"].update(names)
    return request


def feed_token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()
