"""CORS over real HTTP: a web page on an allowed origin may call the API, others may not."""

from collections.abc import Iterator

import pytest

from tests.e2e.local_stack import LocalStack

pytestmark = pytest.mark.e2e

ORIGIN = "https://calendar.example"


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    local = LocalStack(env={"CORS_ALLOWED_ORIGINS": ORIGIN})
    yield local
    local.stop()


def test_an_allowed_origin_may_read_answers_and_their_headers(stack):
    origin = {"Origin": ORIGIN}
    reply = stack.request("POST", "/api/departments", {"name": "웹팀"}, headers=origin)
    assert reply.status == 201
    assert reply.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert reply.headers["Vary"] == "Origin"
    exposed = set(reply.headers["Access-Control-Expose-Headers"].split(", "))
    assert {"ETag", "Location", "Idempotent-Replayed"} <= exposed
    # errors too, so the page can show them
    missing = stack.request("GET", "/api/departments/nope", headers=origin)
    assert missing.status == 404
    assert missing.headers["Access-Control-Allow-Origin"] == ORIGIN


def test_another_origin_gets_no_cors_headers(stack):
    reply = stack.request("GET", "/api/departments", headers={"Origin": "https://evil.example"})
    assert reply.status == 200
    assert "Access-Control-Allow-Origin" not in reply.headers
    assert reply.headers["Vary"] == "Origin"


def test_a_preflight_from_an_allowed_origin_lists_the_paths_methods_and_headers(stack):
    reply = stack.request(
        "OPTIONS",
        "/api/events/d1/e1",
        headers={
            "Origin": ORIGIN,
            "Access-Control-Request-Method": "PATCH",
            "Access-Control-Request-Headers": "if-match, content-type",
        },
    )
    assert reply.status == 204
    assert reply.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert reply.headers["Access-Control-Allow-Methods"] == "DELETE, GET, PATCH, OPTIONS"
    allowed = set(reply.headers["Access-Control-Allow-Headers"].split(", "))
    assert {"If-Match", "Idempotency-Key", "Content-Type", "Authorization"} <= allowed
    assert reply.headers["Access-Control-Max-Age"] == "600"


def test_a_preflight_from_another_origin_is_403(stack):
    reply = stack.request(
        "OPTIONS",
        "/api/departments",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
    )
    assert reply.status == 403
    assert reply.json["code"] == "origin_not_allowed"
    assert "Access-Control-Allow-Origin" not in reply.headers


def test_the_local_stack_lets_any_local_page_call_it_by_default():
    local = LocalStack()
    try:
        reply = local.request("GET", "/api/health", headers={"Origin": "http://localhost:5173"})
        assert reply.headers["Access-Control-Allow-Origin"] == "*"
    finally:
        local.stop()
