"""Helpers for stream tests: read what moto's streams hold, as Lambda would deliver it."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import boto3

from ops.stream_consumer import read_all

REGION = "ap-northeast-2"


def stream_records(dynamodb: Any, table: str) -> list[dict[str, Any]]:
    """Every record on the table's stream so far, in Lambda's shape."""
    streams = boto3.client("dynamodbstreams", region_name=REGION)
    return read_all(dynamodb, streams, table, REGION)


def scan_all(dynamodb: Any, table: str) -> list[dict[str, Any]]:
    items = dynamodb.scan(TableName=table, ConsistentRead=True)["Items"]
    return sorted(items, key=lambda item: json.dumps(item, sort_keys=True))


class Webhook:
    """A small HTTP server on loopback that records what it is sent and answers `status`, or
    the next of `statuses` while any are left. `hold`, when set, keeps every answer waiting
    until the test releases it (a slow receiver, without timing anything)."""

    def __init__(self, status: int = 200, statuses: list[int] | None = None) -> None:
        self.status = status
        self.statuses = list(statuses or [])
        self.bodies: list[dict[str, Any]] = []
        # Every call as it came: (raw body, headers), answered 2xx or not.
        self.calls: list[tuple[bytes, dict[str, str]]] = []
        self.hold: threading.Event | None = None
        self.answered = 0
        webhook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                raw = self.rfile.read(length)
                webhook.calls.append((raw, dict(self.headers.items())))
                if webhook.hold is not None:
                    webhook.hold.wait(30)
                status = webhook.statuses.pop(0) if webhook.statuses else webhook.status
                if status < 300:
                    webhook.bodies.append(json.loads(raw.decode("utf-8")))
                self.send_response(status)
                self.end_headers()
                webhook.answered += 1

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/hook"

    def __enter__(self) -> "Webhook":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.hold is not None:
            self.hold.set()
        self._server.shutdown()
        self._server.server_close()
