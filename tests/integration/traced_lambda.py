"""app.py run as Lambda runs it, for test_tracing: INIT (import app), then invocations of the
API function and of a stream function, each under its own trace header, as Lambda sets
_X_AMZN_TRACE_ID per invocation. Writes what the invocations answered to the file named first.

python -m tests.integration.traced_lambda OUT.json TRACE_IDS.json
(the environment is the function's: LAMBDA_TASK_ROOT, AWS_XRAY_DAEMON_ADDRESS, TRACING_ENABLED…)
"""

import json
import os
import sys
from pathlib import Path
from typing import Any

TRACE_HEADER = "_X_AMZN_TRACE_ID"
API_FUNCTION = "department-calendar-prod"
STREAM_FUNCTION = "department-calendar-prod-on_event_change"
PARENT = "53995c3f42cd8ad8"  # Lambda's own segment for the invocation
UNSAMPLED = f"Root=1-6650a1b2-000000000000000000000000;Parent={PARENT};Sampled=0"


def main(out: Path, trace_ids: dict[str, str]) -> None:
    import boto3

    import app  # INIT: tracing is decided and botocore patched here, as on Lambda
    from chalicelib.context import get_context
    from ops.stream_consumer import read_all
    from tests.lambda_events import api_gateway_event, lambda_context

    def invoke(trace: str, handler: Any, event: dict[str, Any], function: str) -> Any:
        os.environ[TRACE_HEADER] = f"Root={trace_ids[trace]};Parent={PARENT};Sampled=1"
        try:
            return handler(event, lambda_context(function))
        finally:
            # This process's own calls between invocations: a trace X-Ray does not record.
            os.environ[TRACE_HEADER] = UNSAMPLED

    def api(trace: str, method: str, path: str, body: Any = None) -> dict[str, Any]:
        event = api_gateway_event(method, path, request_id=f"{trace}-request", body=body)
        answer: dict[str, Any] = invoke(trace, app.app, event, API_FUNCTION)
        return answer

    answers: dict[str, Any] = {"health": api("health", "GET", "/api/health")}
    department = api("create", "POST", "/api/departments", {"name": "추적팀"})
    department_id = json.loads(department["body"])["id"]
    answers["create"] = department
    api("event", "POST", f"/api/events/{department_id}", {"event_date": "2024-05-01", "title": "X"})

    # The stream records those writes left, read outside any invocation
    context = get_context()
    streams = boto3.session.Session().client("dynamodbstreams", region_name=context.settings.region)
    records = read_all(context.client, streams, "events", context.settings.region)
    answers["stream"] = invoke("stream", app.on_event_change, {"Records": records}, STREAM_FUNCTION)
    answers["xray_loaded"] = "aws_xray_sdk" in sys.modules
    out.write_text(json.dumps(answers), encoding="utf-8")


if __name__ == "__main__":
    main(Path(sys.argv[1]), json.loads(Path(sys.argv[2]).read_text(encoding="utf-8")))
