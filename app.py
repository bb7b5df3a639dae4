"""The Chalice app: wiring only. Lambda imports this at cold start, so it stays lean."""

from typing import Any

from chalice.app import Chalice, ConvertToMiddleware, DynamoDBEvent

from chalicelib.api.access import allowed_origins, cors_middleware, register_preflights
from chalicelib.api.departments import departments
from chalicelib.api.events import events
from chalicelib.api.health import health
from chalicelib.api.history import history
from chalicelib.api.http import chalice_errors_as_ours
from chalicelib.observability import logger, metrics
from chalicelib.settings import get_settings

app = Chalice(app_name="department-calendar", configure_logs=False)
app.api.cors = False

app.register_middleware(ConvertToMiddleware(logger.inject_lambda_context), "all")
app.register_middleware(ConvertToMiddleware(metrics.log_metrics), "dynamodb")
app.register_middleware(chalice_errors_as_ours, "http")

app.register_blueprint(health, url_prefix="/api")
app.register_blueprint(departments, url_prefix="/api")
app.register_blueprint(events, url_prefix="/api")
app.register_blueprint(history, url_prefix="/api")

# Stream ARNs come from the stage's environment (the Chalice CLI sets it before importing
# this file); with none set they name the tables, so `import app` works anywhere.
_settings = get_settings()

# Browsers may call from the configured origins only; every path answers their preflight.
_origins = allowed_origins(_settings)
if _origins:
    app.register_middleware(cors_middleware(_origins), "http")
    register_preflights(app, _origins)


@app.on_dynamodb_record(stream_arn=_settings.events_stream_arn, batch_size=100)
def on_event_change(event: DynamoDBEvent) -> dict[str, Any]:
    from chalicelib.streams.handlers import process_changes

    return process_changes("event", event.to_dict())


@app.on_dynamodb_record(stream_arn=_settings.departments_stream_arn, batch_size=100)
def on_department_change(event: DynamoDBEvent) -> dict[str, Any]:
    from chalicelib.streams.handlers import process_changes

    return process_changes("department", event.to_dict())
