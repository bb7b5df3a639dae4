"""Feeds DynamoDB stream records to the app's registered stream handlers, as Lambda would, and
remembers how far it got.

`chalice local` never runs stream handlers; this does, for `make run` and for
`manage.py stream-worker` (hosts that are not Lambda). For each handler registered with
`@app.on_dynamodb_record` it finds the table's stream and reads its shards the way the Kinesis
Client Library does:
- a lease per shard (ops/shard_leases.py), so two workers never both process one; a lease that
  is not renewed expires and another worker takes the shard over;
- a checkpoint per shard after every batch that succeeds: a restart resumes after it, and a
  shard never seen starts at TRIM_HORIZON, so nothing written while no worker ran is skipped;
- parents before children: a child shard starts once its parent is finished (or trimmed);
- `batchItemFailures` honoured: the shard is read again from the lowest failed sequence number,
  after a growing pause, as Lambda does with ReportBatchItemFailures.
"""

import threading
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError
from chalice.app import Chalice, DynamoDBEventConfig
from chalice.local import LambdaContext

from chalicelib.dynamo import DynamoDBClient, error_code
from ops.shard_leases import LeaseLost, ShardLeases

if TYPE_CHECKING:
    from mypy_boto3_dynamodbstreams import DynamoDBStreamsClient
else:
    DynamoDBStreamsClient = Any

Log = Callable[[str], None]
_MAX_BACKOFF = 5.0
_SHARD_REFRESH_SECONDS = 10.0
# Iterators a stream stops honouring: start again from the checkpoint with a fresh one.
_STALE_ITERATOR = frozenset({"ExpiredIteratorException", "TrimmedDataAccessException"})


@dataclass
class _Shard:
    shard_id: str
    parent_id: str | None
    held: bool = False  # this worker holds the lease
    checkpoint: str | None = None  # last sequence number processed
    retry_from: str | None = None  # a failed record to read again, inclusive
    iterator: str | None = None  # where the next read continues
    finished: bool = False
    failures: int = 0
    retry_at: float = 0.0
    lease_due: float = 0.0  # when to take or renew the lease next


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


