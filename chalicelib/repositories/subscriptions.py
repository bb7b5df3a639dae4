"""A department's webhook subscriptions, their health, and the log of deliveries made to them.

The delivery worker imports this module as well as the API, so it stays light: subscriptions
are a plain dataclass, not a pydantic model. The signing secret is stored as it was given out
(unlike a feed token, which is kept as a hash): every delivery is signed with it.

Each write that follows a subscription's health (`record_failure`, `record_success`, `pause`)
is conditional on the subscription still existing: an UpdateItem on a missing key would
otherwise create a stray item holding nothing but that one attribute.
"""

from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from chalicelib.clock import Clock, utc_now
from chalicelib.dynamo import (
    DynamoDBClient,
    failed_conditions,
    from_item,
    storage_errors,
    to_item,
    transact_write,
)
from chalicelib.errors import ConcurrentModification, DepartmentNotFound, SubscriptionNotFound
from chalicelib.repositories._common import EXISTS, condition, new_id, query_page, update_request
from chalicelib.repositories._merged import MergedKey, merged_page
from chalicelib.settings import Settings
from chalicelib.tables import delivery_partitions
from chalicelib.webhooks.signing import new_secret

ACTIVE = "active"
PAUSED = "paused"

_SUBSCRIPTION_KEY = ("department_id", "id")
# Where each item stands in the create transaction.
_DEPARTMENT_CHECK = 0


@dataclass(frozen=True)
class Subscription:
    """A URL that is told about a department's events, and how its deliveries are going."""

    department_id: str
    id: str
    url: str
    events: tuple[str, ...]  # among chalicelib.webhooks.payloads.SUBSCRIBABLE
    format: str  # "json" | "slack"
    secret: str  # signs every call (Standard Webhooks), `whsec_…`
    status: str  # "active" | "paused"
    created_at: str
    created_by: str
    failing_since: str | None  # the first failure since the last success; None while healthy
    paused_at: str | None
    version: int

    @classmethod
    def from_item(cls, item: Mapping[str, Any]) -> "Subscription":
        """The subscription stored as `item`, read as `chalicelib.dynamo.from_item` gives it."""
        return cls(
            department_id=str(item["department_id"]),
            id=str(item["id"]),
            url=str(item["url"]),
            events=tuple(str(event) for event in item.get("events", [])),
            format=str(item.get("format", "json")),
            secret=str(item["secret"]),
            status=str(item.get("status", ACTIVE)),
            created_at=str(item.get("created_at", "")),
            created_by=str(item.get("created_by", "")),
            failing_since=_text_or_none(item.get("failing_since")),
            paused_at=_text_or_none(item.get("paused_at")),
            version=int(item.get("version", 1)),
        )


def _accept(_: Subscription) -> None:
    """The default `confirm` of a create: nothing to check."""


