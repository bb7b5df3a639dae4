"""Feeds DynamoDB stream records to the app's registered stream handlers, as Lambda would.

`chalice local` never runs stream handlers; this does, for `make run` (the embedded DynamoDB)
and for `manage.py stream-worker` (any DynamoDB, for hosts that are not Lambda). For each
handler registered with `@app.on_dynamodb_record` it finds the table's stream, reads every
shard in order (parents before children) with GetRecords, builds the event Lambda would
deliver (with the handler's batch size), invokes the handler through the Chalice app, and
honours `batchItemFailures`: the shard is read again from the lowest failed sequence number,
after a growing pause.
"""

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError
from chalice.app import Chalice, DynamoDBEventConfig
from chalice.local import LambdaContext

from chalicelib.dynamo import DynamoDBClient

if TYPE_CHECKING:
    from mypy_boto3_dynamodbstreams import DynamoDBStreamsClient
else:
    DynamoDBStreamsClient = Any

Log = Callable[[str], None]
_MAX_BACKOFF = 5.0
_SHARD_REFRESH_SECONDS = 10.0


@dataclass
class _Shard:
    shard_id: str
    parent_id: str | None
    # Where to read next: ("AFTER_SEQUENCE_NUMBER" | "AT_SEQUENCE_NUMBER", sequence number),
    # or None for the shard's starting position (`start_at`, then `waiting` once read empty).
    start_at: str = "TRIM_HORIZON"
    position: tuple[str, str] | None = None
    waiting: str | None = None
    finished: bool = False
    failures: int = 0
    retry_at: float = 0.0


@dataclass
class _Source:
    handler_name: str
    table: str
    stream_arn: str
    batch_size: int
    shards: dict[str, _Shard] = field(default_factory=dict)
    refreshed_at: float = float("-inf")


def table_of(stream_arn: str) -> str:
    """arn:aws:dynamodb:region:account:table/NAME/stream/LABEL → NAME"""
    resource = stream_arn.split(":", 5)[-1]
    parts = resource.split("/")
    if len(parts) < 2 or parts[0] != "table":
        raise ValueError(f"not a DynamoDB stream ARN: {stream_arn}")
    return parts[1]


