"""Who may call: authorizers per stage, the actor they vouch for, and CORS for browsers."""

import json
import subprocess
import sys
from typing import Any

import pytest
from chalice.app import CognitoUserPoolAuthorizer, IAMAuthorizer

from chalicelib.api.access import authorizer_for
from chalicelib.settings import Settings, UnsafeConfiguration
from ops.deploy.stage import load_config, stage_settings
from tests.conftest import PROJECT_DIR
from tests.lambda_events import api_gateway_event, lambda_context

POOL_ARN = "arn:aws:cognito-idp:ap-northeast-2:123456789012:userpool/ap-northeast-2_Abc123"
PUBLIC_ROUTES = {
    "/api/health",
    "/api/openapi.json",
    "/api/docs",
    "/api/docs/{asset}",
    # The calendar page is static; the API calls it makes are what is guarded.
    "/",
    "/app/{file}",
    # Calendar apps cannot sign requests: the feed's token is its key.
    "/api/departments/{department_id}/calendar.ics",
}


def settings(**environ: str) -> Settings:
    return Settings.from_environ(environ)


def test_an_open_stage_has_no_authorizer_iam_is_the_default_and_cognito_when_a_pool_is_named():
    assert authorizer_for(settings()) is None
    assert isinstance(authorizer_for(settings(REQUIRE_AUTH="true")), IAMAuthorizer)
    cognito = authorizer_for(settings(REQUIRE_AUTH="true", COGNITO_USER_POOL_ARN=POOL_ARN))
    assert isinstance(cognito, CognitoUserPoolAuthorizer)
    assert cognito.to_swagger()["x-amazon-apigateway-authorizer"]["providerARNs"] == [POOL_ARN]


def test_prod_and_dev_require_authentication_and_the_local_stack_stays_open():
    config = load_config()
    assert stage_settings("prod", config).require_auth
    assert stage_settings("dev", config).authorizer == "iam"
    assert not settings().require_auth  # the local stack and the tests: no stage
    assert "*" not in stage_settings("prod", config).cors_allowed_origins


@pytest.mark.parametrize("value", ["true", "TRUE", " yes ", "1", "on"])
def test_require_auth_accepts_the_usual_ways_of_saying_yes(value):
    assert settings(REQUIRE_AUTH=value).require_auth
    assert isinstance(authorizer_for(settings(REQUIRE_AUTH=value)), IAMAuthorizer)


@pytest.mark.parametrize("value", ["", "false", "0", "no", "off"])
def test_require_auth_off_is_said_plainly(value):
    assert not settings(REQUIRE_AUTH=value).require_auth


@pytest.mark.parametrize("value", ["enabled", "required", "ture", "y"])
def test_a_require_auth_value_that_is_neither_yes_nor_no_is_refused_not_read_as_off(value):
    # An open API is never what a misspelt REQUIRE_AUTH meant: the stage refuses to start
    with pytest.raises(UnsafeConfiguration, match="REQUIRE_AUTH"):
        settings(REQUIRE_AUTH=value)


ROUTE_AUTHORIZERS = """
import json
from app import app
print(json.dumps({
    path: {m: type(e.authorizer).__name__ if e.authorizer else None for m, e in views.items()}
    for path, views in app.routes.items()
}))
"""


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({"REQUIRE_AUTH": "true"}, "IAMAuthorizer"),
        ({"REQUIRE_AUTH": "true", "COGNITO_USER_POOL_ARN": POOL_ARN}, "CognitoUserPoolAuthorizer"),
    ],
)
def test_with_authentication_on_every_data_route_carries_the_authorizer(environ, expected):
    # Given the app imported as `chalice deploy` imports it, with the stage's environment
    result = subprocess.run(
        [sys.executable, "-c", ROUTE_AUTHORIZERS],
        cwd=PROJECT_DIR,
        env={
            "PATH": "/usr/bin:/bin",
            "CORS_ALLOWED_ORIGINS": "https://calendar.example",
            **environ,
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    routes: dict[str, dict[str, str | None]] = json.loads(result.stdout)
    # Then every data route is guarded; only health, the API description and the page are public;
    # the CORS preflights are open too, since browsers send them without credentials
    for path, views in routes.items():
        for method, authorizer in views.items():
            public = path in PUBLIC_ROUTES or method == "OPTIONS"
            assert authorizer == (None if public else expected), (method, path)
    assert routes["/api/departments"]["POST"] == expected
    assert routes["/api/departments"]["OPTIONS"] is None


def invoke(app: Any, event: dict[str, Any]) -> dict[str, Any]:
    return dict(app(event, lambda_context("api_handler")))


@pytest.mark.parametrize(
    ("stage", "request_context", "actor"),
    [
        (
            {"COGNITO_USER_POOL_ARN": POOL_ARN},
            {"authorizer": {"claims": {"cognito:username": "김철수", "cognito:groups": "admin"}}},
            "김철수",
        ),
        (
            {"IAM_GRANTS": '{"arn:aws:iam::123456789012:user/kim": ["admin"]}'},
            {"identity": {"userArn": "arn:aws:iam::123456789012:user/kim"}},
            "arn:aws:iam::123456789012:user/kim",
        ),
    ],
)
def test_the_identity_api_gateway_vouches_for_is_the_actor_not_the_header(
    tables, monkeypatch, stage, request_context, actor
):
    # Given a stage with an authorizer, and a request it authenticated (an admin's) which also
    # claims another X-Actor
    from app import app
    from chalicelib import context

    for name, value in {"REQUIRE_AUTH": "true", **stage}.items():
        monkeypatch.setenv(name, value)
    context.reset()

    event = api_gateway_event(
        "POST",
        "/api/departments",
        request_id="req-1",
        body={"name": "인증팀"},
        headers={"X-Actor": "someone-else"},
    )
    event["requestContext"].update(request_context)
    # When the API function runs as Lambda runs it
    response = invoke(app, event)
    # Then the change is stamped with the authenticated identity, Korean intact
    assert response["statusCode"] == 201
    department_id = json.loads(response["body"])["id"]
    item = tables.get_item(TableName="departments", Key={"id": {"S": department_id}})["Item"]
    assert item["created_by"] == {"S": actor}
    assert item["updated_by"] == {"S": actor}
