"""Every API log line carries the request's id, which comes back as X-Request-Id."""

import io
import json
import logging
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from chalice.app import Request, Response

from chalicelib.api.request_ids import correlate_requests
from chalicelib.observability import logger
from tests.lambda_events import api_gateway_event, lambda_context


class LogLines:
    def __init__(self, stream: io.StringIO) -> None:
        self._stream = stream

    def __call__(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self._stream.getvalue().splitlines()]


@pytest.fixture
def log_lines() -> Iterator[LogLines]:
    """The JSON lines Powertools writes (to stdout on Lambda), written here instead."""
    handler = logger.registered_handler
    assert isinstance(handler, logging.StreamHandler)
    stream = io.StringIO()
    previous_stream, previous_level = handler.setStream(stream), logger.log_level
    logger.setLevel("INFO")
    try:
        yield LogLines(stream)
    finally:
        handler.setStream(previous_stream)
        logger.setLevel(previous_level)


def test_a_local_request_gets_a_fresh_id_in_its_log_lines_and_its_header(api, log_lines):
    first = api.get("/api/health")
    second = api.get("/api/departments/00000000-0000-0000-0000-000000000000")
    ids = [first.headers["X-Request-Id"], second.headers["X-Request-Id"]]
    assert all(uuid.UUID(i) for i in ids)
    assert ids[0] != ids[1]
    lines = log_lines()
    requests = [line for line in lines if line["message"] == "request"]
    assert [(r["correlation_id"], r["route"], r["status"]) for r in requests] == [
        (ids[0], "/api/health", 200),
        (ids[1], "/api/departments/{department_id}", 404),
    ]
    # every line written while a request ran carries its id; none outlives the request
    assert all(line.get("correlation_id") in ids for line in lines)
    assert "correlation_id" not in logger.thread_safe_get_current_keys()


def test_errors_chalice_answers_itself_carry_the_id_too(api):
    reply = api.call("PUT", "/api/health")
    assert reply.status == 405
    assert reply.headers["X-Request-Id"]


def test_on_aws_the_id_is_api_gateways_request_id(tables, log_lines):
    from app import app

    event = api_gateway_event("POST", "/api/departments", request_id="c6af9ac6-7b61", body={})
    answer = app(event, lambda_context("department-calendar-prod"))
    assert answer["statusCode"] == 400
    assert answer["headers"]["X-Request-Id"] == "c6af9ac6-7b61"
    (line,) = log_lines()
    assert line["correlation_id"] == "c6af9ac6-7b61"
    assert (line["message"], line["method"], line["status"]) == ("request", "POST", 400)
    assert line["function_name"] == "department-calendar-prod"


def test_concurrent_requests_keep_their_own_ids(log_lines):
    # The local server answers on many threads; one request's id must not tag another's lines
    barrier = threading.Barrier(8)

    def handle(index: int) -> None:
        own_id = f"request-{index}"

        def view(request: Request) -> Response:
            barrier.wait(timeout=10)  # all eight requests are in flight at once
            logger.info("working", own_id=own_id)
            return Response(body="", status_code=204)

        event = api_gateway_event("GET", "/api/health", request_id=own_id)
        correlate_requests(Request(event), view)

    threads = [threading.Thread(target=handle, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    working = [line for line in log_lines() if line["message"] == "working"]
    assert len(working) == 8
    assert all(line["correlation_id"] == line["own_id"] for line in working)
