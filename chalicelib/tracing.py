"""AWS X-Ray tracing (Powertools Tracer), for the stages that switch it on.

A stage turns tracing on with `"xray": true` (Lambda active tracing and API Gateway tracing,
set up by Chalice) and TRACING_ENABLED=true in its environment (`Settings.tracing`). With it off,
nothing of X-Ray is imported: Tracer needs aws-xray-sdk even when disabled, and loading it
would cost every cold start. With it on, each invocation of the API and of the stream
handlers runs in a subsegment, and every botocore call (DynamoDB, SNS) gets its own.
"""

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from chalice.app import Request

from chalicelib.observability import SERVICE, logger
from chalicelib.settings import Settings, variable

if TYPE_CHECKING:
    from aws_lambda_powertools import Tracer

Middleware = Callable[[Any, Callable[[Any], Any]], Any]

# X-Ray names allow letters, digits, whitespace and _ . : / % & # = + \ - @ only.
_NOT_IN_XRAY_NAMES = re.compile(r"[^\w\s.:/%&#=+\\\-@]")


def tracing_middleware(settings: Settings) -> Middleware | None:
    """Chalice middleware that traces each invocation, or None when tracing is off.

    Also None, with an error logged, when tracing is on but the X-Ray SDK is not in the
    deployment (a plain `chalice deploy` skips the vendoring `make deploy` does): a stage
    without traces is better than a stage whose every cold start fails."""
    if not settings.tracing:
        return None
    from aws_lambda_powertools import Tracer

    try:
        # Only botocore: patching everything X-Ray knows would import modules the app never uses.
        tracer = Tracer(service=SERVICE, patch_modules=["botocore"])
    except ModuleNotFoundError as error:
        if not (error.name or "").startswith("aws_xray_sdk"):
            raise
        logger.error(
            f"{variable('tracing')} is on but aws-xray-sdk is not in the deployment; running "
            "without traces (make package / make deploy put it in vendor/)"
        )
        return None
    return _traced_with(tracer)


def _traced_with(tracer: "Tracer") -> Middleware:
    def traced(event: Any, get_response: Callable[[Any], Any]) -> Any:
        if isinstance(event, Request):
            original, context = event.to_original_event(), event.lambda_context
            request_context = event.context or {}
            name = f"{event.method} {request_context.get('resourcePath', '')}"
            request_id = request_context.get("requestId")
        else:
            original, context = event.to_dict(), event.context
            name = str(getattr(context, "function_name", "") or "handler")
            request_id = None

        def handler(original_event: Any, lambda_context: Any) -> Any:
            if request_id:
                # The id in the API's log lines and X-Request-Id: find this trace from either.
                tracer.put_annotation("request_id", str(request_id))
            return get_response(event)

        # capture_lambda_handler names the subsegment "## <handler name>".
        handler.__name__ = subsegment_name(name)
        # Responses stay out of traces: they are item data, and a segment holds at most 64 KB.
        capture = tracer.capture_lambda_handler(handler, capture_response=False)
        return capture(original, context)

    return traced


def subsegment_name(name: str) -> str:
    """A route or function name as X-Ray accepts it: `GET /api/events/{department_id}`
    becomes `GET /api/events/:department_id`."""
    name = re.sub(r"\{([^}]*)\}", r":\1", name)
    return _NOT_IN_XRAY_NAMES.sub("", name).strip()[:200] or "handler"
