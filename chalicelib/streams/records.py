"""A DynamoDB stream record (as Lambda delivers it) → a validated, plain-JSON Change."""

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from chalicelib.clock import epoch_timestamp
from chalicelib.dynamo import from_item

ACTIONS = ("INSERT", "MODIFY", "REMOVE")
# Stream sequence numbers are decimal strings of up to 40 digits; padding makes them sort.
_SEQUENCE_WIDTH = 40
_YEAR_9999 = 253_402_300_800.0


class PermanentRecordError(Exception):
    """This record can never be processed, however often it is retried."""


@dataclass(frozen=True)
class Change:
    entity_type: str
    action: str
    event_id: str
    sequence_number: str
    approximate_time: float  # epoch seconds
    old: dict[str, Any] | None
    new: dict[str, Any] | None

    @property
    def image(self) -> dict[str, Any]:
        """The item as it is after the change, or as it was before a REMOVE."""
        image = self.new if self.new is not None else self.old
        assert image is not None
        return image

    @property
    def entity_id(self) -> str:
        return str(self.image["id"])

    @property
    def department_id(self) -> str | None:
        if self.entity_type == "department":
            return self.entity_id
        return str(self.image["department_id"])

    @property
    def at(self) -> str:
        return epoch_timestamp(self.approximate_time)

    @property
    def change_key(self) -> str:
        """Sorts changes by time, then by sequence number; the same for every redelivery."""
        return f"{self.at}#{self.sequence_number.zfill(_SEQUENCE_WIDTH)}"

    @property
    def entity_key(self) -> str:
        if self.entity_type == "event":
            return f"event#{self.department_id}#{self.entity_id}"
        return f"department#{self.entity_id}"


def parse_change(record: Mapping[str, Any], entity_type: str) -> Change:
    """Validate and convert one record; PermanentRecordError if it cannot be understood."""
    try:
        stream = record["dynamodb"]
        action = record["eventName"]
        sequence_number = str(stream["SequenceNumber"])
        approximate_time = float(stream["ApproximateCreationDateTime"])
        event_id = str(record["eventID"])
        old = _image(stream.get("OldImage"))
        new = _image(stream.get("NewImage"))
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise PermanentRecordError(f"malformed stream record: {error!r}") from None
    if action not in ACTIONS:
        raise PermanentRecordError(f"unknown eventName {action!r}")
    if not (sequence_number.isascii() and sequence_number.isdigit()):
        raise PermanentRecordError(f"sequence number {sequence_number!r} is not a number")
    if not math.isfinite(approximate_time) or not 0 <= approximate_time < _YEAR_9999:
        raise PermanentRecordError(f"ApproximateCreationDateTime {approximate_time!r} is no time")
    needed = {"INSERT": ("new",), "MODIFY": ("old", "new"), "REMOVE": ("old",)}[action]
    images = {"old": old, "new": new}
    for side in needed:
        if images[side] is None:
            raise PermanentRecordError(f"{action} record without its {side} image")
    change = Change(entity_type, action, event_id, sequence_number, approximate_time, old, new)
    key_fields = ("id", "department_id") if entity_type == "event" else ("id",)
    for field in key_fields:
        if not isinstance(change.image.get(field), str) or not change.image[field]:
            raise PermanentRecordError(f"{entity_type} image without a string {field!r}")
    return change


def _image(typed: Any) -> dict[str, Any] | None:
    if typed is None:
        return None
    if not isinstance(typed, Mapping):
        raise TypeError("image is not a map")
    return from_item(typed)
