"""The checkpointed stream consumer: what Lambda's event source mapping does, against moto's
streams, with its checkpoints and leases in the project's checkpoint table."""

import itertools
from typing import Any

import boto3
import pytest
from chalice.app import Chalice

from chalicelib.settings import get_settings
from chalicelib.tables import stream_checkpoints_table, table_definitions
from ops.shard_leases import ShardLeases
from ops.stream_consumer import StreamConsumer, table_of
from tests.integration.streams import REGION

ARN = f"arn:aws:dynamodb:{REGION}:000000000000:table/events/stream/not-configured"
LEASE_SECONDS = 10.0


class Clock:
    """Wall-clock time the leases see, moved by hand."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def recording_app(
    fail_once_at: int | None = None, batch_size: int = 100
) -> tuple[Chalice, list[list[str]]]:
    """A Chalice app with one stream handler that records each batch it gets, and reports the
    record at index `fail_once_at` (and every later one) as failed the first time."""
    app = Chalice(app_name="consumer-test", configure_logs=False)
    batches: list[list[str]] = []

    @app.on_dynamodb_record(stream_arn=ARN, batch_size=batch_size)
    def on_change(event: Any) -> dict[str, Any]:
        titles = [r.new_image["title"]["S"] for r in event if r.new_image]
        batches.append(titles)
        records = list(event)
        if fail_once_at is not None and len(batches) == 1:
            failed = records[fail_once_at:]
            return {"batchItemFailures": [{"itemIdentifier": r.sequence_number} for r in failed]}
        return {"batchItemFailures": []}

    return app, batches


def put_events(dynamodb: Any, *titles: str, first: int = 0) -> None:
    for i, title in enumerate(titles, start=first):
        item = {"id": {"S": f"e{i}"}, "department_id": {"S": "d"}, "title": {"S": title}}
        dynamodb.put_item(TableName="events", Item=item)


@pytest.fixture
def checkpointed(tables: Any) -> Any:
    tables.create_table(**stream_checkpoints_table(get_settings()).create_table_request())
    return tables


@pytest.fixture(autouse=True)
def fast_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    # Monotonic time that jumps ahead 10 s per reading, so every backoff pause and every
    # lease renewal is already due: each poll does everything it would ever do.
    clock = itertools.count(start=0, step=10)
    monkeypatch.setattr("ops.stream_consumer.time.monotonic", lambda: next(clock))


def drain(consumer: StreamConsumer) -> None:
    for _ in range(10):
        for source in consumer.sources:
            consumer.poll(source)


def make_consumer(
    app: Chalice,
    dynamodb: Any,
    *,
    owner: str = "worker-a",
    clock: Clock | None = None,
    log: list[str] | None = None,
    start_at: str = "TRIM_HORIZON",
) -> StreamConsumer:
    streams = boto3.client("dynamodbstreams", region_name=REGION)
    leases = ShardLeases(
        dynamodb,
        get_settings().stream_checkpoints_table,
        owner,
        lease_seconds=LEASE_SECONDS,
        clock=clock or Clock(),
    )
    return StreamConsumer(
        app,
        dynamodb,
        streams,
        leases,
        region=REGION,
        log=(log if log is not None else []).append,
        start_at=start_at,
    )


def test_it_feeds_records_in_order_in_batches_of_the_handlers_size(checkpointed):
    app, batches = recording_app(batch_size=2)
    put_events(checkpointed, "가", "나", "다", "라", "마")
    drain(make_consumer(app, checkpointed))
    assert batches == [["가", "나"], ["다", "라"], ["마"]]


def test_it_rereads_from_the_first_failed_record(checkpointed):
    # Given a handler that reports the second record (and the rest) failed the first time
    app, batches = recording_app(fail_once_at=1)
    put_events(checkpointed, "가", "나", "다")
    log: list[str] = []
    drain(make_consumer(app, checkpointed, log=log))
    # Then the next delivery starts at that record, and nothing is skipped or repeated after
    assert batches == [["가", "나", "다"], ["나", "다"]]
    assert any("다시 처리합니다" in line for line in log)


def test_a_restart_after_a_partial_failure_resumes_at_the_failed_record(checkpointed):
    # Given a consumer whose handler failed from the second record on, and that then stopped
    app, batches = recording_app(fail_once_at=1)
    put_events(checkpointed, "가", "나", "다")
    first = make_consumer(app, checkpointed)
    for source in first.sources:
        first.poll(source)
    first.release_leases()
    assert batches == [["가", "나", "다"]]
    # When a new consumer starts
    drain(make_consumer(app, checkpointed))
    # Then the record before the failure was checkpointed: only the failed ones come again
    assert batches == [["가", "나", "다"], ["나", "다"]]


def test_a_restarted_consumer_resumes_after_its_checkpoint(checkpointed):
    # Given a consumer that handled three records and was then stopped
    app, batches = recording_app()
    put_events(checkpointed, "가", "나", "다")
    drain(make_consumer(app, checkpointed))
    # When more records arrive while nothing runs, and a new consumer starts
    put_events(checkpointed, "라", "마", first=3)
    drain(make_consumer(app, checkpointed))
    # Then it handles exactly the new ones: nothing twice, nothing skipped
    assert batches == [["가", "나", "다"], ["라", "마"]]


def test_a_consumer_that_died_holding_its_lease_is_taken_over_once_the_lease_expires(
    checkpointed,
):
    # Given worker A that handled a batch and then died without letting go
    app_a, batches_a = recording_app()
    app_b, batches_b = recording_app()
    clock = Clock()
    put_events(checkpointed, "가", "나")
    drain(make_consumer(app_a, checkpointed, owner="a", clock=clock))
    put_events(checkpointed, "다", first=2)
    # When worker B starts before A's lease has expired
    worker_b = make_consumer(app_b, checkpointed, owner="b", clock=clock)
    drain(worker_b)
    # Then B handles nothing
    assert batches_b == []
    # And once the lease has expired, B carries on after A's checkpoint
    clock.now += LEASE_SECONDS + 1
    drain(worker_b)
    assert batches_a == [["가", "나"]]
    assert batches_b == [["다"]]


def test_two_live_workers_never_both_handle_a_shard(checkpointed):
    # Given two workers polling the same stream, turn by turn, renewing their leases
    app_a, batches_a = recording_app()
    app_b, batches_b = recording_app()
    clock = Clock()
    worker_a = make_consumer(app_a, checkpointed, owner="a", clock=clock)
    worker_b = make_consumer(app_b, checkpointed, owner="b", clock=clock)
    # When records keep arriving
    for turn in range(4):
        put_events(checkpointed, f"일정 {turn}", first=turn)
        for worker in (worker_a, worker_b):
            drain(worker)
        clock.now += LEASE_SECONDS / 3
    # Then every record was handled exactly once, all by the worker that took the lease first
    assert batches_b == []
    assert [title for batch in batches_a for title in batch] == [f"일정 {t}" for t in range(4)]


def test_a_worker_whose_lease_was_taken_lets_go_without_moving_the_checkpoint(checkpointed):
    # Given worker A that handled a batch and then stalled past its lease
    app_a, batches_a = recording_app()
    app_b, batches_b = recording_app()
    clock = Clock()
    worker_a = make_consumer(app_a, checkpointed, owner="a", clock=clock)
    put_events(checkpointed, "가")
    drain(worker_a)
    clock.now += LEASE_SECONDS + 1
    # When worker B takes the shard over and handles the next record
    put_events(checkpointed, "나", first=1)
    drain(make_consumer(app_b, checkpointed, owner="b", clock=clock))
    # Then A, waking up, finds the lease gone and handles nothing more
    put_events(checkpointed, "다", first=2)
    log: list[str] = []
    worker_a._log = log.append
    drain(worker_a)
    assert batches_a == [["가"]]
    assert batches_b == [["나"]]
    assert any("다른 작업자" in line for line in log)


def test_a_clean_stop_lets_another_worker_take_over_at_once(checkpointed):
    # Given worker A that let go of its leases when it stopped
    app_a, _ = recording_app()
    app_b, batches_b = recording_app()
    clock = Clock()
    worker_a = make_consumer(app_a, checkpointed, owner="a", clock=clock)
    put_events(checkpointed, "가")
    drain(worker_a)
    worker_a.release_leases()
    # When worker B starts, with no time passing
    put_events(checkpointed, "나", first=1)
    drain(make_consumer(app_b, checkpointed, owner="b", clock=clock))
    # Then B carries on straight away
    assert batches_b == [["나"]]


def test_skipping_to_the_end_handles_nothing_and_later_records_as_usual(checkpointed):
    # Given records whose effects were imported with them
    app, batches = recording_app()
    put_events(checkpointed, "가", "나")
    consumer = make_consumer(app, checkpointed)
    # When the consumer skips them, and new records arrive
    assert consumer.skip_to_end() == 2
    put_events(checkpointed, "다", first=2)
    drain(consumer)
    # Then only the new one is handled
    assert batches == [["다"]]


def test_a_table_without_a_stream_is_reported_once_and_skipped(dynamodb):
    for definition in table_definitions(get_settings()):
        request = definition.create_table_request()
        request.pop("StreamSpecification", None)
        dynamodb.create_table(**request)
    app, _ = recording_app()
    log: list[str] = []
    consumer = make_consumer(app, dynamodb, log=log)
    assert consumer.sources == []
    assert len(log) == 1
    assert "스트림이 없습니다" in log[0]


def test_the_table_is_read_from_the_stream_arn():
    assert table_of(ARN) == "events"
    arn = "arn:aws:dynamodb:ap-northeast-2:123:table/events-dev/stream/2024-01-01T00:00:00.000"
    assert table_of(arn) == "events-dev"
    with pytest.raises(ValueError, match="not a DynamoDB stream ARN"):
        table_of("arn:aws:sqs:ap-northeast-2:123:queue")


def test_starting_at_latest_loses_nothing_written_between_polls(checkpointed):
    # Given a consumer that starts new shards at the newest record, and records from before
    put_events(checkpointed, "옛것")
    app, batches = recording_app()
    consumer = make_consumer(app, checkpointed, start_at="LATEST")
    drain(consumer)
    # When records arrive between its polls
    put_events(checkpointed, "가", "나", "다", first=10)
    drain(consumer)
    # Then every one of them is delivered, and nothing from before the start
    assert batches == [["가", "나", "다"]]


class SplitStream:
    """DynamoDB Streams as a split leaves it: a closed parent shard and its open child (listed
    first, as nothing promises the order). moto has one shard per stream, so this edge of the
    consumer is faked here; its checkpoints and leases are moto's table all the same."""

    def __init__(self, parent: list[str], child: list[str]) -> None:
        self.titles = {"parent": parent, "child": child}

    def describe_stream(self, **params: Any) -> dict[str, Any]:
        shards = [{"ShardId": "child", "ParentShardId": "parent"}, {"ShardId": "parent"}]
        return {"StreamDescription": {"Shards": shards}}

    def get_shard_iterator(self, **params: Any) -> dict[str, Any]:
        kind, shard = params["ShardIteratorType"], params["ShardId"]
        position = {"TRIM_HORIZON": 0, "AFTER_SEQUENCE_NUMBER": 1, "AT_SEQUENCE_NUMBER": 0}[kind]
        start = int(params.get("SequenceNumber", "0")) % 1000 + position
        return {"ShardIterator": f"{shard}:{start}"}

    def get_records(self, ShardIterator: str, Limit: int) -> dict[str, Any]:
        shard, start = ShardIterator.split(":")
        titles = self.titles[shard][int(start) : int(start) + Limit]
        base = 1000 if shard == "parent" else 2000
        records = [
            {
                "eventID": f"{shard}-{n}",
                "eventName": "INSERT",
                "dynamodb": {
                    "ApproximateCreationDateTime": 1_700_000_000,
                    "SequenceNumber": str(base + int(start) + n),
                    "NewImage": {"title": {"S": title}},
                    "SizeBytes": 10,
                    "StreamViewType": "NEW_AND_OLD_IMAGES",
                },
            }
            for n, title in enumerate(titles)
        ]
        end = int(start) + len(titles)
        closed = shard == "parent" and end >= len(self.titles[shard])
        return {"Records": records, "NextShardIterator": None if closed else f"{shard}:{end}"}


def test_a_child_shard_waits_until_its_parent_is_read_to_the_end(checkpointed):
    # Given a stream that split: the parent holds the older records, the child the newer
    app, batches = recording_app(batch_size=2)
    stream = SplitStream(parent=["가", "나", "다"], child=["라", "마"])
    leases = ShardLeases(checkpointed, get_settings().stream_checkpoints_table, "worker-a")
    log: list[str] = []
    streams: Any = stream  # stands in for boto3's DynamoDB Streams client
    consumer = StreamConsumer(app, checkpointed, streams, leases, region=REGION, log=log.append)
    # When the consumer polls
    drain(consumer)
    # Then every parent record is handled before any of the child's, each once
    assert batches == [["가", "나"], ["다"], ["라", "마"]]
