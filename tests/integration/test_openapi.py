"""The published contract: /api/openapi.json describes exactly the app's routes, and /api/docs
shows it with Swagger UI served by the app itself."""

import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path
from urllib.parse import urljoin

import pytest
from chalice.local import LambdaContext
from openapi_spec_validator import OpenAPIV31SpecValidator

from app import app
from chalicelib.api.contract import API_VERSION
from chalicelib.api.docs import swagger_ui_file

PROJECT_DIR = Path(__file__).resolve().parents[2]


@pytest.fixture
def document(api):
    reply = api.get("/api/openapi.json")
    assert reply.status == 200
    assert reply.headers["Content-Type"] == "application/json; charset=utf-8"
    return reply.json


def test_the_document_is_valid_openapi_3_1(document):
    assert document["openapi"] == "3.1.0"
    errors = [str(error) for error in OpenAPIV31SpecValidator(document).iter_errors()]
    assert errors == []


def test_every_route_is_documented_and_every_documented_operation_is_a_route(document):
    routes = {
        (method, path, entry.view_name)
        for path, methods in app.routes.items()
        for method, entry in methods.items()
        if method != "OPTIONS"
    }
    documented = {
        (method.upper(), path, operation["operationId"])
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
    }
    assert documented == routes


def test_every_error_answer_has_the_error_shape(document):
    schemas = document["components"]["schemas"]
    assert set(schemas["ErrorBody"]["required"]) == {"code", "message"}
    assert schemas["StaleVersionBody"]["required"] == ["code", "message", "current_version"]
    for operations in document["paths"].values():
        for operation in operations.values():
            for status, response in operation["responses"].items():
                if int(status) >= 400:
                    schema = response["content"]["application/json"]["schema"]
                    expected = "StaleVersionBody" if status == "412" else "ErrorBody"
                    assert schema == {"$ref": f"#/components/schemas/{expected}"}


def test_headers_are_documented_where_the_api_sends_them(document):
    departments = document["paths"]["/api/departments"]["post"]
    created = departments["responses"]["201"]["headers"]
    assert set(created) == {"Location", "ETag", "Idempotent-Replayed", "X-Request-Id"}
    item = document["paths"]["/api/events/{department_id}/{event_id}"]
    assert set(item["patch"]["responses"]["412"]["headers"]) == {"ETag", "X-Request-Id"}
    assert set(item["delete"]["responses"]["503"]["headers"]) == {"Retry-After", "X-Request-Id"}
    parameters = {p["$ref"].rsplit("/", 1)[1] for p in item["patch"]["parameters"][2:]}
    assert {"If-Match", "X-Actor"} <= parameters


def test_a_stale_version_answer_matches_its_documented_schema(api, document):
    # Given an event changed by someone else since version 1
    department = api.department()
    event = api.event(department["id"])
    path = f"/api/events/{department['id']}/{event['id']}"
    api.patch(path, {"title": "먼저 바꾼 제목"})
    # When a change based on version 1 arrives
    reply = api.patch(path, {"title": "늦은 제목"}, headers={"If-Match": '"1"'})
    # Then the answer carries what the document promises for a 412
    schema = document["components"]["schemas"]["StaleVersionBody"]
    assert reply.status == 412
    assert set(schema["required"]) <= set(reply.json)
    assert set(reply.json) <= set(schema["properties"])


def test_health_documents_its_version_as_an_optional_string(document):
    health = document["components"]["schemas"]["Health"]
    assert health["properties"]["version"]["type"] == "string"
    assert health["required"] == ["status"]


def test_the_documented_version_is_the_projects():
    pyproject = tomllib.loads((PROJECT_DIR / "pyproject.toml").read_text("utf-8"))
    assert pyproject["project"]["version"] == API_VERSION


def test_an_open_stage_documents_the_schemes_but_requires_none(document):
    schemes = document["components"]["securitySchemes"]
    for name in ("sigv4", "cognito"):
        assert (schemes[name]["in"], schemes[name]["name"]) == ("header", "Authorization")
    operations = [op for ops in document["paths"].values() for op in ops.values()]
    assert not [op["operationId"] for op in operations if "security" in op]
    # and no 401/403 is promised: nothing here can produce one
    statuses = {status for op in operations for status in op["responses"]}
    assert not {"401", "403"} & statuses


DOCUMENT_OF_A_STAGE = """
import json
import app
from chalicelib.api.openapi import build_document
print(json.dumps(build_document(app.app)))
"""
USER_POOL = "arn:aws:cognito-idp:ap-northeast-2:123456789012:userpool/ap-northeast-2_Example"


