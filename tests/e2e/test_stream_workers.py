"""Two `manage.py stream-worker` processes on the same tables (DynamoDB Local): the shard
leases let exactly one handle each record, and when one is killed the other takes over."""

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from chalicelib.settings import Settings
from chalicelib.tables import table_definitions
from ops.create_tables import ensure_tables
from ops.dynamodb_local import DynamoDBLocal
from tests.conftest import Api, local_client, reset_caches
from tests.e2e.local_stack import eventually

pytestmark = pytest.mark.e2e

PROJECT_DIR = Path(__file__).resolve().parents[2]
LEASE_SECONDS = 3


class Worker:
    def __init__(self, name: str, endpoint: str) -> None:
        environment = {
            **{k: v for k, v in os.environ.items() if not k.startswith("AWS_ENDPOINT_URL")},
            "AWS_ENDPOINT_URL_DYNAMODB": endpoint,
            "PYTHONUNBUFFERED": "1",
        }
        self.process = subprocess.Popen(
            [
                sys.executable,
                "manage.py",
                "stream-worker",
                "--stage",
                "local",
                "--owner",
                name,
                "--lease-seconds",
                str(LEASE_SECONDS),
            ],
            cwd=PROJECT_DIR,
            env=environment,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    def handled(self, table: str) -> int:
        """Records of `table` this worker handled, from its "stream T: N건 처리" lines."""
        prefix = f"stream {table}: "
        return sum(
            int(line[len(prefix) :].split("건")[0])
            for line in list(self.lines)
            if line.startswith(prefix) and "건 처리" in line
        )

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    with DynamoDBLocal(tmp_path, port=0) as dynamodb:
        monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", dynamodb.url)
        monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB_STREAMS", dynamodb.url)
        reset_caches()
        client = boto3.client("dynamodb", region_name="ap-northeast-2")
        ensure_tables(client, table_definitions(Settings.from_environ({})), lambda line: None)
        yield dynamodb.url


def audited_events(endpoint: str) -> list[str]:
    client = boto3.client("dynamodb", region_name="ap-northeast-2", endpoint_url=endpoint)
    items = client.scan(TableName="events-audit", ConsistentRead=True)["Items"]
    return [
        i["entity_key"]["S"].split("#")[-1]
        for i in items
        if i["entity_key"]["S"].startswith("event#") and i["action"]["S"] == "INSERT"
    ]


def test_two_workers_share_the_streams_and_one_carries_on_when_the_other_is_killed(database):
    from app import app

    workers = [Worker("worker-a", database), Worker("worker-b", database)]
    try:
        assert eventually(lambda: all(w.lines for w in workers), timeout=60)
        with local_client(app) as client:
            api = Api(client)
            department = api.department("작업자팀")
            # Given thirty events created while both workers run
            created = [api.event(department["id"], title=f"일정 {n}")["id"] for n in range(30)]
            # Then each is audited once, and the two workers together handled each record once
            assert eventually(lambda: sorted(audited_events(database)) == sorted(created), 60)
            # (a worker logs a batch after writing its effects and its checkpoint)
            assert eventually(lambda: sum(w.handled("events") for w in workers) == 30, 10)
            time.sleep(1)
            assert sum(w.handled("events") for w in workers) == 30
            # When the worker holding the events shard is killed
            (holder,) = [w for w in workers if w.handled("events")]
            (other,) = [w for w in workers if w is not holder]
            holder.process.kill()
            killed_at = time.monotonic()
            created += [api.event(department["id"], title=f"나중 {n}")["id"] for n in range(10)]
            # Then the other takes the shard over once the lease expires, and handles the rest
            assert eventually(lambda: other.handled("events") == 10, LEASE_SECONDS + 20)
            assert time.monotonic() - killed_at < LEASE_SECONDS + 20
            assert sorted(audited_events(database)) == sorted(created)
    finally:
        for worker in workers:
            worker.stop()
        print("\n".join(line for w in workers for line in w.lines))
