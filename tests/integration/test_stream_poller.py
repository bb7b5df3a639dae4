"""The local stream poller: what Lambda's event source mapping does, against moto's streams."""

import itertools
from typing import Any

import boto3
import pytest
from chalice.app import Chalice

from chalicelib.settings import get_settings
from chalicelib.tables import table_definitions
from ops.stream_poller import StreamPoller, table_of
from tests.integration.streams import REGION

ARN = f"arn:aws:dynamodb:{REGION}:000000000000:table/events/stream/not-configured"


def recording_app(
    fail_once_at: int | None = None, batch_size: int = 100
) -> tuple[Chalice, list[list[str]]]:
    """A Chalice app with one stream handler that records each batch it gets, and reports the
    record at index `fail_once_at` (and every later one) as failed the first time."""
    app = Chalice(app_name="poller-test", configure_logs=False)
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


def put_events(dynamodb: Any, *titles: str) -> None:
    for i, title in enumerate(titles):
        item = {"id": {"S": f"e{i}"}, "department_id": {"S": "d"}, "title": {"S": title}}
        dynamodb.put_item(TableName="events", Item=item)


def drain(poller: StreamPoller, monkeypatch: pytest.MonkeyPatch) -> None:
    # A clock that jumps ahead 10 s per reading, so every backoff pause is already over.
    clock = itertools.count(start=0, step=10)
    monkeypatch.setattr("ops.stream_poller.time.monotonic", lambda: next(clock))
    for _ in range(10):
        for source in poller.sources:
            poller.poll(source)


def make_poller(app: Chalice, dynamodb: Any, log: list[str]) -> StreamPoller:
    streams = boto3.client("dynamodbstreams", region_name=REGION)
    return StreamPoller(app, dynamodb, streams, region=REGION, log=log.append)


def test_it_feeds_records_in_order_in_batches_of_the_handlers_size(tables, monkeypatch):
    app, batches = recording_app(batch_size=2)
    put_events(tables, "가", "나", "다", "라", "마")
    drain(make_poller(app, tables, []), monkeypatch)
    assert batches == [["가", "나"], ["다", "라"], ["마"]]


def test_it_rereads_from_the_first_failed_record(tables, monkeypatch):
    # Given a handler that reports the second record (and the rest) failed the first time
    app, batches = recording_app(fail_once_at=1)
    put_events(tables, "가", "나", "다")
    log: list[str] = []
    drain(make_poller(app, tables, log), monkeypatch)
    # Then the next delivery starts at that record, and nothing is skipped or repeated after
    assert batches == [["가", "나", "다"], ["나", "다"]]
    assert any("다시 처리합니다" in line for line in log)


def test_a_table_without_a_stream_is_reported_once_and_skipped(dynamodb):
    for definition in table_definitions(get_settings()):
        request = definition.create_table_request()
        request.pop("StreamSpecification", None)
        dynamodb.create_table(**request)
    app, _ = recording_app()
    log: list[str] = []
    poller = make_poller(app, dynamodb, log)
    assert poller.sources == []
    assert len(log) == 1
    assert "스트림이 없습니다" in log[0]


def test_the_table_is_read_from_the_stream_arn():
    assert table_of(ARN) == "events"
    arn = "arn:aws:dynamodb:ap-northeast-2:123:table/events-dev/stream/2024-01-01T00:00:00.000"
    assert table_of(arn) == "events-dev"
    with pytest.raises(ValueError, match="not a DynamoDB stream ARN"):
        table_of("arn:aws:sqs:ap-northeast-2:123:queue")


def test_starting_at_latest_loses_nothing_written_between_polls(tables, monkeypatch):
    # Given a poller that starts at the newest record, and records from before it started
    put_events(tables, "옛것")
    app, batches = recording_app()
    streams = boto3.client("dynamodbstreams", region_name=REGION)
    log: list[str] = []
    poller = StreamPoller(app, tables, streams, region=REGION, log=log.append, start_at="LATEST")
    drain(poller, monkeypatch)
    # When records arrive between its polls
    for i, title in enumerate(["가", "나", "다"], start=10):
        item = {"id": {"S": f"e{i}"}, "department_id": {"S": "d"}, "title": {"S": title}}
        tables.put_item(TableName="events", Item=item)
    drain(poller, monkeypatch)
    # Then every one of them is delivered, and nothing from before the start
    assert batches == [["가", "나", "다"]]
