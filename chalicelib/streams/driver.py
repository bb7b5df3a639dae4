"""Batch semantics for stream records: in order, partial failure, permanent vs transient.

Loaded only by the stream handlers (Powertools' batch utilities cost ~80 ms to import).

A batch goes through Powertools' BatchProcessor with one change: once a record fails, every
later record is reported failed without being handled. Lambda resumes from the lowest failed
sequence number, so nothing is ever applied ahead of an earlier change that is still pending.

Each record is first turned into its effects (pure, one record at a time). A record that can
never succeed is parked and counts as handled. Then the effects of the whole batch are written
together (few requests), and external sends happen in record order; the first record whose
effects did not all land is reported failed, with everything after it.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType

from chalicelib.streams.effects import Effects


class HeldBack(Exception):
    """An earlier record of this batch failed: this one waits until that one succeeds."""


class OrderedBatchProcessor(BatchProcessor):
    def __init__(self) -> None:
        # A batch whose every record failed is reported like any partial failure, not raised.
        super().__init__(event_type=EventType.DynamoDBStreams, raise_on_entire_batch_failure=False)

    def process(self) -> list[tuple[Any, ...]]:
        results: list[tuple[Any, ...]] = []
        for record in self.records:
            if self.fail_messages:
                held = HeldBack("an earlier record of the batch failed")
                data = self._to_batch_type(record=record, event_type=self.event_type)
                results.append(self.failure_handler(data, (HeldBack, held, None)))
            else:
                results.append(self._process_record(record))
        return results


@dataclass(frozen=True)
class BatchResult:
    response: dict[str, list[dict[str, str]]]
    records: int
    applied: int
    parked: int
    failed: int
    oldest_change_time: float | None


def process_batch(
    records: Sequence[dict[str, Any]],
    handle_record: Callable[[dict[str, Any]], Effects],
    apply_effects: Callable[[Sequence[Effects]], int],
) -> BatchResult:
    """`handle_record` maps one raw record to its effects (parking it if it is poison);
    `apply_effects` writes them and returns how many leading ones fully landed."""
    processor = OrderedBatchProcessor()
    with processor(list(records), lambda record: handle_record(record.raw_event)):
        results = processor.process()
    effects = [result for status, result, _ in results if status == "success"]
    applied = min(len(effects), apply_effects(effects))
    failed = list(records[applied:])
    times = [
        float(r["dynamodb"]["ApproximateCreationDateTime"])
        for r in records
        if isinstance(r.get("dynamodb", {}).get("ApproximateCreationDateTime"), int | float)
    ]
    return BatchResult(
        response={
            "batchItemFailures": [
                {"itemIdentifier": str(r.get("dynamodb", {}).get("SequenceNumber", ""))}
                for r in failed
            ]
        },
        records=len(records),
        applied=applied,
        parked=sum(1 for e in effects[:applied] if e.parked),
        failed=len(failed),
        oldest_change_time=min(times) if times else None,
    )
