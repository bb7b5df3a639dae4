"""Start `manage.py serve` as a user would, on a free port, and talk to it over real HTTP."""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3

PROJECT_DIR = Path(__file__).resolve().parents[2]
_LISTENING = re.compile(r"API: (http://\S+)/api")
_DATABASE = re.compile(r"DynamoDB \(.*\): (http://\S+)")


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)


def eventually(check: Callable[[], Any], timeout: float = 30.0) -> Any:
    """Poll `check` until it returns something truthy (the streams are asynchronous), or the
    time is up; returns its last answer."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(0.1)


class LocalStack:
    """`data_dir`: where the stack keeps its database (a fresh temporary folder by default, so
    tests never read or write the developer's .local/). DynamoDB Local gets a free port."""

    def __init__(
        self,
        env: dict[str, str] | None = None,
        data_dir: Path | None = None,
        *,
        fresh: bool = False,
    ) -> None:
        self._scratch = data_dir is None  # removed again when the stack stops
        self.data_dir = data_dir or Path(tempfile.mkdtemp(prefix="local-stack-"))
        environment = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith("AWS_ENDPOINT_URL")
        }
        environment.update({"DYNAMODB_PORT": "0", **(env or {})}, PYTHONUNBUFFERED="1")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "manage.py",
                "serve",
                "--port",
                "0",
                "--data-dir",
                str(self.data_dir),
                *(["--fresh"] if fresh else []),
            ],
            cwd=PROJECT_DIR,
            env=environment,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        self.startup_lines: list[str] = []
        try:
            self.base_url = self._wait_until_listening()
        except BaseException:
            self._end(self.process.kill)
            raise
        self.dynamodb_url = next(
            m.group(1) for m in map(_DATABASE.search, self.startup_lines) if m is not None
        )

    def _wait_until_listening(self, timeout: float = 120) -> str:
        deadline = time.monotonic() + timeout
        assert self.process.stdout is not None
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()
            if not line:
                raise RuntimeError(f"local stack exited: {self.startup_lines}")
            self.startup_lines.append(line.rstrip("\n"))
            match = _LISTENING.search(line)
            if match:
                return match.group(1)
        raise TimeoutError("local stack did not start")

    def request(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> Reply:
        data = None if body is None else json.dumps(body, ensure_ascii=False).encode("utf-8")
        request = urllib.request.Request(
            self.base_url + path,
            data=data,
            method=method,
            headers={"Content-Type": "application/json", **(headers or {})},
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return Reply(response.status, dict(response.headers), response.read())
        except urllib.error.HTTPError as error:
            return Reply(error.code, dict(error.headers), error.read())

    def dynamodb(self) -> Any:
        """A client of the stack's own DynamoDB, to look at what is stored."""
        return boto3.client(
            "dynamodb",
            endpoint_url=self.dynamodb_url,
            region_name="ap-northeast-2",
            aws_access_key_id="local",
            aws_secret_access_key="local",
        )

    def kill(self) -> None:
        """SIGKILL: no chance to drain, checkpoint or stop DynamoDB Local itself."""
        self._end(self.process.kill)

    def stop(self) -> tuple[int, str]:
        """SIGTERM, as a process manager would; returns the exit code and what it printed."""
        out = self._end(lambda: self.process.send_signal(signal.SIGTERM))
        return self.process.returncode, out

    def _end(self, signal_it: Callable[[], None]) -> str:
        """Signal the stack and wait for it (killing it if it will not stop); a scratch data
        folder goes with it."""
        try:
            signal_it()
            out, _ = self.process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.communicate()
            raise
        finally:
            if self._scratch:
                shutil.rmtree(self.data_dir, ignore_errors=True)
        return out