@pytest.mark.parametrize(
    ("environment", "scheme"),
    [({}, "sigv4"), ({"COGNITO_USER_POOL_ARN": USER_POOL}, "cognito")],
)
def test_where_the_stage_requires_authentication_each_data_route_says_how(environment, scheme):
    # Given the app as a stage that requires authentication imports it (as prod does)
    result = subprocess.run(
        [sys.executable, "-c", DOCUMENT_OF_A_STAGE],
        cwd=PROJECT_DIR,
        env={"PATH": "/usr/bin:/bin", "REQUIRE_AUTH": "true", **environment},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    document = json.loads(result.stdout)
    # Then every data operation names the scheme; health, the docs and the calendar page's
    # files stay public, and so does the calendar feed, which calendar apps open with its token
    for operations in document["paths"].values():
        for operation in operations.values():
            public = (
                operation["tags"][0] in ("health", "documentation", "page")
                or operation["operationId"] == "calendar_feed"
            )
            assert operation.get("security") == (None if public else [{scheme: []}])


def test_under_an_api_gateway_stage_the_document_names_the_stage_as_its_server(tables):
    # Given the request API Gateway sends Lambda for GET /v1/api/openapi.json
    event = {
        "resource": "/api/openapi.json",
        "path": "/api/openapi.json",
        "httpMethod": "GET",
        "headers": {"Accept": "application/json"},
        "multiValueHeaders": {"Accept": ["application/json"]},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": "/api/openapi.json",
            "httpMethod": "GET",
            "path": "/v1/api/openapi.json",
            "stage": "v1",
            "identity": {"sourceIp": "203.0.113.7"},
        },
        "body": None,
        "isBase64Encoded": False,
    }
    # When the Lambda handler answers it
    response = app(event, LambdaContext("api_handler", 128))
    # Then "Try it out" requests go to /v1/api/...
    assert response["statusCode"] == 200
    assert json.loads(response["body"])["servers"] == [{"url": "/v1"}]


@pytest.mark.parametrize("opened", ["/api/docs", "/api/docs/"])
def test_the_docs_page_loads_swagger_ui_and_the_document_from_the_app_itself(api, opened):
    # When a browser opens /api/docs, with or without a trailing slash
    page = api.get(opened)
    # Then it gets Swagger UI's page, which names only addresses on this host
    assert page.status == 200
    assert page.headers["Content-Type"] == "text/html; charset=utf-8"
    html = page.body.decode("utf-8")
    assert "SwaggerUIBundle" in html
    assert "http:" not in html
    assert "https:" not in html
    addresses = re.findall(r'(?:src|href|url): ?"([^"]+)"|(?:src|href)="([^"]+)"', html)
    loaded = {urljoin(opened, a or b) for a, b in addresses}
    assert loaded == {
        "/api/docs/swagger-ui.css",
        "/api/docs/swagger-ui-bundle.js",
        "/api/openapi.json",
    }
    # And each of those is served, with its own content type
    types = {address: api.get(address).headers["Content-Type"] for address in loaded}
    assert types == {
        "/api/docs/swagger-ui.css": "text/css; charset=utf-8",
        "/api/docs/swagger-ui-bundle.js": "text/javascript; charset=utf-8",
        "/api/openapi.json": "application/json; charset=utf-8",
    }


@pytest.mark.parametrize("path_used", ["/v1/api/docs", "/v1/api/docs/"])
def test_under_an_api_gateway_stage_the_docs_page_names_the_stage_prefix(path_used):
    # Given the request API Gateway sends Lambda for https://…/v1/api/docs (or …/docs/)
    event = {
        "resource": "/api/docs",
        "path": path_used.removeprefix("/v1"),
        "httpMethod": "GET",
        "headers": {},
        "multiValueHeaders": {},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": "/api/docs",
            "httpMethod": "GET",
            "path": path_used,
            "stage": "v1",
            "identity": {"sourceIp": "203.0.113.7"},
        },
        "body": None,
        "isBase64Encoded": False,
    }
    # When the Lambda handler answers it
    response = app(event, LambdaContext("api_handler", 128))
    # Then Swagger UI's files and the document are fetched from under /v1
    assert response["statusCode"] == 200
    found = re.findall(r'(?:src|href|url): ?"([^"]+)"|(?:src|href)="([^"]+)"', response["body"])
    assert {urljoin(path_used, a or b) for a, b in found} == {
        "/v1/api/docs/swagger-ui.css",
        "/v1/api/docs/swagger-ui-bundle.js",
        "/v1/api/openapi.json",
    }


def test_a_swagger_ui_file_is_served_whole_and_cacheable(api):
    reply = api.get("/api/docs/swagger-ui-bundle.js")
    assert reply.status == 200
    assert reply.headers["Cache-Control"].startswith("public")
    assert reply.body.decode("utf-8") == swagger_ui_file("swagger-ui-bundle.min.js")


def test_a_file_the_docs_do_not_have_is_404(api):
    reply = api.get("/api/docs/swagger-ui.css.map")
    assert reply.status == 404
    assert reply.error_code == "not_found"


def test_the_swagger_ui_powertools_ships_reads_openapi_3_1():
    # Swagger UI shows OpenAPI 3.1 from version 5 on; a Powertools upgrade that moved or
    # downgraded its copy fails here (and in the tests above), not in a browser.
    bundle = swagger_ui_file("swagger-ui-bundle.min.js")
    version = re.search(r'PACKAGE_VERSION:"(\d+)\.', bundle)
    assert version is not None
    assert int(version.group(1)) >= 5
