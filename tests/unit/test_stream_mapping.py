"""A DynamoDB stream record → its Change, its audit entry and its notification (all pure)."""

import json
import unicodedata
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import pytest

from chalicelib.dynamo import to_item
from chalicelib.models import AuditEntry, FieldChange, Notification
from chalicelib.streams.audit import audit_entry
from chalicelib.streams.effects import effects_of
from chalicelib.streams.notifications import notification
from chalicelib.streams.records import PermanentRecordError, parse_change

# 2024-01-20 06:00:00 UTC, which is 오후 3:00 in Seoul.
AT = 1705730400.0
AT_ISO = "2024-01-20T06:00:00.000Z"


def stream_record(
    action: str,
    *,
    old: Mapping[str, Any] | None = None,
    new: Mapping[str, Any] | None = None,
    seq: str = "100",
    at: float = AT,
    event_id: str = "e1",
    table: str = "events",
) -> dict[str, Any]:
    """A record shaped as Lambda delivers it from a NEW_AND_OLD_IMAGES stream."""
    image = new if new is not None else old
    keys = {name: image[name] for name in ("department_id", "id") if image and name in image}
    stream: dict[str, Any] = {
        "ApproximateCreationDateTime": at,
        "Keys": to_item(keys),
        "SequenceNumber": seq,
        "SizeBytes": 1,
        "StreamViewType": "NEW_AND_OLD_IMAGES",
    }
    if new is not None:
        stream["NewImage"] = to_item(new)
    if old is not None:
        stream["OldImage"] = to_item(old)
    return {
        "eventID": event_id,
        "eventName": action,
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": "ap-northeast-2",
        "eventSourceARN": (
            f"arn:aws:dynamodb:ap-northeast-2:123456789012:table/{table}"
            "/stream/2024-01-01T00:00:00.000"
        ),
        "dynamodb": stream,
    }


def event_item(**fields: Any) -> dict[str, Any]:
    """An event item as the API writes it, with `fields` replacing or adding attributes."""
    item: dict[str, Any] = {
        "id": "ev-1",
        "department_id": "dep-1",
        "event_date": "2024-01-20",
        "title": "팀 회의",
        "time": "오후 3:00",
        "description": "",
        "created_at": "2024-01-19T09:00:00.000Z",
        "updated_at": "2024-01-19T09:00:00.000Z",
        "version": 1,
        "created_by": "kim",
        "updated_by": "kim",
    }
    item.update(fields)
    return item


def department_item(**fields: Any) -> dict[str, Any]:
    item: dict[str, Any] = {
        "id": "dep-1",
        "name": "개발팀",
        "description": "",
        "event_count": 0,
        "created_at": "2024-01-19T09:00:00.000Z",
        "updated_at": "2024-01-19T09:00:00.000Z",
        "version": 1,
        "created_by": "kim",
        "updated_by": "kim",
    }
    item.update(fields)
    return item


def edited_event(**fields: Any) -> dict[str, Any]:
    """The event after someone else ("lee") saved `fields` through the API."""
    return event_item(version=2, updated_at="2024-01-20T06:00:00.000Z", updated_by="lee", **fields)


def audit_of(record: dict[str, Any], entity_type: str = "event") -> AuditEntry:
    entry = audit_entry(parse_change(record, entity_type))
    assert entry is not None
    return entry


def notification_of(record: dict[str, Any]) -> Notification:
    sent = notification(parse_change(record, "event"))
    assert sent is not None
    return sent


def insert_with_typed(**typed: dict[str, Any]) -> dict[str, Any]:
    """An event INSERT whose new image also holds the given already-typed attribute values."""
    record = stream_record("INSERT", new=event_item())
    record["dynamodb"]["NewImage"].update(typed)
    return record


# --- INSERT -----------------------------------------------------------------------------------


def test_insert_becomes_an_audit_entry_of_the_new_item():
    # Given an event created by kim (and, oddly, last updated by someone else)
    item = event_item(created_by="kim", updated_by="lee")
    # When its INSERT record is mapped
    entry = audit_of(stream_record("INSERT", new=item, seq="123"))
    # Then the entry describes the creation, with the whole item as its new image
    assert entry.entity_type == "event"
    assert entry.entity_id == "ev-1"
    assert entry.department_id == "dep-1"
    assert entry.action == "INSERT"
    assert entry.actor == "kim"
    assert entry.at == AT_ISO
    assert entry.sequence_number == "123"
    assert entry.new_image == item
    assert entry.old_image is None
    assert entry.changes == {}


