"""`make run`: the Chalice app on its local server, on DynamoDB Local kept on disk, with a
checkpointed stream consumer running the stream handlers.

The data lives in DynamoDB Local's database under the data folder (default .local/): every
acknowledged write is on disk, and the consumer's checkpoints are in the same database, so a
crash loses nothing and a restart handles every change exactly once in effect. With
AWS_ENDPOINT_URL_DYNAMODB (or AWS_ENDPOINT_URL) set, that DynamoDB is used instead: its tables
are created if missing and no sample data is written.
"""

import errno
import os
import signal
import sys
import threading
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from types import FrameType
from typing import Any

import boto3
from botocore.exceptions import ClientError
from chalice.app import Chalice

from chalicelib import context as app_context
from chalicelib.dynamo import CLIENT_CONFIG, DynamoDBClient, error_code
from chalicelib.settings import Settings
from chalicelib.tables import local_table_definitions, stream_checkpoints_table, stream_handlers
from ops import local_endpoint
from ops.calendar_backfill import file_events_while_upgrading
from ops.create_tables import ensure_tables, retire_indexes
from ops.dynamodb_local import (
    DATABASE_FILE,
    DEFAULT_PORT,
    DynamoDBLocal,
    DynamoDBLocalError,
    hold_answers_until_committed,
)
from ops.local_data import has_snapshot, load, set_snapshot_aside
from ops.schedules import Schedules
from ops.shard_leases import ShardLeases
from ops.stream_consumer import StreamConsumer

PROJECT_DIR = Path(__file__).resolve().parent.parent
SAMPLE_DATA_DIR = PROJECT_DIR / "data"
DEFAULT_DATA_DIR = local_endpoint.DEFAULT_DATA_DIR
# The local stack is the only consumer of its own database: after a crash it takes its
# leases back at once instead of waiting for them to expire.
LOCAL_OWNER = "local-stack"
_BACKLOG = 128


def quiet_lambda_output() -> None:
    """Locally the consumer prints one line per batch; Powertools' JSON log lines and metric
    blobs would bury it (set POWERTOOLS_LOG_LEVEL / POWERTOOLS_METRICS_DISABLED to see them)."""
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
    os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")


def deliver_to_local_receivers() -> None:
    """Webhook receivers on a laptop listen on loopback, over http: the local stack lets
    subscriptions point there (ALLOW_PRIVATE_WEBHOOKS; refused wherever callers sign in)."""
    os.environ.setdefault("ALLOW_PRIVATE_WEBHOOKS", "true")


def open_to_local_pages() -> None:
    """The local stack has no authentication, so a web page on any local port may call it;
    set CORS_ALLOWED_ORIGINS to try a deployment's origin list instead."""
    os.environ.setdefault("CORS_ALLOWED_ORIGINS", "*")


def log(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def stream_consumer(
    app: Chalice,
    context: app_context.Context,
    owner: str,
    *,
    start_at: str = "TRIM_HORIZON",
    lease_seconds: float = 10.0,
    log: Callable[[str], None] = log,
    handlers: Collection[str] | None = None,
) -> StreamConsumer:
    """The consumer of the app's stream handlers (or only of `handlers`), keeping its
    checkpoints and leases in the same DynamoDB."""
    settings = context.settings
    checkpoints = stream_checkpoints_table(settings)
    streams = boto3.session.Session().client(
        "dynamodbstreams", region_name=settings.region, config=CLIENT_CONFIG
    )
    leases = ShardLeases(context.client, checkpoints.name, owner, lease_seconds=lease_seconds)
    return StreamConsumer(
        app,
        context.client,
        streams,
        leases,
        region=settings.region,
        log=log,
        start_at=start_at,
        handlers=handlers,
    )


def split_handlers(settings: Settings) -> tuple[set[str], set[str]]:
    """(the audit handlers, the delivery handlers): consumed apart, as on AWS, so a receiver
    that takes seconds to answer never holds up the audit log."""
    handlers = stream_handlers(settings)
    delivery = {name for name, table in handlers.items() if table.role == "notifications"}
    return set(handlers) - delivery, delivery


def background_work(
    app: Chalice, context: app_context.Context, owner: str, **options: Any
) -> tuple[StreamConsumer, StreamConsumer, Schedules]:
    """The audit consumer, the delivery consumer and the schedules, as the local stack and the
    stream worker run them."""
    audit, delivery = split_handlers(context.settings)
    return (
        stream_consumer(app, context, owner, handlers=audit, **options),
        stream_consumer(app, context, owner, handlers=delivery, **options),
        Schedules(app, log=options.get("log", log)),
    )


@contextmanager
def running(*workers: StreamConsumer | Schedules) -> Iterator[None]:
    """Each consumer (and the schedules) on a background thread; on the way out the consumers
    handle what is still on their streams, checkpoint it and let go of their leases."""
    stop = threading.Event()
    threads = [
        threading.Thread(target=worker.run, args=(stop,), name=type(worker).__name__, daemon=True)
        for worker in workers
    ]
    for thread in threads:
        thread.start()
    try:
        yield
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=30)