class StreamPoller:
    def __init__(
        self,
        app: Chalice,
        dynamodb: DynamoDBClient,
        streams: DynamoDBStreamsClient,
        *,
        region: str,
        log: Log = print,
        start_at: str = "TRIM_HORIZON",
        idle_seconds: float = 0.2,
    ) -> None:
        self._app = app
        self._dynamodb = dynamodb
        self._streams = streams
        self._region = region
        self._log = log
        self._start_at = start_at
        self._idle = idle_seconds
        self.processed = 0  # records handed to handlers successfully, for "anything changed?"
        self.sources = self._find_sources()

    def _find_sources(self) -> list[_Source]:
        sources = []
        for config in self._app.event_sources:
            if not isinstance(config, DynamoDBEventConfig):
                continue
            table = table_of(config.stream_arn)
            description = self._dynamodb.describe_table(TableName=table)["Table"]
            stream_arn = description.get("LatestStreamArn")
            if not stream_arn or not description.get("StreamSpecification", {}).get(
                "StreamEnabled"
            ):
                self._log(
                    f"⚠ {table}: 이 DynamoDB에는 스트림이 없습니다 — "
                    f"{config.name} 핸들러(감사 로그·알림)는 실행되지 않습니다."
                )
                continue
            sources.append(_Source(config.name, table, stream_arn, config.batch_size))
        return sources

    def run(self, stop: threading.Event) -> None:
        """Poll until `stop` is set. A stream that cannot be read is retried with a growing
        pause, and the same error is reported once, not on every attempt."""
        errors: dict[str, str] = {}
        pause = self._idle
        while not stop.is_set():
            busy, failing = False, False
            for source in self.sources:
                try:
                    busy |= self.poll(source)
                    errors.pop(source.table, None)
                except (ClientError, BotoCoreError) as error:
                    failing = True
                    if errors.get(source.table) != str(error):
                        errors[source.table] = str(error)
                        self._log(f"⚠ {source.table} 스트림을 읽지 못했습니다: {error}")
            pause = min(_MAX_BACKOFF, pause * 2) if failing else self._idle
            if not busy:
                stop.wait(pause)

    def drain(self, rounds: int = 50) -> None:
        """Handle what is still waiting on the streams (before a clean stop)."""
        for _ in range(rounds):
            if not any([self.poll(source) for source in self.sources]):
                return

    def poll(self, source: _Source) -> bool:
        """One round over the source's shards. True if any records were handled."""
        self._refresh_shards(source)
        busy = False
        for shard in list(source.shards.values()):
            parent = source.shards.get(shard.parent_id or "")
            if shard.finished or (parent is not None and not parent.finished):
                continue
            if shard.retry_at > time.monotonic():
                continue
            busy |= self._read(source, shard)
        return busy

    def _refresh_shards(self, source: _Source) -> None:
        """Look for new shards every few seconds (they appear as the stream splits and rolls
        over), reading every page of DescribeStream."""
        if time.monotonic() - source.refreshed_at < _SHARD_REFRESH_SECONDS:
            return
        source.refreshed_at = time.monotonic()
        first = not source.shards
        params: dict[str, Any] = {"StreamArn": source.stream_arn}
        while True:
            description = self._streams.describe_stream(**params)["StreamDescription"]
            for shard in description.get("Shards", []):
                shard_id = shard["ShardId"]
                if shard_id not in source.shards:
                    # Shards that appear later are read from their start, as Lambda does.
                    start_at = self._start_at if first else "TRIM_HORIZON"
                    source.shards[shard_id] = _Shard(
                        shard_id, shard.get("ParentShardId"), start_at=start_at
                    )
            last = description.get("LastEvaluatedShardId")
            if not last:
                return
            params["ExclusiveStartShardId"] = last

    def _read(self, source: _Source, shard: _Shard) -> bool:
        response = self._streams.get_records(
            ShardIterator=self._iterator(source, shard), Limit=source.batch_size
        )
        records = [
            lambda_record(r, source.stream_arn, self._region) for r in response.get("Records", [])
        ]
        if not records:
            next_iterator = response.get("NextShardIterator")
            shard.finished = next_iterator is None
            if shard.position is None and shard.start_at == "LATEST":
                # Nothing yet: keep this iterator. A fresh LATEST one each poll would skip
                # whatever arrived between two polls. (From TRIM_HORIZON a fresh one is as good.)
                shard.waiting = next_iterator
            return False
        failed_at = self._invoke(source, records)
        shard.waiting = None
        if failed_at is None:
            shard.position = ("AFTER_SEQUENCE_NUMBER", records[-1]["dynamodb"]["SequenceNumber"])
            shard.failures = 0
            self.processed += len(records)
            lag = time.time() - min(r["dynamodb"]["ApproximateCreationDateTime"] for r in records)
            self._log(f"stream {source.table}: {len(records)}건 처리 (지연 {lag:.1f}s)")
            return True
        # Read again from the first failed record, after a pause that grows with each failure.
        shard.position = ("AT_SEQUENCE_NUMBER", failed_at)
        shard.failures += 1
        pause = min(_MAX_BACKOFF, 0.2 * 2 ** (shard.failures - 1))
        shard.retry_at = time.monotonic() + pause
        self._log(f"⚠ stream {source.table}: {failed_at}부터 다시 처리합니다 ({pause:.1f}s 후)")
        return True

    def _iterator(self, source: _Source, shard: _Shard) -> str:
        """A fresh iterator at the shard's position for every read. Reusing NextShardIterator
        would save a call, but moto replaces a table's stream shard when it rolls back a
        cancelled transaction, which strands open iterators; a fresh one always sees it all."""
        if shard.position is None:
            if shard.waiting is not None:
                return shard.waiting
            return self._streams.get_shard_iterator(
                StreamArn=source.stream_arn,
                ShardId=shard.shard_id,
                ShardIteratorType=shard.start_at,  # type: ignore[arg-type]
            )["ShardIterator"]
        kind, sequence_number = shard.position
        return self._streams.get_shard_iterator(
            StreamArn=source.stream_arn,
            ShardId=shard.shard_id,
            ShardIteratorType=kind,  # type: ignore[arg-type]
            SequenceNumber=sequence_number,
        )["ShardIterator"]

    def _invoke(self, source: _Source, records: list[dict[str, Any]]) -> str | None:
        """Run the handler; the sequence number to resume from, or None if all succeeded."""
        context = LambdaContext(source.handler_name, memory_size=512, max_runtime_ms=900_000)
        try:
            response = self._app.handler_map[source.handler_name]({"Records": records}, context)
        except Exception as error:  # a whole-batch failure: Lambda would retry all of it
            self._log(f"⚠ {source.handler_name} 실패: {type(error).__name__}: {error}")
            return str(records[0]["dynamodb"]["SequenceNumber"])
        failures = (response or {}).get("batchItemFailures") or []
        if not failures:
            return None
        return min((str(f["itemIdentifier"]) for f in failures), key=int)


def lambda_record(record: Any, stream_arn: str, region: str) -> dict[str, Any]:
    """A record as GetRecords returns it, in the shape Lambda delivers: epoch seconds for
    ApproximateCreationDateTime (boto3 parses it into a datetime), and the source ARN and
    region that GetRecords leaves out."""
    result: dict[str, Any] = dict(record)
    stream = dict(result["dynamodb"])
    moment = stream.get("ApproximateCreationDateTime")
    if isinstance(moment, datetime):
        stream["ApproximateCreationDateTime"] = moment.timestamp()
    result["dynamodb"] = stream
    result["eventSourceARN"] = stream_arn
    result["awsRegion"] = region
    return result


def read_all(
    dynamodb: DynamoDBClient, streams: DynamoDBStreamsClient, table: str, region: str
) -> list[dict[str, Any]]:
    """Every record still on the table's stream, oldest first, shaped as Lambda delivers them
    (for tests and benchmarks that feed handlers by hand)."""
    stream_arn = dynamodb.describe_table(TableName=table)["Table"]["LatestStreamArn"]
    shards = streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"]
    records: list[dict[str, Any]] = []
    for shard in shards:
        iterator: str | None = streams.get_shard_iterator(
            StreamArn=stream_arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        while iterator:
            response = streams.get_records(ShardIterator=iterator, Limit=1000)
            if not response["Records"]:
                break
            records += [lambda_record(r, stream_arn, region) for r in response["Records"]]
            iterator = response.get("NextShardIterator")
    return records
