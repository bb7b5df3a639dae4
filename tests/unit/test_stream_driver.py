"""Batch semantics: records in order, and nothing applied ahead of an earlier pending change."""

from collections.abc import Sequence
from typing import Any

from chalicelib.dynamo import to_item
from chalicelib.streams.driver import process_batch
from chalicelib.streams.effects import Effects
from chalicelib.streams.records import parse_change

FIRST_AT = 1705730400.0


def stream_record(seq: str, at: float = FIRST_AT) -> dict[str, Any]:
    """An event INSERT record, shaped as Lambda delivers it."""
    item = {
        "id": f"ev-{seq}",
        "department_id": "dep-1",
        "event_date": "2024-01-20",
        "title": "팀 회의",
        "time": "오후 3:00",
        "version": 1,
        "created_by": "kim",
    }
    return {
        "eventID": f"e{seq}",
        "eventName": "INSERT",
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": "ap-northeast-2",
        "eventSourceARN": (
            "arn:aws:dynamodb:ap-northeast-2:123456789012:table/events"
            "/stream/2024-01-01T00:00:00.000"
        ),
        "dynamodb": {
            "ApproximateCreationDateTime": at,
            "Keys": to_item({"department_id": "dep-1", "id": item["id"]}),
            "NewImage": to_item(item),
            "SequenceNumber": seq,
            "SizeBytes": 1,
            "StreamViewType": "NEW_AND_OLD_IMAGES",
        },
    }


def batch(size: int) -> list[dict[str, Any]]:
    """Records with sequence numbers 101, 102, …, one second apart."""
    return [stream_record(str(101 + n), at=FIRST_AT + n) for n in range(size)]


def sequence_of(record: dict[str, Any]) -> str:
    return str(record["dynamodb"]["SequenceNumber"])


def failures(response: dict[str, list[dict[str, str]]]) -> list[str]:
    return [failure["itemIdentifier"] for failure in response["batchItemFailures"]]


class Stream:
    """The two callbacks process_batch drives, recording what they were given.

    `failing` records raise from handle_record; `parked` records come back as Effects() (the
    way the real handler parks poison); `landing` caps how many effects apply_effects reports
    as landed."""

    def __init__(
        self,
        *,
        failing: Sequence[str] = (),
        parked: Sequence[str] = (),
        landing: int | None = None,
    ) -> None:
        self.failing = set(failing)
        self.parked = set(parked)
        self.landing = landing
        self.handled: list[dict[str, Any]] = []
        self.applied: list[list[Effects]] = []

    def handle_record(self, record: dict[str, Any]) -> Effects:
        self.handled.append(record)
        seq = sequence_of(record)
        if seq in self.failing:
            raise RuntimeError(f"DynamoDB throttled while handling {seq}")
        if seq in self.parked:
            return Effects()
        return Effects(change=parse_change(record, "event"))

    def apply_effects(self, effects: Sequence[Effects]) -> int:
        self.applied.append(list(effects))
        return len(effects) if self.landing is None else self.landing

    @property
    def handled_sequences(self) -> list[str]:
        return [sequence_of(record) for record in self.handled]

    @property
    def applied_sequences(self) -> list[str]:
        assert len(self.applied) == 1, "apply_effects is called once per batch"
        return [e.change.sequence_number if e.change else "parked" for e in self.applied[0]]


def test_a_batch_that_all_succeeds_reports_no_failures():
    records = batch(5)
    stream = Stream()
    result = process_batch(records, stream.handle_record, stream.apply_effects)
    assert result.response == {"batchItemFailures": []}
    assert result.records == 5
    assert result.applied == 5
    assert result.failed == 0
    assert result.parked == 0


def test_records_are_handled_in_order_as_the_raw_dicts_lambda_delivered():
    records = batch(3)
    stream = Stream()
    process_batch(records, stream.handle_record, stream.apply_effects)
    assert stream.handled == records
    assert stream.applied_sequences == ["101", "102", "103"]


def test_a_failed_record_is_reported_with_every_record_after_it():
    # Given five records of which the third fails to be handled
    records = batch(5)
    stream = Stream(failing=["103"])
    # When the batch is processed
    result = process_batch(records, stream.handle_record, stream.apply_effects)
    # Then the third, fourth and fifth are reported failed, in order
    assert failures(result.response) == ["103", "104", "105"]
    assert result.failed == 3
    assert result.applied == 2


def test_records_after_a_failed_one_are_not_handled():
    stream = Stream(failing=["103"])
    process_batch(batch(5), stream.handle_record, stream.apply_effects)
    assert stream.handled_sequences == ["101", "102", "103"]


def test_only_the_effects_of_records_before_a_failure_are_applied():
    stream = Stream(failing=["103"])
    process_batch(batch(5), stream.handle_record, stream.apply_effects)
    assert stream.applied_sequences == ["101", "102"]


def test_effects_that_did_not_all_land_fail_from_the_first_record_that_did_not():
    # Given five records whose effects only the first two of landed
    stream = Stream(landing=2)
    # When the batch is processed
    result = process_batch(batch(5), stream.handle_record, stream.apply_effects)
    # Then records three to five are retried
    assert failures(result.response) == ["103", "104", "105"]
    assert result.applied == 2
    assert result.failed == 3


def test_apply_effects_claiming_more_than_it_was_given_is_capped():
    stream = Stream(failing=["102"], landing=5)
    result = process_batch(batch(3), stream.handle_record, stream.apply_effects)
    assert result.applied == 1
    assert failures(result.response) == ["102", "103"]


def test_a_batch_whose_first_record_fails_reports_every_record_without_raising():
    # Given a batch whose very first record fails
    stream = Stream(failing=["101"])
    # When it is processed (Powertools would normally raise for a batch that failed entirely)
    result = process_batch(batch(4), stream.handle_record, stream.apply_effects)
    # Then it is an ordinary partial response naming every record
    assert failures(result.response) == ["101", "102", "103", "104"]
    assert result.applied == 0
    assert result.failed == 4
    assert stream.handled_sequences == ["101"]
    assert stream.applied_sequences == []


def test_a_parked_record_counts_as_handled():
    # Given a batch whose second record the handler parks as poison
    stream = Stream(parked=["102"])
    # When it is processed
    result = process_batch(batch(3), stream.handle_record, stream.apply_effects)
    # Then nothing fails, and the parked record is passed on and counted
    assert result.response == {"batchItemFailures": []}
    assert result.parked == 1
    assert result.applied == 3
    assert stream.applied_sequences == ["101", "parked", "103"]


def test_an_empty_batch_reports_no_failures():
    stream = Stream()
    result = process_batch([], stream.handle_record, stream.apply_effects)
    assert result.response == {"batchItemFailures": []}
    assert (result.records, result.applied, result.failed, result.parked) == (0, 0, 0, 0)
    assert result.oldest_change_time is None


def test_the_oldest_change_time_is_the_earliest_record_in_the_batch():
    records = [stream_record("101", at=FIRST_AT + 5), stream_record("102", at=FIRST_AT + 2)]
    stream = Stream()
    result = process_batch(records, stream.handle_record, stream.apply_effects)
    assert result.oldest_change_time == FIRST_AT + 2