@contextmanager
def database(data_dir: Path, port: int, fresh: bool) -> Iterator[tuple[str, bool]]:
    """(endpoint, new): the configured DynamoDB, or DynamoDB Local on `data_dir` for as long as
    the stack runs. `new` is true for a database started empty (nothing there yet, or FRESH)."""
    configured = local_endpoint.configured_endpoint()
    if configured is not None:
        local_endpoint.prepare_for_configured_endpoint()
        yield configured, False
        return
    other = local_endpoint.running_stack(data_dir)
    if other is not None:
        # Two DynamoDB Local processes on one database would corrupt it.
        raise DynamoDBLocalError(
            f"{data_dir}에서 로컬 스택이 이미 실행 중입니다 (DynamoDB {other}): "
            "그 스택을 쓰거나 멈추세요."
        )
    if fresh:
        (data_dir / DATABASE_FILE).unlink(missing_ok=True)
    new = not (data_dir / DATABASE_FILE).exists()
    dynamodb = DynamoDBLocal(data_dir, port)
    url = dynamodb.start()
    local_endpoint.point_at(url)
    local_endpoint.prepare_for_configured_endpoint()
    try:
        yield url, new
    finally:
        dynamodb.stop()


def serve(
    host: str,
    port: int,
    *,
    stage: str = "local",
    data_dir: Path = DEFAULT_DATA_DIR,
    fresh: bool = False,
    dynamodb_port: int = DEFAULT_PORT,
) -> None:
    """Run until Ctrl-C or SIGTERM."""
    from chalice.cli import create_local_server
    from chalice.local import ChaliceRequestHandler

    from ops.gateway import LocalServerFactory

    # With Nagle's algorithm on, every response on a kept-alive connection waits ~40 ms for
    # the client's delayed ACK; the local server would look 40x slower than the app is.
    ChaliceRequestHandler.disable_nagle_algorithm = True
    quiet_lambda_output()
    open_to_local_pages()
    deliver_to_local_receivers()
    try:
        # Loads app.py the way `chalice local` does, with the stage's environment variables;
        # a path or method no route takes is answered as on AWS (ops/gateway.py).
        server = create_local_server(LocalServerFactory(str(PROJECT_DIR)), host, port, stage)
    except OSError as error:
        if error.errno != errno.EADDRINUSE:
            raise
        raise DynamoDBLocalError(
            f"API 포트 {port}을(를) 이미 쓰고 있습니다: PORT=다른번호 로 다시 실행하세요."
        ) from None
    # http.server listens with a backlog of 5: a burst of clients would see resets.
    server.server.socket.listen(_BACKLOG)
    bound_host, bound_port = server.server.server_address[:2]
    api_url = f"http://{bound_host}:{bound_port}/api"
    embedded = local_endpoint.configured_endpoint() is None
    with database(data_dir, dynamodb_port, fresh) as (dynamodb_url, new):
        app_context.reset()
        context = app_context.get_context()
        if embedded:
            hold_answers_until_committed(context.client)
        require_transactions(context.client, context.settings.departments_table, dynamodb_url)
        ensure_tables(context.client, local_table_definitions(context.settings))
        file_events_while_upgrading(context.client, context.settings)
        # Nothing of an earlier version runs here any more: what it read can go.
        retire_indexes(context.client, local_table_definitions(context.settings))
        consumer, deliveries, schedules = background_work(server.app_object, context, LOCAL_OWNER)
        if new:
            _load_first_data(context, consumer, data_dir)
        # Positioned before the first request is served: every write from now on is seen.
        consumer.take_leases()
        deliveries.take_leases()
        _stop_on_sigterm(server.server.shutdown)
        if embedded:
            local_endpoint.announce(data_dir, dynamodb_url, api_url)
        where = f"DynamoDB Local, 데이터 {data_dir}" if embedded else "external"
        with running(consumer, deliveries, schedules):
            print(f"DynamoDB ({where}): {dynamodb_url}")
            print(f"API: {api_url}  (Ctrl-C to stop)", flush=True)
            try:
                server.server.serve_forever()
            except KeyboardInterrupt:
                pass
            finally:
                server.server.server_close()
                if embedded:
                    local_endpoint.withdraw(data_dir)
    print("stopped", flush=True)


