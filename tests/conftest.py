"""Shared fixtures: an AWS-free environment, moto-backed tables and the Chalice test client."""

import json
import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from chalice.test import Client
from moto import mock_aws

from chalicelib import context
from chalicelib.settings import get_settings
from chalicelib.tables import table_definitions
from tests.isolation import CLEARED, REGION, fake_aws, isolate

pytest_plugins = ("tests.contract_coverage",)

# What is imported while tests are collected (the plugins, test modules that import app.py)
# reads the environment before any fixture runs, and some of it decides at import (the
# authorizer): the whole session starts isolated, and each test again below.
isolate(os.environ, "testing")

PROJECT_DIR = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def aws_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No test ever reaches real AWS, nor sees a setting from the shell: fake credentials,
    fixed region, every setting at its default unless the test sets it."""
    for name in CLEARED:
        monkeypatch.delenv(name, raising=False)
    for name, value in fake_aws("testing").items():
        monkeypatch.setenv(name, value)
    reset_caches()
    yield
    reset_caches()


def head_commit() -> str:
    """The checked-out commit, as the version string names it (12 hex digits)."""
    return subprocess.run(
        ["git", "rev-parse", "--short=12", "HEAD"],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


def reset_caches() -> None:
    """Settings and clients are built once per process (once per Lambda container): forget them
    so each test sees its own environment and its own moto."""
    context.reset()


@pytest.fixture
def dynamodb() -> Iterator[Any]:
    """An in-process moto DynamoDB with no tables yet; yields a client for it."""
    with mock_aws():
        yield boto3.client("dynamodb", region_name=REGION)


@pytest.fixture
def tables(dynamodb: Any) -> Any:
    """The project's tables, created from the same definitions create-tables uses."""
    for definition in table_definitions(get_settings()):
        dynamodb.create_table(**definition.create_table_request())
    return dynamodb


@pytest.fixture
def api(tables: Any) -> Iterator["Api"]:
    from app import app

    with local_client(app) as client:
        yield Api(client)


def local_client(app: Any) -> Client:
    """chalice.test.Client with the top-level settings of .chalice/config.json (no stage): the
    tables keep the guide's names, as under `make run`, not a deployed stage's. Its answers
    count towards the check that every documented status is tested (contract_coverage)."""
    from tests.contract_coverage import RecordingClient

    return RecordingClient(app, stage_name="local", project_dir=str(PROJECT_DIR))


class Api:
    """Thin JSON helpers over chalice.test.Client, so tests read as HTTP conversations."""

    def __init__(self, client: Client) -> None:
        self.client = client

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        raw: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> "Reply":
        all_headers = {"Content-Type": "application/json", **(headers or {})}
        if raw is None and body is not None:
            raw = json.dumps(body, ensure_ascii=False).encode("utf-8")
        send: Callable[..., Any] = getattr(self.client.http, method.lower())
        response = send(path, headers=all_headers, body=raw or b"")
        return Reply(response.status_code, dict(response.headers), response.body)

    def get(self, path: str, **kw: Any) -> "Reply":
        return self.call("GET", path, **kw)

    def post(self, path: str, body: Any = None, **kw: Any) -> "Reply":
        return self.call("POST", path, body, **kw)

    def patch(self, path: str, body: Any = None, **kw: Any) -> "Reply":
        return self.call("PATCH", path, body, **kw)

    def delete(self, path: str, **kw: Any) -> "Reply":
        return self.call("DELETE", path, **kw)

    def department(self, name: str = "개발팀", description: str = "") -> dict[str, Any]:
        reply = self.post("/api/departments", {"name": name, "description": description})
        assert reply.status == 201, reply.body
        return reply.json

    def event(self, department_id: str, **fields: Any) -> dict[str, Any]:
        body = {"event_date": "2024-01-20", "title": "팀 회의", **fields}
        reply = self.post(f"/api/events/{department_id}", body)
        assert reply.status == 201, reply.body
        return reply.json


class Reply:
    def __init__(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.status = status
        self.headers = headers
        self.body = body

    @property
    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def error_code(self) -> str:
        return str(self.json["code"])

    @property
    def error_fields(self) -> list[str]:
        return [problem["field"] for problem in self.json.get("fields", [])]