def test_audit_time_is_iso_utc_with_milliseconds_and_z():
    entry = audit_of(stream_record("INSERT", new=event_item(), at=1705730400.123))
    assert entry.at == "2024-01-20T06:00:00.123Z"


def test_an_event_change_is_keyed_by_department_and_event():
    change = parse_change(stream_record("INSERT", new=event_item()), "event")
    assert change.entity_key == "event#dep-1#ev-1"


def test_change_key_is_the_time_then_the_zero_padded_sequence_number():
    change = parse_change(stream_record("INSERT", new=event_item(), seq="100"), "event")
    assert change.change_key == f"{AT_ISO}#{'100'.zfill(40)}"


def test_insert_tells_the_department_a_new_event_was_created():
    sent = notification_of(stream_record("INSERT", new=event_item()))
    assert sent.kind == "created"
    assert sent.text == "새 일정: 팀 회의 (2024-01-20 오후 3:00)"
    assert sent.department_id == "dep-1"
    assert sent.event_id == "ev-1"
    assert sent.title == "팀 회의"
    assert sent.event_date == "2024-01-20"
    assert sent.time == "오후 3:00"
    assert sent.changes == {}
    assert sent.actor == "kim"
    assert sent.at == AT_ISO


def test_created_text_has_no_trailing_space_when_the_event_has_no_time():
    sent = notification_of(stream_record("INSERT", new=event_item(time="")))
    assert sent.text == "새 일정: 팀 회의 (2024-01-20)"


# --- MODIFY -----------------------------------------------------------------------------------


def time_moved_record() -> dict[str, Any]:
    return stream_record("MODIFY", old=event_item(), new=edited_event(time="오후 4:00"))


def test_modify_lists_only_the_fields_a_person_changed():
    entry = audit_of(time_moved_record())
    assert entry.action == "MODIFY"
    assert entry.changes == {"time": FieldChange(old="오후 3:00", new="오후 4:00")}


def test_modify_does_not_list_the_counter_item_as_a_change():
    # Given an event from before the counter was spread, rewritten naming its counter item
    # (as the migration's --overwrite of an event may) along with a person's change
    record = stream_record(
        "MODIFY", old=event_item(), new=edited_event(time="오후 4:00", counted_in=2)
    )
    # Then only the person's change is listed; the images keep the counter item
    entry = audit_of(record)
    assert entry.changes == {"time": FieldChange(old="오후 3:00", new="오후 4:00")}
    assert entry.new_image is not None
    assert entry.new_image["counted_in"] == 2


def test_modify_keeps_bookkeeping_fields_in_the_images():
    entry = audit_of(time_moved_record())
    assert entry.old_image == event_item()
    assert entry.new_image == edited_event(time="오후 4:00")
    assert entry.old_image is not None
    assert entry.new_image is not None
    assert (entry.old_image["version"], entry.new_image["version"]) == (1, 2)
    assert entry.new_image["updated_by"] == "lee"


def test_modify_actor_is_whoever_updated_the_item():
    assert audit_of(time_moved_record()).actor == "lee"


def test_modify_tells_the_department_what_changed():
    sent = notification_of(time_moved_record())
    assert sent.kind == "updated"
    assert sent.text == "일정 변경: 팀 회의 (2024-01-20 오후 4:00) — 시간: 오후 3:00 → 오후 4:00"
    assert sent.changes == {"time": FieldChange(old="오후 3:00", new="오후 4:00")}
    assert sent.actor == "lee"


# --- REMOVE -----------------------------------------------------------------------------------


def test_remove_actor_is_who_stamped_the_item_before_deleting_it():
    # Given an event the API stamped with deleted_by just before deleting it
    old = event_item(deleted_by="park", deleted_at="2024-01-20T06:00:00.000Z")
    # When its REMOVE record is mapped
    entry = audit_of(stream_record("REMOVE", old=old))
    # Then park deleted it, and the entry keeps the item as it was
    assert entry.action == "REMOVE"
    assert entry.actor == "park"
    assert entry.old_image == old
    assert entry.new_image is None
    assert entry.changes == {}