class SubscriptionRepository:
    def __init__(self, client: DynamoDBClient, settings: Settings, clock: Clock = utc_now) -> None:
        self._client = client
        self._table = settings.subscriptions_table
        self._deliveries = settings.deliveries_table
        self._departments = settings.departments_table
        self._clock = clock

    def create(
        self,
        department_id: str,
        url: str,
        events: Sequence[str],
        format: str,
        actor: str,
        *,
        confirm: Callable[[Subscription], None] = _accept,
    ) -> Subscription:
        """A new active subscription with its own id and signing secret.

        `confirm` sees the subscription before anything is stored and refuses it by raising:
        the API's test call, which must be signed with the very secret the subscriber gets.
        The department's existence is checked in the same transaction as the write, so a
        department deleted meanwhile does not gain a subscription (DepartmentNotFound)."""
        now = self._clock()
        subscription = Subscription(
            department_id=department_id,
            id=new_id(),
            url=url,
            events=tuple(events),
            format=format,
            secret=new_secret(),
            status=ACTIVE,
            created_at=now,
            created_by=actor,
            failing_since=None,
            paused_at=None,
            version=1,
        )
        confirm(subscription)
        item = {**asdict(subscription), "updated_at": now, "updated_by": actor}
        department_check = {
            "ConditionCheck": {
                "TableName": self._departments,
                "Key": {"id": {"S": department_id}},
                "ConditionExpression": "attribute_exists(id)",
            }
        }
        put = {
            "Put": {
                "TableName": self._table,
                "Item": to_item(item),
                "ConditionExpression": "attribute_not_exists(id)",
            }
        }
        with storage_errors():
            codes = transact_write(self._client, [department_check, put])
        if codes is None:
            return subscription
        if _DEPARTMENT_CHECK in failed_conditions(codes):
            raise DepartmentNotFound(department_id)
        # The put itself: another write took the new id in the same moment.
        raise ConcurrentModification(f"Subscription '{subscription.id}'")

    def get(self, department_id: str, subscription_id: str) -> Subscription:
        with storage_errors():
            response = self._client.get_item(
                TableName=self._table,
                Key=_key(department_id, subscription_id),
                ConsistentRead=True,
            )
        if "Item" not in response:
            raise SubscriptionNotFound(department_id, subscription_id)
        return Subscription.from_item(from_item(response["Item"]))

    def page(
        self, department_id: str, limit: int, next_token: str | None
    ) -> tuple[list[Subscription], str | None]:
        """One page of the department's subscriptions, in id order."""
        items, token = query_page(
            self._client,
            consistent=True,
            table=self._table,
            partition=("department_id", department_id),
            key_names=_SUBSCRIPTION_KEY,
            scope=f"subscriptions|{department_id}",
            limit=limit,
            next_token=next_token,
            newest_first=False,
        )
        return [Subscription.from_item(item) for item in items], token

    def delete(self, department_id: str, subscription_id: str) -> None:
        """Remove the subscription; nothing more is sent to it. Its delivery log stays until
        it expires."""
        with storage_errors():
            try:
                self._client.delete_item(
                    TableName=self._table,
                    Key=_key(department_id, subscription_id),
                    **EXISTS,
                )
            except self._client.exceptions.ConditionalCheckFailedException:
                raise SubscriptionNotFound(department_id, subscription_id) from None

    def rotate_secret(self, department_id: str, subscription_id: str, actor: str) -> Subscription:
        """A new signing secret; calls signed from now on use it, and the old one is gone."""
        request = update_request(
            {"secret": new_secret()}, now=self._clock(), actor=actor, guard=EXISTS
        )
        return self._update(department_id, subscription_id, request)

    def active_for(self, department_id: str) -> list[Subscription]:
        """The department's active subscriptions, read consistently so one paused or deleted a
        moment ago is not sent to. One Query, followed past DynamoDB's 1 MB pages."""
        params: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "department_id = :department",
            "FilterExpression": "#status = :active",
            "ExpressionAttributeNames": {"#status": "status"},
            "ExpressionAttributeValues": {
                ":department": {"S": department_id},
                ":active": {"S": ACTIVE},
            },
            "ConsistentRead": True,
        }
        found: list[Subscription] = []
        while True:
            with storage_errors():
                response = self._client.query(**params)
            found.extend(Subscription.from_item(from_item(i)) for i in response.get("Items", []))
            last_key = response.get("LastEvaluatedKey")
            if not last_key:
                return found
            params["ExclusiveStartKey"] = last_key

    def record_failure(self, department_id: str, subscription_id: str, at: str) -> str:
        """A delivery to the subscription failed at `at`. The first failure after a success
        starts its failing period; later ones leave that start as it is. Returns the start now
        stored, from which the caller decides whether to pause (webhooks.retry.is_paused)."""
        request = condition(
            "attribute_exists(id)", {"#failing_since": "failing_since"}, {":at": at}
        )
        request["UpdateExpression"] = "SET #failing_since = if_not_exists(#failing_since, :at)"
        return str(self._update(department_id, subscription_id, request).failing_since)

    def record_success(self, department_id: str, subscription_id: str) -> None:
        """A delivery got through: the subscription is healthy again. Costs a write, so call it
        only when the subscription had `failing_since` set."""
        request = condition("attribute_exists(id)", {"#failing_since": "failing_since"})
        request["UpdateExpression"] = "REMOVE #failing_since"
        self._update(department_id, subscription_id, request)

    def pause(self, department_id: str, subscription_id: str, at: str) -> bool:
        """Stop sending to the subscription. True if this call paused it; False if it was
        paused already, or is gone."""
        request = condition(
            "attribute_exists(id) AND #status = :active",
            {"#status": "status", "#paused_at": "paused_at"},
            {":active": ACTIVE, ":paused": PAUSED, ":at": at},
        )
        with storage_errors():
            try:
                self._client.update_item(
                    TableName=self._table,
                    Key=_key(department_id, subscription_id),
                    UpdateExpression="SET #status = :paused, #paused_at = :at",
                    **request,
                )
            except self._client.exceptions.ConditionalCheckFailedException:
                return False
        return True

    def deliveries_page(
        self, subscription_id: str, limit: int, next_token: str | None
    ) -> tuple[list[dict[str, Any]], str | None]:
        """One page of the subscription's delivery log, newest notification first, each
        delivery as its plain item (its `subscription_id` the subscription's, not the spread
        partition it is kept under)."""
        log = MergedKey(
            table=self._deliveries,
            index=None,
            partition_key="subscription_id",
            values=delivery_partitions(subscription_id),
            sort_key="notification_key",
            tie_key="subscription_id",
            consistent=True,
        )
        items, token = merged_page(
            self._client,
            log,
            scope=f"deliveries|{subscription_id}",
            limit=limit,
            next_token=next_token,
        )
        return [{**item, "subscription_id": subscription_id} for item in items], token

    def _update(
        self, department_id: str, subscription_id: str, request: Mapping[str, Any]
    ) -> Subscription:
        """An UpdateItem whose condition includes the subscription's existence; the
        subscription as it is afterwards."""
        with storage_errors():
            try:
                response = self._client.update_item(
                    TableName=self._table,
                    Key=_key(department_id, subscription_id),
                    ReturnValues="ALL_NEW",
                    **request,
                )
            except self._client.exceptions.ConditionalCheckFailedException:
                raise SubscriptionNotFound(department_id, subscription_id) from None
        return Subscription.from_item(from_item(response["Attributes"]))


def _key(department_id: str, subscription_id: str) -> dict[str, Any]:
    return {"department_id": {"S": department_id}, "id": {"S": subscription_id}}


def _text_or_none(value: Any) -> str | None:
    return None if value is None else str(value)
