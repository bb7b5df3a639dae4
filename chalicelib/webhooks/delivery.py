"""One webhook POST, safe by default.

- The URL is checked (`urls`) and its host resolved once (`addresses`). The connection goes to
  the checked addresses, while the Host header, TLS SNI and the certificate check use the name.
- Redirects are never followed: a 3xx is a failure that says so. Its target was never checked,
  and the subscriber registered the URL it wants to be called at.
- At most 64 KB of the answer is read; the rest is never downloaded.
- One deadline (5 s unless told otherwise) runs from the start: the time DNS takes counts
  against it, and connecting, TLS, sending and reading are cut off when it passes. A per-read
  socket timeout alone would let a receiver that answers one byte at a time hold the sender for
  as long as it likes.
- Receiver failures (a refused URL, DNS, connection, TLS, timeout, a non-2xx answer) come back
  as a DeliveryResult rather than an exception: the caller records them and schedules a retry.

Only the standard library (http.client): nothing to ship, little to import on a cold start.
"""

import http.client
import socket
import ssl
import threading
import time
from collections.abc import Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass
from functools import cache

from chalicelib.webhooks.addresses import (
    IPAddress,
    Resolver,
    destination_addresses,
    resolve_with_dns,
)
from chalicelib.webhooks.urls import DEFAULT_PORTS, WebhookUrl, WebhookUrlRefused, check_url

MAX_RESPONSE_BYTES = 64 * 1024
DEFAULT_TIMEOUT_SECONDS = 5.0
# The sender sets these itself; taking them from the caller would let a header name another host.
SENDER_HEADERS = frozenset({"host", "content-length", "transfer-encoding", "connection"})
_LOCATION_SHOWN = 200  # characters of a redirect's Location kept in the error text


@dataclass(frozen=True)
class DeliveryResult:
    status: int | None  # the receiver's HTTP status; None when no answer arrived
    error: str | None  # why the delivery failed; None when the receiver answered 2xx in time
    elapsed_seconds: float
    response_body: bytes = b""  # the first MAX_RESPONSE_BYTES of the answer at most
    response_truncated: bool = False  # the answer was longer than what was read

    @property
    def delivered(self) -> bool:
        return self.error is None


def send_webhook(
    url: str,
    body: bytes,
    headers: Mapping[str, str],
    *,
    allow_private: bool,
    resolver: Resolver = resolve_with_dns,
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
    tls_context: ssl.SSLContext | None = None,
) -> DeliveryResult:
    """POST `body` with `headers` to `url`; never raises for what the receiver does.

    `allow_private` is for the local stage only (http, loopback and private receivers).
    `tls_context` defaults to the system's trusted certificates with hostname checking."""
    reserved = SENDER_HEADERS.intersection(name.lower() for name in headers)
    if reserved:
        raise ValueError(f"the sender sets these headers itself: {sorted(reserved)}")
    started = time.monotonic()
    deadline = started + timeout_seconds
    timed_out = f"timed out after {timeout_seconds:g} s"

    def finished(status: int | None, error: str | None, answer: bytes = b"") -> DeliveryResult:
        return DeliveryResult(
            status,
            error,
            time.monotonic() - started,
            answer[:MAX_RESPONSE_BYTES],
            len(answer) > MAX_RESPONSE_BYTES,
        )

    try:
        checked = check_url(url, allow_private)
        addresses = destination_addresses(checked, allow_private, resolver)
    except WebhookUrlRefused as refused:
        return finished(None, f"refused: {refused.reason}")
    except OSError as error:
        return finished(None, f"could not resolve the host: {error}")

    connection = _PinnedConnection(checked, addresses, deadline, tls_context)
    watchdog = threading.Timer(deadline - time.monotonic(), connection.abort)
    watchdog.daemon = True
    watchdog.start()
    status: int | None = None
    answer = b""
    try:
        connection.request("POST", checked.target, body=body, headers=dict(headers))
        response = connection.getresponse()
        status = response.status
        location = response.getheader("Location", "")
        # One byte more than is kept tells whether the answer was longer.
        answer = response.read(MAX_RESPONSE_BYTES + 1)
    except (OSError, http.client.HTTPException) as error:
        timeout = connection.aborted or isinstance(error, TimeoutError)
        return finished(status, timed_out if timeout else _describe(error), answer)
    finally:
        watchdog.cancel()
        connection.close()
    if connection.aborted:  # the deadline passed just as the last read returned
        return finished(status, timed_out, answer)
    return finished(response.status, _status_problem(response.status, location), answer)


def _status_problem(status: int, location: str) -> str | None:
    if 200 <= status < 300:
        return None
    if 300 <= status < 400:
        to = f" to {location[:_LOCATION_SHOWN]}" if location else ""
        return f"redirect not followed: the receiver answered {status}{to}"
    return f"the receiver answered {status}"


def _describe(error: Exception) -> str:
    if isinstance(error, ssl.SSLCertVerificationError):
        return f"the TLS certificate was not accepted: {error.verify_message}"
    if isinstance(error, ssl.SSLError):
        return f"TLS failed: {error.reason or error}"
    if isinstance(error, ConnectionRefusedError):
        return "the connection was refused"
    if isinstance(error, http.client.HTTPException):
        return f"the answer was not valid HTTP ({type(error).__name__}: {error})"
    return f"the connection failed: {error}"


@cache
def _system_tls() -> ssl.SSLContext:
    # Loading the trusted certificates takes milliseconds: once per container is enough.
    return ssl.create_default_context()


class _PinnedConnection(http.client.HTTPConnection):
    """HTTP or HTTPS to addresses checked in advance, while speaking to the URL's host name."""

    def __init__(
        self,
        url: WebhookUrl,
        addresses: Sequence[IPAddress],
        deadline: float,
        tls_context: ssl.SSLContext | None,
    ) -> None:
        super().__init__(url.host, url.port)
        # The Host header names the port only when it is not the scheme's usual one.
        self.default_port = DEFAULT_PORTS[url.scheme]
        self._addresses = addresses
        self._deadline = deadline
        self._tls = (tls_context or _system_tls()) if url.uses_tls else None
        self._lock = threading.Lock()
        self.aborted = False

    def connect(self) -> None:
        sock = self._open_socket()
        if self._tls is not None:
            # Handshake after self.sock is set, so that abort() can interrupt a slow one too.
            sock = self._tls.wrap_socket(
                sock, server_hostname=self.host, do_handshake_on_connect=False
            )
        with self._lock:
            if self.aborted:
                sock.close()
                raise TimeoutError("deadline passed while connecting")
            self.sock = sock
        if isinstance(sock, ssl.SSLSocket):
            sock.do_handshake()

    def _open_socket(self) -> socket.socket:
        """A TCP connection to the first checked address that accepts one."""
        failure: OSError = OSError("no address to connect to")
        for address in self._addresses:
            remaining = self._deadline - time.monotonic()
            if remaining <= 0 or self.aborted:
                raise TimeoutError("deadline passed while connecting")
            try:
                # A literal address: create_connection asks no resolver for it.
                return socket.create_connection((str(address), self.port), timeout=remaining)
            except OSError as error:
                failure = error
        raise failure

    def abort(self) -> None:
        """Make whatever the connection waits for fail now (the deadline's timer calls it)."""
        with self._lock:
            self.aborted = True
            if self.sock is not None:
                with suppress(OSError):
                    # socket.socket's shutdown, not SSLSocket's: that one also discards the TLS
                    # state the sending thread is still using.
                    socket.socket.shutdown(self.sock, socket.SHUT_RDWR)
