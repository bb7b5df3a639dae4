"""What answers a request that no route of the app takes: a path no route has, or a method
http.server has no handler for (TRACE, ...). The app never sees those; what stands in front of
it answers them, and here that answer is one of the app's own JSON errors.

- On AWS, API Gateway answers them, with the gateway responses the packaged template gives it
  (`gateway_responses`, merged into the API definition by ops/deploy/package.py).
- Locally, Chalice's stand-in for API Gateway would answer API Gateway's defaults (403
  {"message": "Missing Authentication Token"}) or http.server's 501 HTML page. The local server
  (`make run`) and the tests' chalice.test.Client use `AppGateway` instead: 404 `not_found` for a
  path no route has, and any method on a route that lacks it reaches the app, which answers 405
  `method_not_allowed` with the route's methods in Allow.
"""

import functools
import json
import uuid
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

from chalice.app import Chalice
from chalice.cli.factory import CLIFactory
from chalice.config import Config
from chalice.local import (
    ChaliceRequestHandler,
    LocalDevServer,
    LocalGateway,
    RouteMatcher,
    create_local_server,
)

from chalicelib.settings import Settings

# As the app's own answers have them (chalicelib/api/http.py, chalicelib/api/request_ids.py):
# ops does not import the HTTP layer (tests/unit/test_imports.py); tests/integration's
# test_every_route.py checks that these answers look like the app's.
JSON_TYPE = "application/json; charset=utf-8"
REQUEST_ID_HEADER = "X-Request-Id"
DOCS_HINT = "the API's routes are listed at /api/docs"
NO_ROUTE = {
    "code": "not_found",
    "message": f"No route answers this method and path; {DOCS_HINT}.",
}
# Where routes need a SigV4 signature, API Gateway answers an unsigned request exactly as it
# answers a path no route has (MISSING_AUTHENTICATION_TOKEN): the answer names both.
UNSIGNED_OR_NO_ROUTE = {
    "code": "missing_authentication_token",
    "message": "The request is not signed (AWS SigV4), or no route answers this method and "
    f"path; {DOCS_HINT}.",
}


def gateway_responses(settings: Settings) -> dict[str, Any]:
    """API Gateway's own error answers as the app's JSON errors, for the API definition's
    `x-amazon-apigateway-gateway-responses`. A path no route has (and, on AWS, a method a
    route lacks: API Gateway cannot tell the two apart) is a 404 `not_found`, or a 403 that
    also says "sign it" on a stage whose routes need a signature; every other answer of API
    Gateway's keeps its status with a {"code", "message"} body. Each carries the request id
    as X-Request-Id, as the app's answers do. Templates here are not Velocity: only
    $context variables are substituted, and messageString comes quoted."""
    # IAM signatures, as chalicelib/api/access.py's authorizer_for chooses them (Cognito's
    # missing token is UNAUTHORIZED, a DEFAULT_4XX).
    signed = settings.authorizer == "iam"
    missing_token = UNSIGNED_OR_NO_ROUTE if signed else NO_ROUTE
    return {
        "MISSING_AUTHENTICATION_TOKEN": {
            "statusCode": "403" if signed else "404",
            **_json_answer(json.dumps(missing_token)),
        },
        "DEFAULT_4XX": _json_answer(
            '{"code":"request_refused","message":$context.error.messageString}'
        ),
        "DEFAULT_5XX": _json_answer(
            '{"code":"gateway_error","message":$context.error.messageString}'
        ),
    }


def _json_answer(template: str) -> dict[str, Any]:
    return {
        "responseParameters": {f"gatewayresponse.header.{REQUEST_ID_HEADER}": "context.requestId"},
        "responseTemplates": {"application/json": template},
    }


class AppGateway(LocalGateway):
    """Chalice's local API Gateway, answering a path no route has with the app's 404."""

    def __init__(self, app_object: Chalice, config: Config) -> None:
        super().__init__(app_object, config)
        self._routes = RouteMatcher(list(app_object.routes))

    def handle_request(
        self, method: str, path: str, headers: dict[str, Any], body: bytes | None
    ) -> dict[str, Any]:
        try:
            self._routes.match_route(path)
        except ValueError:
            return _not_found()
        return super().handle_request(method, path, headers, body)


def _not_found() -> dict[str, Any]:
    return {
        "statusCode": 404,
        # A fresh id, as the app gives each local request one (chalicelib/api/request_ids.py).
        "headers": {"Content-Type": JSON_TYPE, REQUEST_ID_HEADER: str(uuid.uuid4())},
        "multiValueHeaders": {},
        "body": json.dumps(NO_ROUTE, ensure_ascii=False),
    }


class AppRequestHandler(ChaliceRequestHandler):
    """The local server's handler: requests go through `AppGateway`, whatever their method."""

    def __init__(
        self,
        request: Any,
        client_address: Any,
        server: HTTPServer,
        app_object: Chalice,
        config: Config,
    ) -> None:
        # As ChaliceRequestHandler.__init__, with our gateway: the base class handles the
        # request inside its __init__, so the gateway must be in place first.
        self.local_gateway = AppGateway(app_object, config)
        BaseHTTPRequestHandler.__init__(self, request, client_address, server)

    def __getattr__(self, name: str) -> Callable[[], None]:
        # http.server looks for do_<METHOD> and answers 501 HTML without one: every method goes
        # to the gateway instead, so a method a route lacks gets the app's 405 and its Allow.
        if name.startswith("do_"):
            return self._generic_handle
        raise AttributeError(name)


class LocalServerFactory(CLIFactory):
    """Chalice's CLI factory, its local server answering through `AppRequestHandler`."""

    def create_local_server(
        self, app_obj: Chalice, config: Config, host: str, port: int
    ) -> LocalDevServer:
        server = create_local_server(app_obj, config, host, port)
        # socketserver builds each request's handler from this class attribute.
        server.server.RequestHandlerClass = functools.partial(
            AppRequestHandler, app_object=app_obj, config=config
        )
        return server
