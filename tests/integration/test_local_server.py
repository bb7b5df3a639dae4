"""The local server's answers to requests no route takes (ops/gateway.py), over real HTTP: a
small app on the server `make run` builds, so nothing here needs DynamoDB."""

import http.client
import json
import threading
from collections.abc import Iterator

import pytest
from chalice.app import Chalice, Response
from chalice.config import Config

from chalicelib.api.http import chalice_errors_as_ours
from ops.gateway import LocalServerFactory
from tests.conftest import PROJECT_DIR


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[str, int]]:
    app = Chalice(app_name="routes")
    app.register_middleware(chalice_errors_as_ours, "http")

    @app.route("/thing", methods=["GET", "POST"])
    def thing() -> Response:
        return Response(body={"ok": True})

    local = LocalServerFactory(str(PROJECT_DIR)).create_local_server(
        app, Config.create(), "127.0.0.1", 0
    )
    thread = threading.Thread(target=local.server.serve_forever, daemon=True)
    thread.start()
    yield local.server.server_address[:2]
    local.server.shutdown()
    local.server.server_close()


def answer(address: tuple[str, int], method: str, path: str) -> tuple[int, dict[str, str], str]:
    connection = http.client.HTTPConnection(*address, timeout=10)
    connection.request(method, path)
    response = connection.getresponse()
    body = response.read().decode("utf-8")
    connection.close()
    return response.status, dict(response.headers), body


def test_a_path_no_route_has_is_a_json_404_not_a_missing_token_403(server):
    # When a path no route has is requested; then the app's 404, not API Gateway's 403
    status, headers, body = answer(server, "GET", "/nowhere")
    assert status == 404
    assert headers["Content-Type"] == "application/json; charset=utf-8"
    assert json.loads(body)["code"] == "not_found"


@pytest.mark.parametrize("method", ["TRACE", "PROPFIND", "PUT"])
def test_a_method_the_route_lacks_is_a_json_405_with_allow_not_a_501_page(server, method):
    # When a route is called with a method it lacks, one http.server has no handler for too
    # Then the app's 405 names what the route takes, instead of http.server's 501 HTML page
    status, headers, body = answer(server, method, "/thing")
    assert status == 405
    assert json.loads(body)["code"] == "method_not_allowed"
    assert headers["Allow"] == "GET, POST"


def test_an_unknown_method_on_an_unknown_path_is_the_404(server):
    status, _, body = answer(server, "TRACE", "/nowhere")
    assert (status, json.loads(body)["code"]) == (404, "not_found")


def test_the_routes_themselves_answer_as_before(server):
    status, _, body = answer(server, "GET", "/thing")
    assert (status, json.loads(body)) == (200, {"ok": True})