def test_remove_without_a_deletion_stamp_has_an_unknown_actor():
    # Given an item some other writer (or a TTL) deleted without stamping it
    entry = audit_of(stream_record("REMOVE", old=event_item()))
    assert entry.actor == "unknown"


def test_remove_tells_the_department_the_event_was_cancelled():
    sent = notification_of(stream_record("REMOVE", old=event_item(deleted_by="park")))
    assert sent.kind == "cancelled"
    assert sent.text == "일정 취소: 팀 회의 (2024-01-20 오후 3:00)"
    assert sent.actor == "park"


# --- What is silent ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("entity_type", "old", "new"),
    [
        pytest.param(
            "department",
            department_item(event_count=2),
            department_item(event_count=3),
            id="department event counter",
        ),
        pytest.param(
            "event",
            event_item(),
            event_item(deleted_by="park", deleted_at="2024-01-20T06:00:00.000Z"),
            id="event deletion stamp",
        ),
        pytest.param(
            "event",
            event_item(),
            event_item(calendar_key="dep-1#2", calendar_order="2024-01-20#ev-1"),
            id="event given its calendar index keys",
        ),
        pytest.param(
            "department",
            department_item(),
            department_item(deleted_by="park", deleted_at="2024-01-20T06:00:00.000Z"),
            id="department deletion stamp",
        ),
    ],
)
def test_the_apps_own_housekeeping_writes_leave_no_trace(entity_type, old, new):
    effects = effects_of(stream_record("MODIFY", old=old, new=new), entity_type)
    assert effects.change is not None
    assert effects.audit is None
    assert effects.notification is None


def test_a_write_that_changes_nothing_visible_is_audited_but_not_announced():
    # Given a save that only moved version, updated_at and updated_by
    record = stream_record("MODIFY", old=event_item(), new=edited_event())
    # When it is mapped
    effects = effects_of(record, "event")
    # Then someone's write is on record, with no field changes, and nobody is notified
    assert effects.audit is not None
    assert effects.audit.actor == "lee"
    assert effects.audit.changes == {}
    assert effects.notification is None


@pytest.mark.parametrize(
    "record",
    [
        pytest.param(stream_record("INSERT", new=department_item()), id="INSERT"),
        pytest.param(
            stream_record(
                "MODIFY",
                old=department_item(),
                new=department_item(name="QA팀", version=2, updated_by="lee"),
            ),
            id="MODIFY",
        ),
        pytest.param(stream_record("REMOVE", old=department_item()), id="REMOVE"),
    ],
)
def test_department_changes_are_never_announced(record):
    effects = effects_of(record, "department")
    assert effects.audit is not None
    assert effects.notification is None


def test_a_department_is_its_own_department_in_the_audit_log():
    record = stream_record("INSERT", new=department_item(), table="departments")
    change = parse_change(record, "department")
    entry = audit_of(record, "department")
    assert entry.entity_type == "department"
    assert entry.entity_id == "dep-1"
    assert entry.department_id == "dep-1"
    assert change.entity_key == "department#dep-1"


# --- Values -----------------------------------------------------------------------------------


def test_a_fractional_number_becomes_a_float():
    image = audit_of(insert_with_typed(score={"N": "3.5"})).new_image
    assert image is not None
    assert image["score"] == 3.5
    assert type(image["score"]) is float


def test_a_whole_number_becomes_an_int():
    image = audit_of(insert_with_typed(seats={"N": "42"}, delta={"N": "-7"})).new_image
    assert image is not None
    assert (image["seats"], image["delta"]) == (42, -7)
    assert type(image["seats"]) is int
    assert type(image["delta"]) is int


def test_a_string_set_becomes_a_sorted_list():
    image = audit_of(insert_with_typed(tags={"SS": ["b", "a"]})).new_image
    assert image is not None
    assert image["tags"] == ["a", "b"]


