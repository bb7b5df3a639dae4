"""`make run`: the Chalice app on its local server, on an embedded DynamoDB (moto's server).

With AWS_ENDPOINT_URL_DYNAMODB (or AWS_ENDPOINT_URL) set, that DynamoDB is used instead: its
tables are created if missing and no sample data is written.
"""

import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

import boto3
from chalice.app import Chalice

from chalicelib import context as app_context
from chalicelib.dynamo import CLIENT_CONFIG
from chalicelib.tables import table_definitions
from ops.create_tables import ensure_tables
from ops.local_data import SNAPSHOT_SECONDS, Snapshots, has_saved_data, load
from ops.stream_poller import StreamPoller

PROJECT_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = PROJECT_DIR / "data"
DEFAULT_DATA_DIR = PROJECT_DIR / ".local"
_BACKLOG = 128
_ENDPOINT_VARIABLES = ("AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL")


@dataclass(frozen=True)
class Endpoint:
    url: str
    embedded: bool


@contextmanager
def dynamodb_endpoint() -> Iterator[Endpoint]:
    """The DynamoDB to use: the configured one, or a fresh embedded server for this process."""
    configured = next((os.environ[v] for v in _ENDPOINT_VARIABLES if os.environ.get(v)), None)
    if configured is not None:
        # Emulators serve DynamoDB Streams on the same port as DynamoDB.
        os.environ.setdefault("AWS_ENDPOINT_URL_DYNAMODB_STREAMS", configured)
        yield Endpoint(configured, embedded=False)
        return
    from ops.embedded_dynamodb import EmbeddedDynamoDB

    server = EmbeddedDynamoDB()
    url = server.start()
    # The embedded server needs no real credentials, and must never be sent real ones.
    os.environ.update(
        AWS_ENDPOINT_URL_DYNAMODB=url,
        AWS_ENDPOINT_URL_DYNAMODB_STREAMS=url,
        AWS_ACCESS_KEY_ID="local",
        AWS_SECRET_ACCESS_KEY="local",
    )
    os.environ.pop("AWS_SESSION_TOKEN", None)
    os.environ.pop("AWS_PROFILE", None)
    try:
        yield Endpoint(url, embedded=True)
    finally:
        server.stop()


def quiet_lambda_output() -> None:
    """Locally the poller prints one line per batch; Powertools' JSON log lines and metric
    blobs would bury it (set POWERTOOLS_LOG_LEVEL / POWERTOOLS_METRICS_DISABLED to see them)."""
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
    os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")


def open_to_local_pages() -> None:
    """The local stack has no authentication, so a web page on any local port may call it;
    set CORS_ALLOWED_ORIGINS to try a deployment's origin list instead."""
    os.environ.setdefault("CORS_ALLOWED_ORIGINS", "*")


