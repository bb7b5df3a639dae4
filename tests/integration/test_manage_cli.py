"""manage.py as an operator meets it: one line per table, one line per fixable failure."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import boto3
import pytest
from botocore.exceptions import ClientError, EndpointConnectionError, NoCredentialsError

from ops.cli_errors import explain
from ops.create_tables import TableMismatch
from tests.moto_server import MotoServer

PROJECT_DIR = Path(__file__).resolve().parents[2]


def manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=PROJECT_DIR,
        env={**base, "AWS_EC2_METADATA_DISABLED": "true", **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def endpoint_env(server: MotoServer, **extra: str) -> dict[str, str]:
    """What manage.py needs to use an embedded DynamoDB: its address and any credentials."""
    return {
        "AWS_ENDPOINT_URL_DYNAMODB": server.url,
        "AWS_ACCESS_KEY_ID": "x",
        "AWS_SECRET_ACCESS_KEY": "x",
        **extra,
    }


def test_create_tables_against_a_dynamodb_endpoint_is_idempotent():
    with MotoServer() as server:
        env = endpoint_env(server, DEPARTMENTS_TABLE="departments-dev")
        first = manage("create-tables", env=env)
        assert first.returncode == 0, first.stderr
        lines = first.stdout.splitlines()
        assert lines[:3] == [
            "✓ departments-dev 테이블이 생성되었습니다.",
            "✓ events 테이블이 생성되었습니다.",
            "✓ departments-names 테이블이 생성되었습니다.",
        ]
        assert "✓ events-audit 테이블이 생성되었습니다." in lines
        second = manage("create-tables", env=env)
        assert second.returncode == 0
        assert second.stdout.splitlines()[0] == "✓ departments-dev 테이블이 이미 존재합니다."


def test_migrate_exits_0_then_2_with_rejects_and_1_for_an_unreadable_file(tmp_path):
    good = PROJECT_DIR / "data" / "departments.json"
    bad_events = tmp_path / "events.json"
    bad_events.write_text(
        '[{"department_id": "dept-dev", "event_date": "2024-02-30", "title": "x"}]', "utf-8"
    )
    broken = tmp_path / "broken.json"
    broken.write_text("[{", "utf-8")
    with MotoServer() as server:
        env = endpoint_env(server)
        ok = manage("migrate", "--departments", str(good), env=env)
        assert ok.returncode == 0, ok.stderr
        assert "✅ 부서 데이터 마이그레이션 완료: 2개 (이미 있음 0개, 거부 0개)" in ok.stdout
        rejected = manage("migrate", "--events", str(bad_events), env=env)
        assert rejected.returncode == 2
        assert "event_date" in rejected.stdout
        unreadable = manage("migrate", "--departments", str(broken), env=env)
        assert unreadable.returncode == 1
        assert "Traceback" not in unreadable.stderr
        assert unreadable.stderr.count("\n") == 1
        assert "broken.json:1:" in unreadable.stderr
        missing = manage("migrate", env=env)
        assert missing.returncode == 2
        assert "--departments" in missing.stderr


def test_missing_credentials_give_one_line_and_exit_1(tmp_path):
    result = manage(
        "create-tables",
        env={
            "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
            "AWS_CONFIG_FILE": str(tmp_path / "none"),
        },
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.count("\n") == 1
    assert "aws configure" in result.stderr


@pytest.mark.parametrize(
    ("command", "hint"),
    [
        (["backup", "--stage", "dev"], "manage.py deploy --stage"),
        (["recount"], "create-tables"),
        (["export", "--out", "{tmp}/out"], "create-tables"),
    ],
)
def test_a_command_on_a_dynamodb_without_the_tables_says_what_to_do_in_one_line(
    tmp_path, command, hint
):
    # Given a DynamoDB that has none of the project's tables
    with MotoServer() as server:
        # When an operations command needs them
        result = manage(*[part.format(tmp=tmp_path) for part in command], env=endpoint_env(server))
    # Then it stops with one line that says what to do, never a traceback
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("✗ ")
    assert hint in result.stderr


def test_with_no_local_stack_and_no_credentials_the_line_says_how_to_start_the_stack(tmp_path):
    # Given no endpoint configured, no local stack running, and no AWS credentials
    env = {
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
        "AWS_CONFIG_FILE": str(tmp_path / "none"),
        "DATA_DIR": str(tmp_path / "no-stack"),
    }
    for command in (["recount"], ["export", "--out", str(tmp_path / "out")]):
        # When a command that uses the local stack when it runs is started
        result = manage(*command, env=env)
        # Then the one line names both ways out
        assert result.returncode == 1
        assert "Traceback" not in result.stderr
        assert result.stderr.count("\n") == 1
        assert "aws configure" in result.stderr
        assert "make run" in result.stderr


def test_an_unreachable_endpoint_gives_one_line():
    result = manage(
        "create-tables",
        env={
            "AWS_ENDPOINT_URL_DYNAMODB": "http://127.0.0.1:9",
            "AWS_ACCESS_KEY_ID": "x",
            "AWS_SECRET_ACCESS_KEY": "x",
            "AWS_MAX_ATTEMPTS": "1",
        },
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "AWS_ENDPOINT_URL_DYNAMODB" in result.stderr


def client_error(code: str, operation: str = "CreateTable") -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": "m"}}, operation)


@pytest.mark.parametrize(
    ("error", "hint"),
    [
        (NoCredentialsError(), "aws configure"),
        (client_error("ResourceNotFoundException"), "AWS_REGION"),
        (client_error("ProvisionedThroughputExceededException"), "PAY_PER_REQUEST"),
        (client_error("ResourceInUseException"), "잠시 후"),
        (client_error("UnrecognizedClientException"), "aws configure"),
        (client_error("AccessDeniedException"), "IAM"),
        (EndpointConnectionError(endpoint_url="http://x"), "AWS_ENDPOINT_URL_DYNAMODB"),
        (TableMismatch("events: key schema is id (HASH)"), "events: key schema"),
        (client_error("TableNotFoundException", "CreateBackup"), "deploy --stage"),
        (client_error("UnknownOperationException", "CreateBackup"), "export --out"),
        (client_error("UnknownOperationException", "TransactWriteItems"), "트랜잭션을"),
        (NotADirectoryError(20, "Not a directory", "out/file"), "out/file"),
    ],
)
def test_each_fixable_failure_is_explained_in_one_line(error, hint):
    line = explain(error, "ap-northeast-2")
    assert line is not None
    assert hint in line
    assert "\n" not in line


def test_a_bug_is_not_disguised_as_an_operator_error():
    assert explain(ValueError("bug"), "ap-northeast-2") is None
    assert explain(client_error("ValidationException"), "ap-northeast-2") is None


def test_stream_worker_runs_the_handlers_against_a_dynamodb_and_stops_on_sigterm():
    with MotoServer() as server:
        env = endpoint_env(
            server, AWS_ENDPOINT_URL_DYNAMODB_STREAMS=server.url, AWS_REGION="ap-northeast-2"
        )
        assert manage("create-tables", env=env).returncode == 0
        assert (
            manage(
                "migrate",
                "--departments",
                str(PROJECT_DIR / "data" / "departments.json"),
                "--events",
                str(PROJECT_DIR / "data" / "events.json"),
                env=env,
            ).returncode
            == 0
        )
        base = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        worker = subprocess.Popen(
            [sys.executable, "manage.py", "stream-worker", "--stage", "local"],
            cwd=PROJECT_DIR,
            env={**base, **env, "PYTHONUNBUFFERED": "1"},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        client = boto3.client(
            "dynamodb",
            endpoint_url=server.url,
            region_name="ap-northeast-2",
            aws_access_key_id="x",
            aws_secret_access_key="x",
        )
        deadline = time.monotonic() + 30
        entries = 0
        while time.monotonic() < deadline:
            entries = client.scan(TableName="events-audit", Select="COUNT")["Count"]
            if entries >= 3:  # two departments and one event, from the migration
                break
            time.sleep(0.2)
        worker.send_signal(signal.SIGTERM)
        out, _ = worker.communicate(timeout=30)
        assert entries == 3, out
        assert worker.returncode == 0, out
        assert (
            "stream worker: departments, events" in out
            or "stream worker: events, departments" in out
        )
        assert out.rstrip().endswith("stopped")
