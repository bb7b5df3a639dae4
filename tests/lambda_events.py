"""What Lambda hands app.py on AWS, for tests that call its handlers the way Lambda does
(chalice.test.Client builds its events like the local server, without API Gateway's ids)."""

import json
import re
from typing import Any

from chalice.local import LambdaContext

STAGE = "v1"


def api_gateway_event(
    method: str,
    path: str,
    *,
    request_id: str,
    body: Any = None,
    headers: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
) -> dict[str, Any]:
    """An API Gateway REST proxy event for `path` (a concrete path under one of the app's
    routes, e.g. /api/events/abc), as API Gateway sends it to the API function."""
    resource, path_params = _route_of(path)
    return {
        "resource": resource,
        "path": path,
        "httpMethod": method,
        "headers": {"Content-Type": "application/json", **(headers or {})},
        "queryStringParameters": query or None,
        "multiValueQueryStringParameters": (
            {name: [value] for name, value in query.items()} if query else None
        ),
        "pathParameters": path_params or None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": resource,
            "httpMethod": method,
            "path": f"/{STAGE}{path}",
            "stage": STAGE,
            "requestId": request_id,
            "identity": {"sourceIp": "203.0.113.7"},
        },
        "body": None if body is None else json.dumps(body, ensure_ascii=False),
        "isBase64Encoded": False,
    }


def lambda_context(function_name: str) -> LambdaContext:
    return LambdaContext(function_name=function_name, memory_size=256)


def _route_of(path: str) -> tuple[str, dict[str, str]]:
    from app import app

    for route in app.routes:
        names = re.findall(r"\{(\w+)\}", route)
        pattern = re.sub(r"\\\{\w+\\\}", "([^/]+)", re.escape(route))
        match = re.fullmatch(pattern, path)
        if match:
            return route, dict(zip(names, match.groups(), strict=True))
    raise ValueError(f"no route of the app matches {path}")
