"""What one stream record should leave behind, decided before anything is written."""

from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from chalicelib.models import AuditEntry, Notification
from chalicelib.streams.audit import audit_entry
from chalicelib.streams.notifications import notification
from chalicelib.streams.records import Change, PermanentRecordError, parse_change


@dataclass(frozen=True)
class Effects:
    change: Change | None = None  # None: the record was parked as permanently failed
    audit: AuditEntry | None = None
    notification: Notification | None = None

    @property
    def parked(self) -> bool:
        return self.change is None


def effects_of(record: dict[str, Any], entity_type: str) -> Effects:
    """Pure: raises PermanentRecordError for a record that can never be processed."""
    change = parse_change(record, entity_type)
    try:
        return Effects(change=change, audit=audit_entry(change), notification=notification(change))
    except ValidationError as error:
        raise PermanentRecordError(f"record does not fit the model: {error}") from None