class StreamConsumer:
    def __init__(
        self,
        app: Chalice,
        dynamodb: DynamoDBClient,
        streams: DynamoDBStreamsClient,
        leases: ShardLeases,
        *,
        region: str,
        log: Log = print,
        start_at: str = "TRIM_HORIZON",
        idle_seconds: float = 0.2,
        handlers: Collection[str] | None = None,
    ) -> None:
        self._app = app
        # Only these handlers' streams (None: all): Lambda runs each function on its own, so
        # the local stack gives slow work (webhook deliveries) a consumer of its own too.
        self._handlers = handlers
        self._dynamodb = dynamodb
        self._streams = streams
        self._leases = leases
        self._region = region
        self._log = log
        self._start_at = start_at  # for a shard with no checkpoint
        self._idle = idle_seconds
        self.processed = 0  # records handed to handlers successfully
        self.sources = self._find_sources()

    def _find_sources(self) -> list[_Source]:
        sources = []
        for config in self._app.event_sources:
            if not isinstance(config, DynamoDBEventConfig):
                continue
            if self._handlers is not None and config.name not in self._handlers:
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

    def take_leases(self) -> None:
        """Find every shard and take the leases free to take, positioning each at its
        checkpoint: from here on nothing written to the tables can be missed."""
        for source in self.sources:
            self._refresh_shards(source)
            for shard in list(source.shards.values()):
                self._hold(source, shard)

    def run(self, stop: threading.Event) -> None:
        """Poll until `stop` is set; then handle what is still waiting and let go of the
        leases. A stream that cannot be read is retried with a growing pause, and the same
        error is reported once, not every time."""
        errors: dict[str, str] = {}
        pause = self._idle
        try:
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
            self.drain()
        finally:
            self.release_leases()

    def drain(self, rounds: int = 50) -> None:
        """Handle what is still waiting on the streams (before a clean stop)."""
        for _ in range(rounds):
            if not any([self.poll(source) for source in self.sources]):
                return

    def release_leases(self) -> None:
        """Let other workers take this worker's shards at once (a clean stop)."""
        for source in self.sources:
            for shard in source.shards.values():
                if shard.held:
                    self._leases.release(source.stream_arn, shard.shard_id)
                    shard.held = False

    def skip_to_end(self) -> int:
        """Checkpoint every held shard at its last record without handling anything (for
        records whose effects were imported along with them). Returns how many were skipped."""
        skipped = 0
        self.take_leases()
        for source in self.sources:
            for shard in source.shards.values():
                while shard.held and not shard.finished:
                    records, _ = self._next_records(source, shard)
                    if not records:
                        break
                    self._checkpoint(source, shard, records[-1]["dynamodb"]["SequenceNumber"])
                    skipped += len(records)
        return skipped

    def poll(self, source: _Source) -> bool:
        """One round over the source's shards. True if any records were handled."""
        self._refresh_shards(source)
        busy = False
        for shard in list(source.shards.values()):
            if shard.finished or not self._hold(source, shard):
                continue
            if shard.retry_at > time.monotonic():
                continue
            try:
                busy |= self._read(source, shard)
            except LeaseLost:
                self._let_go(source, shard)
        return busy

    def _refresh_shards(self, source: _Source) -> None:
        """Look for new shards every few seconds (they appear as the stream splits and rolls
        over), reading every page of DescribeStream."""
        if time.monotonic() - source.refreshed_at < _SHARD_REFRESH_SECONDS:
            return
        params: dict[str, Any] = {"StreamArn": source.stream_arn}
        while True:
            description = self._streams.describe_stream(**params)["StreamDescription"]
            for shard in description.get("Shards", []):
                shard_id = shard["ShardId"]
                if shard_id not in source.shards:
                    source.shards[shard_id] = _Shard(shard_id, shard.get("ParentShardId"))
            last = description.get("LastEvaluatedShardId")
            if not last:
                break
            params["ExclusiveStartShardId"] = last
        source.refreshed_at = time.monotonic()

    def _hold(self, source: _Source, shard: _Shard) -> bool:
        """Whether this worker may read the shard now, taking or renewing its lease when due."""
        now = time.monotonic()
        if now < shard.lease_due:
            return shard.held
        if not self._parent_finished(source, shard):
            shard.lease_due = now + self._leases.lease_seconds / 3
            return False
        lease = self._leases.take(source.stream_arn, shard.shard_id)
        if lease is None:
            if shard.held:
                self._let_go(source, shard)
            # Someone else's: try again about when an unrenewed lease would have expired.
            shard.lease_due = now + self._leases.lease_seconds / 2
            return False
        if not shard.held:
            # Newly ours: continue from where the item says, not from what we knew before.
            shard.held, shard.iterator, shard.retry_from = True, None, None
            shard.checkpoint, shard.finished = lease.checkpoint, lease.finished
        shard.lease_due = now + self._leases.lease_seconds / 3
        return True

    def _parent_finished(self, source: _Source, shard: _Shard) -> bool:
        parent = source.shards.get(shard.parent_id or "")
        if parent is None or parent.finished:
            return True  # no parent, or one already trimmed from the stream
        parent.finished = self._leases.is_finished(source.stream_arn, parent.shard_id)
        return parent.finished

    def _let_go(self, source: _Source, shard: _Shard) -> None:
        self._log(f"stream {source.table}: {shard.shard_id}은(는) 다른 작업자가 맡았습니다")
        shard.held, shard.iterator, shard.retry_from = False, None, None

    def _read(self, source: _Source, shard: _Shard) -> bool:
        records, closed = self._next_records(source, shard)
        if not records:
            if closed:
                self._leases.finish(source.stream_arn, shard.shard_id)
                shard.finished = True
            return False
        failed_at = self._invoke(source, records)
        if failed_at is None:
            self._checkpoint(source, shard, records[-1]["dynamodb"]["SequenceNumber"], closed)
            shard.failures = 0
            self.processed += len(records)
            lag = time.time() - min(r["dynamodb"]["ApproximateCreationDateTime"] for r in records)
            self._log(f"stream {source.table}: {len(records)}건 처리 (지연 {lag:.1f}s)")
            return True
        done = [r for r in records if int(r["dynamodb"]["SequenceNumber"]) < int(failed_at)]
        if done:
            self._checkpoint(source, shard, done[-1]["dynamodb"]["SequenceNumber"])
        # Read again from the first failed record, after a pause that grows with each failure.
        shard.retry_from, shard.iterator = failed_at, None
        shard.failures += 1
        pause = min(_MAX_BACKOFF, 0.2 * 2 ** (shard.failures - 1))
        shard.retry_at = time.monotonic() + pause
        self._log(f"⚠ stream {source.table}: {failed_at}부터 다시 처리합니다 ({pause:.1f}s 후)")
        return True

    def _checkpoint(
        self, source: _Source, shard: _Shard, sequence_number: str, closed: bool = False
    ) -> None:
        self._leases.checkpoint(source.stream_arn, shard.shard_id, sequence_number, finished=closed)
        shard.checkpoint, shard.retry_from, shard.finished = sequence_number, None, closed

    def _next_records(self, source: _Source, shard: _Shard) -> tuple[list[dict[str, Any]], bool]:
        """The next batch from the shard's position, and whether the shard is closed and has
        nothing after this batch."""
        for attempt in range(2):
            iterator = shard.iterator or self._iterator(source, shard)
            try:
                response = self._streams.get_records(
                    ShardIterator=iterator, Limit=source.batch_size
                )
            except ClientError as error:
                if error_code(error) not in _STALE_ITERATOR or attempt:
                    raise
                shard.iterator = None
                continue
            shard.iterator = response.get("NextShardIterator")
            records = [
                lambda_record(r, source.stream_arn, self._region) for r in response["Records"]
            ]
            return records, shard.iterator is None
        raise AssertionError("unreachable")

    def _iterator(self, source: _Source, shard: _Shard) -> str:
        """An iterator at the shard's position: a failed record to retry, else after the
        checkpoint, else the start chosen for shards never processed."""
        params: dict[str, Any] = {"StreamArn": source.stream_arn, "ShardId": shard.shard_id}
        if shard.retry_from is not None:
            params.update(ShardIteratorType="AT_SEQUENCE_NUMBER", SequenceNumber=shard.retry_from)
        elif shard.checkpoint is not None:
            params.update(
                ShardIteratorType="AFTER_SEQUENCE_NUMBER", SequenceNumber=shard.checkpoint
            )
        else:
            params.update(ShardIteratorType=self._start_at)
        try:
            return self._streams.get_shard_iterator(**params)["ShardIterator"]
        except ClientError as error:
            if error_code(error) != "TrimmedDataAccessException":
                raise
        # The checkpoint is older than the stream keeps (24 h): what lay between is gone.
        self._log(f"⚠ stream {source.table}: {shard.shard_id}의 기록 일부가 이미 지워졌습니다")
        return self._streams.get_shard_iterator(
            StreamArn=source.stream_arn, ShardId=shard.shard_id, ShardIteratorType="TRIM_HORIZON"
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
