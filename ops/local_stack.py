"""`make run`: the Chalice app on its local server, on an embedded DynamoDB (moto's server).

With AWS_ENDPOINT_URL_DYNAMODB (or AWS_ENDPOINT_URL) set, that DynamoDB is used instead: its
tables are created if missing and no sample data is written.
"""

import os
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

from chalicelib import context as app_context
from chalicelib.tables import table_definitions
from ops.create_tables import ensure_tables
from ops.sample_data import load_sample_data

PROJECT_DIR = Path(__file__).resolve().parent.parent
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
        yield Endpoint(configured, embedded=False)
        return
    from ops.embedded_dynamodb import EmbeddedDynamoDB

    server = EmbeddedDynamoDB()
    url = server.start()
    # The embedded server needs no real credentials, and must never be sent real ones.
    os.environ.update(
        AWS_ENDPOINT_URL_DYNAMODB=url,
        AWS_ENDPOINT_URL_DYNAMODBSTREAMS=url,
        AWS_ACCESS_KEY_ID="local",
        AWS_SECRET_ACCESS_KEY="local",
    )
    os.environ.pop("AWS_SESSION_TOKEN", None)
    os.environ.pop("AWS_PROFILE", None)
    try:
        yield Endpoint(url, embedded=True)
    finally:
        server.stop()


def serve(host: str, port: int, stage: str = "dev") -> None:
    """Run until Ctrl-C or SIGTERM."""
    from chalice.cli import create_local_server
    from chalice.cli.factory import CLIFactory

    with dynamodb_endpoint() as endpoint:
        # Loads app.py the way `chalice local` does, with the stage's environment variables.
        server = create_local_server(CLIFactory(str(PROJECT_DIR)), host, port, stage)
        # http.server listens with a backlog of 5: a burst of clients would see resets.
        server.server.socket.listen(_BACKLOG)
        app_context.reset()
        context = app_context.get_context()
        ensure_tables(context.client, table_definitions(context.settings))
        if endpoint.embedded:
            departments, events = load_sample_data(context)
            print(f"✓ 샘플 데이터: 부서 {departments}개, 일정 {events}개")
        _stop_on_sigterm(server.server.shutdown)
        bound_host, bound_port = server.server.server_address[:2]
        where = "embedded" if endpoint.embedded else "external"
        print(f"DynamoDB ({where}): {endpoint.url}")
        print(f"API: http://{bound_host}:{bound_port}/api  (Ctrl-C to stop)", flush=True)
        try:
            server.server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.server.server_close()
    print("stopped", flush=True)


def _stop_on_sigterm(shutdown: Callable[[], None]) -> None:
    def handle(signum: int, frame: FrameType | None) -> None:
        # shutdown() waits for serve_forever to return, so it must not run on the serving thread.
        threading.Thread(target=shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, handle)
