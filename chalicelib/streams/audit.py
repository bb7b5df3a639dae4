"""Change → audit entry. Pure: no I/O, no clock."""

from typing import Any

from chalicelib.models import AuditEntry, FieldChange
from chalicelib.streams.records import Change

# Written by the app itself to keep its invariants; a MODIFY that only touches these is not a
# change anyone made (the event counter, the actor stamped just before a delete, the dates of a
# series that have a changed copy of their own, the calendar index keys given to an event from
# before that index).
HOUSEKEEPING = frozenset(
    {"event_count", "deleted_by", "deleted_at", "overrides", "calendar_key", "calendar_order"}
)
# Moved by writes; kept in the images, left out of `changes` (the span index's key follows
# the event's dates, which are in `changes` themselves).
BOOKKEEPING = HOUSEKEEPING | {
    "version",
    "updated_at",
    "updated_by",
    "created_at",
    "created_by",
    "span_department",
    "span_until",
    # The counter item that counts the event (repositories/event_counter.py).
    "counted_in",
}

UNKNOWN_ACTOR = "unknown"


def field_changes(
    old: dict[str, Any], new: dict[str, Any], ignore: frozenset[str] = frozenset()
) -> dict[str, FieldChange]:
    """Per field that differs (and is not ignored): its old and new value (None if absent)."""
    names = (set(old) | set(new)) - ignore
    return {
        name: FieldChange(old=old.get(name), new=new.get(name))
        for name in sorted(names)
        if old.get(name) != new.get(name)
    }


def is_housekeeping(change: Change) -> bool:
    if change.action != "MODIFY":
        return False
    assert change.old is not None
    assert change.new is not None
    return not field_changes(change.old, change.new, ignore=HOUSEKEEPING)


def actor_of(change: Change) -> str:
    """Who made the change, as the writer stamped it on the item."""
    if change.action == "REMOVE":
        # The API stamps `deleted_by` just before deleting; other writers leave no trace.
        return str(change.image.get("deleted_by") or UNKNOWN_ACTOR)
    image = change.image
    if change.action == "INSERT":
        return str(image.get("created_by") or image.get("updated_by") or UNKNOWN_ACTOR)
    return str(image.get("updated_by") or UNKNOWN_ACTOR)


def audit_entry(change: Change) -> AuditEntry | None:
    """The entry for this change, or None for the app's own housekeeping writes."""
    if is_housekeeping(change):
        return None
    changes: dict[str, FieldChange] = {}
    if change.action == "MODIFY":
        assert change.old is not None
        assert change.new is not None
        changes = field_changes(change.old, change.new, ignore=BOOKKEEPING)
    return AuditEntry(
        entity_type=change.entity_type,
        entity_id=change.entity_id,
        department_id=change.department_id,
        action=change.action,
        at=change.at,
        sequence_number=change.sequence_number,
        actor=actor_of(change),
        changes=changes,
        old_image=change.old,
        new_image=change.new,
    )
