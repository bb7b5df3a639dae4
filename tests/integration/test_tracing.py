"""A stage that traces: every invocation of the API and of the stream handlers is a subsegment of
Lambda's trace, with a subsegment for each DynamoDB call inside it.

The app runs in a process of its own, set up as Lambda sets one up (tracing is decided when
app.py is imported, and it patches botocore for the whole process), against an embedded
DynamoDB. A UDP socket on loopback stands where Lambda's X-Ray daemon listens: the X-Ray SDK
sends its real segments there, and nothing leaves the machine.
"""

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from chalicelib.settings import Settings
from chalicelib.tables import table_definitions
from tests.conftest import PROJECT_DIR
from tests.isolation import REGION
from tests.moto_server import MotoServer

# X-Ray trace ids: 1-<8 hex digits of epoch seconds>-<24 hex digits>
TRACE_IDS = {
    "health": "1-6650a1b2-0000000000000000000000a1",
    "create": "1-6650a1b2-0000000000000000000000a2",
    "event": "1-6650a1b2-0000000000000000000000a3",
    "stream": "1-6650a1b2-0000000000000000000000a4",
}


class TracedRun:
    def __init__(self, answers: dict[str, Any], segments: list[dict[str, Any]], logs: str):
        self.answers = answers
        self.segments = segments
        self.log_lines = [json.loads(line) for line in logs.splitlines() if line.startswith("{")]

    def in_trace(self, name: str) -> list[dict[str, Any]]:
        return [s for s in self.segments if s.get("trace_id") == TRACE_IDS[name]]

    def named(self, trace: str, name: str) -> dict[str, Any]:
        (segment,) = [s for s in self.in_trace(trace) if s.get("name") == name]
        return segment


@pytest.fixture(scope="module")
def traced(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TracedRun]:
    out = tmp_path_factory.mktemp("traced")
    (out / "trace_ids.json").write_text(json.dumps(TRACE_IDS), encoding="utf-8")
    daemon = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    daemon.bind(("127.0.0.1", 0))
    with daemon, MotoServer() as dynamodb:
        client = boto3.client(
            "dynamodb",
            endpoint_url=dynamodb.url,
            region_name=REGION,
            aws_access_key_id="x",
            aws_secret_access_key="x",
        )
        for definition in table_definitions(Settings.from_environ({"AWS_REGION": REGION})):
            client.create_table(**definition.create_table_request())
        run = subprocess.run(
            [
                sys.executable,
                *("-m", "tests.integration.traced_lambda"),
                *(str(out / "answers.json"), str(out / "trace_ids.json")),
            ],
            cwd=PROJECT_DIR,
            env=lambda_environment(dynamodb.url, daemon.getsockname()[1], out),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert run.returncode == 0, run.stderr
        yield TracedRun(
            json.loads((out / "answers.json").read_text("utf-8")),
            received_segments(daemon),
            run.stdout,
        )


def lambda_environment(dynamodb_url: str, daemon_port: int, out: Path) -> dict[str, str]:
    """What Lambda sets for a function with active tracing, plus this stage's own settings."""
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(out),
        "LAMBDA_TASK_ROOT": str(PROJECT_DIR),
        "AWS_LAMBDA_FUNCTION_NAME": "department-calendar-prod",
        "AWS_XRAY_DAEMON_ADDRESS": f"127.0.0.1:{daemon_port}",
        "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
        "TRACING_ENABLED": "true",
        "POWERTOOLS_SERVICE_NAME": "department-calendar",
        "POWERTOOLS_METRICS_NAMESPACE": "DepartmentCalendar",
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "x",
        "AWS_SECRET_ACCESS_KEY": "x",
        "AWS_ENDPOINT_URL_DYNAMODB": dynamodb_url,
        "AWS_ENDPOINT_URL_DYNAMODB_STREAMS": dynamodb_url,
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
    }


def received_segments(daemon: socket.socket) -> list[dict[str, Any]]:
    """Every segment document sent to the daemon: `{"format": "json", "version": 1}\\n{...}`."""
    daemon.settimeout(0.5)
    segments: list[dict[str, Any]] = []
    while True:
        try:
            datagram = daemon.recv(65536)
        except TimeoutError:
            return segments
        header, _, document = datagram.decode("utf-8").partition("\n")
        assert json.loads(header) == {"format": "json", "version": 1}
        segments.append(json.loads(document))


def test_the_x_ray_sdk_is_loaded_when_the_stage_traces_and_records_only_invocations(traced):
    assert traced.answers["xray_loaded"] is True
    assert {segment["trace_id"] for segment in traced.segments} == set(TRACE_IDS.values())


def test_an_api_request_is_a_subsegment_named_by_its_route_with_its_dynamodb_calls(traced):
    assert traced.answers["health"]["statusCode"] == 200
    handler = traced.named("health", "## GET /api/health")
    assert handler["annotations"]["ColdStart"] is True
    assert handler["annotations"]["Service"] == "department-calendar"
    # the id in the response's X-Request-Id and in the log lines finds the trace too
    assert handler["annotations"]["request_id"] == "health-request"
    dynamodb = traced.named("health", "dynamodb")
    assert dynamodb["aws"]["operation"] == "BatchGetItem"
    assert dynamodb["parent_id"] == handler["id"]
    # responses (item data) stay out of traces
    assert "metadata" not in handler


def test_routes_with_ids_are_named_by_their_template(traced):
    handler = traced.named("event", "## POST /api/events/:department_id")
    assert handler["annotations"]["ColdStart"] is False
    calls = [s for s in traced.in_trace("event") if s.get("name") == "dynamodb"]
    assert calls
    assert all(call["parent_id"] == handler["id"] for call in calls)


def test_a_stream_batch_is_a_subsegment_with_its_writes(traced):
    assert traced.answers["stream"] == {"batchItemFailures": []}
    handler = traced.named("stream", "## department-calendar-prod-on_event_change")
    writes = [s for s in traced.in_trace("stream") if s.get("name") == "dynamodb"]
    assert "BatchWriteItem" in {w["aws"]["operation"] for w in writes}
    assert all(w["parent_id"] == handler["id"] for w in writes)


def test_on_lambda_the_request_id_is_api_gateways(traced):
    assert traced.answers["health"]["headers"]["X-Request-Id"] == "health-request"
    requests = [line for line in traced.log_lines if line.get("message") == "request"]
    assert [(r["correlation_id"], r["route"], r["status"]) for r in requests] == [
        ("health-request", "/api/health", 200),
        ("create-request", "/api/departments", 201),
        ("event-request", "/api/events/{department_id}", 201),
    ]


def test_with_tracing_on_but_no_x_ray_sdk_the_app_still_serves_and_says_why():
    probe = (
        "import sys\n"
        "sys.modules['aws_xray_sdk'] = None  # a deployment without the SDK\n"
        "import app\n"
        "print('tracing' if app.tracing else 'no tracing')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=PROJECT_DIR,
        env={"PATH": "/usr/bin:/bin", "TRACING_ENABLED": "true", "LAMBDA_TASK_ROOT": "/var/task"},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    *logs, verdict = result.stdout.splitlines()
    assert verdict == "no tracing"
    (error,) = [json.loads(line) for line in logs]
    assert error["level"] == "ERROR"
    assert "aws-xray-sdk" in error["message"]