def require_transactions(client: DynamoDBClient, table: str, endpoint: str) -> None:
    """Stop before anything is created on a DynamoDB without transactions (dynalite): every
    write of the API is one, so each would fail. One condition check on a key no item has
    writes nothing; any answer but "unknown operation" (the table missing, say) means the
    operation exists."""
    try:
        client.transact_write_items(
            TransactItems=[
                {
                    "ConditionCheck": {
                        "TableName": table,
                        # Not a valid id (models.is_valid_id): nothing the app writes has it.
                        "Key": {"id": {"S": "#transactions-probe"}},
                        "ConditionExpression": "attribute_not_exists(id)",
                    }
                }
            ]
        )
    except ClientError as error:
        if error_code(error) == "UnknownOperationException":
            raise DynamoDBLocalError(
                f"이 DynamoDB는 트랜잭션을 지원하지 않습니다 (TransactWriteItems, {endpoint}): "
                "API의 쓰기는 모두 트랜잭션입니다. AWS_ENDPOINT_URL_DYNAMODB를 지워 내장 "
                "DynamoDB Local을 쓰거나, AWS의 DynamoDB나 DynamoDB Local을 가리키세요."
            ) from None


def _load_first_data(
    context: app_context.Context, consumer: StreamConsumer, data_dir: Path
) -> None:
    """A new database gets an earlier version's snapshot if the folder has one, else the
    sample data."""
    if has_snapshot(data_dir):
        departments, events = load(context, data_dir)
        # The snapshot brought its audit log and inboxes: its own stream records are history.
        consumer.skip_to_end()
        aside = set_snapshot_aside(data_dir)
        print(f"✓ 저장된 데이터를 가져왔습니다: 부서 {departments}개, 일정 {events}개 ({aside})")
        return
    # The sample data is in the legacy shape: the migration loads it, and the consumer then
    # audits it like any other change.
    departments, events = load(context, SAMPLE_DATA_DIR)
    print(f"✓ 샘플 데이터: 부서 {departments}개, 일정 {events}개 (data/, 마이그레이션으로)")


def stream_worker(
    stage: str, start_at: str, owner: str | None = None, lease_seconds: float = 10.0
) -> None:
    """Only the stream handlers, against whatever DynamoDB is configured (e.g. AWS), until
    Ctrl-C or SIGTERM: for hosts that are not Lambda. Several workers share the shards through
    their leases; each resumes after the last checkpoint."""
    import socket

    from chalice.cli.factory import CLIFactory

    quiet_lambda_output()
    local_endpoint.prepare_for_configured_endpoint()
    app = CLIFactory(str(PROJECT_DIR)).create_config_obj(chalice_stage_name=stage).chalice_app
    app_context.reset()
    context = app_context.get_context()
    owner = owner or f"{socket.gethostname()}:{os.getpid()}"
    ensure_tables(context.client, [stream_checkpoints_table(context.settings)], report=print)
    workers = background_work(
        app, context, owner, start_at=start_at, lease_seconds=lease_seconds, log=print
    )
    consumer, deliveries, _ = workers
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda signum, frame: stop.set())
    sources = [*consumer.sources, *deliveries.sources]
    tables = ", ".join(s.table for s in sources) or "스트림 없음"
    print(f"stream worker: {tables} ({owner})", flush=True)
    with suppress(KeyboardInterrupt), running(*workers):
        stop.wait()
    print("stopped", flush=True)


def _stop_on_sigterm(shutdown: Callable[[], None]) -> None:
    def handle(signum: int, frame: FrameType | None) -> None:
        # shutdown() waits for serve_forever to return, so it must not run on the serving thread.
        threading.Thread(target=shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, handle)
