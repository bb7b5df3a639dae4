"""One id per API request: in every log line written while it is handled (Powertools'
`correlation_id`), in one access line per request, and back to the caller as X-Request-Id, so
a caller can quote it and an operator can find the request's lines (and its X-Ray trace).

On AWS it is API Gateway's request id, the one in API Gateway's own logs and its
x-amzn-RequestId header. The local server has none, so each request gets a fresh one there.
"""

import time
from collections.abc import Callable

from chalice.app import Request, Response

from chalicelib.observability import logger

REQUEST_ID_HEADER = "X-Request-Id"
_KEY = "correlation_id"


def request_id(request: Request) -> str:
    context = request.context or {}
    if context.get("requestId"):
        return str(context["requestId"])
    import uuid  # only off AWS: API Gateway always sends an id, and Lambda's INIT skips this

    return str(uuid.uuid4())


def correlate_requests(request: Request, get_response: Callable[[Request], Response]) -> Response:
    """HTTP middleware: the request id into the logs while the request runs, and onto the
    response. The key is thread-local: the local server answers requests on many threads and
    runs the stream poller beside them, and one request's id must not tag another's lines."""
    correlation_id = request_id(request)
    logger.thread_safe_append_keys(**{_KEY: correlation_id})
    started = time.perf_counter()
    try:
        response = get_response(request)
        response.headers[REQUEST_ID_HEADER] = correlation_id
        logger.info(
            "request",
            method=request.method,
            route=(request.context or {}).get("resourcePath"),
            path_params=request.uri_params or {},
            status=response.status_code,
            duration_ms=round((time.perf_counter() - started) * 1000, 1),
        )
        return response
    finally:
        logger.thread_safe_remove_keys([_KEY])
