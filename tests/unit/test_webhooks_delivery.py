"""One webhook POST against real receivers: local HTTP(S) servers on 127.0.0.1, each path of
which behaves one way. Refusals use a resolver that needs no network."""

import datetime
import http.server
import socket
import ssl
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from standardwebhooks.webhooks import Webhook

from chalicelib.webhooks.delivery import MAX_RESPONSE_BYTES, send_webhook
from chalicelib.webhooks.signing import new_secret, signature_headers

BODY = '{"text": "새 일정: 팀 회의 (2024-01-25 오후 3:00)"}'.encode()
JSON = {"Content-Type": "application/json; charset=utf-8"}
TLS_NAME = "hooks.example.test"


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


class Receiver(http.server.ThreadingHTTPServer):
    """/ok 200, /fail 500, /redirect 302 to /ok, /slow answers only when released, /drip sends
    its headers a byte at a time for 2 s, /huge answers 1 MB. Remembers every request."""

    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.received: list[Received] = []
        self.released = threading.Event()  # set when the test ends: slow answers stop waiting
        self.server_names: list[str | None] = []
        if tls is not None:
            tls.sni_callback = lambda _socket, name, _context: self.server_names.append(name)
            self.socket = tls.wrap_socket(self.socket, server_side=True)

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    def handle_error(self, request: object, client_address: object) -> None:
        # A sender that stops reading (as it should, past 64 KB or its deadline) breaks the pipe.
        if not isinstance(sys.exception(), ConnectionError | ssl.SSLError):
            super().handle_error(request, client_address)  # type: ignore[arg-type]


class _Handler(http.server.BaseHTTPRequestHandler):
    server: Receiver
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.server.received.append(Received(self.path, dict(self.headers), body))
        if self.path == "/drip":
            # 2 s of one byte every 20 ms, then a complete answer: a sender without a total
            # deadline gets it (and fails the test) rather than hanging it.
            self.wfile.write(b"HTTP/1.1 200 OK\r\nX-Padding: ")
            for _ in range(100):
                if self.server.released.wait(0.02):
                    return
                self.wfile.write(b"a")
            self.wfile.write(b"\r\nContent-Length: 0\r\n\r\n")
            return
        if self.path == "/slow":
            self.server.released.wait(5)
        status, extra, answer = {
            "/ok": (200, {}, b"thanks"),
            "/slow": (200, {}, b"late"),
            "/fail": (500, {}, b"boom"),
            "/redirect": (302, {"Location": f"http://127.0.0.1:{self.server.port}/ok"}, b""),
            "/huge": (200, {}, b"x" * 1_000_000),
        }[self.path]
        self.send_response(status)
        for name, value in {**extra, "Content-Length": str(len(answer))}.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, format: str, *args: object) -> None:
        pass


def serve(receiver: Receiver) -> Iterator[Receiver]:
    thread = threading.Thread(target=receiver.serve_forever, kwargs={"poll_interval": 0.01})
    thread.start()
    yield receiver
    receiver.released.set()
    receiver.shutdown()
    receiver.server_close()
    thread.join()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    yield from serve(Receiver())


