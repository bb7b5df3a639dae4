"""Request parsing and responses shared by every route, and the one place errors become HTTP."""

import functools
import json
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from chalice.app import Request, Response

from chalicelib.api.identity import Principal, principal_of
from chalicelib.errors import DomainError, FieldProblem, InvalidRequest, NotFound, PayloadTooLarge
from chalicelib.formats import is_valid_id
from chalicelib.pagination import parse_limit
from chalicelib.repositories.idempotency import Created, IdempotentRequest
from chalicelib.settings import get_settings

if TYPE_CHECKING:
    # Only for types: pydantic loads with the models, on the first request that needs one.
    from pydantic import BaseModel

MAX_BODY_BYTES = 64 * 1024
JSON_TYPE = "application/json; charset=utf-8"
_IDEMPOTENCY_KEY_MAX = 255

View = Callable[..., Response]


def json_response(
    body: Any, status: int = 200, headers: Mapping[str, str] | None = None
) -> Response:
    # ensure_ascii=False: Korean goes out as UTF-8 text, readable in curl, not \\uXXXX escapes.
    text = "" if body is None else json.dumps(body, ensure_ascii=False, separators=(",", ":"))
    all_headers: dict[str, str | list[str]] = {"Content-Type": JSON_TYPE, **(headers or {})}
    return Response(body=text, status_code=status, headers=all_headers)


def model_response(
    model: "BaseModel", status: int = 200, headers: Mapping[str, str] | None = None
) -> Response:
    return json_response(model.model_dump(mode="json"), status, headers)


def error_response(error: DomainError) -> Response:
    return json_response(error.body(), error.status, error.headers())


def handles_errors(view: View) -> View:
    """Answer every domain error raised below a route as its JSON error response."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Response:
        try:
            return view(*args, **kwargs)
        except DomainError as error:
            return error_response(error)

    return wrapper


def json_body(request: Request) -> Any:
    raw = request.raw_body or b""
    if isinstance(raw, str):
        raw = raw.encode("utf-8")
    if len(raw) > MAX_BODY_BYTES:
        raise PayloadTooLarge(f"The request body is larger than {MAX_BODY_BYTES // 1024} KB.")
    if not raw.strip():
        raise InvalidRequest("The request body must be a JSON object.")
    try:
        return json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise InvalidRequest("The request body is not valid UTF-8.") from None
    except json.JSONDecodeError as error:
        raise InvalidRequest(
            f"The request body is not valid JSON (line {error.lineno}, column {error.colno}: "
            f"{error.msg})."
        ) from None
    except (ValueError, RecursionError):
        # Integers past Python's digit limit, or nesting deeper than the parser's stack.
        raise InvalidRequest("The request body is not JSON this API can accept.") from None


def chalice_errors_as_ours(event: Any, get_response: Callable[[Any], Response]) -> Response:
    """HTTP middleware: Chalice's own error answers (405, 415, an unhandled 500) come as
    {"Code", "Message"}; give them the same {"code", "message"} shape as every other error."""
    response = get_response(event)
    body = response.body
    if response.status_code >= 400 and isinstance(body, dict) and "Code" in body:
        code = _CHALICE_CODES.get(str(body["Code"]), "error")
        response.body = json.dumps(
            {"code": code, "message": str(body.get("Message", ""))}, ensure_ascii=False
        )
        response.headers["Content-Type"] = JSON_TYPE
    return response


_CHALICE_CODES = {
    "MethodNotAllowedError": "method_not_allowed",
    "UnsupportedMediaType": "unsupported_media_type",
    "InternalServerError": "internal_error",
}


def query_param(request: Request, name: str) -> str | None:
    params: Mapping[str, str] = request.query_params or {}
    value = params.get(name)
    return None if value is None else str(value)


def page_params(request: Request) -> tuple[int, str | None]:
    """`limit` (1–100, default 50) and `next_token` of a listing."""
    return parse_limit(query_param(request, "limit")), query_param(request, "next_token")


def flag_param(request: Request, name: str) -> bool:
    value = query_param(request, name)
    if value is None or value.lower() in ("false", "0", ""):
        return False
    if value.lower() in ("true", "1"):
        return True
    raise InvalidRequest(
        f"{name} must be true or false.", fields=(FieldProblem(name, "must be true or false"),)
    )


def checked_id(value: str, what: str) -> str:
    """A path id, or 404 at once for one that no item can have (no DynamoDB call)."""
    if not is_valid_id(value):
        raise NotFound(f"No {what} with id '{value[:140]}'.")
    return value


def etag(version: int) -> dict[str, str]:
    """The ETag header for an item's version; If-Match sends it back."""
    return {"ETag": f'"{version}"'}


def if_match(request: Request) -> int | None:
    """The version named by If-Match ("3", W/"3", 3), or None when absent or "*"."""
    raw = (request.headers.get("if-match") or "").strip()
    if not raw or raw == "*":
        return None
    value = raw.removeprefix("W/").strip('"')
    if not (value.isascii() and value.isdigit()) or len(value) > 18:
        raise InvalidRequest(
            'If-Match must be an ETag this API gave out, like "3".',
            fields=(FieldProblem("If-Match", 'must be an ETag like "3"'),),
        )
    return int(value)


def caller(request: Request) -> Principal:
    """Who is calling, as the stage's authorizer established it (see identity.py)."""
    return principal_of(request.context, request.headers.get("x-actor") or "", get_settings())


def actor(request: Request) -> str:
    """The name this request's changes are recorded under."""
    return caller(request).actor


def idempotent_request(
    request: Request, caller: str, operation: str, data: "BaseModel"
) -> IdempotentRequest | None:
    """The create's Idempotency-Key, if the client sent one (a UUID is the usual choice)."""
    key = (request.headers.get("idempotency-key") or "").strip()
    if not key:
        return None
    if len(key) > _IDEMPOTENCY_KEY_MAX or not (key.isascii() and key.isprintable()):
        raise InvalidRequest(
            f"Idempotency-Key must be printable ASCII of at most {_IDEMPOTENCY_KEY_MAX} "
            "characters, such as a UUID.",
            fields=(FieldProblem("Idempotency-Key", "must be printable ASCII, 1–255 characters"),),
        )
    return IdempotentRequest.of(key, caller, operation, data)


def stage_prefix(request: Request) -> str:
    """What comes before the app's routes in the path the caller used: API Gateway's stage
    (`/v1`) on its own domain, a base path on a custom domain, nothing locally."""
    context = request.context or {}
    path = str(context.get("path", ""))
    route = str(context.get("resourcePath", ""))
    for name, value in (request.uri_params or {}).items():
        route = route.replace(f"{{{name}}}", value)
    if not route.endswith("/"):
        # API Gateway and the local server route `/api/docs/` to `/api/docs`.
        path = path.removesuffix("/")
    return path.removesuffix(route) if route and path.endswith(route) else ""


def created_response(
    request: Request, created: Created[Any], location: str, version: int
) -> Response:
    """201 with the new item, where it lives (as the caller reaches it) and its ETag; a
    replayed answer says so."""
    headers = {"Location": stage_prefix(request) + location, **etag(version)}
    if created.replayed:
        headers["Idempotent-Replayed"] = "true"
    return model_response(created.item, 201, headers)
