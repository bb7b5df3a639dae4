"""Who may call the API, and from which browser origins.

Decided once, when the app is imported: the Chalice CLI sets the stage's environment before it
imports app.py, so `chalice deploy --stage prod` and `chalice package` see the stage's choice
and write the authorizer into API Gateway. The data routes carry `AUTHORIZER`; health and the
API description stay public. API Gateway checks the caller before Lambda runs, so the app only
reads the identity it was given (see `http.actor`).
"""

from collections.abc import Callable

from chalice.app import (
    Authorizer,
    Chalice,
    CognitoUserPoolAuthorizer,
    IAMAuthorizer,
    Request,
    Response,
)

from chalicelib.api.http import json_response
from chalicelib.api.roles import PUBLIC, requires
from chalicelib.settings import Settings, get_settings

# Headers a browser may send and read across origins.
ALLOWED_HEADERS = (
    "Authorization",
    "Content-Type",
    "Idempotency-Key",
    "If-Match",
    "X-Actor",
    "X-Amz-Content-Sha256",
    "X-Amz-Date",
    "X-Amz-Security-Token",
    "X-Amz-User-Agent",
)
EXPOSED_HEADERS = ("ETag", "Location", "Retry-After", "Idempotent-Replayed", "X-Request-Id")
PREFLIGHT_MAX_AGE_SECONDS = 600


def authorizer_for(settings: Settings) -> Authorizer | None:
    if settings.authorizer == "cognito":
        assert settings.cognito_user_pool_arn is not None
        return CognitoUserPoolAuthorizer(
            "CognitoUserPool", provider_arns=[settings.cognito_user_pool_arn]
        )
    if settings.authorizer == "iam":
        return IAMAuthorizer()
    return None


AUTHORIZER = authorizer_for(get_settings())


def cors_headers(request: Request, origins: tuple[str, ...]) -> dict[str, str]:
    """The CORS answer headers for this request's Origin; none when it is not allowed."""
    origin = (request.headers.get("origin") or "").rstrip("/")
    if not origins:
        return {}
    if "*" in origins:
        return {"Access-Control-Allow-Origin": "*"}
    if origin in origins:
        return {"Access-Control-Allow-Origin": origin, "Vary": "Origin"}
    return {"Vary": "Origin"}


def cors_middleware(
    origins: tuple[str, ...],
) -> Callable[[Request, Callable[[Request], Response]], Response]:
    """HTTP middleware: every answer, errors included, tells an allowed origin it may read it."""

    def add_cors_headers(request: Request, get_response: Callable[[Request], Response]) -> Response:
        response = get_response(request)
        headers = cors_headers(request, origins)
        if "Access-Control-Allow-Origin" in headers:
            headers["Access-Control-Expose-Headers"] = ", ".join(EXPOSED_HEADERS)
        response.headers.update(headers)
        return response

    return add_cors_headers


def register_preflights(app: Chalice, origins: tuple[str, ...]) -> None:
    """An OPTIONS route for every path, answering browsers' CORS preflights. They run without
    an authorizer (browsers never send credentials on a preflight) and touch no table."""
    for path, views in list(app.routes.items()):
        methods = sorted(method for method in views if method != "OPTIONS")
        preflight = requires(PUBLIC)(_preflight(app, methods, origins))
        app.route(path, methods=["OPTIONS"])(preflight)


def _preflight(
    app: Chalice, methods: list[str], origins: tuple[str, ...]
) -> Callable[..., Response]:
    def preflight(**_: str) -> Response:
        request = app.current_request
        assert request is not None
        if "Access-Control-Allow-Origin" not in cors_headers(request, origins):
            return json_response(
                {"code": "origin_not_allowed", "message": "This origin may not call the API."},
                403,
            )
        return Response(
            body="",
            status_code=204,
            headers={
                "Access-Control-Allow-Methods": ", ".join([*methods, "OPTIONS"]),
                "Access-Control-Allow-Headers": ", ".join(ALLOWED_HEADERS),
                "Access-Control-Max-Age": str(PREFLIGHT_MAX_AGE_SECONDS),
            },
        )

    return preflight