def test_maps_and_lists_nest():
    typed = {
        "M": {
            "rooms": {"L": [{"S": "A"}, {"N": "2"}, {"NULL": True}]},
            "remote": {"BOOL": True},
            "size": {"N": "1.5"},
        }
    }
    image = audit_of(insert_with_typed(place=typed)).new_image
    assert image is not None
    assert image["place"] == {"rooms": ["A", 2, None], "remote": True, "size": 1.5}


def test_binary_stays_the_base64_text_the_stream_delivered():
    image = audit_of(insert_with_typed(blob={"B": "AAE="})).new_image
    assert image is not None
    assert image["blob"] == "AAE="


def contains_decimal(value: Any) -> bool:
    if isinstance(value, Decimal):
        return True
    if isinstance(value, Mapping):
        return any(contains_decimal(v) for v in value.values())
    if isinstance(value, list | tuple):
        return any(contains_decimal(v) for v in value)
    return False


def test_an_entry_with_every_kind_of_value_is_plain_json():
    # Given an item holding numbers, sets, maps, lists and binary
    record = insert_with_typed(
        score={"N": "3.5"},
        seats={"N": "42"},
        ids={"NS": ["10", "2.5"]},
        tags={"SS": ["b", "a"]},
        place={"M": {"rooms": {"L": [{"N": "1"}, {"M": {"x": {"N": "0.25"}}}]}}},
        blob={"B": "AAE="},
    )
    # When its audit entry is dumped
    dumped = audit_of(record).model_dump()
    # Then there is no Decimal anywhere and json takes it as is
    assert not contains_decimal(dumped)
    assert json.loads(json.dumps(dumped)) == dumped


# --- Korean text ------------------------------------------------------------------------------

NFD_TITLE = unicodedata.normalize("NFD", "회의")


def korean_record() -> dict[str, Any]:
    item = event_item(title=NFD_TITLE, description="준비물\n노트북", time="오후 3:00")
    # Lambda hands over the record decoded from JSON.
    decoded: dict[str, Any] = json.loads(json.dumps(stream_record("INSERT", new=item)))
    return decoded


def test_decomposed_korean_is_kept_byte_for_byte_in_the_audit_images():
    assert NFD_TITLE != "회의"  # really decomposed
    entry = audit_of(korean_record())
    assert entry.new_image is not None
    assert entry.new_image["title"].encode() == NFD_TITLE.encode()
    assert entry.new_image["description"].encode() == "준비물\n노트북".encode()
    stored = json.loads(json.dumps(entry.model_dump(), ensure_ascii=False))
    assert stored["new_image"]["title"].encode() == NFD_TITLE.encode()


def test_decomposed_korean_is_kept_byte_for_byte_in_the_notification():
    sent = notification_of(korean_record())
    assert sent.title.encode() == NFD_TITLE.encode()
    assert sent.text.encode() == f"새 일정: {NFD_TITLE} (2024-01-20 오후 3:00)".encode()


# --- Ordering and redelivery ------------------------------------------------------------------


def test_change_key_sorts_numerically_by_sequence_within_the_same_moment():
    # Given two changes DynamoDB recorded in the same second, sequence 9 before sequence 10
    ninth = parse_change(stream_record("INSERT", new=event_item(), seq="9"), "event")
    tenth = parse_change(
        stream_record("MODIFY", old=event_item(), new=edited_event(), seq="10"), "event"
    )
    # Then the tenth sorts after the ninth, although "10" < "9" as text
    assert ninth.change_key < tenth.change_key


def test_change_key_sorts_an_earlier_moment_first_whatever_its_sequence():
    earlier = parse_change(stream_record("INSERT", new=event_item(), seq="500", at=AT), "event")
    later = parse_change(stream_record("INSERT", new=event_item(), seq="100", at=AT + 1), "event")
    assert earlier.change_key < later.change_key


def test_change_key_is_the_same_when_a_record_is_delivered_again():
    record = stream_record("INSERT", new=event_item(), seq="4200000000000000000001")
    first = parse_change(record, "event")
    again = parse_change(json.loads(json.dumps(record)), "event")
    assert first.change_key == again.change_key
    assert first == again


# --- Records that can never be processed ------------------------------------------------------


def without(record: dict[str, Any], *path: str) -> dict[str, Any]:
    """The record with the key at `path` (e.g. "dynamodb", "OldImage") removed."""
    *parents, last = path
    holder = record
    for name in parents:
        holder = holder[name]
    del holder[last]
    return record