def log(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


@contextmanager
def stream_poller(
    app: Chalice, context: app_context.Context, start_at: str = "TRIM_HORIZON"
) -> Iterator[StreamPoller]:
    """The registered stream handlers, fed from the tables' streams on a background thread;
    on the way out, whatever is still on the streams is handled first."""
    settings = context.settings
    streams = boto3.session.Session().client(
        "dynamodbstreams", region_name=settings.region, config=CLIENT_CONFIG
    )
    poller = StreamPoller(
        app, context.client, streams, region=settings.region, log=log, start_at=start_at
    )
    stop = threading.Event()
    thread = threading.Thread(target=poller.run, args=(stop,), name="stream-poller", daemon=True)
    thread.start()
    try:
        yield poller
    finally:
        stop.set()
        thread.join(timeout=10)
        poller.drain()


def serve(
    host: str,
    port: int,
    stage: str = "local",
    data_dir: Path = DEFAULT_DATA_DIR,
    fresh: bool = False,
) -> None:
    """Run until Ctrl-C or SIGTERM. With the embedded DynamoDB, the data is kept in
    `data_dir` between runs (`fresh` starts again from the sample data)."""
    from chalice.cli import create_local_server
    from chalice.cli.factory import CLIFactory
    from chalice.local import ChaliceRequestHandler

    # With Nagle's algorithm on, every response on a kept-alive connection waits ~40 ms for
    # the client's delayed ACK; the local server would look 40x slower than the app is.
    ChaliceRequestHandler.disable_nagle_algorithm = True
    quiet_lambda_output()
    open_to_local_pages()
    with dynamodb_endpoint() as endpoint:
        # Loads app.py the way `chalice local` does, with the stage's environment variables.
        server = create_local_server(CLIFactory(str(PROJECT_DIR)), host, port, stage)
        # http.server listens with a backlog of 5: a burst of clients would see resets.
        server.server.socket.listen(_BACKLOG)
        app_context.reset()
        context = app_context.get_context()
        ensure_tables(context.client, table_definitions(context.settings))
        restored = endpoint.embedded and not fresh and has_saved_data(data_dir)
        if restored:
            departments, events = load(context, data_dir)
            print(f"✓ 저장된 데이터: 부서 {departments}개, 일정 {events}개 ({data_dir})")
        elif endpoint.embedded:
            # The sample data is a saved folder too, in the legacy shape: the same path loads it.
            departments, events = load(context, DATA_DIR)
            print(f"✓ 샘플 데이터: 부서 {departments}개, 일정 {events}개 (data/, 마이그레이션으로)")
        _stop_on_sigterm(server.server.shutdown)
        bound_host, bound_port = server.server.server_address[:2]
        where = "embedded" if endpoint.embedded else "external"
        # Restored items were audited in an earlier run: only what happens from now on is new.
        start_at = "LATEST" if restored else "TRIM_HORIZON"
        with stream_poller(server.app_object, context, start_at) as poller:
            snapshots = None
            if endpoint.embedded:
                every = float(os.environ.get("LOCAL_SNAPSHOT_SECONDS") or SNAPSHOT_SECONDS)
                snapshots = Snapshots(context, data_dir, lambda: poller.processed, log, every)
                snapshots.start()
            print(f"DynamoDB ({where}): {endpoint.url}")
            print(f"API: http://{bound_host}:{bound_port}/api  (Ctrl-C to stop)", flush=True)
            try:
                server.server.serve_forever()
            except KeyboardInterrupt:
                pass
            finally:
                server.server.server_close()
        if snapshots is not None:
            snapshots.stop()  # after the poller's last drain, so the audit log is complete
            print(f"💾 {data_dir}에 저장했습니다 (다음 실행 때 불러옵니다)")
    print("stopped", flush=True)


def stream_worker(stage: str, start_at: str) -> None:
    """Only the stream handlers, against whatever DynamoDB is configured (e.g. AWS), until
    Ctrl-C or SIGTERM: for hosts that are not Lambda. Processing is idempotent, so starting
    from TRIM_HORIZON again after a restart repeats work but changes nothing."""
    from chalice.cli.factory import CLIFactory

    app = CLIFactory(str(PROJECT_DIR)).create_config_obj(chalice_stage_name=stage).chalice_app
    app_context.reset()
    context = app_context.get_context()
    settings = context.settings
    streams = boto3.session.Session().client(
        "dynamodbstreams", region_name=settings.region, config=CLIENT_CONFIG
    )
    poller = StreamPoller(app, context.client, streams, region=settings.region, start_at=start_at)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda signum, frame: stop.set())
    print(f"stream worker: {', '.join(s.table for s in poller.sources) or '스트림 없음'}")
    with suppress(KeyboardInterrupt):
        poller.run(stop)
    print("stopped", flush=True)


def _stop_on_sigterm(shutdown: Callable[[], None]) -> None:
    def handle(signum: int, frame: FrameType | None) -> None:
        # shutdown() waits for serve_forever to return, so it must not run on the serving thread.
        threading.Thread(target=shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, handle)