@dataclass(frozen=True)
class Certificate:
    cert_file: Path
    key_file: Path


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> Certificate:
    """A self-signed certificate for TLS_NAME, which the tests' TLS context trusts."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, TLS_NAME)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(TLS_NAME)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    folder = tmp_path_factory.mktemp("tls")
    found = Certificate(folder / "cert.pem", folder / "key.pem")
    found.cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    found.key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return found


@pytest.fixture
def tls_receiver(certificate: Certificate) -> Iterator[Receiver]:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certificate.cert_file, certificate.key_file)
    yield from serve(Receiver(tls=context))


def trusting(certificate: Certificate) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=certificate.cert_file)


class FakeDns:
    def __init__(self, *addresses: str) -> None:
        self.addresses = list(addresses)
        self.questions: list[str] = []

    def __call__(self, host: str, port: int) -> list[str]:
        self.questions.append(host)
        return self.addresses


def local(receiver: Receiver, path: str) -> str:
    return f"http://127.0.0.1:{receiver.port}{path}"


# Delivery behaviour (the local stage: http to loopback allowed)


def test_a_signed_notification_arrives_intact_and_the_receiver_verifies_it(receiver):
    # Given a body signed with a subscription's secret
    secret = new_secret()
    headers = {**JSON, **signature_headers(secret, "n-1", BODY, timestamp=int(time.time()))}
    # When it is sent
    result = send_webhook(local(receiver, "/ok"), BODY, headers, allow_private=True)
    # Then the receiver answered 200, got the exact bytes, and the package verifies them
    assert (result.status, result.error, result.delivered) == (200, None, True)
    assert result.response_body == b"thanks"
    assert 0 < result.elapsed_seconds < 1
    [request] = receiver.received
    assert request.body == BODY
    assert request.headers["Content-Type"] == "application/json; charset=utf-8"
    assert Webhook(secret).verify(request.body, request.headers) == {
        "text": "새 일정: 팀 회의 (2024-01-25 오후 3:00)"
    }


def test_a_server_error_is_a_failed_delivery_with_its_status(receiver):
    result = send_webhook(local(receiver, "/fail"), BODY, JSON, allow_private=True)
    assert (result.status, result.delivered) == (500, False)
    assert result.error == "the receiver answered 500"
    assert result.response_body == b"boom"


def test_a_redirect_is_not_followed_and_says_so(receiver):
    # When the receiver answers 302 to another path of its own
    result = send_webhook(local(receiver, "/redirect"), BODY, JSON, allow_private=True)
    # Then the delivery failed, naming the redirect, and the target was never called
    assert result.status == 302
    assert result.error is not None
    assert result.error.startswith("redirect not followed: the receiver answered 302 to http://")
    assert [request.path for request in receiver.received] == ["/redirect"]


def test_a_slow_receiver_times_out_at_the_deadline(receiver):
    # Given a receiver that does not answer, and a 0.2 s deadline
    result = send_webhook(
        local(receiver, "/slow"), BODY, JSON, allow_private=True, timeout_seconds=0.2
    )
    # Then the delivery gives up at about the deadline with no status
    assert (result.status, result.error) == (None, "timed out after 0.2 s")
    assert 0.2 <= result.elapsed_seconds < 1


def test_a_receiver_answering_a_byte_at_a_time_cannot_stretch_the_deadline(receiver):
    # Every byte arrives well within any per-read timeout; only the total deadline stops it
    result = send_webhook(
        local(receiver, "/drip"), BODY, JSON, allow_private=True, timeout_seconds=0.3
    )
    assert result.error == "timed out after 0.3 s"
    assert 0.3 <= result.elapsed_seconds < 1


def test_a_huge_answer_is_read_only_up_to_64_kb(receiver):
    result = send_webhook(local(receiver, "/huge"), BODY, JSON, allow_private=True)
    assert result.delivered
    assert len(result.response_body) == MAX_RESPONSE_BYTES == 65_536
    assert result.response_truncated


def test_a_closed_port_is_a_refused_connection():
    with socket.socket() as probe:  # a port nobody listens on once this closes
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = send_webhook(f"http://127.0.0.1:{port}/", BODY, JSON, allow_private=True)
    assert (result.status, result.error) == (None, "the connection was refused")


# Resolving once and connecting to what was checked


def test_the_connection_goes_to_the_checked_address_and_names_the_host(receiver):
    # Given a name that only the injected resolver knows
    dns = FakeDns("127.0.0.1")
    url = f"http://receiver.test:{receiver.port}/ok"
    # When a webhook is sent to it
    result = send_webhook(url, BODY, JSON, allow_private=True, resolver=dns)
    # Then it was resolved once, reached the address, and the Host header names the host
    assert result.delivered
    assert dns.questions == ["receiver.test"]
    assert receiver.received[0].headers["Host"] == f"receiver.test:{receiver.port}"


def test_an_address_that_refuses_is_skipped_for_the_next_checked_one(receiver):
    # 127.0.0.2 is loopback too, but nothing listens there on this port
    dns = FakeDns("127.0.0.2", "127.0.0.1")
    url = f"http://receiver.test:{receiver.port}/ok"
    assert send_webhook(url, BODY, JSON, allow_private=True, resolver=dns).delivered


def test_https_checks_the_certificate_against_the_host_name_and_sends_it_as_sni(
    tls_receiver, certificate
):
    # Given an HTTPS receiver for TLS_NAME, reached through the resolver at 127.0.0.1
    url = f"https://{TLS_NAME}:{tls_receiver.port}/ok"
    result = send_webhook(
        url,
        BODY,
        JSON,
        allow_private=True,
        resolver=FakeDns("127.0.0.1"),
        tls_context=trusting(certificate),
    )
    # Then TLS saw the name (SNI), the certificate matched it, and Host names it too
    assert (result.status, result.error) == (200, None)
    assert tls_receiver.server_names == [TLS_NAME]
    assert tls_receiver.received[0].headers["Host"] == f"{TLS_NAME}:{tls_receiver.port}"


def test_https_to_a_name_the_certificate_does_not_carry_fails(tls_receiver, certificate):
    url = f"https://other.example.test:{tls_receiver.port}/ok"
    result = send_webhook(
        url,
        BODY,
        JSON,
        allow_private=True,
        resolver=FakeDns("127.0.0.1"),
        tls_context=trusting(certificate),
    )
    assert result.status is None
    assert result.error is not None
    assert result.error.startswith("the TLS certificate was not accepted: Hostname mismatch")
    assert tls_receiver.received == []


def test_https_to_a_certificate_nobody_trusts_fails(tls_receiver):
    # The system's trusted authorities, as in production: a self-signed certificate is refused
    url = f"https://{TLS_NAME}:{tls_receiver.port}/ok"
    result = send_webhook(url, BODY, JSON, allow_private=True, resolver=FakeDns("127.0.0.1"))
    assert result.error is not None
    assert result.error.startswith("the TLS certificate was not accepted")


# Refusals: nothing is sent, and nothing is raised


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("127.0.0.1", "a loopback address"),
        ("10.0.0.8", "a private address"),
        ("192.168.1.20", "a private address"),
        ("169.254.169.254", "the cloud metadata address"),
        ("::1", "a loopback address"),
        ("::ffff:127.0.0.1", "an IPv6 form of 127.0.0.1, a loopback address"),
        ("fd00:ec2::254", "the cloud metadata address"),
    ],
)
def test_a_name_resolving_to_a_private_address_is_never_contacted(receiver, address, kind):
    # Given a public-looking https URL whose name resolves inside the network
    dns = FakeDns(address)
    url = f"https://hooks.example.com:{receiver.port}/ok"
    # When a webhook is sent to it outside the local stage
    result = send_webhook(url, BODY, JSON, allow_private=False, resolver=dns)
    # Then it is refused before connecting, saying why
    assert result.status is None
    assert result.error == f"refused: hooks.example.com resolves to {address}, {kind}"
    assert not result.delivered
    assert receiver.received == []


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("file:///etc/passwd", "the scheme must be https"),
        ("ftp://hooks.example.com/", "the scheme must be https"),
        ("http://hooks.example.com/", "the scheme must be https"),
        ("https://user:secret@hooks.example.com/", "must not contain a user name or password"),
    ],
)
def test_urls_outside_the_rules_are_refused_without_resolving(url, reason):
    dns = FakeDns("93.184.215.14")
    result = send_webhook(url, BODY, JSON, allow_private=False, resolver=dns)
    assert result.error is not None
    assert result.error.startswith("refused: ")
    assert reason in result.error
    assert dns.questions == []


def test_file_urls_are_refused_in_the_local_stage_too():
    result = send_webhook("file:///etc/passwd", BODY, JSON, allow_private=True)
    assert result.error == "refused: the scheme must be https or http"


def test_a_name_that_does_not_resolve_is_a_failed_delivery():
    def no_such_name(host: str, port: int) -> list[str]:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    result = send_webhook(
        "https://gone.example.com/", BODY, JSON, allow_private=False, resolver=no_such_name
    )
    assert result.error == "could not resolve the host: [Errno -2] Name or service not known"


def test_the_caller_cannot_set_the_headers_that_steer_the_connection(receiver):
    for name in ("Host", "content-length", "Transfer-Encoding", "Connection"):
        with pytest.raises(ValueError, match="sets these headers itself"):
            send_webhook(local(receiver, "/ok"), BODY, {name: "x"}, allow_private=True)
    assert receiver.received == []
