"""Calendar events. Keyed by (id, department_id); listed through the department-date index."""

from typing import Any

from chalicelib.dynamo import (
    DynamoDBClient,
    failed_conditions,
    from_item,
    storage_errors,
    to_item,
    transact_write,
)
from chalicelib.errors import (
    ConcurrentModification,
    DepartmentNotFound,
    EventNotFound,
    InvalidPageToken,
    VersionMismatch,
)
from chalicelib.models import Event, EventCreate, EventUpdate, is_calendar_date
from chalicelib.pagination import decode_token, encode_token
from chalicelib.repositories._common import (
    Clock,
    condition,
    deletion_stamp,
    new_id,
    slice_page,
    update_request,
    utc_now,
    version_guard,
    with_guard,
)
from chalicelib.repositories.idempotency import Created, IdempotencyRecords, IdempotentRequest
from chalicelib.settings import Settings
from chalicelib.tables import EVENT_DATE_INDEX

# The start key of a page on the index: the index key plus the table key.
_PAGE_KEY = ("department_id", "event_date", "id")
# Where the create's department counter and the delete's event stand in their transactions.
_CREATE_COUNTER = 0
_DELETE_EVENT = 0


class EventRepository:
    def __init__(self, client: DynamoDBClient, settings: Settings, clock: Clock = utc_now) -> None:
        self._client = client
        self._table = settings.events_table
        self._departments = settings.departments_table
        self._clock = clock
        self._idempotency = IdempotencyRecords(client, settings.idempotency_table)

    def create(
        self,
        department_id: str,
        data: EventCreate,
        actor: str,
        request: IdempotentRequest | None = None,
    ) -> Created[Event]:
        now = self._clock()
        event = Event(
            id=new_id(),
            department_id=department_id,
            event_date=data.event_date,
            title=data.title,
            time=data.time,
            description=data.description,
            created_at=now,
            updated_at=now,
            version=1,
        )
        item = {**event.model_dump(), "created_by": actor, "updated_by": actor}
        outcome = self._idempotency.create(
            [
                # The department must exist, and its event counter moves with this create.
                self._count_events(department_id, +1),
                {
                    "Put": {
                        "TableName": self._table,
                        "Item": to_item(item),
                        **condition("attribute_not_exists(id)"),
                    }
                },
            ],
            event,
            request,
        )
        if isinstance(outcome, list):
            raise _why_create_refused(failed_conditions(outcome), event)
        return outcome

    def get(self, department_id: str, event_id: str) -> Event:
        with storage_errors():
            response = self._client.get_item(
                TableName=self._table, Key=_key(department_id, event_id), ConsistentRead=True
            )
        if "Item" not in response:
            raise EventNotFound(department_id, event_id)
        return Event.model_validate(from_item(response["Item"]))

    def list_page(
        self,
        department_id: str,
        *,
        date_from: str | None,
        date_to: str | None,
        limit: int,
        next_token: str | None,
    ) -> tuple[list[Event], str | None]:
        """One page of the department's events in event_date order: a single Query, no Scan.

        Returns an empty first page for a department with no events; whether the department
        exists at all is the caller's question (see `department_exists`)."""
        key_condition, values = "department_id = :d", {":d": {"S": department_id}}
        if date_from is not None and date_to is not None:
            key_condition += " AND event_date BETWEEN :from AND :to"
        elif date_from is not None:
            key_condition += " AND event_date >= :from"
        elif date_to is not None:
            key_condition += " AND event_date <= :to"
        if date_from is not None:
            values[":from"] = {"S": date_from}
        if date_to is not None:
            values[":to"] = {"S": date_to}
        params: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": EVENT_DATE_INDEX,
            "KeyConditionExpression": key_condition,
            "ExpressionAttributeValues": values,
            "Limit": limit + 1,
        }
        # A token only continues the listing (department and filters) that produced it.
        scope = f"events|{department_id}|{date_from or ''}|{date_to or ''}"
        if next_token is not None:
            start = decode_token(
                next_token, scope, frozenset(_PAGE_KEY), fixed={"department_id": department_id}
            )
            # DynamoDB rejects a start key outside the key condition: refuse it here as a 400.
            start_date = start["event_date"]
            if (
                not is_calendar_date(start_date)
                or (date_from is not None and start_date < date_from)
                or (date_to is not None and start_date > date_to)
            ):
                raise InvalidPageToken("next_token does not belong to this listing.")
            params["ExclusiveStartKey"] = to_item(start)
        with storage_errors():
            response = self._client.query(**params)
        items, last_key = slice_page(response, limit, _PAGE_KEY)
        token = None if last_key is None else encode_token(scope, last_key)
        return [Event.model_validate(item) for item in items], token

    def update(
        self,
        department_id: str,
        event_id: str,
        data: EventUpdate,
        actor: str,
        expected_version: int | None = None,
    ) -> Event:
        guard = version_guard(expected_version)
        request = update_request(data.changes(), now=self._clock(), actor=actor, guard=guard)
        with storage_errors():
            try:
                response = self._client.update_item(
                    TableName=self._table,
                    Key=_key(department_id, event_id),
                    ReturnValues="ALL_NEW",
                    **request,
                )
            except self._client.exceptions.ConditionalCheckFailedException:
                raise self._why_refused(department_id, event_id) from None
        return Event.model_validate(from_item(response["Attributes"]))

    def delete(
        self,
        department_id: str,
        event_id: str,
        actor: str,
        expected_version: int | None = None,
    ) -> None:
        key: dict[str, Any] = {"TableName": self._table, "Key": _key(department_id, event_id)}
        delete = {**key, **version_guard(expected_version)}
        stamp = with_guard(deletion_stamp(actor, self._clock()), version_guard(expected_version))
        with storage_errors():
            try:
                self._client.update_item(**key, **stamp)
            except self._client.exceptions.ConditionalCheckFailedException:
                raise self._why_refused(department_id, event_id) from None
            codes = transact_write(
                self._client, [{"Delete": delete}, self._count_events(department_id, -1)]
            )
            if codes is None:
                return
            if _DELETE_EVENT in failed_conditions(codes):
                # Deleted or changed by someone else since the stamp.
                raise self._why_refused(department_id, event_id)
            # Only the counter was refused: the event exists but its department does not
            # (written by another tool). There is no counter to move; the event goes alone.
            try:
                self._client.delete_item(**delete)
            except self._client.exceptions.ConditionalCheckFailedException:
                raise self._why_refused(department_id, event_id) from None

    def _why_refused(self, department_id: str, event_id: str) -> Exception:
        """A conditional write failed: the event is gone (404), or it is not the version the
        caller named (412, with the version it is now)."""
        response = self._client.get_item(
            TableName=self._table, Key=_key(department_id, event_id), ConsistentRead=True
        )
        if "Item" not in response:
            return EventNotFound(department_id, event_id)
        version = int(from_item(response["Item"]).get("version", 0))
        return VersionMismatch(f"Event '{event_id}'", version)

    def _count_events(self, department_id: str, delta: int) -> dict[str, Any]:
        return {
            "Update": {
                "TableName": self._departments,
                "Key": {"id": {"S": department_id}},
                "UpdateExpression": "ADD event_count :delta",
                **condition("attribute_exists(id)", values={":delta": delta}),
            }
        }


def _why_create_refused(failed: frozenset[int], event: Event) -> Exception:
    """A create refused by a condition: the department is missing (404; it counts first, as
    an event can never exist without it), or another writer took the new event's id in the
    same moment (409: a retry gets a new id)."""
    if _CREATE_COUNTER in failed:
        return DepartmentNotFound(event.department_id)
    # The other item is the event itself, put under attribute_not_exists(id).
    return ConcurrentModification(f"Event '{event.id}'")


def _key(department_id: str, event_id: str) -> dict[str, Any]:
    return {"id": {"S": event_id}, "department_id": {"S": department_id}}
