"""Reading what the stream handlers wrote: audit history and department inboxes (newest first)."""

from chalicelib.dynamo import DynamoDBClient
from chalicelib.models import AuditEntry, Notification
from chalicelib.repositories._common import query_page
from chalicelib.repositories._merged import MergedKey, merged_page
from chalicelib.settings import Settings
from chalicelib.tables import (
    AUDIT_DATE_INDEX,
    audit_date_keys,
    inbox_partitions,
    notification_of,
)


class ChangeRepository:
    def __init__(self, client: DynamoDBClient, settings: Settings) -> None:
        self._client = client
        self._audit = settings.audit_table
        self._inbox = settings.notifications_table

    def event_history(
        self, department_id: str, event_id: str, limit: int, next_token: str | None
    ) -> tuple[list[AuditEntry], str | None]:
        entity_key = f"event#{department_id}#{event_id}"
        return self._history(entity_key, limit, next_token)

    def department_history(
        self, department_id: str, limit: int, next_token: str | None
    ) -> tuple[list[AuditEntry], str | None]:
        return self._history(f"department#{department_id}", limit, next_token)

    def audit_for_date(
        self, date: str, limit: int, next_token: str | None
    ) -> tuple[list[AuditEntry], str | None]:
        """Every change of one UTC day, newest first, through the date index (never a Scan):
        the day is spread over several `date` values, read together as one."""
        day = MergedKey(
            table=self._audit,
            index=AUDIT_DATE_INDEX,
            partition_key="date",
            values=audit_date_keys(date),
            sort_key="change_key",
            tie_key="entity_key",
        )
        items, token = merged_page(
            self._client, day, scope=f"audit-day|{date}", limit=limit, next_token=next_token
        )
        return [AuditEntry.model_validate(item) for item in items], token

    def notifications(
        self, department_id: str, limit: int, next_token: str | None
    ) -> tuple[list[Notification], str | None]:
        """The department's inbox, newest first: spread over several `department_id` values,
        read together as one."""
        inbox = MergedKey(
            table=self._inbox,
            index=None,
            partition_key="department_id",
            values=inbox_partitions(department_id),
            sort_key="change_key",
            tie_key="department_id",
        )
        items, token = merged_page(
            self._client,
            inbox,
            scope=f"inbox-spread|{department_id}",
            limit=limit,
            next_token=next_token,
        )
        return [Notification.model_validate(notification_of(item)) for item in items], token

    def _history(
        self, entity_key: str, limit: int, next_token: str | None
    ) -> tuple[list[AuditEntry], str | None]:
        items, token = query_page(
            self._client,
            table=self._audit,
            index=None,
            partition=("entity_key", entity_key),
            key_names=("entity_key", "change_key"),
            scope=f"audit|{entity_key}",
            limit=limit,
            next_token=next_token,
        )
        return [AuditEntry.model_validate(item) for item in items], token
