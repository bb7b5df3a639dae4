"""A small JSON client over http.client (stdlib only), one per thread: keep-alive, or a new
connection for every request (what urllib and curl do)."""

import http.client
import json
from typing import Any
from urllib.parse import urlsplit

# What a server closing an idle keep-alive connection looks like to the client.
_DROPPED = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError)


class HttpClient:
    def __init__(self, base_url: str, *, keep_alive: bool = True, timeout: float = 30) -> None:
        parts = urlsplit(base_url)
        self._host = parts.hostname or "127.0.0.1"
        self._port = parts.port or 80
        self._timeout = timeout
        self.keep_alive = keep_alive
        self._connection = self._connect()

    def _connect(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection(self._host, self._port, timeout=self._timeout)

    def request(self, method: str, path: str, body: Any = None) -> tuple[int, bytes]:
        """(status, body). A keep-alive connection the server dropped is reopened once and the
        request sent again (it never reached the server)."""
        payload = None if body is None else json.dumps(body, ensure_ascii=False).encode("utf-8")
        headers = {"Content-Type": "application/json"} if payload is not None else {}
        if not self.keep_alive:
            headers["Connection"] = "close"
        for attempt in range(2):
            try:
                self._connection.request(method, path, body=payload, headers=headers)
                response = self._connection.getresponse()
                result = response.status, response.read()
            except _DROPPED:
                self._reconnect()
                if attempt == 1:
                    raise
                continue
            if not self.keep_alive:
                self._reconnect()
            return result
        raise AssertionError("unreachable")

    def _reconnect(self) -> None:
        self._connection.close()
        self._connection = self._connect()

    def json(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        status, raw = self.request(method, path, body)
        return status, (json.loads(raw) if raw else None)

    def close(self) -> None:
        self._connection.close()