def with_stream(record: dict[str, Any], **fields: Any) -> dict[str, Any]:
    record["dynamodb"].update(fields)
    return record


def modify() -> dict[str, Any]:
    return stream_record("MODIFY", old=event_item(), new=edited_event(time="오후 4:00"))


@pytest.mark.parametrize(
    "record",
    [
        pytest.param(without(modify(), "dynamodb", "OldImage"), id="MODIFY without OldImage"),
        pytest.param(without(modify(), "dynamodb", "NewImage"), id="MODIFY without NewImage"),
        pytest.param(
            without(stream_record("INSERT", new=event_item()), "dynamodb", "NewImage"),
            id="INSERT without NewImage",
        ),
        pytest.param(
            without(stream_record("REMOVE", old=event_item()), "dynamodb", "OldImage"),
            id="REMOVE without OldImage",
        ),
        pytest.param(
            stream_record("UPSERT", old=event_item(), new=event_item()), id="unknown eventName"
        ),
        pytest.param(without(modify(), "eventName"), id="no eventName"),
        pytest.param(with_stream(modify(), SequenceNumber="12a"), id="non-numeric sequence"),
        pytest.param(with_stream(modify(), SequenceNumber=""), id="empty sequence"),
        pytest.param(without(modify(), "dynamodb", "SequenceNumber"), id="no sequence"),
        pytest.param(
            without(modify(), "dynamodb", "ApproximateCreationDateTime"), id="no creation time"
        ),
        pytest.param(
            with_stream(modify(), ApproximateCreationDateTime="yesterday"),
            id="non-numeric creation time",
        ),
        pytest.param(insert_with_typed(title={"X": 1}), id="unknown attribute type"),
        pytest.param(insert_with_typed(title={}), id="attribute without a type"),
        pytest.param(insert_with_typed(title={"S": "a", "N": "1"}), id="attribute with two types"),
        pytest.param(insert_with_typed(seats={"N": "many"}), id="number that is not one"),
        pytest.param(with_stream(modify(), NewImage=["not", "a", "map"]), id="image not a map"),
        pytest.param(without(modify(), "dynamodb"), id="no dynamodb"),
        pytest.param(without(modify(), "eventID"), id="no eventID"),
        pytest.param(
            stream_record("INSERT", new={k: v for k, v in event_item().items() if k != "id"}),
            id="event image without id",
        ),
        pytest.param(
            stream_record(
                "INSERT", new={k: v for k, v in event_item().items() if k != "department_id"}
            ),
            id="event image without department_id",
        ),
        pytest.param(
            stream_record("INSERT", new=event_item(department_id="")),
            id="event image with empty department_id",
        ),
        pytest.param(
            stream_record("INSERT", new=event_item(id=7)), id="event image with numeric id"
        ),
    ],
)
def test_a_record_that_can_never_be_processed_is_a_permanent_error(record):
    with pytest.raises(PermanentRecordError):
        effects_of(record, "event")


def test_a_department_image_needs_no_department_id():
    record = stream_record("INSERT", new=department_item())
    assert "department_id" not in record["dynamodb"]["NewImage"]
    assert parse_change(record, "department").department_id == "dep-1"


@pytest.mark.parametrize(
    "typed",
    [
        pytest.param({"title": "회의"}, id="untyped attribute"),
        pytest.param({"seats": {"N": None}}, id="N holding null"),
        pytest.param({"place": {"M": "not a map"}}, id="M holding text"),
    ],
)
def test_an_attribute_that_is_not_a_typed_value_is_a_permanent_error(typed):
    with pytest.raises(PermanentRecordError):
        effects_of(insert_with_typed(**typed), "event")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("ApproximateCreationDateTime", float("nan")),
        ("ApproximateCreationDateTime", 1e20),
        ("SequenceNumber", "１２"),
    ],
)
def test_impossible_times_and_non_ascii_sequence_numbers_are_permanent(field, value):
    record = stream_record("INSERT", new=department_item())
    record["dynamodb"][field] = value
    with pytest.raises(PermanentRecordError):
        parse_change(record, "department")
